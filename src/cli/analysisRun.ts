/**
 * What every command that analyses studies shares with `analyze`: the registry and model the
 * CLI resolves (--registry / $RADIOLENS_MODELS / shipped models/, --model id[@version]), the
 * exit-status rule, and the summary.json shape.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import {
  analyzeFiles,
  type AnalysisRun,
  type AnalyzeOptions,
} from '../inference/analysis/index.js';
import { RadiolensError, writeFileAtomic } from '../foundation/core/index.js';
import { isAbsoluteUri } from '../inference/results/index.js';
import { ModelRegistry } from '../inference/models/index.js';
import { modelRegistryLocation, parseModelRef } from './modelRegistryLocation.js';

export interface CliAnalysisOptions {
  readonly outDir: string;
  /** --model, `<id>[@<version>]`. */
  readonly model?: string | undefined;
  /** --registry. */
  readonly registry?: string | undefined;
  readonly batchSize?: number | undefined;
  /** --patient-id-system: the site's patient identifier system URI for FHIR (ADR 0152). */
  readonly patientIdSystem?: string | undefined;
  readonly onProgress?: AnalyzeOptions['onProgress'];
  /** A segmentation package that places heatmaps relative to the lungs (id[@version]). */
  lungs?: string | undefined;
}

/** The --model and --registry options of every command that analyses studies. */
export function withModelChoiceOptions(command: Command): Command {
  return command
    .option(
      '-m, --model <id[@version]>',
      'model to run: its active version, or the version named if it is the active one ' +
        '(default: the active version of the installed model whose intended use matches)',
    )
    .option(
      '--registry <dir>',
      'model registry folder (default: $RADIOLENS_MODELS or the shipped models/)',
    );
}

/** analyzeFiles with the registry and model the CLI resolves; writes <outDir>/summary.json. */
export async function analyzeForCli(
  files: readonly string[],
  options: CliAnalysisOptions,
): Promise<AnalysisRun> {
  const outDir = resolve(options.outDir);
  const registry = new ModelRegistry(modelRegistryLocation(options.registry));
  // Results of this command may reach a patient record: only the active version runs here
  // (ADR 0035); other versions run in shadow mode or in evaluation (validate, models promote).
  const model = options.model ? parseModelRef(options.model) : undefined;
  if (model !== undefined) await registry.resolveActive(model.id, model.version);
  const run = await analyzeFiles([...files], {
    registry,
    ...(model ? { model } : {}),
    outDir,
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    ...(options.patientIdSystem === undefined
      ? {}
      : { patientIdentifierSystem: checkedPatientIdSystem(options.patientIdSystem) }),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.lungs === undefined ? {} : { lungs: parseModelRef(options.lungs) }),
  });
  await writeFileAtomic(
    resolve(outDir, 'summary.json'),
    `${JSON.stringify(runSummaryJson(run), null, 2)}\n`,
  );
  return run;
}

/** The --patient-id-system value, refused before any work unless it is an absolute URI. */
export function checkedPatientIdSystem(value: string): string {
  if (!isAbsoluteUri(value)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `--patient-id-system "${value}" is not an absolute URI — give the system your EHR uses for patient ids, e.g. urn:oid:1.2.3.4 or https://hospital.example/mrn`,
    );
  }
  return value;
}

/**
 * Fails early (E_MODEL_NOT_FOUND, E_PACKAGE_TAMPERED…) when --model names a package the
 * registry does not have, so a command does not fetch data it then cannot analyse.
 */
export async function checkModelForCli(
  options: Pick<CliAnalysisOptions, 'model' | 'registry'>,
): Promise<void> {
  if (!options.model) return;
  const ref = parseModelRef(options.model);
  await new ModelRegistry(modelRegistryLocation(options.registry)).resolve(ref.id, ref.version);
}

/** Exit status 0 only when every study had a model and every image was analysed. */
export function runSucceeded(run: AnalysisRun): boolean {
  if (run.problems.length > 0 || run.studies.length === 0) return false;
  return run.studies.every(
    (study) => study.problem === null && (study.record?.notAnalysed.length ?? 0) === 0,
  );
}

export function runSummaryJson(run: AnalysisRun): object {
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
