/**
 * Inflating a Deflated Explicit VR Little Endian dataset (PS3.5 A.5) within the parsing
 * limits (ADR 0123): the one place the reading path inflates a dataset.
 */
import { constants as zlibConstants, inflateRawSync } from 'node:zlib';
import { RadiolensError } from '../core/index.js';
import { locateElements } from './elementWalker.js';
import { parsingLimits, type ParsingLimits } from './limits.js';

/** Compressed bytes inflated to find the declared image size, first and at most. */
const FIRST_HEAD_INPUT = 256;
const LAST_HEAD_INPUT = 64 * 1024;

/**
 * The declared image size from the start of the deflated stream, inflating a growing prefix
 * (a prefix inflates without error up to where it was cut) until group 0028 has been seen,
 * the prefix would inflate past the allowance, or it reaches LAST_HEAD_INPUT.
 */
function declaredImageBytesOf(deflated: Uint8Array, allowance: number): number | undefined {
  for (let input = FIRST_HEAD_INPUT; ; input *= 4) {
    let head: Uint8Array;
    try {
      head = inflateRawSync(deflated.subarray(0, input), {
        finishFlush: zlibConstants.Z_SYNC_FLUSH,
        maxOutputLength: allowance,
      });
    } catch {
      return undefined; // corrupt, or the attributes alone are past the allowance
    }
    const declared = declaredImageBytes(head);
    if (declared !== undefined || input >= LAST_HEAD_INPUT || input >= deflated.byteLength) {
      return declared;
    }
  }
}

function isTooLarge(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
}

function inflateAtMost(deflated: Uint8Array, max: number, source: string): Uint8Array | undefined {
  try {
    return inflateRawSync(deflated, { maxOutputLength: max });
  } catch (cause) {
    if (isTooLarge(cause)) return undefined;
    throw new RadiolensError(
      'E_TRUNCATED',
      `${source}: the deflated dataset cannot be inflated (${(cause as Error).message}); the file is truncated or corrupt`,
      { subject: source, cause },
    );
  }
}

const TAG_SAMPLES_PER_PIXEL = 0x00280002;
const TAG_NUMBER_OF_FRAMES = 0x00280008;
const TAG_ROWS = 0x00280010;
const TAG_COLUMNS = 0x00280011;
const TAG_BITS_ALLOCATED = 0x00280100;
const GEOMETRY_TAGS: ReadonlySet<number> = new Set([
  TAG_SAMPLES_PER_PIXEL,
  TAG_NUMBER_OF_FRAMES,
  TAG_ROWS,
  TAG_COLUMNS,
  TAG_BITS_ALLOCATED,
]);

/**
 * Rows × Columns × Number of Frames × Samples per Pixel × Bits Allocated / 8, read from the
 * start of an inflated Explicit VR Little Endian dataset (the element walker, stopping where
 * the bytes end); undefined unless Rows, Columns and Bits Allocated are there.
 */
export function declaredImageBytes(head: Uint8Array): number | undefined {
  const found = locateElements(
    head,
    0,
    { explicitVr: true, littleEndian: true },
    GEOMETRY_TAGS,
    'inflated dataset',
    true,
  );
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const us = (tag: number): number | undefined => {
    const at = found.get(tag);
    return at !== undefined && at.length >= 2 && at.valueOffset + 2 <= head.byteLength
      ? view.getUint16(at.valueOffset, true)
      : undefined;
  };
  const rows = us(TAG_ROWS);
  const columns = us(TAG_COLUMNS);
  const bitsAllocated = us(TAG_BITS_ALLOCATED);
  if (rows === undefined || columns === undefined || bitsAllocated === undefined) return undefined;
  const framesAt = found.get(TAG_NUMBER_OF_FRAMES);
  let frames = 1;
  if (framesAt !== undefined && framesAt.valueOffset + framesAt.length <= head.byteLength) {
    const text = Buffer.from(head.buffer, head.byteOffset + framesAt.valueOffset, framesAt.length)
      .toString('latin1')
      .replace(/[\0 ]+$/, '')
      .trim();
    if (/^\d+$/.test(text)) frames = Number(text);
  }
  const samples = us(TAG_SAMPLES_PER_PIXEL) ?? 1;
  return Math.ceil((rows * columns * frames * samples * bitsAllocated) / 8);
}

/**
 * Inflates a deflated dataset (PS3.5 A.5), stopping at the limit: up to the allowance for
 * any dataset; beyond it only as far as its declared image needs plus the allowance, never
 * past the absolute ceiling. zlib stops producing output at the limit, so a bomb costs at
 * most the limit in memory. Throws E_LIMIT_EXCEEDED past it, E_TRUNCATED for corrupt data.
 */
export function inflateDataset(
  deflated: Uint8Array,
  source: string,
  limits: ParsingLimits = parsingLimits(),
): Uint8Array {
  const allowance = Math.min(limits.inflateAllowanceBytes, limits.maxInflatedBytes);
  const small = inflateAtMost(deflated, allowance, source);
  if (small !== undefined) return small;
  const declared = declaredImageBytesOf(deflated, allowance);
  const limit = Math.min(limits.maxInflatedBytes, (declared ?? 0) + allowance);
  const whole = limit > allowance ? inflateAtMost(deflated, limit, source) : undefined;
  if (whole !== undefined) return whole;
  throw new RadiolensError(
    'E_LIMIT_EXCEEDED',
    `${source}: the deflated dataset (${deflated.byteLength} bytes) inflates to more than ${limit} bytes — ${
      declared === undefined ? 'it declares no image' : `its image declares ${declared} bytes`
    }, plus ${allowance} for other attributes, at most ${limits.maxInflatedBytes}; refused as a decompression bomb (raise parsing.maxInflatedBytes only for a real dataset)`,
    { subject: source },
  );
}
