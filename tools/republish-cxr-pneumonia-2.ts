/**
 * Publish cxr-pneumonia 2.0.1: the same weights as 2.0.0 (model.onnx and training-run.json
 * copied byte for byte) whose manifest declares the window for DICOM images that carry none —
 * `{"kind": "voiLut", "fallback": "minMax"}`, ADR 0027's rule for chest classifiers trained on
 * 8-bit exports. 2.0.0 was packaged declaring only `voiLut`, so such images got ADR 0020's
 * percentile window; its what-if robustness run with minMax
 * (models/cxr-pneumonia/evidence/2.0.0/robustness-site-test-split-if-minmax/) flipped 1/117
 * decisions on 12-bit images without a window instead of 3/117 (ADR 0162). A released version
 * is never edited in place; the correction is a new version whose lineage names the old one.
 * Everything else — intended use, limitations, threshold, validation entries, change-control
 * plan — is 2.0.0's: the windowing rule does not touch PNG/JPEG inputs, on which the recipe's
 * validation entries were measured.
 *
 * Usage: npx tsx tools/republish-cxr-pneumonia-2.ts [--registry models]
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  loadModelPackage,
  writeModelPackage,
  type ModelManifest,
} from '../src/inference/models/index.js';

const FROM = '2.0.0';
const VERSION = '2.0.1';
const COPIED = ['model.onnx', 'training-run.json'] as const;

const args = process.argv.slice(2);
const registry = resolve(
  args.includes('--registry') ? args[args.indexOf('--registry') + 1]! : 'models',
);
const from = await loadModelPackage(join(registry, 'cxr-pneumonia', FROM));
const windowing = from.manifest.input.windowing ?? { kind: 'voiLut' };
if (windowing.kind !== 'voiLut' || windowing.fallback !== undefined) {
  // Re-running on a 2.0.0 that already declares a fallback would publish a 2.0.1 that differs
  // from it by nothing but its version.
  throw new Error(
    `cxr-pneumonia@${FROM} declares windowing ${JSON.stringify(windowing)}; this tool adds the minMax fallback to a plain voiLut`,
  );
}

/** `site_splits` as a path in the project when it is an absolute path into a checkout of it. */
function relativeSplits(parameters: Record<string, unknown> | undefined): Record<string, string> {
  const splits = parameters?.['site_splits'];
  if (typeof splits !== 'string' || !splits.startsWith('/')) return {};
  const at = splits.indexOf('/models/cxr-pneumonia/');
  return at < 0 ? {} : { site_splits: splits.slice(at + 1) };
}

const { files: _files, ...previous } = from.manifest;
const manifest: Omit<ModelManifest, 'files'> = {
  ...previous,
  version: VERSION,
  input: { ...previous.input, windowing: { kind: 'voiLut', fallback: 'minMax' } },
  lineage: {
    ...previous.lineage!,
    parameters: {
      ...previous.lineage!.parameters,
      // 2.0.0's record named its splits by the absolute path of the machine it was trained on;
      // a package names files of the project by their path in it.
      ...relativeSplits(previous.lineage!.parameters),
      republishedFrom: `${FROM}: same model.onnx and training-run.json; declares the minMax window for DICOM images without one (ADR 0027), which ${FROM} was packaged without — its what-if robustness run flipped 1/117 site test decisions on 12-bit images without a window instead of 3/117 (ADR 0162)`,
    },
    parent: { id: 'cxr-pneumonia', version: FROM },
  },
};

const files: Record<string, Buffer> = {};
for (const name of COPIED) files[name] = readFileSync(join(from.dir, name));
const pkg = await writeModelPackage(join(registry, 'cxr-pneumonia', VERSION), manifest, files);
console.log(`wrote ${pkg.dir} (manifest sha256 ${pkg.manifestSha256})`);
