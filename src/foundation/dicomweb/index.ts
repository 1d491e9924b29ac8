/**
 * DICOMweb (PS3.18) building blocks shared by the STOW-RS endpoint, the DICOMweb delivery
 * destination and anything else speaking DICOMweb: multipart/related bodies (ADR 0108) and
 * Content-Type parsing.
 */
export {
  buildMultipartRelated,
  classifyAfterBoundary,
  multipartBoundary,
  parseMultipartRelated,
  type AfterBoundary,
  type MultipartPart,
  type MultipartBuildOptions,
} from './multipart.js';
export { parseMediaType, formatParameterValue, type MediaType } from './mediaType.js';
