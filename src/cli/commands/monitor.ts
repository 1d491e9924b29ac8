/**
 * `radiolens monitor report`: drift of a window of recent analyses against the reference the
 * model package carries (ADR 0087); `radiolens monitor reference`: compute that reference on
 * the images a model was validated on.
 */
import type { Command } from 'commander';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RadiolensError, writeFileAtomic } from '../../foundation/core/index.js';
import { ModelRegistry } from '../../inference/models/index.js';
import {
  computeDriftReference,
  detectDrift,
  loadPackageDriftReference,
  readRadiologistAnswers,
  selectWindow,
  type AnalysedImage,
  type TruthLookup,
} from '../../lifecycle/monitoring/index.js';
import { modelRegistryLocation, parseModelRef } from '../modelRegistryLocation.js';
import { nodeAnalyses, resultsFolderAnalyses, writeDriftReport } from '../monitoringSources.js';
import type { CommandModule } from './index.js';
import { toNumber } from '../optionParsers.js';

/** Exit status of a report that found drift (0: none; 1 and 2: errors). */
export const DRIFT_EXIT_STATUS = 3;

interface ReportOptions {
  data?: string;
  results?: string;
  model: string;
  out: string;
  json?: boolean;
  labels?: string;
  last?: number;
  since?: string;
  alpha?: number;
  registry?: string;
}

