export {
  modelManifestSchema,
  parseManifest,
  validateManifest,
  type ModelManifest,
  type ModelLabel,
  type ModelExplanation,
  type ModelIntendedUse,
  type ModelInputSpec,
  type ModelInputRegion,
  type ChangeControlPlan,
  type AcceptanceCriteria,
  type AllowableModification,
  ALLOWABLE_MODIFICATIONS,
  type ManifestIssue,
  type ManifestValidation,
} from './manifest.js';
export {
  loadModelPackage,
  sha256,
  sha256File,
  MANIFEST_FILE,
  MODEL_FILE,
  type ModelPackage,
} from './package.js';
export { ModelRegistry, type RegistryEntry, type ActiveVersion } from './registry.js';
export {
  ACTIVE_STATE_FILE,
  activeStatePath,
  readActiveState,
  type ActiveVersionState,
  type ActiveVersionTransition,
} from './activeVersions.js';
export {
  createModelRunner,
  type ModelRunner,
  type ModelRunnerOptions,
  type ModelRunResult,
  type FeatureMap,
} from './runtime.js';
export {
  checkIntendedUse,
  type IntendedUseDataset,
  type FrameInfo,
  type IntendedUseResult,
  type IntendedUseCaveat,
  checkLungFieldUse,
  type LungFieldVerdict,
  type LungFieldUseResult,
} from './intendedUse.js';
export { compareSemver, isPrerelease, isSemver } from './semver.js';
export * from './onnx/index.js';
export { writeModelPackage } from './packageWriter.js';
export {
  InferencePool,
  sharedInferencePool,
  type InferencePoolOptions,
} from './inferencePool.js';
