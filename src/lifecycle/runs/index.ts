/** Experiment tracking: every training and fine-tuning run as a JSON record (ADR 0075). */
export { runRecordSchema, RUN_SCHEMA, type RunRecord, type RunKind } from './record.js';
export { RunStore, defaultRunsFolder, newRunId, runTimestamp, type RunListing } from './store.js';
export { readPythonTrainingRun, importPythonTrainingRun } from './importTraining.js';
export { formatRunTable, formatRunDetails } from './format.js';
