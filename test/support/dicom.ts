/**
 * Test support for the dicom folder's tests (not product code): corpus paths, decoding every
 * frame, comparing pixel arrays, and running independent decoders (DCMTK, GDCM, OpenJPEG's
 * opj_decompress) on a temporary copy.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conformanceDir } from './index.js';
import { decodeFrame, type DecodedFrame } from '../../src/foundation/dicom/decode.js';
import {
  concatFragments,
  groupFragmentsIntoFrames,
} from '../../src/foundation/dicom/encapsulated.js';
import { readDicomFile, type DicomInstance } from '../../src/foundation/dicom/parse.js';
import { storedPixelData } from '../../src/foundation/dicom/pixelStore.js';

export function corpusPath(relative: string): string {
  return join(conformanceDir, relative);
}

export async function decodeAllFrames(instance: DicomInstance): Promise<DecodedFrame[]> {
  const frames: DecodedFrame[] = [];
  for (let i = 0; i < instance.numberOfFrames; i++) frames.push(await decodeFrame(instance, i));
  return frames;
}

export async function decodeCorpusFile(relative: string): Promise<DecodedFrame[]> {
  return decodeAllFrames(await readDicomFile(corpusPath(relative)));
}

export interface Difference {
  readonly maxAbs: number;
  readonly meanAbs: number;
  readonly differing: number;
}

export function difference(a: ArrayLike<number>, b: ArrayLike<number>): Difference {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let maxAbs = 0;
  let sum = 0;
  let differing = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d !== 0) differing++;
    if (d > maxAbs) maxAbs = d;
    sum += d;
  }
  return { maxAbs, meanAbs: a.length === 0 ? 0 : sum / a.length, differing };
}

const execFileAsync = promisify(execFile);

async function run(tool: string, args: string[]): Promise<void> {
  try {
    await execFileAsync(tool, args);
  } catch (cause) {
    throw new Error(`${tool} ${args.join(' ')} failed: ${(cause as Error).message}`, { cause });
  }
}

export type ReferenceTool = 'dcmdjpeg' | 'dcmdjpls' | 'dcmdrle' | 'gdcmconv' | 'opj_decompress';

/**
 * Decodes a corpus file with an independent decoder into an uncompressed DICOM file, then
 * reads that file with our reader (uncompressed reading is checked separately), returning
 * its frames. opj_decompress gets the raw codestream of frame 0 and writes PNM.
 */
export async function decodeWithReferenceTool(
  relative: string,
  tool: ReferenceTool,
  gdcmOption = '--raw',
): Promise<ArrayLike<number>[]> {
  const dir = mkdtempSync(join(tmpdir(), 'radiolens-ref-'));
  try {
    const input = join(dir, 'in.dcm');
    copyFileSync(corpusPath(relative), input);
    if (tool === 'opj_decompress') return [await decodeWithOpenJpeg(input, dir)];
    const output = join(dir, 'out.dcm');
    const args = tool === 'gdcmconv' ? [gdcmOption, input, output] : [input, output];
    await run(tool, args);
    const frames = await decodeAllFrames(await readDicomFile(output));
    return frames.map((f) => f.pixels);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function decodeWithOpenJpeg(input: string, dir: string): Promise<ArrayLike<number>> {
  const instance = await readDicomFile(input);
  const stored = storedPixelData(instance);
  if (stored?.pixels?.kind !== 'encapsulated' || !stored.syntax)
    throw new Error('not encapsulated');
  const frames = groupFragmentsIntoFrames(
    stored.pixels.data,
    instance.numberOfFrames,
    stored.syntax.codec,
    undefined,
    input,
  );
  const codestream = join(dir, 'frame.j2k');
  writeFileSync(codestream, concatFragments(frames[0]!));
  const output = join(dir, 'frame.pnm');
  await run('opj_decompress', ['-i', codestream, '-o', output]);
  return readPnm(readFileSync(output));
}

/** Binary PGM/PPM (P5/P6), 8 or 16 bits per sample. */
export function readPnm(bytes: Uint8Array): Uint16Array {
  const header: string[] = [];
  let at = 0;
  while (header.length < 4) {
    while (/\s/.test(String.fromCharCode(bytes[at]!))) at++;
    if (bytes[at] === 0x23) {
      while (bytes[at] !== 0x0a) at++;
      continue;
    }
    let token = '';
    while (!/\s/.test(String.fromCharCode(bytes[at]!))) token += String.fromCharCode(bytes[at++]!);
    header.push(token);
  }
  at++; // the single whitespace after maxval
  const [magic, width, height, maxval] = header;
  const channels = magic === 'P6' ? 3 : 1;
  const count = Number(width) * Number(height) * channels;
  const out = new Uint16Array(count);
  if (Number(maxval) < 256) for (let i = 0; i < count; i++) out[i] = bytes[at + i]!;
  else for (let i = 0; i < count; i++) out[i] = (bytes[at + 2 * i]! << 8) | bytes[at + 2 * i + 1]!;
  return out;
}
