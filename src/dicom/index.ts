/**
 * DICOM reading and pixel decoding (ADRs 0010–0019). Parse a Part 10 file into a
 * naturalized dataset, then decode any frame of any supported transfer syntax to stored
 * values.
 */
export { parseDicom, readDicomFile, type DicomDataset, type DicomInstance } from './parse.js';
export { decodeFrame, type DecodedFrame } from './decode.js';
export {
  findTransferSyntax,
  supportedTransferSyntaxes,
  type TransferSyntax,
  type PixelCodec,
} from './transferSyntax.js';
export { loadCodecs } from './codecs.js';
export * from './write.js';
export { LONG_LENGTH_VRS } from './elementWalker.js';
