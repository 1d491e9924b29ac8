/**
 * decodeFrame: one frame of a parsed instance → stored values, grey or RGB. The steps are
 * (1) get the frame's native bytes or codestream, (2) unpack to stored values, (3) turn
 * colour into interleaved RGB. Each step is a plain function over typed arrays, so each can
 * be benchmarked alone.
 */
import { inflateRawSync } from 'node:zlib';
import { RadiolensError } from '../core/index.js';
import { decodeCompressedFrame } from './codecs.js';
import {
  paletteToRgb,
  planarToInterleaved,
  readPalette,
  type PaletteLookup,
  ybr422SampleCount,
  ybr422ToFull,
  ybrFullToRgb,
} from './colour.js';
import { concatFragments, groupFragmentsIntoFrames } from './encapsulated.js';
import { describeImagePixel, type ImagePixelDescription } from './imagePixel.js';
import type { DicomInstance } from './parse.js';
import { storedPixelData, type EncapsulatedPixelBytes } from './pixelStore.js';
import { decodeRleFrame } from './rle.js';
import { frameByteLength, unpackSamples, type SampleArray } from './samples.js';
import type { TransferSyntax } from './transferSyntax.js';

export interface DecodedFrame {
  readonly rows: number;
  readonly columns: number;
  readonly samplesPerPixel: 1 | 3;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  readonly pixelRepresentation: 0 | 1;
  /** MONOCHROME1 | MONOCHROME2 for grey; colour is always converted to 'RGB', interleaved. */
  readonly photometricInterpretation: 'MONOCHROME1' | 'MONOCHROME2' | 'RGB';
  /**
   * Stored values (signed when pixelRepresentation=1), before any Modality LUT. Float and
   * Double Float Pixel Data → Float32Array/Float64Array; unsigned 32-bit → Float64Array;
   * native unsigned 16-bit grey → Uint16Array, which may be a view on the instance's own
   * bytes (ADR 0129): read it, never write it.
   */
  readonly pixels: Int32Array | Float32Array | Float64Array | Uint16Array;
}

const COLOUR_PHOTOMETRICS = new Set([
  'RGB',
  'YBR_FULL',
  'YBR_FULL_422',
  'YBR_RCT',
  'YBR_ICT',
  // Legal only for JPEG; the IJG decoder returns RGB, which is checked after decoding.
  'YBR_PARTIAL_422',
  'YBR_PARTIAL_420',
  'PALETTE COLOR',
]);

/** Palette LUTs parsed once per instance, not once per frame. */
const palettes = new WeakMap<DicomInstance, PaletteLookup>();

