/**
 * Reads a stored instance's attributes into the DICOM JSON Model: the fast little endian
 * header reader first, dcmjs for anything it declines (big endian, unusual character sets).
 * Pixel Data is never read here; it is announced by a BulkDataURI.
 */
import { createRequire } from 'node:module';
import { RadiolensError } from '../../foundation/core/index.js';
import {
  parseDicom,
  readHeaderLittleEndian,
  IMPLICIT_VR_LITTLE_ENDIAN,
  findTransferSyntax,
} from '../../foundation/dicom/index.js';
import { encodeDicomJson, type DicomJsonDataset, type TaggedValue } from './dicomJson.js';

interface DcmjsReader {
  data: {
    DicomMessage: {
      readFile(
        buffer: ArrayBuffer,
        options: {
          untilTag: string;
          includeUntilTagValue: boolean;
          noCopy: boolean;
          ignoreErrors: boolean;
        },
      ): { dict: Record<string, TaggedValue> };
    };
  };
}
const dcmjs = createRequire(import.meta.url)('dcmjs') as DcmjsReader;

function taggedDictionary(bytes: Uint8Array, source: string): Record<string, TaggedValue> {
  const fast = readHeaderLittleEndian(bytes);
  if (fast !== undefined) return fast.file.dict;
  try {
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    return dcmjs.data.DicomMessage.readFile(buffer as ArrayBuffer, {
      untilTag: '7FE00010',
      includeUntilTagValue: false,
      noCopy: true,
      ignoreErrors: true,
    }).dict;
  } catch (cause) {
    throw new RadiolensError(
      'E_MALFORMED_DICOM',
      `${source}: its attributes cannot be read for DICOMweb metadata: ${(cause as Error).message}`,
      { subject: source, cause },
    );
  }
}

/**
 * Attributes whose VR is "US or SS" by Pixel Representation (PS3.3 C.7.6.3, C.7.5.1.1.2).
 * An implicit VR file does not say which, and the dictionary's first choice is US.
 */
const PIXEL_VALUED = ['00280106', '00280107', '00280108', '00280109', '00280120', '00280121'];

/** Gives pixel-valued attributes of a signed image the VR SS and their signed values. */
function signPixelValues(dataset: DicomJsonDataset): void {
  if (dataset['00280103']?.Value?.[0] !== 1) return;
  for (const tag of PIXEL_VALUED) {
    const attribute = dataset[tag];
    if (attribute?.vr !== 'US') continue;
    dataset[tag] = {
      vr: 'SS',
      ...(attribute.Value === undefined
        ? {}
        : {
            Value: attribute.Value.map((v) =>
              typeof v === 'number' && v > 0x7fff ? v - 0x10000 : v,
            ),
          }),
    };
  }
}

export interface StoredInstanceMetadata {
  readonly dataset: DicomJsonDataset;
  readonly numberOfFrames: number;
  readonly hasPixelData: boolean;
}

/** The DICOM JSON of a Part 10 file as stored; throws the parser's RadiolensError. */
export function readInstanceMetadata(bytes: Uint8Array, source: string): StoredInstanceMetadata {
  const instance = parseDicom(bytes, source);
  const dict = { ...taggedDictionary(bytes, source) };
  delete dict['7FE00010'];
  const dataset = encodeDicomJson(dict);
  if (instance.transferSyntaxUid === IMPLICIT_VR_LITTLE_ENDIAN) signPixelValues(dataset);
  const floatPixels = dataset['7FE00008'] !== undefined || dataset['7FE00009'] !== undefined;
  if (instance.hasPixelData && !floatPixels) {
    // Unknown syntaxes count as encapsulated, as the store keeps them (their frames as stored).
    const encapsulated = findTransferSyntax(instance.transferSyntaxUid)?.encapsulated ?? true;
    const bitsAllocated = Number(dataset['00280100']?.Value?.[0] ?? 0);
    dataset['7FE00010'] = {
      vr: encapsulated || bitsAllocated <= 8 ? 'OB' : 'OW',
      BulkDataURI: 'bulk/7FE00010',
    };
  }
  // Tells a viewer the syntax in which frames come back when it accepts them as stored.
  dataset['00083002'] = { vr: 'UI', Value: [instance.transferSyntaxUid] };
  return { dataset, numberOfFrames: instance.numberOfFrames, hasPixelData: instance.hasPixelData };
}

function asBytes(value: unknown): Uint8Array | undefined {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value))
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return undefined;
}

/**
 * The binary value at a BulkDataURI path (tags and item indexes, as encodeDicomJson wrote
 * them), or undefined when there is none. Pixel Data is not read here (see storedFrame).
 */
export function readBulkValue(
  bytes: Uint8Array,
  source: string,
  path: readonly string[],
): Uint8Array | undefined {
  let dict: Record<string, TaggedValue> | undefined = taggedDictionary(bytes, source);
  for (let at = 0; at < path.length; at += 2) {
    const element: TaggedValue | undefined = dict?.[path[at]!.toUpperCase()];
    if (element === undefined) return undefined;
    const values: unknown[] = Array.isArray(element.Value)
      ? (element.Value as unknown[])
      : [element.Value];
    if (at === path.length - 1) {
      const parts = values.map(asBytes).filter((p): p is Uint8Array => p !== undefined);
      return parts.length === 0 ? undefined : Buffer.concat(parts);
    }
    const index = Number(path[at + 1]);
    dict = Number.isInteger(index)
      ? (values[index] as Record<string, TaggedValue> | undefined)
      : undefined;
  }
  return undefined;
}
