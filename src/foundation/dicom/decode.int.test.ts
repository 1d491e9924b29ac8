/**
 * Decoding checked against DCMTK on the conformance corpus: colour conversions agree with its
 * renderer (dcmj2pnm), native 16-bit samples with dcmdump. Needs dcmtk (integration test).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { corpusPath, decodeCorpusFile, difference, readPnm } from '../../../test/support/dicom.js';

const cs = (name: string): string => `cornerstone3D/${name}`;
const py = (name: string): string => `pydicom-data/${name}`;
const ct = (ts: string): string => cs(`CTImage.dcm_${ts}.dcm`);

const execFileAsync = promisify(execFile);

/** DCMTK renders colour images to 8-bit PPM without any windowing: an independent RGB. */
async function dcmtkRgb(relative: string): Promise<Uint16Array> {
  const dir = mkdtempSync(join(tmpdir(), 'radiolens-pnm-'));
  try {
    const out = join(dir, 'out.ppm');
    await execFileAsync('dcmj2pnm', ['--write-raw-pnm', corpusPath(relative), out]);
    return readPnm(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('colour conversion agrees with DCMTK (dcmj2pnm)', () => {
  const cases: readonly [string, string, number][] = [
    [cs('TestPattern_Palette.dcm'), 'PALETTE COLOR, 8-bit entries', 0],
    [cs('TestPattern_Palette_16.dcm'), 'PALETTE COLOR, 16-bit entries', 0],
    [py('OBXXXX1A.dcm'), 'PALETTE COLOR, 16-bit entries, US', 0],
    [py('OT-PAL-8-face.dcm'), 'PALETTE COLOR, bare implicit VR dataset', 0],
    [cs('US-YBR_FULL_422-EVRLE.dcm'), 'YBR_FULL_422 uncompressed (4:2:2 upsampled)', 1],
    // DCMTK converts YBR with integer arithmetic; we round the PS3.3 formulas.
    [py('SC_ybr_full_uncompressed.dcm'), 'YBR_FULL uncompressed', 2],
    [py('color-pl.dcm'), 'RGB planar configuration 1', 0],
  ];
  for (const [file, what, tolerance] of cases) {
    it(`${what}: ${file}`, async () => {
      const [ours] = await decodeCorpusFile(file);
      assert.ok(ours);
      assert.equal(ours.photometricInterpretation, 'RGB');
      assert.equal(ours.samplesPerPixel, 3);
      const reference = await dcmtkRgb(file);
      const shift = ours.bitsStored - 8;
      const scaled = Int32Array.from(ours.pixels, (v) => v >> shift);
      const diff = difference(scaled, reference);
      assert.ok(
        diff.maxAbs <= tolerance,
        `max |Δ| ${diff.maxAbs} > ${tolerance} (${diff.differing} differ)`,
      );
    });
  }
});

/** All Pixel Data words as DCMTK reads them (host order, so byte order is DCMTK's doing). */
async function dcmtkWords(relative: string): Promise<number[]> {
  const { stdout } = await execFileAsync(
    'dcmdump',
    ['+L', '+P', '7fe0,0010', corpusPath(relative)],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const values = stdout.slice(stdout.indexOf(' OW ') + 4, stdout.lastIndexOf('#')).trim();
  return values.split('\\').map((word) => parseInt(word, 16));
}

describe('native 16-bit samples agree with DCMTK (dcmdump)', () => {
  const cases: readonly [string, number, 0 | 1][] = [
    [cs('CTImage.dcm'), 16, 1],
    [ct('BigEndianExplicitTransferSyntax_1.2.840.10008.1.2.2'), 16, 1],
    [ct('DeflatedExplicitVRLittleEndianTransferSyntax_1.2.840.10008.1.2.1.99'), 16, 1],
    [py('emri_small_big_endian.dcm'), 12, 0],
    [py('MR2_UNCR.dcm'), 12, 0],
    [py('693_UNCR.dcm'), 14, 1],
  ];
  for (const [file, bitsStored, signed] of cases) {
    it(`${file} (${bitsStored} bits, ${signed ? 'signed' : 'unsigned'})`, async () => {
      const frames = await decodeCorpusFile(file);
      const words = await dcmtkWords(file);
      const ours = frames.flatMap((f) => Array.from(f.pixels));
      assert.equal(ours.length, words.length);
      const shift = 32 - bitsStored;
      const expected = words.map((w) =>
        signed ? (w << shift) >> shift : w & ((1 << bitsStored) - 1),
      );
      assert.equal(difference(ours, expected).differing, 0);
    });
  }
});
