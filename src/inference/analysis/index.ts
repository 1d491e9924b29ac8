export { analyzeFiles, studySummary, type AnalyzeOptions } from './analyze.js';
export { collectFiles } from './collectFiles.js';
export { formatRunReport } from './report.js';
export { CAVEAT_CODES, noteCaveat } from './types.js';
export type {
  AnalysisRun,
  AnalysisCaveat,
  StudyOutcome,
  StageTimings,
  FileProblem,
} from './types.js';
export { scoreImages, type ScoredImage, type ScoreOptions } from './scoreImages.js';
export { ModelSessions, type ModelSession } from './modelSessions.js';
