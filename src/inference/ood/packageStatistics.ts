import { join } from 'node:path';
import { RadiolensError } from '../../foundation/core/index.js';
import type { ModelPackage } from '../models/index.js';
import { oodFlag, readOodStatistics, type OodFlag, type OodStatistics } from './statistics.js';

/**
 * The OOD statistics a package ships (manifest `ood.file`), or null when it ships none. The
 * package loader has already verified the file's hash; here we check that the statistics
 * describe this package's graph, so a stats file copied into the wrong package fails loudly.
 */
export async function loadPackageOodStatistics(pkg: ModelPackage): Promise<OodStatistics | null> {
  const ood = pkg.manifest.ood;
  if (ood === undefined) return null;
  const path = join(pkg.dir, ood.file);
  const stats = await readOodStatistics(path);
  const onnx = pkg.manifest.files['model.onnx'];
  if (stats.model.onnxSha256 !== onnx) {
    throw new RadiolensError(
      'E_MANIFEST_INVALID',
      `${path} was fitted on model.onnx ${stats.model.onnxSha256.slice(0, 12)}…, this package's model.onnx is ${String(onnx).slice(0, 12)}… — refit with \`radiolens ood fit\` for this model`,
      { subject: path },
    );
  }
  if (stats.threshold !== ood.threshold) {
    throw new RadiolensError(
      'E_MANIFEST_INVALID',
      `manifest ood.threshold ${ood.threshold} differs from ${path}'s ${stats.threshold} — re-package with the statistics' threshold`,
      { subject: path },
    );
  }
  return stats;
}

/**
 * Convenience for the analysis pipeline: accepts the package (statistics loaded once and
 * cached per package) or statistics already loaded. Null when the package ships no check.
 */
export async function oodFlagFor(
  pkgOrStats: ModelPackage | OodStatistics,
  pooledFeatures: ArrayLike<number>,
): Promise<OodFlag | null> {
  if ('schema' in pkgOrStats) return oodFlag(pkgOrStats, pooledFeatures);
  let loaded = cache.get(pkgOrStats.manifestSha256);
  if (loaded === undefined) {
    loaded = loadPackageOodStatistics(pkgOrStats);
    cache.set(pkgOrStats.manifestSha256, loaded);
  }
  const stats = await loaded;
  return stats === null ? null : oodFlag(stats, pooledFeatures);
}

const cache = new Map<string, Promise<OodStatistics | null>>();
