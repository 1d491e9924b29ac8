export { exactGradCam, exactGradCamRows, type FeatureMapInput } from './gradcam.js';
export { loadCamHead, type CamHead } from './camHead.js';
export {
  occlusionSensitivity,
  type OcclusionInput,
  type OcclusionSpec,
  type OcclusionOptions,
  type BatchScorer,
} from './occlusion.js';
export {
  normaliseHeatmap,
  resampleToImage,
  resampleWithMax,
  type Heatmap,
  type HeatmapRows,
  type HeatmapTarget,
  type NormalisedHeatmap,
  type InputGridMap,
  type ModelInputPlacement,
} from './heatmap.js';
