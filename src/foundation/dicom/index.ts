/**
 * DICOM reading and pixel decoding (ADRs 0010–0019). Parse a Part 10 file into a
 * naturalized dataset, then decode any frame of any supported transfer syntax to stored
 * values.
 */
export {
  parseDicom,
  readDicomFile,
  readInstanceIdentity,
  type DicomDataset,
  type DicomInstance,
  type InstanceIdentity,
} from './parse.js';
export { decodeFrame, type DecodedFrame } from './decode.js';
export {
  IMPLICIT_VR_LITTLE_ENDIAN,
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  findTransferSyntax,
  frameMediaType,
  hasLittleEndianNativeFrames,
  supportedTransferSyntaxes,
  type TransferSyntax,
  type PixelCodec,
} from './transferSyntax.js';
export { loadCodecs } from './codecs.js';
export * from './write.js';
export { LONG_LENGTH_VRS } from './elementWalker.js';
export {
  dcmjsNaturalize,
  dcmjsReadPart10,
  dcmjsWritePart10,
  type DcmjsReadOptions,
} from './dcmjs.js';
export {
  dictionaryName,
  dictionaryVr,
  keywordEntry,
  type TaggedDataset,
  type TaggedElement,
  type TaggedFile,
} from './taggedDataset.js';
export { readHeaderLittleEndian, textEncoderFor, STRING_VRS } from './part10Reader.js';
export {
  BytesFilledInPlace,
  encodePart10LittleEndian,
  encodeNaturalizedPart10,
  decimalString,
} from './part10Writer.js';
export {
  configureParsingLimits,
  parsingLimits,
  DEFAULT_PARSING_LIMITS,
  type ParsingLimits,
} from './limits.js';
export { inflateDataset } from './inflate.js';
export { storedFrame, type StoredFrame } from './storedFrames.js';
export { repertoireOf, textByteLength, textValueMaxLength } from './vrCheck.js';
