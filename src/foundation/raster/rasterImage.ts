import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import { RadiolensError } from '../core/index.js';

/** A greyscale raster as read from a PNG or JPEG file: one sample per pixel. */
export interface GreyRaster {
  width: number;
  height: number;
  bitDepth: 8 | 16;
  samples: Uint8Array | Uint16Array;
  /** True when the source was lossy (JPEG): the DICOM must say so (Lossy Image Compression). */
  lossy: boolean;
  /** True when the source had colour that was not grey and was converted to luminance. */
  convertedFromColour: boolean;
}

/**
 * Decode a PNG (8 or 16 bit, grey or colour) or baseline JPEG into a greyscale raster.
 * Radiographs saved as RGB with equal channels are taken as grey exactly; real colour is
 * converted with BT.601 luma and flagged, since a colour "radiograph" is suspicious.
 */
export function decodeRaster(bytes: Uint8Array, source: string): GreyRaster {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    return decodePng(buffer, source);
  }
  if (buffer[0] === 0xff && buffer[1] === 0xd8) return decodeJpeg(buffer, source);
  throw new RadiolensError(
    'E_BAD_INPUT',
    `${source} is neither a PNG nor a JPEG file: convert it to one of those first`,
    {
      subject: source,
    },
  );
}

function decodePng(buffer: Buffer, source: string): GreyRaster {
  let png: pngjs.PNGWithMetadata;
  try {
    png = pngjs.PNG.sync.read(buffer, { skipRescale: true });
  } catch (error) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${source}: cannot decode PNG (${String(error)}); the file is damaged or truncated`,
      {
        subject: source,
        cause: error,
      },
    );
  }
  const { width, height } = png;
  const sixteen = png.depth === 16;
  // pngjs always expands to four samples per pixel (RGBA), at 8 or 16 bits.
  const rgba = png.data as unknown as ArrayLike<number>;
  const samples = sixteen ? new Uint16Array(width * height) : new Uint8Array(width * height);
  const convertedFromColour = toGrey(rgba, 4, samples);
  return { width, height, bitDepth: sixteen ? 16 : 8, samples, lossy: false, convertedFromColour };
}

function decodeJpeg(buffer: Buffer, source: string): GreyRaster {
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(buffer, {
      useTArray: true,
      formatAsRGBA: false,
      maxMemoryUsageInMB: 1024,
    });
  } catch (error) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${source}: cannot decode JPEG (${String(error)}); the file is damaged or not baseline/progressive JPEG`,
      {
        subject: source,
        cause: error,
      },
    );
  }
  const { width, height } = decoded;
  const samples = new Uint8Array(width * height);
  const convertedFromColour = toGrey(decoded.data, 3, samples);
  return { width, height, bitDepth: 8, samples, lossy: true, convertedFromColour };
}

/** Write the grey value of each pixel into `out`; returns whether any pixel had real colour. */
function toGrey(
  interleaved: ArrayLike<number>,
  stride: number,
  out: Uint8Array | Uint16Array,
): boolean {
  let colour = false;
  for (let pixel = 0, offset = 0; pixel < out.length; pixel += 1, offset += stride) {
    const r = interleaved[offset]!;
    const g = interleaved[offset + 1]!;
    const b = interleaved[offset + 2]!;
    if (r === g && g === b) {
      out[pixel] = r;
    } else {
      colour = true;
      out[pixel] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    }
  }
  return colour;
}

/** A grey PNG of the raster's samples at its bit depth (lossless; the inverse of decodeRaster). */
export function encodePng(
  raster: Pick<GreyRaster, 'width' | 'height' | 'bitDepth' | 'samples'>,
): Uint8Array {
  const { width, height, bitDepth, samples } = raster;
  if (samples.length !== width * height) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `PNG: ${samples.length} samples for a ${width}×${height} image`,
    );
  }
  const png = new pngjs.PNG({ width, height, colorType: 0, inputColorType: 0, bitDepth });
  // pngjs reads grey input as one sample per pixel in the platform's typed-array layout.
  png.data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  return pngjs.PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth });
}

/**
 * Baseline JPEG of an 8-bit grey raster at a quality of 1–100 (IJG scaling of the standard
 * quantisation tables, as libjpeg's -quality). jpeg-js writes three components; grey input
 * gives zero chroma, so only the luminance is quantised, as in a one-component grey JPEG.
 */
export function encodeJpeg(
  raster: Pick<GreyRaster, 'width' | 'height' | 'bitDepth' | 'samples'>,
  quality: number,
): Uint8Array {
  const { width, height, bitDepth, samples } = raster;
  if (bitDepth !== 8) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `JPEG holds 8-bit samples; this raster has ${bitDepth} — scale it to 8 bits first`,
    );
  }
  if (!(Number.isInteger(quality) && quality >= 1 && quality <= 100)) {
    throw new RadiolensError('E_BAD_INPUT', `JPEG quality ${quality} is not a whole number 1–100`);
  }
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const v = samples[i]!;
    rgba[4 * i] = v;
    rgba[4 * i + 1] = v;
    rgba[4 * i + 2] = v;
    rgba[4 * i + 3] = 255;
  }
  return jpeg.encode({ data: rgba, width, height }, quality).data;
}