/** Decodes frame `frameIndex` (0-based). Throws RadiolensError. */
export async function decodeFrame(
  instance: DicomInstance,
  frameIndex: number,
): Promise<DecodedFrame> {
  const { source } = instance;
  const stored = storedPixelData(instance);
  if (!stored?.pixels || !instance.hasPixelData) {
    throw new RadiolensError('E_PIXEL_DATA', `${source} has no Pixel Data to decode`, {
      subject: source,
    });
  }
  const syntax = stored.syntax;
  if (!syntax) {
    throw new RadiolensError(
      'E_UNSUPPORTED_TRANSFER_SYNTAX',
      `${instance.transferSyntaxUid} in file ${source} is not a transfer syntax Radiolens decodes — transcode it (e.g. dcmconv/gdcmconv --raw) or exclude it`,
      { subject: source },
    );
  }
  if (!Number.isInteger(frameIndex) || frameIndex < 0 || frameIndex >= instance.numberOfFrames) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${source}: frame ${frameIndex} requested but the instance has ${instance.numberOfFrames} frame(s) (0-based index)`,
      { subject: source },
    );
  }
  const pixels = stored.pixels;
  const floatPixels = pixels.keyword !== 'PixelData';
  const desc = describeImagePixel(instance, floatPixels);
  const photometric = desc.photometricInterpretation;
  checkPhotometric(desc, source);

  let samples: SampleArray;
  let colourDone = false;
  if (pixels.kind === 'native') {
    samples = nativeFrame(pixels.bytes, frameIndex, desc, syntax, pixels.vr, floatPixels, source);
  } else {
    const codestream = frameCodestream(pixels, desc, syntax, source, frameIndex);
    const decoded = await decodeEncapsulatedFrame(codestream, desc, syntax, source);
    samples = decoded.samples;
    colourDone = decoded.rgb;
  }

  let outPhotometric: DecodedFrame['photometricInterpretation'];
  let bitsAllocated = desc.bitsAllocated;
  let bitsStored = desc.bitsStored;
  let pixelRepresentation = desc.pixelRepresentation;
  if (photometric === 'MONOCHROME1' || photometric === 'MONOCHROME2') {
    outPhotometric = photometric;
  } else if (photometric === 'PALETTE COLOR') {
    let palette = palettes.get(instance);
    if (!palette) {
      palette = readPalette(instance.dataset, syntax.littleEndian, source);
      palettes.set(instance, palette);
    }
    samples = paletteToRgb(samples as Int32Array, palette);
    outPhotometric = 'RGB';
    bitsAllocated = palette.bits;
    bitsStored = palette.bits;
    pixelRepresentation = 0;
  } else {
    outPhotometric = 'RGB';
    if (!colourDone && (photometric === 'YBR_FULL' || photometric === 'YBR_FULL_422')) {
      ybrFullToRgb(samples as Int32Array, desc.bitsStored);
    } else if (!colourDone && photometric !== 'RGB') {
      throw new RadiolensError(
        'E_UNSUPPORTED_PHOTOMETRIC',
        `${source}: ${photometric} is only supported when the codec converts it to RGB (JPEG; J2K for YBR_RCT/ICT), not in ${syntax.name}`,
        { subject: source },
      );
    }
  }
  return {
    rows: desc.rows,
    columns: desc.columns,
    samplesPerPixel: outPhotometric === 'RGB' ? 3 : 1,
    bitsAllocated,
    bitsStored,
    pixelRepresentation,
    photometricInterpretation: outPhotometric,
    pixels: samples,
  };
}

function checkPhotometric(desc: ImagePixelDescription, source: string): void {
  const p = desc.photometricInterpretation;
  const grey = p === 'MONOCHROME1' || p === 'MONOCHROME2' || p === 'PALETTE COLOR';
  if (
    (desc.samplesPerPixel === 1 && grey) ||
    (desc.samplesPerPixel === 3 && COLOUR_PHOTOMETRICS.has(p) && p !== 'PALETTE COLOR')
  ) {
    return;
  }
  throw new RadiolensError(
    'E_UNSUPPORTED_PHOTOMETRIC',
    `${source}: Photometric Interpretation ${p} with ${desc.samplesPerPixel} sample(s) per pixel is not supported (MONOCHROME1/2, PALETTE COLOR, RGB, YBR_FULL, YBR_FULL_422, YBR_RCT/ICT are)`,
    { subject: source },
  );
}

/** Native Pixel Data: one frame's stored values, interleaved and at full resolution. */
function nativeFrame(
  bytes: Uint8Array,
  frameIndex: number,
  desc: ImagePixelDescription,
  syntax: TransferSyntax,
  vr: string,
  floatPixels: boolean,
  source: string,
): SampleArray {
  const pixels = desc.rows * desc.columns;
  const ybr422 = desc.photometricInterpretation === 'YBR_FULL_422';
  const count = ybr422 ? ybr422SampleCount(desc.rows, desc.columns) : pixels * desc.samplesPerPixel;
  const photometric = desc.photometricInterpretation;
  const layout = {
    count,
    bitsAllocated: desc.bitsAllocated,
    bitsStored: desc.bitsStored,
    pixelRepresentation: desc.pixelRepresentation,
    float: floatPixels,
    // Grey samples are only read from here on; colour and palette ones are converted in place.
    readOnly16: photometric === 'MONOCHROME1' || photometric === 'MONOCHROME2',
  };
  const littleEndian = syntax.littleEndian || desc.bitsAllocated <= 8;
  let samples: SampleArray;
  if (desc.bitsAllocated === 1) {
    samples = unpackSamples(bytes, 0, layout, true, source, frameIndex * count);
  } else if (!syntax.littleEndian && desc.bitsAllocated === 8 && vr === 'OW') {
    // 8-bit samples in an OW value of a big endian file are byte-swapped in 16-bit words:
    // swap just this frame's words (starting on an even byte) and read from there.
    const start = frameIndex * count;
    const wordStart = start & ~1;
    const end = Math.min(bytes.byteLength, start + count + ((start + count) & 1));
    samples = unpackSamples(
      swapPairs(bytes.subarray(wordStart, end)),
      start - wordStart,
      layout,
      true,
      source,
    );
  } else {
    const start = frameIndex * frameByteLength(count, desc.bitsAllocated);
    samples = unpackSamples(bytes, start, layout, littleEndian, source);
  }
  return arrangeColour(samples, desc, ybr422);
}

function arrangeColour(
  samples: SampleArray,
  desc: ImagePixelDescription,
  ybr422: boolean,
): SampleArray {
  if (desc.samplesPerPixel !== 3 || !(samples instanceof Int32Array)) return samples;
  if (ybr422) return ybr422ToFull(samples, desc.rows, desc.columns);
  if (desc.planarConfiguration === 1) return planarToInterleaved(samples, desc.rows * desc.columns);
  return samples;
}

function swapPairs(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  for (let i = 0; i + 1 < bytes.byteLength; i += 2) {
    out[i] = bytes[i + 1]!;
    out[i + 1] = bytes[i]!;
  }
  return out;
}

function frameCodestream(
  pixels: EncapsulatedPixelBytes,
  desc: ImagePixelDescription,
  syntax: TransferSyntax,
  source: string,
  frameIndex: number,
): Uint8Array {
  pixels.frames ??= groupFragmentsIntoFrames(
    pixels.data,
    desc.numberOfFrames,
    syntax.codec,
    pixels.extendedOffsets,
    source,
  );
  const parts = pixels.frames[frameIndex];
  if (!parts || parts.length === 0) {
    throw new RadiolensError('E_PIXEL_DATA', `${source}: frame ${frameIndex} has no fragments`, {
      subject: source,
    });
  }
  return concatFragments(parts);
}

async function decodeEncapsulatedFrame(
  codestream: Uint8Array,
  desc: ImagePixelDescription,
  syntax: TransferSyntax,
  source: string,
): Promise<{ samples: SampleArray; rgb: boolean }> {
  const pixels = desc.rows * desc.columns;
  const baseLayout = {
    count: pixels * desc.samplesPerPixel,
    bitsAllocated: desc.bitsAllocated,
    bitsStored: desc.bitsStored,
    pixelRepresentation: desc.pixelRepresentation,
    float: false,
  };
  switch (syntax.codec) {
    case 'deflated-frame': {
      let inflated: Uint8Array;
      // A frame is exactly its native size; zlib stops at it, so a bomb costs no more.
      const frameBytes = Math.ceil((pixels * desc.samplesPerPixel * desc.bitsAllocated) / 8);
      try {
        inflated = inflateRawSync(codestream, { maxOutputLength: Math.max(1, frameBytes + 64) });
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
          throw new RadiolensError(
            'E_LIMIT_EXCEEDED',
            `${source}: a deflated frame inflates to more than its ${frameBytes} bytes; refused as a decompression bomb`,
            { subject: source, cause },
          );
        }
        throw new RadiolensError(
          'E_DECODE_FAILED',
          `${source}: a deflated frame cannot be inflated (${(cause as Error).message})`,
          {
            subject: source,
            cause,
          },
        );
      }
      return { samples: nativeFrame(inflated, 0, desc, syntax, 'OB', false, source), rgb: false };
    }
    case 'rle': {
      const native = decodeRleFrame(codestream, desc, source);
      // RLE frames come back colour-by-pixel whatever Planar Configuration says (PS3.5 G.2).
      const samples = unpackSamples(native, 0, baseLayout, true, source);
      return { samples, rgb: false };
    }
    case 'native':
      throw new RadiolensError(
        'E_MALFORMED_DICOM',
        `${source}: native transfer syntax with encapsulated Pixel Data`,
        {
          subject: source,
        },
      );
    default: {
      const out = await decodeCompressedFrame(syntax.codec, codestream, desc, source);
      let samples = unpackSamples(
        out.bytes,
        0,
        { ...baseLayout, bitsAllocated: out.bytesPerSample * 8 },
        true,
        source,
      );
      if (out.planar && samples instanceof Int32Array)
        samples = planarToInterleaved(samples, pixels);
      return { samples, rgb: out.colour === 'RGB' };
    }
  }
}
