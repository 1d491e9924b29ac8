/**
 * imaging — from decoded pixels to what a model or a viewer needs: Modality LUT → VOI LUT →
 * photometric (display grey in [0,1]), area resampling, model-input tensors, and volumes.
 */
export type {
  DatasetLike,
  PixelArray,
  PixelFrameLike,
  GreyImage,
  GreyRows,
  GreySource,
  PixelRegion,
  ImageInputSpec,
  Volume,
  VoiFallback,
  WindowingRule,
} from './types.js';
export { applyModalityLut } from './modalityLut.js';
export {
  applyVoiLut,
  selectVoi,
  applyWindow,
  FALLBACK_PERCENTILES,
  type VoiSelection,
  type VoiLutFunction,
} from './voiLut.js';
export { toDisplayGrey } from './displayGrey.js';
export { resizeArea, AreaResizeProbe } from './resize.js';
export { toModelInput, inputPlacement, placeInInput, type InputPlacement } from './modelInput.js';
export { buildVolume, type VolumeSlice } from './volume.js';
export {
  toModelInputAndDisplay,
  toDisplayGreyAndResized,
  displaySize,
  type ModelInputAndDisplay,
} from './inputAndDisplay.js';
export { readGreyImage } from './readGreyImage.js';
