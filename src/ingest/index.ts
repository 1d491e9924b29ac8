export {
  importImages,
  CR_IMAGE_STORAGE,
  type ImportOptions,
  type ImportReport,
  type ImportedImage,
} from './importImages.js';
export { decodeRaster, type GreyRaster } from './rasterImage.js';
