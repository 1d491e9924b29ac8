/** PNG and JPEG radiographs decoded to grey pixels (imports and OOD fitting read them), and written (robustness perturbations). */
export { decodeRaster, encodePng, encodeJpeg, type GreyRaster } from './rasterImage.js';
export { encodeGrey16Png, encodeGrey16PngRows, crc32 } from './png16.js';
