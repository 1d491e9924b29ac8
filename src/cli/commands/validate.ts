import type { Command } from 'commander';
import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { RadiolensError } from '../../foundation/core/index.js';
import { scoreImages } from '../../inference/analysis/index.js';
import { ModelRegistry } from '../../inference/models/index.js';
import { readCsvFile } from '../../foundation/csv/index.js';
import {
  buildValidationReport,
  PATIENT_COLUMNS,
  readValidationLabels,
  writeValidationReport,
} from '../../lifecycle/validation/index.js';
import { registerSiteValidation } from '../../node/modelCatalog/index.js';
import { modelRegistryLocation, parseModelRef } from '../modelRegistryLocation.js';
import type { CommandModule } from './index.js';

/** The patient column a labels CSV has, if any (PATIENT_COLUMNS, first match). */
function detectPatientColumn(csv: string): string | null {
  const { columns } = readCsvFile(csv);
  return PATIENT_COLUMNS.find((c) => columns.includes(c)) ?? null;
}

export const validateCommand: CommandModule = (program: Command) => {
  program
    .command('validate')
    .description(
      'Run a model on labelled images and write report.html and report.json: AUC with DeLong CI, ' +
        'ROC with CI band, operating point with Wilson CIs, calibration, subgroups, model card summary.',
    )
    .requiredOption('-m, --model <id[@version]>', 'model to validate')
    .requiredOption(
      '--labels <csv>',
      'CSV with an "image" column (DICOM, PNG or JPEG; relative to the CSV), one 0/1 column per model label id, and subgroup columns',
    )
    .requiredOption('-o, --out <dir>', 'folder for report.html and report.json')
    .option(
      '--subgroup <column...>',
      'subgroup columns (default: every column with 2-20 values that does not restate a label)',
    )
    .option(
      '--patient-column <column>',
      'column naming the patient of each image: AUC, sensitivity and specificity also get intervals that respect clustering (default: patient_id, PatientID or patient when present)',
    )
    .option(
      '--no-patient-column',
      'treat every image as independent even if the CSV has a patient column',
    )
    .option('--registry <dir>', 'model registry folder')
    .option(
      '--site-data <dir>',
      "also register the report as this site's validation of the model version in a node's data folder (<dir>/site-validation/<id>/<version>/), which the reading room shows beside its findings",
    )
    .option('--seed <n>', 'seed for the bootstrap', (v) => Number.parseInt(v, 10), 1)
    .action(
      async (opts: {
        model: string;
        labels: string;
        out: string;
        subgroup?: string[];
        patientColumn?: string | false;
        registry?: string;
        siteData?: string;
        seed: number;
      }) => {
        const { id, version } = parseModelRef(opts.model);
        const pkg = await new ModelRegistry(modelRegistryLocation(opts.registry)).resolve(
          id,
          version,
        );
        const labels = pkg.manifest.labels;
        const patientColumn =
          opts.patientColumn === false
            ? null
            : (opts.patientColumn ?? detectPatientColumn(resolve(opts.labels)));
        const images = readValidationLabels(resolve(opts.labels), {
          labels: labels.map((label) => label.id),
          ...(opts.subgroup ? { subgroups: opts.subgroup } : {}),
          patientColumn,
        });
        const bar = process.stderr.isTTY
          ? new cliProgress.SingleBar(
              { format: 'score |{bar}| {value}/{total}', stream: process.stderr },
              cliProgress.Presets.shades_classic,
            )
          : null;
        bar?.start(images.length, 0);
        const scored = await scoreImages(
          images.map((image) => image.imagePath),
          pkg,
          { onProgress: (done) => bar?.update(done) },
        );
        bar?.stop();
        const failed = scored.filter((item) => item.scores === null);
        if (failed.length > 0) {
          // Dropping images silently would bias every number in the report.
          const listed = failed
            .slice(0, 10)
            .map((item) => `  ${item.path}: ${item.problem}`)
            .join('\n');
          throw new RadiolensError(
            'E_BAD_INPUT',
            `${failed.length} of ${images.length} image(s) could not be scored; fix or remove them from the labels file:\n${listed}`,
          );
        }
        const report = buildValidationReport({
          model: {
            id: pkg.manifest.id,
            version: pkg.manifest.version,
            name: pkg.manifest.name,
            intendedUse: pkg.manifest.intendedUse.summary,
            labels: labels.map((label) => ({
              id: label.id,
              meaning: label.code.meaning,
              threshold: label.threshold,
            })),
          },
          rows: images.map((image, index) => ({
            image: image.image,
            truth: image.truth,
            score: Object.fromEntries(
              labels.map((label, l) => [label.id, scored[index]!.scores![l]!]),
            ),
            subgroups: image.subgroups,
            ...(image.patient === undefined ? {} : { cluster: image.patient }),
          })),
          options: {
            seed: opts.seed,
            dataset: opts.labels,
            ...(patientColumn === null ? {} : { clusterUnit: patientColumn }),
          },
        });
        const paths = await writeValidationReport(resolve(opts.out), report);
        for (const label of report.json.labels) {
          const auc = label.auc;
          process.stdout.write(
            `${label.id}: AUC ${auc.estimate.toFixed(3)} (95% CI ${auc.ci[0].toFixed(3)}-${auc.ci[1].toFixed(3)}) on ${images.length} images\n`,
          );
          const c = label.clustered;
          if (c !== undefined) {
            process.stdout.write(
              `${' '.repeat(label.id.length)}  clustered by ${c.unit} (${c.auc.clusters}): AUC 95% CI ${c.auc.ci[0].toFixed(3)}-${c.auc.ci[1].toFixed(3)} (Obuchowski); sensitivity ${c.bootstrap.sensitivity[0].toFixed(3)}-${c.bootstrap.sensitivity[1].toFixed(3)}, specificity ${c.bootstrap.specificity[0].toFixed(3)}-${c.bootstrap.specificity[1].toFixed(3)} (cluster bootstrap)\n`,
            );
          }
        }
        process.stdout.write(`report: ${paths.html}\n        ${paths.json}\n`);
        if (opts.siteData !== undefined) {
          const registered = await registerSiteValidation(resolve(opts.siteData), paths.json);
          process.stdout.write(`site validation registered: ${registered}\n`);
        }
      },
    );
};
