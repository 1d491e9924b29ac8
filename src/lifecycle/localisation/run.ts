import { describeError } from '../../foundation/core/index.js';
import { loadCamHead } from '../../inference/explain/index.js';
import { readGreyImage } from '../../inference/imaging/index.js';
import { createModelRunner, type ModelPackage } from '../../inference/models/index.js';
import { LungSegmenter, regionPackageOf } from '../../inference/lungField/index.js';
import type { RegionSource } from './annotations.js';
import type { LungFieldSource } from './lungField.js';
import { localiseImage, type ImageLocalisation } from './measure.js';
import { explainImage } from './modelHeatmap.js';

/** One image to measure: the path to read, its name as the labels file gives it, its patient. */
export interface LocalisationItem {
  path: string;
  image: string;
  patient: string | null;
}

export interface LocalisationRun {
  measured: ImageLocalisation[];
  /** Images with neither an annotated region nor a lung field: nothing to measure against. */
  unannotated: string[];
  /** Images that could not be read or explained, with the reason. */
  failed: Array<{ image: string; problem: string }>;
}

/**
 * Explain every image that has something to measure against (an annotated region, a lung
 * field, or both) with the model's heatmap for `labelIndex`, and measure it. An unreadable
 * image is listed, never silently dropped.
 */
export async function runLocalisation(
  pkg: ModelPackage,
  items: readonly LocalisationItem[],
  sources: { regions: RegionSource | null; lungs: LungFieldSource | null },
  options: { labelIndex?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<LocalisationRun> {
  const labelIndex = options.labelIndex ?? 0;
  const runner = await createModelRunner(pkg);
  const camHead = pkg.manifest.explanation.method === 'cam' ? await loadCamHead(pkg) : null;
  // A lung-field classifier sees the lung field its segmentation package finds (ADR 0161).
  const lungPkg = await regionPackageOf(pkg);
  const segmenter = lungPkg === null ? null : await LungSegmenter.open(lungPkg);
  const out: LocalisationRun = { measured: [], unannotated: [], failed: [] };
  try {
    for (const [index, item] of items.entries()) {
      try {
        const annotated =
          sources.regions?.covers(item.path) === true ||
          (sources.lungs !== null && (sources.lungs.covers?.(item.path) ?? true));
        if (!annotated) {
          out.unannotated.push(item.image);
          options.onProgress?.(index + 1, items.length);
          continue;
        }
        const { grey } = await readGreyImage(item.path, {
          windowing: pkg.manifest.input.windowing,
        });
        const region =
          sources.regions?.covers(item.path) === true
            ? await sources.regions.regionFor(item.path, grey.width, grey.height)
            : null;
        const lungs = sources.lungs
          ? await sources.lungs.lungField({ path: item.path, grey })
          : null;
        if (region === null && lungs === null) {
          out.unannotated.push(item.image);
        } else {
          const { score, heatmap } = await explainImage(
            pkg,
            runner,
            camHead,
            grey,
            labelIndex,
            segmenter,
          );
          out.measured.push(
            localiseImage({
              image: item.image,
              patient: item.patient,
              score,
              heatmap,
              region,
              lungs,
            }),
          );
        }
      } catch (error) {
        out.failed.push({ image: item.image, problem: describeError(error) });
      }
      options.onProgress?.(index + 1, items.length);
    }
  } finally {
    await runner.dispose();
    await segmenter?.dispose();
  }
  return out;
}
