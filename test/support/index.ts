export { repoRoot, sharedDir, conformanceDir } from './paths.js';
export { dciodvfy, pixelmedSrValidator, runOnDicom, type ToolRun } from './dicomTools.js';
export { validateFhirR4, validateFhirR4Schema } from './fhirValidation.js';
export {
  writeTestModelPackage,
  buildSmallCnnOnnx,
  buildHeadOnnx,
  buildQuadrantOnnx,
  buildDenseNet121Onnx,
  seededRandom,
  PNEUMONIA_LABEL,
  PLEURAL_EFFUSION_LABEL,
  type TestModelPackageOptions,
  type SmallCnn,
  type SmallCnnOptions,
  type DenseNet121,
} from './onnxModels.js';
export { runCli, type CliRun } from './cli.js';
export { cliMain, childScript, scriptExecArgv } from './entryPoints.js';
export { buildQuadrantCamOnnx, writeQuadrantCamPackage } from './evidenceModels.js';
export {
  SITE_DIR,
  KERMANY_DIR,
  SITE_SPLITS,
  LOCKED_DATASET_NAME,
  LOCKED_DATASET_SECRET,
  buildLockedSiteTestDataset,
  siteSplitRows,
  writeBrightenedCopies,
  type SiteRow,
} from './siteData.js';
