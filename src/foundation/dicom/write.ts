import { EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from './transferSyntax.js';
import { RADIOLENS_VERSION, RadiolensError, deriveUid, isValidUid } from '../core/index.js';
import { BytesFilledInPlace, encodeNaturalizedPart10 } from './part10Writer.js';

/**
 * PS3.10 Part 10 file writer for what Radiolens creates (SR, SC). The dataset is a dcmjs-style
 * "naturalized" object (keyword → value) and we own its correctness; this module adds the
 * File Meta Information (PS3.10 7.1), checks the few things a wrong input would otherwise turn
 * into a silently invalid file, and encodes with our own Part 10 writer (part10Writer.ts,
 * ADR 0025): dcmjs' writer cost 20–40 ms per object, most of the pipeline's output time.
 */

export { EXPLICIT_VR_LITTLE_ENDIAN } from './transferSyntax.js';

/**
 * Implementation Class UID (0002,0012): constant for this implementation, derived under 2.25
 * so it is globally unique without a registered root. Change the version part only when the
 * writer's behaviour changes in a way a receiver might need to tell apart.
 */
export const IMPLEMENTATION_CLASS_UID = deriveUid('radiolens', 'implementation-class', '0.1');

/** Implementation Version Name (0002,0013), SH, at most 16 characters: RADIOLENS_ and the
 * release's digits (0.1.0 → RADIOLENS_010). */
export const IMPLEMENTATION_VERSION_NAME =
  `RADIOLENS_${RADIOLENS_VERSION.replace(/[^0-9]/g, '')}`.slice(0, 16);

const SUPPORTED_TRANSFER_SYNTAXES = new Set([EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN]);

/**
 * Encode a naturalized dataset as a DICOM Part 10 file: 128-byte preamble, "DICM", File Meta
 * Information group (0002) in Explicit VR Little Endian, then the dataset in the requested
 * transfer syntax. Only native (uncompressed) syntaxes are accepted: our objects carry either
 * no pixel data (SR) or raw RGB (SC).
 *
 * Pitfalls this guards against (dcmjs writes whatever it is given):
 * - SOPClassUID/SOPInstanceUID must be present and valid: they become Media Storage SOP
 *   Class/Instance UID in the meta header.
 * - Pixel Data must be an ArrayBuffer[] with its VR named in `_vrMap` (OB for 8-bit); a typed
 *   array is accepted here and converted, and a BytesFilledInPlace is drawn into the file.
 * - Person names may be given as strings; dcmjs turns them into PN objects.
 * - Group 0002 elements in the dataset are rejected: the meta header is ours to write.
 */
export function encodeDicomPart10(
  dataset: Record<string, unknown>,
  transferSyntaxUid: string = EXPLICIT_VR_LITTLE_ENDIAN,
): Uint8Array {
  if (!SUPPORTED_TRANSFER_SYNTAXES.has(transferSyntaxUid)) {
    throw new RadiolensError(
      'E_UNSUPPORTED_TRANSFER_SYNTAX',
      `cannot write transfer syntax ${transferSyntaxUid}: the writer emits native Explicit or Implicit VR Little Endian only — write ${EXPLICIT_VR_LITTLE_ENDIAN} and transcode afterwards if needed`,
    );
  }
  const sopClassUid = dataset['SOPClassUID'];
  const sopInstanceUid = dataset['SOPInstanceUID'];
  for (const [name, value] of [
    ['SOPClassUID', sopClassUid],
    ['SOPInstanceUID', sopInstanceUid],
  ] as const) {
    if (typeof value !== 'string' || !isValidUid(value)) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `dataset to encode has no valid ${name} (got ${JSON.stringify(value)}): set it before encoding — it is copied into the File Meta Information`,
      );
    }
  }
  const metaKeys = Object.keys(dataset).filter((key) =>
    [
      'FileMetaInformationGroupLength',
      'FileMetaInformationVersion',
      'MediaStorageSOPClassUID',
      'MediaStorageSOPInstanceUID',
      'TransferSyntaxUID',
      'ImplementationClassUID',
      'ImplementationVersionName',
    ].includes(key),
  );
  if (metaKeys.length > 0) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `dataset to encode contains File Meta Information elements (${metaKeys.join(', ')}): remove them, encodeDicomPart10 writes group 0002 itself`,
    );
  }

  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]),
    MediaStorageSOPClassUID: sopClassUid,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: transferSyntaxUid,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
    _vrMap: { FileMetaInformationVersion: 'OB' },
  };
  return encodeNaturalizedPart10(meta, withPixelDataAsOneValue(dataset), transferSyntaxUid);
}

/**
 * Native Pixel Data is one value: a view on the caller's bytes (no copy), the frames of an
 * ArrayBuffer[] joined, or bytes the caller draws in place (BytesFilledInPlace). Its VR
 * defaults to OB (8-bit samples).
 */
function withPixelDataAsOneValue(dataset: Record<string, unknown>): Record<string, unknown> {
  const pixelData = dataset['PixelData'];
  if (pixelData === undefined) return dataset;
  let bytes: Uint8Array | BytesFilledInPlace;
  if (pixelData instanceof BytesFilledInPlace) {
    bytes = pixelData; // drawn in place by the encoder; its length is even by construction
  } else if (pixelData instanceof ArrayBuffer) {
    bytes = new Uint8Array(pixelData);
  } else if (ArrayBuffer.isView(pixelData)) {
    bytes = new Uint8Array(pixelData.buffer, pixelData.byteOffset, pixelData.byteLength);
  } else if (Array.isArray(pixelData) && pixelData.every((b) => b instanceof ArrayBuffer)) {
    bytes = new Uint8Array(pixelData.reduce((sum, b) => sum + b.byteLength, 0));
    let at = 0;
    for (const frame of pixelData) {
      bytes.set(new Uint8Array(frame), at);
      at += frame.byteLength;
    }
  } else {
    throw new RadiolensError(
      'E_PIXEL_DATA',
      'PixelData to encode must be an ArrayBuffer, a typed array or an ArrayBuffer[]: convert the pixel buffer before encoding',
    );
  }
  if (bytes.byteLength % 2 !== 0) {
    throw new RadiolensError(
      'E_PIXEL_DATA',
      `PixelData is ${bytes.byteLength} bytes, an odd length: DICOM values have even length (PS3.5 7.1.1) — pad the pixel buffer with one zero byte`,
    );
  }
  const vrMap = (dataset['_vrMap'] as Record<string, string> | undefined) ?? {};
  return {
    ...dataset,
    PixelData: bytes,
    _vrMap: { ...vrMap, PixelData: vrMap['PixelData'] ?? 'OB' },
  };
}
