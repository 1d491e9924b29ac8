/**
 * Compressed frame decoders: dcmjs-codecs (one WebAssembly module of DCMTK's IJG 8/12/16-bit
 * JPEG, CharLS, OpenJPEG and OpenJPH; ADR 0011), loaded once, offline, from node_modules.
 * RLE is ours (rle.ts). Every codec failure becomes E_DECODE_FAILED naming the file.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { RadiolensError } from '../core/index.js';
import type { PixelCodec } from './transferSyntax.js';

interface CodecContext {
  getDecodedBuffer(): Uint8Array | undefined;
  getPhotometricInterpretation(): string | undefined;
  getPlanarConfiguration(): number | undefined;
  getBitsAllocated(): number | undefined;
}

interface CodecContextInit {
  width: number;
  height: number;
  bitsAllocated: number;
  bitsStored: number;
  samplesPerPixel: number;
  pixelRepresentation: number;
  planarConfiguration: number;
  photometricInterpretation: string;
  encodedBuffer: Uint8Array;
}

interface DcmjsCodecs {
  Context: new (init: CodecContextInit) => CodecContext;
  NativeCodecs: {
    initializeAsync(options: { webAssemblyModulePathOrUrl?: string }): Promise<void>;
    isInitialized(): boolean;
    decodeJpeg(
      context: CodecContext,
      parameters: { convertColorspaceToRgb: boolean },
    ): CodecContext;
    decodeJpegLs(context: CodecContext, parameters: Record<string, never>): CodecContext;
    decodeJpeg2000(context: CodecContext, parameters: Record<string, never>): CodecContext;
    decodeHtJpeg2000(context: CodecContext, parameters: Record<string, never>): CodecContext;
  };
}

const require = createRequire(import.meta.url);
let codecs: DcmjsCodecs | undefined;
let ready: Promise<DcmjsCodecs> | undefined;

/** Loads the codec WebAssembly once; later calls share the same promise. */
export function loadCodecs(): Promise<DcmjsCodecs> {
  ready ??= (async () => {
    const module = require('dcmjs-codecs') as DcmjsCodecs;
    const wasm = join(dirname(require.resolve('dcmjs-codecs')), 'dcmjs-native-codecs.wasm');
    await module.NativeCodecs.initializeAsync({ webAssemblyModulePathOrUrl: wasm });
    codecs = module;
    return module;
  })();
  return ready;
}

export interface CompressedFrameLayout {
  readonly rows: number;
  readonly columns: number;
  readonly samplesPerPixel: number;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  readonly pixelRepresentation: number;
  readonly photometricInterpretation: string;
}

export interface CodecOutput {
  /** Little endian samples, colour-by-pixel (interleaved). */
  readonly bytes: Uint8Array;
  /** 1 or 2: bytes per sample in `bytes`. */
  readonly bytesPerSample: 1 | 2;
  /** Colour space of the output: the codec converts YBR (JPEG, J2K RCT/ICT) to RGB. */
  readonly colour: 'as-stored' | 'RGB';
  /** True when `bytes` is colour-by-plane (R…R G…G B…B) rather than interleaved. */
  readonly planar: boolean;
}

export async function decodeCompressedFrame(
  codec: Exclude<PixelCodec, 'native' | 'rle' | 'deflated-frame'>,
  codestream: Uint8Array,
  layout: CompressedFrameLayout,
  source: string,
): Promise<CodecOutput> {
  const lib = codecs ?? (await loadCodecs());
  const context = new lib.Context({
    width: layout.columns,
    height: layout.rows,
    // Bits Allocated 1 codestreams (e.g. J2K segmentations) decode to one byte per pixel.
    bitsAllocated: layout.bitsAllocated === 1 ? 8 : layout.bitsAllocated,
    bitsStored: layout.bitsStored,
    samplesPerPixel: layout.samplesPerPixel,
    pixelRepresentation: layout.pixelRepresentation,
    planarConfiguration: 0,
    photometricInterpretation: layout.photometricInterpretation,
    encodedBuffer: codestream,
  });
  let result: CodecContext;
  try {
    switch (codec) {
      case 'jpeg':
        result = lib.NativeCodecs.decodeJpeg(context, { convertColorspaceToRgb: true });
        break;
      case 'jpeg-ls':
        result = lib.NativeCodecs.decodeJpegLs(context, {});
        break;
      case 'jpeg-2000':
        result = lib.NativeCodecs.decodeJpeg2000(context, {});
        break;
      case 'htj2k':
        result = lib.NativeCodecs.decodeHtJpeg2000(context, {});
        break;
    }
  } catch (cause) {
    throw new RadiolensError(
      'E_DECODE_FAILED',
      `${source}: the ${codec} codestream cannot be decoded (${describe(cause)}); the frame is corrupt or truncated`,
      { subject: source, cause },
    );
  }
  const bytes = result.getDecodedBuffer();
  const samples = layout.rows * layout.columns * layout.samplesPerPixel;
  const bytesPerSample = bytes === undefined ? 0 : bytes.byteLength / samples;
  if (bytes === undefined || (bytesPerSample !== 1 && bytesPerSample !== 2)) {
    throw new RadiolensError(
      'E_DECODE_FAILED',
      `${source}: the ${codec} decoder returned ${bytes?.byteLength ?? 0} bytes for ${samples} samples; the codestream does not match the Image Pixel attributes`,
      { subject: source },
    );
  }
  const colour =
    layout.samplesPerPixel === 3 && convertsToRgb(codec, layout.photometricInterpretation)
      ? 'RGB'
      : 'as-stored';
  // CharLS returns a colour image coded without interleave (ILV 0) plane by plane.
  const planar =
    codec === 'jpeg-ls' &&
    layout.samplesPerPixel === 3 &&
    jpegLsScanParameters(codestream)?.interleaveMode === 0;
  return { bytes, bytesPerSample, colour, planar };
}

/**
 * Whether the decoder hands back RGB for a stored YBR photometric: IJG JPEG does when asked
 * (convertColorspaceToRgb), OpenJPEG/OpenJPH apply the inverse component transform of
 * YBR_RCT/YBR_ICT. JPEG-LS never transforms colour.
 */
function convertsToRgb(codec: string, photometric: string): boolean {
  if (codec === 'jpeg') return true;
  if (codec === 'jpeg-2000' || codec === 'htj2k')
    return photometric === 'YBR_RCT' || photometric === 'YBR_ICT';
  return false;
}

/**
 * NEAR (maximum error) and interleave mode (ILV) of a JPEG-LS codestream's first scan
 * (ITU-T T.87 C.2.3): the two bytes after the component list of the Start of Scan segment.
 */
export function jpegLsScanParameters(
  codestream: Uint8Array,
): { near: number; interleaveMode: number } | undefined {
  let at = 2; // after SOI
  while (at + 4 <= codestream.byteLength) {
    if (codestream[at] !== 0xff) return undefined;
    const marker = codestream[at + 1]!;
    const length = (codestream[at + 2]! << 8) | codestream[at + 3]!;
    if (marker === 0xda) {
      const afterComponents = at + 5 + 2 * codestream[at + 4]!;
      const near = codestream[afterComponents];
      const interleaveMode = codestream[afterComponents + 1];
      return near === undefined || interleaveMode === undefined
        ? undefined
        : { near, interleaveMode };
    }
    at += 2 + length;
  }
  return undefined;
}

function describe(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  if (typeof cause === 'number') return `WebAssembly error ${cause}`;
  return String(cause);
}
