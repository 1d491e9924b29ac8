import { describeError, RadiolensError } from '../../foundation/core/index.js';
import { type GreyImage } from '../imaging/index.js';
import { checkIntendedUse, type ModelPackage } from '../models/index.js';
import { readGreyImage } from '../imaging/index.js';
import { globalAveragePool } from '../ood/index.js';
import { ModelSessions } from './modelSessions.js';
import { classifierInput, regionPackageOf } from '../lungField/index.js';

/** One image's scores (per label, manifest order), or why it has none. */
export interface ScoredImage {
  path: string;
  scores: Float32Array | null;
  /** Globally average-pooled feature map (the head's input), when the model exposes features. */
  pooledFeatures: Float32Array | null;
  problem: string | null;
}

export interface ScoreOptions {
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Score a list of images with one model: the path `validate` and `finetune` take. DICOM files
 * go through the same decode → LUT → intended-use path as `analyze`; PNG/JPEG files (public
 * data sets, legacy archives) are taken as already-windowed greyscale, x/max, exactly as
 * `import-images` would convert them — they carry no DICOM attributes to check.
 * A lung-field classifier (manifest input.region) gets its input through the segmentation
 * package installed beside it, and an image without a plausible lung field is not scored
 * (its problem says why; ADR 0161).
 */
export async function scoreImages(
  paths: readonly string[],
  pkg: ModelPackage,
  options: ScoreOptions = {},
): Promise<ScoredImage[]> {
  const sessions = new ModelSessions();
  const batchSize = options.batchSize ?? 16;
  const results: ScoredImage[] = [];
  try {
    const session = await sessions.get(pkg);
    const lungPkg = await regionPackageOf(pkg);
    const segmenter = lungPkg === null ? null : await sessions.segmenter(lungPkg);
    for (let start = 0; start < paths.length; start += batchSize) {
      const prepared: Array<{ path: string; input: Float32Array }> = [];
      for (const path of paths.slice(start, start + batchSize)) {
        try {
          const grey = await loadGrey(path, pkg);
          const input = await classifierInput(pkg, grey, segmenter);
          if (input.kind === 'refused') {
            throw new RadiolensError('E_NOT_IN_INTENDED_USE', `not analysed: ${input.reason}`, {
              subject: path,
            });
          }
          prepared.push({ path, input: input.input });
        } catch (error) {
          results.push({ path, scores: null, pooledFeatures: null, problem: describeError(error) });
        }
      }
      if (prepared.length > 0) {
        const output = await session.runner.run(prepared.map((item) => item.input));
        prepared.forEach((item, index) => {
          const features = output.features?.[index];
          results.push({
            path: item.path,
            scores: output.scores[index]!,
            pooledFeatures: features ? globalAveragePool(features) : null,
            problem: null,
          });
        });
      }
      options.onProgress?.(Math.min(paths.length, start + batchSize), paths.length);
    }
  } finally {
    await sessions.dispose();
  }
  // Keep the caller's order whatever failed where.
  const byPath = new Map(results.map((result) => [result.path, result]));
  return paths.map((path) => byPath.get(path)!);
}

/** The shared image loader (ood/features.ts), gated by the model's intended use. */
async function loadGrey(path: string, pkg: ModelPackage): Promise<GreyImage> {
  const loaded = await readGreyImage(path, {
    windowing: pkg.manifest.input.windowing,
    beforeDecode: (instance) => {
      const check = checkIntendedUse(pkg.manifest, instance.dataset, {
        rows: Number(instance.dataset['Rows'] ?? 0),
        columns: Number(instance.dataset['Columns'] ?? 0),
      });
      if (!check.ok) {
        throw new RadiolensError(
          'E_NOT_IN_INTENDED_USE',
          `not analysed: ${check.reasons.join('; ')}`,
          { subject: path },
        );
      }
    },
  });
  return loaded.grey;
}
