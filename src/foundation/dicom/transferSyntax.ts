/**
 * The transfer syntaxes Radiolens reads (PS3.5 §10 and Annex A), with what the reader needs
 * to know about each: how the dataset is encoded and which codec turns a frame into samples.
 */
export type PixelCodec =
  'native' | 'deflated-frame' | 'rle' | 'jpeg' | 'jpeg-ls' | 'jpeg-2000' | 'htj2k';

export interface TransferSyntax {
  readonly uid: string;
  readonly name: string;
  readonly explicitVr: boolean;
  readonly littleEndian: boolean;
  /** The dataset after the File Meta Information is one raw-deflate stream (PS3.5 A.5). */
  readonly deflatedDataset: boolean;
  readonly encapsulated: boolean;
  readonly codec: PixelCodec;
  /** True when decoding may not reproduce the original samples exactly. */
  readonly lossy: boolean;
  /**
   * The media type of a frame in this syntax as DICOMweb sends it (PS3.18 Table 8.7.3-5):
   * application/octet-stream for native samples and for codecs the table names none for.
   */
  readonly frameMediaType: string;
}

/** The UIDs other modules name directly; the one place they are written (issue #14). */
export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
/** Explicit VR Little Endian, the transfer syntax every receiver must accept (PS3.5 10.1). */
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';

/**
 * PS3.18 Table 8.7.3-5: the media types of compressed frames. Every UID here but the two
 * JPEG 2000 Part 2 ones is in the table above; those two Radiolens does not decode, but a
 * node returns what it stored as stored (ADR 0170), so their frames still get their type.
 */
const FRAME_MEDIA_TYPES: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2.4.50': 'image/jpeg',
  '1.2.840.10008.1.2.4.51': 'image/jpeg',
  '1.2.840.10008.1.2.4.57': 'image/jpeg',
  '1.2.840.10008.1.2.4.70': 'image/jpeg',
  '1.2.840.10008.1.2.4.80': 'image/jls',
  '1.2.840.10008.1.2.4.81': 'image/jls',
  '1.2.840.10008.1.2.4.90': 'image/jp2',
  '1.2.840.10008.1.2.4.91': 'image/jp2',
  '1.2.840.10008.1.2.4.92': 'image/jpx',
  '1.2.840.10008.1.2.4.93': 'image/jpx',
  '1.2.840.10008.1.2.4.201': 'image/jphc',
  '1.2.840.10008.1.2.4.202': 'image/jphc',
  '1.2.840.10008.1.2.4.203': 'image/jphc',
  '1.2.840.10008.1.2.5': 'image/dicom-rle',
};

const table: readonly TransferSyntax[] = [
  ts('1.2.840.10008.1.2', 'Implicit VR Little Endian', { explicitVr: false }),
  ts('1.2.840.10008.1.2.1', 'Explicit VR Little Endian', {}),
  ts('1.2.840.10008.1.2.1.99', 'Deflated Explicit VR Little Endian', { deflatedDataset: true }),
  ts('1.2.840.10008.1.2.2', 'Explicit VR Big Endian (retired)', { littleEndian: false }),
  ts('1.2.840.10008.1.2.8.1', 'Deflated Image Frame Compression', { codec: 'deflated-frame' }),
  ts('1.2.840.10008.1.2.5', 'RLE Lossless', { codec: 'rle' }),
  ts('1.2.840.10008.1.2.4.50', 'JPEG Baseline (Process 1)', { codec: 'jpeg', lossy: true }),
  ts('1.2.840.10008.1.2.4.51', 'JPEG Extended (Process 2 & 4)', { codec: 'jpeg', lossy: true }),
  ts('1.2.840.10008.1.2.4.53', 'JPEG Spectral Selection (Process 6 & 8, retired)', {
    codec: 'jpeg',
    lossy: true,
  }),
  ts('1.2.840.10008.1.2.4.55', 'JPEG Full Progression (Process 10 & 12, retired)', {
    codec: 'jpeg',
    lossy: true,
  }),
  ts('1.2.840.10008.1.2.4.57', 'JPEG Lossless (Process 14)', { codec: 'jpeg' }),
  ts('1.2.840.10008.1.2.4.70', 'JPEG Lossless SV1 (Process 14, Selection Value 1)', {
    codec: 'jpeg',
  }),
  ts('1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless', { codec: 'jpeg-ls' }),
  ts('1.2.840.10008.1.2.4.81', 'JPEG-LS Near-Lossless', { codec: 'jpeg-ls', lossy: true }),
  ts('1.2.840.10008.1.2.4.90', 'JPEG 2000 Lossless Only', { codec: 'jpeg-2000' }),
  ts('1.2.840.10008.1.2.4.91', 'JPEG 2000', { codec: 'jpeg-2000', lossy: true }),
  ts('1.2.840.10008.1.2.4.201', 'HTJ2K Lossless Only', { codec: 'htj2k' }),
  ts('1.2.840.10008.1.2.4.202', 'HTJ2K with RPCL Options Lossless Only', { codec: 'htj2k' }),
  ts('1.2.840.10008.1.2.4.203', 'HTJ2K', { codec: 'htj2k', lossy: true }),
];

const byUid = new Map(table.map((entry) => [entry.uid, entry]));

/** A frame's media type in a transfer syntax, read or not (see FRAME_MEDIA_TYPES). */
export function frameMediaType(uid: string): string {
  return byUid.get(uid)?.frameMediaType ?? FRAME_MEDIA_TYPES[uid] ?? 'application/octet-stream';
}

/**
 * Frames in this syntax are plain little-endian samples (native, dataset deflated or not):
 * the same bytes in every little-endian syntax, so DICOMweb reports them as Explicit VR LE.
 */
export function hasLittleEndianNativeFrames(uid: string): boolean {
  const entry = byUid.get(uid);
  return entry !== undefined && entry.codec === 'native' && entry.littleEndian;
}

/** The transfer syntax for a UID, or undefined when Radiolens cannot read it. */
export function findTransferSyntax(uid: string): TransferSyntax | undefined {
  return byUid.get(uid);
}

/** Every transfer syntax Radiolens reads, for documentation and conformance statements. */
export function supportedTransferSyntaxes(): readonly TransferSyntax[] {
  return table;
}

function ts(
  uid: string,
  name: string,
  options: Partial<Omit<TransferSyntax, 'uid' | 'name'>>,
): TransferSyntax {
  const codec = options.codec ?? 'native';
  return {
    uid,
    name,
    explicitVr: options.explicitVr ?? true,
    littleEndian: options.littleEndian ?? true,
    deflatedDataset: options.deflatedDataset ?? false,
    encapsulated: codec !== 'native',
    codec,
    lossy: options.lossy ?? false,
    frameMediaType: FRAME_MEDIA_TYPES[uid] ?? 'application/octet-stream',
  };
}
