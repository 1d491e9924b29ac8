/**
 * The generated model card (ADR 0082): Markdown and manifest `validation` entries, every
 * number read from training-run.json and the reports of `radiolens validate`, `ood evaluate`,
 * `faithfulness`, `localisation` and `robustness`.
 */
export {
  renderModelCard,
  failureModes,
  type ModelCard,
  type ModelCardInput,
  type ManifestValidationEntry,
} from './render.js';
export {
  readEvidence,
  namedPath,
  validationReportSchema,
  oodReportSchema,
  faithfulnessReportSchema,
  localisationReportSchema,
  robustnessReportSchema,
  type ValidationEvidence,
  type OodEvidence,
  type FaithfulnessEvidence,
  type LocalisationEvidence,
  type RobustnessEvidence,
} from './inputs.js';
export {
  readTrainingRun,
  writeTrainingSplitCsvs,
  trainingRunSchema,
  type TrainingRun,
} from './trainingRun.js';
export {
  fixed3,
  percent,
  count,
  levelPercent,
  interval,
  significant,
  FORMATTERS,
} from './format.js';
