export {
  importImages,
  CR_IMAGE_STORAGE,
  type ImportOptions,
  type ImportReport,
  type ImportedImage,
} from './importImages.js';
export { decodeRaster, type GreyRaster } from './rasterImage.js';
export {
  createStowRsHandler,
  matchStowRsPath,
  DEFAULT_MAX_STOW_REQUEST_BYTES,
  type StowEvent,
  type StowRsHandler,
  type StowRsOptions,
} from './stow/index.js';
export { WatchedFolder, type WatchedFolderOptions, type WatchEvent } from './watch/index.js';
