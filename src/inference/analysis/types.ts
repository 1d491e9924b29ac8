import type { AnalysisRecord, ResultArtifact } from '../results/index.js';
import type { InputStatistics } from '../monitoring/index.js';

/**
 * A coded caveat of an analysis (ADR 0179): what a reader should know about one image (or,
 * with `image` null, the whole study), and whether it says the score itself should not be
 * trusted (`demotes`), so that the worklist never prioritises the finding on its own strength.
 * - `missing-body-part`, `missing-view-position`: the manifest allows the attribute to be
 *   missing; the image passed every other check. The score stands; the reader checks the view.
 * - `out-of-distribution`: the image is unlike what the model knows (ADR 0086). Demotes.
 * - `lungs-not-placed`: the lung model could not run, so heatmaps are not placed relative to
 *   the lungs. The score (which does not use the lung field) stands.
 */
export const CAVEAT_CODES = [
  'missing-body-part',
  'missing-view-position',
  'out-of-distribution',
  'lungs-not-placed',
] as const;

export interface AnalysisCaveat {
  readonly code: (typeof CAVEAT_CODES)[number];
  /** The image's SOP Instance UID; null for the study as a whole. */
  readonly image: string | null;
  readonly text: string;
  readonly demotes: boolean;
}

/** Records a caveat both coded (for programs) and as the reader's line in `warnings`. */
export function noteCaveat(outcome: StudyOutcome, caveat: AnalysisCaveat): void {
  outcome.caveats.push(caveat);
  outcome.warnings.push(
    caveat.image === null ? caveat.text : `image ${caveat.image}: ${caveat.text}`,
  );
}

/** Wall-clock milliseconds spent in each stage, summed over a run (for the benchmark). */
export interface StageTimings {
  read: number;
  decode: number;
  preprocess: number;
  inference: number;
  explanation: number;
  encoding: number;
}

export function emptyTimings(): StageTimings {
  return { read: 0, decode: 0, preprocess: 0, inference: 0, explanation: 0, encoding: 0 };
}

/** A file that could not be used, and why (reported per file; the run goes on). */
export interface FileProblem {
  file: string;
  error: string;
}

/** One study's outcome: what was found, what was skipped and where the outputs are. */
export interface StudyOutcome {
  studyInstanceUid: string;
  model: { id: string; version: string } | null;
  record: AnalysisRecord | null;
  /** Why no model ran for this study, when none did. */
  problem: string | null;
  /** Every caveat as a line for people (`image <uid>: <text>`); `caveats` is what programs read. */
  warnings: string[];
  /** The same caveats, coded (ADR 0179). */
  caveats: AnalysisCaveat[];
  /** Per analysed image (SOP Instance UID), the out-of-distribution check, when the model ships one. */
  ood: Record<string, { distance: number; threshold: number; flagged: boolean }>;
  /** Per analysed image (SOP Instance UID), what a drift monitor compares (ADR 0087). */
  inputs: Record<string, InputStatistics>;
  /**
   * Every output written for the study, typed (ADR 0150), in a stable order once the run has
   * returned: what the node delivers and the FHIR bundle links. analysis.json is not listed;
   * it is `outputs.summary`, written last.
   */
  artifacts: ResultArtifact[];
  /**
   * The same paths by kind, for people and reports; `artifacts` is what programs use.
   * pm: the heatmaps as Parametric Maps (ADR 0142), one per SC.
   */
  outputs: { sr: string | null; sc: string[]; pm: string[]; fhir: string | null; summary: string };
}

export interface AnalysisRun {
  files: number;
  studies: StudyOutcome[];
  problems: FileProblem[];
  timings: StageTimings;
  imagesAnalysed: number;
}
