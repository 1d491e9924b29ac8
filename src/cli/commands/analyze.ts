import type { Command } from 'commander';
import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import {
  analyzeFiles,
  collectFiles,
  formatRunReport,
  type AnalysisRun,
} from '../../analysis/index.js';
import { ModelRegistry } from '../../models/index.js';
import { writeFileAtomic } from '../../core/index.js';
import { modelRegistryLocation, parseModelRef } from '../modelRegistryLocation.js';
import type { CommandModule } from './index.js';

/** Above this many files a progress bar is worth showing. */
const PROGRESS_BAR_THRESHOLD = 5;

export const analyzeCommand: CommandModule = (program: Command) => {
  program
    .command('analyze')
    .description(
      'Analyse DICOM files or folders: run the model, explain each finding, and write a DICOM SR ' +
        '(TID 1500), Secondary Capture overlays and a FHIR R4 bundle per study into --out.',
    )
    .argument('<paths...>', 'DICOM files and/or folders (searched recursively)')
    .requiredOption('-o, --out <dir>', 'output folder (one sub-folder per study)')
    .option(
      '-m, --model <id[@version]>',
      'model to run (default: the installed model whose intended use matches)',
    )
    .option(
      '--registry <dir>',
      'model registry folder (default: $RADIOLENS_MODELS or the shipped models/)',
    )
    .option('--batch-size <n>', 'images per inference batch', (v) => Number.parseInt(v, 10), 4)
    .option('--json', 'print the run summary as JSON instead of text')
    .addHelpText(
      'after',
      '\nExit status: 0 when every file was analysed, 1 when some file was skipped or not analysed ' +
        '(each is listed with the reason), 2 on a usage or configuration error.',
    )
    .action(
      async (
        paths: string[],
        opts: { out: string; model?: string; registry?: string; batchSize: number; json?: boolean },
      ) => {
        const files = await collectFiles(paths);
        const registry = new ModelRegistry(modelRegistryLocation(opts.registry));
        const outDir = resolve(opts.out);
        const bar =
          files.length > PROGRESS_BAR_THRESHOLD && process.stderr.isTTY
            ? new cliProgress.SingleBar(
                { format: 'analyse |{bar}| {value}/{total} {stage}', stream: process.stderr },
                cliProgress.Presets.shades_classic,
              )
            : null;
        bar?.start(files.length * 2, 0, { stage: 'reading' });
        const run = await analyzeFiles(files, {
          registry,
          ...(opts.model ? { model: parseModelRef(opts.model) } : {}),
          outDir,
          batchSize: opts.batchSize,
          onProgress: (event) =>
            bar?.increment(1, { stage: event.kind === 'read' ? 'reading' : 'analysing' }),
        });
        bar?.update(files.length * 2);
        bar?.stop();
        await writeFileAtomic(
          resolve(outDir, 'summary.json'),
          `${JSON.stringify(runSummaryJson(run), null, 2)}\n`,
        );
        process.stdout.write(
          opts.json ? `${JSON.stringify(runSummaryJson(run), null, 2)}\n` : formatRunReport(run),
        );
        process.exitCode = runSucceeded(run) ? 0 : 1;
      },
    );
};

function runSucceeded(run: AnalysisRun): boolean {
  if (run.problems.length > 0 || run.studies.length === 0) return false;
  return run.studies.every(
    (study) => study.problem === null && (study.record?.notAnalysed.length ?? 0) === 0,
  );
}

function runSummaryJson(run: AnalysisRun): object {
  return {
    files: run.files,
    imagesAnalysed: run.imagesAnalysed,
    studies: run.studies.map((study) => ({
      studyInstanceUid: study.studyInstanceUid,
      model: study.model,
      problem: study.problem,
      findings: (study.record?.findings ?? []).map((f) => ({
        sopInstanceUid: f.image.sopInstanceUid,
        label: f.labelId,
        probability: f.probability,
        threshold: f.threshold,
        present: f.present,
      })),
      notAnalysed: (study.record?.notAnalysed ?? []).map((n) => ({
        sopInstanceUid: n.image.sopInstanceUid,
        reason: n.reason,
      })),
      outputs: study.outputs,
    })),
    problems: run.problems,
    timingsMs: run.timings,
  };
}