export const monitorCommand: CommandModule = (program: Command) => {
  const monitor = program
    .command('monitor')
    .description(
      'Post-market monitoring: drift of inputs, outputs and feedback against the reference a model package carries',
    );

  monitor
    .command('report')
    .description(
      "Compare a window of recent analyses with the model package's drift reference: acquisition " +
        'metadata, input pixel statistics, OOD score and rate, score distribution and positive rate, ' +
        "and agreement with the radiologists' answers when --labels gives them. Writes report.html " +
        '(with plots) and report.json.',
    )
    .option('--data <dir>', "a node's data directory (its live and shadow analyses)")
    .option('--results <folder>', 'a folder of analysis.json files (analyze --out)')
    .requiredOption(
      '-m, --model <id[@version]>',
      'the model version to check (default version: the active one)',
    )
    .requiredOption('-o, --out <dir>', 'folder for report.html and report.json')
    .option(
      '--labels <csv>',
      "radiologists' answers: study_instance_uid or accession_number, one 0/1 column per label",
    )
    .option('--last <n>', 'only the most recent n analysed images', toNumber)
    .option('--since <date>', 'only analyses from this ISO date or time on')
    .option('--alpha <a>', 'family-wise false-alarm rate of the tests (default 0.01)', toNumber)
    .option('--registry <dir>', 'model registry folder')
    .option('--json', 'print the report JSON ({"drift": …, "tests": […]})')
    .addHelpText(
      'after',
      '\nTests: Kolmogorov–Smirnov (numeric), chi-squared / Fisher / permutation (categorical), ' +
        "Holm's correction over all tests; from an effective sample size of 500, PSI > 0.25 and " +
        'Jensen–Shannon distance > 0.1 instead. A feature with fewer than 30 values is not tested.\n' +
        'Exit status: 0 no drift, 3 drift, 1 or 2 on errors.',
    )
    .action(async (opts: ReportOptions) => {
      if ((opts.data === undefined) === (opts.results === undefined)) {
        throw new RadiolensError(
          'E_BAD_INPUT',
          'give exactly one of --data <node data dir> or --results <folder of analysis.json files>',
        );
      }
      const since = opts.since === undefined ? undefined : new Date(opts.since);
      if (since !== undefined && Number.isNaN(since.getTime())) {
        throw new RadiolensError(
          'E_BAD_INPUT',
          `--since ${opts.since} is not a date; write e.g. 2026-12-01 or 2026-12-01T08:00:00Z`,
        );
      }
      if (opts.alpha !== undefined && !(opts.alpha > 0 && opts.alpha < 1)) {
        throw new RadiolensError(
          'E_BAD_INPUT',
          `--alpha ${opts.alpha}: give a rate between 0 and 1, e.g. 0.01`,
        );
      }
      const { id, version: asked } = parseModelRef(opts.model);
      const registry = new ModelRegistry(modelRegistryLocation(opts.registry));
      const version = asked ?? (await registry.activeVersion(id)).version;
      const pkg = await registry.resolve(id, version);
      const reference = await loadPackageDriftReference(pkg);
      let images: AnalysedImage[];
      const accessions = new Map<string, string | null>();
      if (opts.data !== undefined) {
        const found = await nodeAnalyses(resolve(opts.data), { model: `${id}@${version}` });
        images = found.images;
        for (const entry of found.entries)
          accessions.set(entry.studyInstanceUid, entry.accessionNumber);
      } else {
        images = await resultsFolderAnalyses(resolve(opts.results!));
      }
      const window = selectWindow(images, {
        model: { id, version },
        ...(since === undefined ? {} : { since }),
        ...(opts.last === undefined ? {} : { last: opts.last }),
      });
      let truth: TruthLookup | undefined;
      if (opts.labels !== undefined) {
        const answers = readRadiologistAnswers(
          resolve(opts.labels),
          pkg.manifest.labels.map((l) => l.id),
        );
        truth = (image, label) =>
          answers.find(image.studyInstanceUid, accessions.get(image.studyInstanceUid) ?? null)
            ?.truth[label] ?? null;
      }
      const report = detectDrift(reference, window, {
        ...(opts.alpha === undefined ? {} : { alpha: opts.alpha }),
        ...(truth === undefined ? {} : { truth }),
      });
      const paths = await writeDriftReport(resolve(opts.out), report, reference);
      if (opts.json) {
        const { windowValues: _values, ...json } = report;
        process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
      } else {
        const drifting = report.tests.filter((t) => t.drift);
        process.stdout.write(
          `${report.drift ? 'DRIFT' : 'no drift'}: ${id}@${version}, ${report.window.images} analysed image(s) against ${report.reference.images} reference images; ` +
            `${report.tests.length} feature(s) tested, ${report.skipped.length} not\n` +
            drifting
              .map(
                (t) =>
                  `  ${t.feature}: ${t.test} ${t.statistic.toFixed(4)}${t.p === null ? '' : `, p ${t.p.toExponential(2)}`} (${t.decision.replace('threshold', t.threshold.toPrecision(3))})\n`,
              )
              .join('') +
            `report: ${paths.html}\n        ${paths.json}\n`,
        );
      }
      process.exitCode = report.drift ? DRIFT_EXIT_STATUS : 0;
    });

  monitor
    .command('reference')
    .description(
      "Compute a model's drift reference on the images it was validated on (PNG/JPEG or DICOM " +
        'named in a labels CSV), through the same pipeline as production, and write it to --out: ' +
        'the file a package names in its manifest ("monitoring") so monitor report can compare against it.',
    )
    .requiredOption('-m, --model <id@version>', 'the model version')
    .requiredOption(
      '--labels <csv>',
      'labels CSV: an "image" column (relative to the CSV) and one 0/1 column per label',
    )
    .option(
      '--splits <splits.json>',
      "a patient split (finetune's splits.json): only its --split patients",
    )
    .option(
      '--split <name>',
      'which split of --splits (default test, the validation split)',
      'test',
    )
    .option(
      '--patient-column <name>',
      "the labels' column naming each image's patient, so a patient's repeated images count as one (default: the patient column of --splits)",
    )
    .requiredOption('-o, --out <file>', 'where to write the reference JSON')
    .option('--registry <dir>', 'model registry folder')
    .action(
      async (opts: {
        model: string;
        labels: string;
        splits?: string;
        split: string;
        patientColumn?: string;
        out: string;
        registry?: string;
      }) => {
        const { id, version } = parseModelRef(opts.model);
        if (version === undefined)
          throw new RadiolensError(
            'E_BAD_INPUT',
            `${opts.model}: name the model with its version, <id>@<version>`,
          );
        const registry = new ModelRegistry(modelRegistryLocation(opts.registry));
        let select: ((row: Readonly<Record<string, string>>) => boolean) | undefined;
        let description = `${opts.labels}, all rows`;
        let dataset: { id: string; version: string } | undefined;
        let patientColumn = opts.patientColumn;
        if (opts.splits !== undefined) {
          const splits = JSON.parse(await readFile(opts.splits, 'utf8')) as {
            patientColumn?: string;
            dataset?: { id: string; version: string };
            patients?: Record<string, string[]>;
          };
          const patients = new Set(splits.patients?.[opts.split] ?? []);
          const column = splits.patientColumn ?? 'patient_id';
          if (patients.size === 0) {
            throw new RadiolensError(
              'E_BAD_INPUT',
              `${opts.splits} has no patients in a split named "${opts.split}"`,
            );
          }
          select = (row) => patients.has(row[column] ?? '');
          patientColumn ??= column;
          description = `${splits.dataset?.id ?? opts.labels} ${opts.split} split (${opts.splits})`;
          dataset = splits.dataset;
        }
        const workDir = await mkdtemp(join(tmpdir(), 'radiolens-reference-'));
        try {
          const reference = await computeDriftReference({
            registry,
            model: { id, version },
            labelsCsv: resolve(opts.labels),
            ...(select === undefined ? {} : { select }),
            ...(patientColumn === undefined ? {} : { patientColumn }),
            description,
            ...(dataset === undefined ? {} : { dataset }),
            workDir,
          });
          await writeFileAtomic(resolve(opts.out), `${JSON.stringify(reference, null, 2)}\n`);
          process.stdout.write(
            `drift reference of ${id}@${version}: ${reference.source.images} images (${reference.source.notAnalysed} not analysed) → ${resolve(opts.out)}\n`,
          );
        } finally {
          await rm(workDir, { recursive: true, force: true });
        }
      },
    );
};
