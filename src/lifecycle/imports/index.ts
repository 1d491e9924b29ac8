/** PNG/JPEG radiograph collections turned into DICOM CR (`radiolens import-images`). */
export {
  importImages,
  CR_IMAGE_STORAGE,
  crDataset,
  type CrIdentity,
  type ImportOptions,
  type ImportReport,
  type ImportedImage,
} from './importImages.js';
