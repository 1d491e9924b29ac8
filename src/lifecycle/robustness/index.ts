/**
 * Decisions that hold still (issue #11, ADR 0085): how much a model's score and its decision
 * at the threshold move under changes that carry no clinical meaning — brightness, a crop,
 * JPEG re-encoding, 12-bit storage with and without a VOI window — each made as a real file
 * and read back through the normal pipeline.
 */
export {
  imageVersions,
  crop,
  PERTURBATIONS,
  PERTURBATION_SETTINGS,
  type ImageVersion,
  type Perturbation,
  type VersionId,
} from './perturbations.js';
export {
  runRobustness,
  type ImageScores,
  type RobustnessItem,
  type RobustnessRun,
} from './measure.js';
export {
  summariseRobustness,
  describeWindowing,
  renderRobustnessHtml,
  ROBUSTNESS_REPORT_SCHEMA,
  ROBUSTNESS_TARGETS,
  type PerturbationResult,
  type RobustnessReport,
} from './report.js';
