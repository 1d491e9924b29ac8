import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { RadiolensError, writeFileAtomic } from '../../foundation/core/index.js';
import { ModelRegistry, type ModelPackage } from '../../inference/models/index.js';
import { resizeArea } from '../../inference/imaging/index.js';
import { LUNG_GRID, LungSegmenter } from '../../inference/lungField/index.js';
import {
  boxesFromCsv,
  buildLocalisationReport,
  lungFieldFromMasks,
  lungFieldFromProbabilities,
  masksFrom,
  renderLocalisationHtml,
  runLocalisation,
  type RegionSource,
} from '../../lifecycle/localisation/index.js';
import { DEFAULT_BOOTSTRAP_SEED } from '../../lifecycle/validation/index.js';
import { packageLabel, readImageRows } from '../labelledImages.js';
import { modelRegistryLocation, parseModelRef } from '../modelRegistryLocation.js';
import type { CommandModule } from './index.js';

export const localisationCommand: CommandModule = (program: Command) => {
  program
    .command('localisation')
    .description(
      "Measure where a model's heatmap lies: pointing-game hit rate and share of heatmap energy inside annotated regions (boxes or masks), share of energy and of peaks inside the lung field, peaks in the border band — each with CIs, next to a uniformly random and a centre-weighted heatmap",
    )
    .requiredOption('-m, --model <id[@version]>', 'model (exact Grad-CAM, or occlusion)')
    .requiredOption(
      '--labels <csv>',
      'CSV with an "image" column (relative to the CSV) listing the images; a patient column makes the mean shares resample patients',
    )
    .option(
      '--boxes <csv>',
      'annotated regions as boxes: image, x, y, width, height (top-left corner and size in image pixels; rows of one image are united)',
    )
    .option('--finding <name>', 'with --boxes: only rows whose "finding" column is this')
    .option(
      '--masks <dir|csv>',
      'annotated regions as mask PNGs (non-zero = inside, image size): a folder matched by file name, or a CSV with image and mask columns',
    )
    .option(
      '--lung-masks <dir|csv>',
      'lung fields as mask PNGs: a folder matched by file name, or a CSV with image and mask columns (e.g. cxr-lung-masks/labels.csv)',
    )
    .option(
      '--lungs <id[@version]>',
      "lung fields from a segmentation model when no --lung-masks are given (default: the one the model's lung-field input names, else cxr-lungs when installed)",
    )
    .option('--no-lungs', 'no lung fields unless --lung-masks are given (not even from cxr-lungs)')
    .option('--label <id>', 'label whose heatmap is measured (default: the first)')
    .option(
      '--patient-column <column>',
      'patient of each image (default: patient_id, PatientID or patient when present)',
    )
    .option('--no-patient-column', 'treat every image as independent')
    .requiredOption('-o, --out <dir>', 'folder for localisation.json and localisation.html')
    .option('--json', 'print the report JSON on stdout')
    .option('--seed <n>', 'bootstrap seed', (v) => Number.parseInt(v, 10), DEFAULT_BOOTSTRAP_SEED)
    .option('--resamples <n>', 'bootstrap resamples', (v) => Number.parseInt(v, 10), 2000)
    .option('--registry <dir>', 'model registry folder')
    .action(
      async (opts: {
        model: string;
        labels: string;
        boxes?: string;
        finding?: string;
        masks?: string;
        lungMasks?: string;
        lungs?: string | false;
        label?: string;
        patientColumn?: string | false;
        out: string;
        json?: boolean;
        seed: number;
        resamples: number;
        registry?: string;
      }) => {
        if (opts.boxes && opts.masks) {
          throw new RadiolensError(
            'E_BAD_INPUT',
            'give the annotated regions either as --boxes or as --masks, not both',
          );
        }
        if (opts.lungs && opts.lungMasks) {
          throw new RadiolensError(
            'E_BAD_INPUT',
            'give the lung fields either as --lung-masks or from a model (--lungs), not both',
          );
        }
        if (opts.finding && !opts.boxes) {
          throw new RadiolensError('E_BAD_INPUT', '--finding filters --boxes; give --boxes too');
        }
        const { id, version } = parseModelRef(opts.model);
        const registry = new ModelRegistry(modelRegistryLocation(opts.registry));
        const pkg = await registry.resolve(id, version);
        const lungPkg =
          opts.lungMasks || opts.lungs === false
            ? null
            : await lungModel(registry, pkg, opts.lungs);
        if (!opts.boxes && !opts.masks && !opts.lungMasks && lungPkg === null) {
          throw new RadiolensError(
            'E_BAD_INPUT',
            'nothing to measure against: give --boxes or --masks (annotated regions) and/or --lung-masks, or install cxr-lungs (--lungs)',
          );
        }
        const { labelId, labelIndex } = packageLabel(pkg, opts.label);
        const { table, imageRow } = readImageRows(opts.labels, opts.patientColumn);
        const items = table.rows.map(imageRow);
        const regions: RegionSource | null = opts.boxes
          ? boxesFromCsv(resolve(opts.boxes), opts.finding ? { finding: opts.finding } : {})
          : opts.masks
            ? await masksFrom(opts.masks, 'region masks')
            : null;
        const segmenter = lungPkg === null ? null : await LungSegmenter.open(lungPkg);
        const lungs = opts.lungMasks
          ? lungFieldFromMasks(await masksFrom(opts.lungMasks, 'lung masks'))
          : segmenter === null
            ? null
            : lungFieldFromProbabilities(
                `${segmenter.pkg.manifest.id}@${segmenter.pkg.manifest.version} (LUNG_FIELD.md step 8)`,
                async (grey) => {
                  // Each lung's probability map resized to the image (area resize, bilinear
                  // when enlarging), as the recipe measured CAM placement.
                  // The lung field the classifier sees: with its edge guard when its lung
                  // model is the one measuring (LUNG_FIELD.md step 2b).
                  const [segmented] = await segmenter.segment([grey], {
                    edgeGuardInset: sameModel(pkg.manifest.input.region?.model, segmenter.pkg)
                      ? pkg.manifest.input.region?.edgeGuard?.inset
                      : undefined,
                  });
                  const plane = LUNG_GRID * LUNG_GRID;
                  return [0, 1].map(
                    (c) =>
                      resizeArea(
                        {
                          width: LUNG_GRID,
                          height: LUNG_GRID,
                          data: segmented!.probabilities.data.subarray(c * plane, (c + 1) * plane),
                        },
                        grey.width,
                        grey.height,
                      ).data,
                  );
                },
              );
        let run: Awaited<ReturnType<typeof runLocalisation>>;
        try {
          run = await runLocalisation(
            pkg,
            items,
            { regions, lungs },
            {
              labelIndex,
              onProgress: (done, total) => {
                if (process.stderr.isTTY) process.stderr.write(`\rlocalisation ${done}/${total}`);
              },
            },
          );
        } finally {
          await segmenter?.dispose();
        }
        if (process.stderr.isTTY) process.stderr.write('\n');
        if (run.failed.length > 0) {
          // Dropping images silently would bias every number in the report.
          const listed = run.failed
            .slice(0, 10)
            .map((f) => `  ${f.image}: ${f.problem}`)
            .join('\n');
          throw new RadiolensError(
            'E_BAD_INPUT',
            `${run.failed.length} image(s) could not be measured; fix or remove them from ${opts.labels}:\n${listed}`,
          );
        }
        if (regions !== null && !run.measured.some((m) => m.region !== null)) {
          throw new RadiolensError(
            'E_BAD_INPUT',
            `no image of ${opts.labels} has an annotated region in ${opts.boxes ?? opts.masks} — do the image paths match (both relative to their CSV)?`,
          );
        }
        const method = pkg.manifest.explanation;
        const explanation =
          method.method === 'cam'
            ? 'exact Grad-CAM (GAP + linear head), at the source image size'
            : method.method === 'occlusion'
              ? `occlusion sensitivity (patch ${method.patch}, stride ${method.stride}), at the source image size`
              : 'none';
        const report = buildLocalisationReport({
          model: { id: pkg.manifest.id, version: pkg.manifest.version },
          label: labelId,
          explanation,
          dataset: opts.labels,
          regions: regions?.description ?? null,
          lungFields: lungs?.description ?? null,
          images: run.measured,
          unannotated: run.unannotated.length,
          bootstrap: { resamples: opts.resamples, seed: opts.seed, level: 0.95 },
        });
        const out = resolve(opts.out);
        await writeFileAtomic(
          join(out, 'localisation.json'),
          `${JSON.stringify(report, null, 2)}\n`,
        );
        await writeFileAtomic(join(out, 'localisation.html'), renderLocalisationHtml(report));
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
          return;
        }
        const s = report.summary;
        const p = (v: { estimate: number; ci: readonly [number, number] }): string =>
          `${(100 * v.estimate).toFixed(1)}% (${(100 * v.ci[0]).toFixed(1)}-${(100 * v.ci[1]).toFixed(1)})`;
        const lines = [
          `${s.images} images measured${s.patients === null ? '' : ` (${s.patients} patients)`}, ${report.unannotated} without annotations`,
          `                                   model              random             centre`,
        ];
        const line = (
          name: string,
          x: { model: { estimate: number; ci: readonly [number, number] } } & {
            random: { estimate: number; ci: readonly [number, number] };
            centre: { estimate: number; ci: readonly [number, number] };
          },
        ): void => {
          lines.push(
            `${name.padEnd(34)} ${p(x.model).padEnd(18)} ${p(x.random).padEnd(18)} ${p(x.centre)}`,
          );
        };
        if (s.pointing) line('pointing-game hit rate', s.pointing);
        if (s.energyInRegion) line('energy inside the region', s.energyInRegion);
        if (s.energyInLungs) line('energy inside the lungs', s.energyInLungs);
        if (s.peakInLungs) line('peaks inside the lungs', s.peakInLungs);
        if (s.peakInBorder) line('peaks in the border band', s.peakInBorder);
        if (s.pointing) {
          const r = s.pointing.modelOverRandom;
          lines.push(
            `hit rate / random: ${r.estimate.toFixed(2)} (${r.ci[0].toFixed(2)}-${r.ci[1].toFixed(2)}); target >= 2`,
          );
        }
        lines.push(
          `report: ${join(out, 'localisation.html')}`,
          `        ${join(out, 'localisation.json')}`,
        );
        process.stdout.write(`${lines.join('\n')}\n`);
      },
    );
};

/**
 * The segmentation package that gives the lung fields when no lung masks are given: the one
 * asked for (an error when it is not installed), else the one the classifier's lung-field
 * input names, else cxr-lungs when the registry has it; null when none is installed.
 */
async function lungModel(
  registry: ModelRegistry,
  pkg: ModelPackage,
  asked: string | undefined,
): Promise<ModelPackage | null> {
  if (asked !== undefined) {
    const ref = parseModelRef(asked);
    return registry.resolve(ref.id, ref.version);
  }
  const named = pkg.manifest.input.region?.model;
  if (named !== undefined) return registry.resolve(named.id, named.version);
  try {
    return await registry.resolve('cxr-lungs');
  } catch (error) {
    if ((error as { code?: string }).code === 'E_MODEL_NOT_FOUND') return null;
    throw error;
  }
}

/** Whether a region's lung model reference names this package. */
function sameModel(ref: { id: string; version: string } | undefined, lungs: ModelPackage): boolean {
  return (
    ref !== undefined && ref.id === lungs.manifest.id && ref.version === lungs.manifest.version
  );
}
