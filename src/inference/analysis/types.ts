import type { AnalysisRecord, ResultArtifact } from '../results/index.js';
import type { InputStatistics } from '../monitoring/index.js';

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
  /** Images analysed with a caveat the model's maker allowed (e.g. View Position missing). */
  warnings: string[];
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
