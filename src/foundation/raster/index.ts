/** PNG and JPEG radiographs decoded to grey pixels (imports and OOD fitting read them). */
export { decodeRaster, type GreyRaster } from './rasterImage.js';
