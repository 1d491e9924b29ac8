/**
 * Table-driven decoding tests over the conformance corpus: lossless variants of one image
 * must decode bit-identically; lossy variants stay within a stated tolerance of the
 * original; multi-frame, signed, float and bits-stored handling. The checks against DCMTK
 * are in decode.int.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { jpegLsScanParameters } from './codecs.js';
import { decodeFrame } from './decode.js';
import { concatFragments, groupFragmentsIntoFrames } from './encapsulated.js';
import { parseDicom, readDicomFile } from './parse.js';
import { storedPixelData } from './pixelStore.js';
import { corpusPath, decodeCorpusFile, difference } from '../../../test/support/dicom.js';

const cs = (name: string): string => `cornerstone3D/${name}`;
const py = (name: string): string => `pydicom-data/${name}`;
const ct = (ts: string): string => cs(`CTImage.dcm_${ts}.dcm`);

/** Each group: the same image in different transfer syntaxes; all must decode identically. */
const losslessGroups: Readonly<Record<string, readonly string[]>> = {
  'CT, every lossless transfer syntax': [
    cs('CTImage.dcm'),
    ct('LittleEndianImplicitTransferSyntax_1.2.840.10008.1.2'),
    ct('LittleEndianExplicitTransferSyntax_1.2.840.10008.1.2.1'),
    ct('BigEndianExplicitTransferSyntax_1.2.840.10008.1.2.2'),
    ct('DeflatedExplicitVRLittleEndianTransferSyntax_1.2.840.10008.1.2.1.99'),
    ct('RLELosslessTransferSyntax_1.2.840.10008.1.2.5'),
    ct('JPEGProcess14TransferSyntax_1.2.840.10008.1.2.4.57'),
    ct('JPEGProcess14SV1TransferSyntax_1.2.840.10008.1.2.4.70'),
    ct('JPEGLSLosslessTransferSyntax_1.2.840.10008.1.2.4.80'),
    ct('JPEG2000LosslessOnlyTransferSyntax_1.2.840.10008.1.2.4.90'),
  ],
  'MR 12-bit, J2K reversible': [py('MR2_UNCR.dcm'), py('MR2_J2KR.dcm')],
  'MR 12-bit, J2K irreversible and its decode': [py('MR2_UNCI.dcm'), py('MR2_J2KI.dcm')],
  'US RGB, J2K reversible (YBR_RCT)': [py('US1_UNCR.dcm'), py('US1_J2KR.dcm')],
  'US RGB, J2K irreversible (YBR_ICT) and its decode': [py('US1_UNCI.dcm'), py('US1_J2KI.dcm')],
  'CT signed 16-bit, J2K reversible': [py('693_UNCR.dcm'), py('693_J2KR.dcm')],
  'segmentation, Bits Allocated 1, 3 frames': [
    py('liver.dcm'),
    py('liver_expb.dcm'),
    py('liver_rle.dcm'),
    py('liver_j2k.dcm'),
    py('liver_deflate.dcm'),
  ],
  'Bits Allocated 1, frames not byte aligned': [
    py('liver_nonbyte_aligned.dcm'),
    py('liver_nonbyte_aligned_rle.dcm'),
    py('liver_nonbyte_aligned_j2k.dcm'),
    py('liver_nonbyte_aligned_deflate.dcm'),
  ],
  'PALETTE COLOR 8-bit': [py('OBXXXX1A.dcm'), py('OBXXXX1A_expb.dcm'), py('OBXXXX1A_rle.dcm')],
  'PALETTE COLOR 8-bit, 2 frames': [
    py('OBXXXX1A_2frame.dcm'),
    py('OBXXXX1A_expb_2frame.dcm'),
    py('OBXXXX1A_rle_2frame.dcm'),
  ],
  'RGB 8-bit': [py('SC_rgb.dcm'), py('SC_rgb_expb.dcm'), py('SC_rgb_gdcm2k_uncompressed.dcm')],
  'RGB 8-bit, 2 frames': [py('SC_rgb_2frame.dcm'), py('SC_rgb_expb_2frame.dcm')],
  'RGB 16-bit': [py('SC_rgb_16bit.dcm'), py('SC_rgb_expb_16bit.dcm')],
  'RGB 16-bit, 2 frames': [py('SC_rgb_16bit_2frame.dcm'), py('SC_rgb_expb_16bit_2frame.dcm')],
  'RGB 32-bit': [py('SC_rgb_32bit.dcm'), py('SC_rgb_expb_32bit.dcm')],
  'RGB 32-bit, 2 frames': [py('SC_rgb_32bit_2frame.dcm'), py('SC_rgb_expb_32bit_2frame.dcm')],
  'MR 10 frames': [
    py('emri_small.dcm'),
    py('emri_small_big_endian.dcm'),
    py('emri_small_RLE.dcm'),
    py('emri_small_jpeg_2k_lossless.dcm'),
    py('emri_small_jpeg_ls_lossless.dcm'),
  ],
  'RGB test pattern, lossless JPEG and JPEG-LS': [
    cs('TestPattern_RGB.dcm'),
    cs('TestPattern_JPEG-Lossless_RGB.dcm'),
    cs('TestPattern_JPEG-LS-Lossless.dcm'),
  ],
  'JPEG-LS RGB, interleave modes 0/1/2': [
    py('JLSL_RGB_ILV0.dcm'),
    py('JLSL_RGB_ILV1.dcm'),
    py('JLSL_RGB_ILV2.dcm'),
  ],
  'RGB planar configuration 1 vs 0': [py('color-px.dcm'), py('color-pl.dcm')],
};

describe('lossless variants decode bit-identically', () => {
  for (const [name, files] of Object.entries(losslessGroups)) {
    it(name, async () => {
      const [reference, ...others] = await Promise.all(files.map((f) => decodeCorpusFile(f)));
      assert.ok(reference && reference.length > 0);
      others.forEach((frames, k) => {
        assert.equal(frames.length, reference.length, `${files[k + 1]}: frame count`);
        frames.forEach((frame, i) => {
          const ref = reference[i]!;
          assert.deepEqual(
            [frame.rows, frame.columns, frame.samplesPerPixel, frame.photometricInterpretation],
            [ref.rows, ref.columns, ref.samplesPerPixel, ref.photometricInterpretation],
            `${files[k + 1]} frame ${i}: description`,
          );
          const diff = difference(frame.pixels, ref.pixels);
          assert.equal(
            diff.differing,
            0,
            `${files[k + 1]} frame ${i}: ${diff.differing} samples differ from ${files[0]}`,
          );
        });
      });
    });
  }
});

interface LossyCase {
  readonly lossy: string;
  readonly reference: string;
  readonly maxAbs: number;
  readonly meanAbs: number;
}

/** Observed errors are well inside these bounds; they catch a wrong image, not codec noise. */
const lossyCases: readonly LossyCase[] = [
  {
    lossy: ct('JPEG2000TransferSyntax_1.2.840.10008.1.2.4.91'),
    reference: cs('CTImage.dcm'),
    maxAbs: 16,
    meanAbs: 1,
  },
  { lossy: py('RG3_J2KI.dcm'), reference: py('RG3_J2KR.dcm'), maxAbs: 32, meanAbs: 2 },
  {
    lossy: py('HTJ2K_08_RGB.dcm'),
    reference: py('HTJ2KLossless_08_RGB.dcm'),
    maxAbs: 16,
    meanAbs: 1,
  },
  {
    lossy: cs('TestPattern_JPEG-Baseline_YBRFull.dcm'),
    reference: cs('TestPattern_RGB.dcm'),
    maxAbs: 128,
    meanAbs: 2,
  },
  {
    lossy: cs('TestPattern_JPEG-Baseline_YBR422.dcm'),
    reference: cs('TestPattern_RGB.dcm'),
    maxAbs: 128,
    meanAbs: 2,
  },
  // YBR_FULL is stored at 8 bits, so converting back to RGB loses a little.
  { lossy: py('SC_ybr_full_uncompressed.dcm'), reference: py('SC_rgb.dcm'), maxAbs: 8, meanAbs: 1 },
];

describe('lossy variants stay close to the original', () => {
  for (const { lossy, reference, maxAbs, meanAbs } of lossyCases) {
    it(`${lossy} ≈ ${reference}`, async () => {
      const [a, b] = await Promise.all([decodeCorpusFile(lossy), decodeCorpusFile(reference)]);
      const diff = difference(a[0]!.pixels, b[0]!.pixels);
      assert.ok(diff.maxAbs <= maxAbs, `max |Δ| ${diff.maxAbs} > ${maxAbs}`);
      assert.ok(diff.meanAbs <= meanAbs, `mean |Δ| ${diff.meanAbs} > ${meanAbs}`);
      assert.ok(
        diff.differing > 0,
        'a lossy decode identical to the original suggests the wrong file was read',
      );
    });
  }

  const nearLossless: readonly [string, string][] = [
    [ct('JPEGLSLossyTransferSyntax_1.2.840.10008.1.2.4.81'), cs('CTImage.dcm')],
    [cs('TestPattern_JPEG-LS-NearLossless.dcm'), cs('TestPattern_RGB.dcm')],
    [py('JLSN_RGB_ILV0.dcm'), py('JLSL_RGB_ILV1.dcm')],
  ];
  for (const [lossy, reference] of nearLossless) {
    it(`JPEG-LS near-lossless keeps every sample within NEAR: ${lossy}`, async () => {
      const instance = await readDicomFile(corpusPath(lossy));
      const near = jpegLsScanParameters(firstCodestream(instance))?.near;
      assert.ok(near !== undefined && near > 0, 'codestream declares NEAR > 0');
      const [a, b] = await Promise.all([decodeFrame(instance, 0), decodeCorpusFile(reference)]);
      const diff = difference(a.pixels, b[0]!.pixels);
      assert.ok(diff.maxAbs <= near, `max |Δ| ${diff.maxAbs} > NEAR ${near}`);
    });
  }
});

function firstCodestream(instance: Awaited<ReturnType<typeof readDicomFile>>): Uint8Array {
  const stored = storedPixelData(instance);
  assert.ok(stored?.pixels?.kind === 'encapsulated' && stored.syntax);
  const frames = groupFragmentsIntoFrames(
    stored.pixels.data,
    instance.numberOfFrames,
    stored.syntax.codec,
    undefined,
    instance.source,
  );
  return concatFragments(frames[0]!);
}

function minOf(values: ArrayLike<number>): number {
  let min = Infinity;
  for (let i = 0; i < values.length; i++) if (values[i]! < min) min = values[i]!;
  return min;
}

function maxOf(values: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i]! > max) max = values[i]!;
  return max;
}

describe('image attributes and sample values', () => {
  it('reports MONOCHROME1 and size for the chest CR (lossy J2K)', async () => {
    const instance = await readDicomFile(corpusPath(py('RG1_J2KI.dcm')));
    const frame = await decodeFrame(instance, 0);
    assert.equal(frame.photometricInterpretation, 'MONOCHROME1');
    assert.deepEqual([frame.rows, frame.columns, frame.samplesPerPixel], [1955, 1841, 1]);
    assert.equal(frame.pixels.length, 1955 * 1841);
  });

  it('sign-extends signed samples (CT, Pixel Representation 1)', async () => {
    const [frame] = await decodeCorpusFile(cs('CTImage.dcm'));
    assert.ok(frame && frame.pixelRepresentation === 1 && frame.pixels instanceof Int32Array);
    assert.equal(minOf(frame.pixels), -2000);
    assert.equal(maxOf(frame.pixels), 2402);
  });

  it('sign-extends 15-bit signed JPEG-LS samples', async () => {
    const [frame] = await decodeCorpusFile(py('JLSL_16_15_1_1F.dcm'));
    assert.ok(frame);
    assert.equal(frame.bitsStored, 15);
    assert.ok(minOf(frame.pixels) >= -16384 && minOf(frame.pixels) < 0);
    assert.ok(maxOf(frame.pixels) <= 16383);
  });

  it('masks junk above Bits Stored (12-bit MR with the high nibble set)', async () => {
    const path = corpusPath(py('MR2_UNCR.dcm'));
    const bytes = new Uint8Array(readFileSync(path));
    const clean = await decodeFrame(parseDicom(bytes, path), 0);
    const stored = storedPixelData(parseDicom(bytes, path));
    assert.ok(stored?.pixels?.kind === 'native');
    const dirty = bytes.slice();
    const start = stored.pixels.bytes.byteOffset - bytes.byteOffset;
    for (let i = start + 1; i < start + stored.pixels.bytes.byteLength; i += 2)
      dirty[i] = dirty[i]! | 0xf0;
    const decoded = await decodeFrame(parseDicom(dirty, 'MR2_UNCR with junk high bits'), 0);
    assert.equal(difference(decoded.pixels, clean.pixels).differing, 0);
    assert.ok(maxOf(clean.pixels) < 4096);
  });

  it('keeps unsigned 32-bit samples exact (Float64Array)', async () => {
    const [frame] = await decodeCorpusFile(py('SC_rgb_32bit.dcm'));
    assert.ok(frame && frame.pixels instanceof Float64Array);
    assert.equal(maxOf(frame.pixels), 4294967295);
  });

  it('decodes Float and Double Float Pixel Data to Float32Array/Float64Array', async () => {
    const [single] = await decodeCorpusFile(py('parametric_map_float.dcm'));
    const [double] = await decodeCorpusFile(py('parametric_map_double_float.dcm'));
    assert.ok(single?.pixels instanceof Float32Array && double?.pixels instanceof Float64Array);
    assert.ok(difference(single.pixels, double.pixels).maxAbs < 1e-6);
    assert.ok(maxOf(double.pixels) > 0.9);
  });

  it('outputs 16-bit RGB for 16-bit palette entries and 8-bit for 8-bit ones', async () => {
    const [p8] = await decodeCorpusFile(cs('TestPattern_Palette.dcm'));
    const [p16] = await decodeCorpusFile(cs('TestPattern_Palette_16.dcm'));
    assert.equal(p8?.bitsStored, 8);
    assert.equal(p16?.bitsStored, 16);
  });
});

describe('JPEG colour spaces', () => {
  it('decodes YBR_PARTIAL_422 JPEG to the same RGB (the codec converts)', async () => {
    const path = corpusPath(cs('TestPattern_JPEG-Baseline_YBR422.dcm'));
    const bytes = readFileSync(path);
    const old = Buffer.from('CS\x0c\x00YBR_FULL_422', 'latin1');
    const at = bytes.indexOf(old);
    assert.ok(at > 0);
    const renamed = Buffer.concat([
      bytes.subarray(0, at),
      Buffer.from('CS\x10\x00YBR_PARTIAL_422 ', 'latin1'),
      bytes.subarray(at + old.length),
    ]);
    const partial = await decodeFrame(parseDicom(renamed, 'partial.dcm'), 0);
    const full = await decodeFrame(parseDicom(bytes, path), 0);
    assert.equal(partial.photometricInterpretation, 'RGB');
    assert.equal(difference(partial.pixels, full.pixels).differing, 0);
  });
});

describe('multi-frame', () => {
  it('decodes 10 distinct MR frames', async () => {
    const frames = await decodeCorpusFile(py('emri_small.dcm'));
    assert.equal(frames.length, 10);
    const keys = new Set(
      // A frame's samples may be a view on the file's bytes (ADR 0129): only its own part.
      frames.map((f) =>
        Buffer.from(f.pixels.buffer, f.pixels.byteOffset, f.pixels.byteLength).toString('base64'),
      ),
    );
    assert.equal(keys.size, 10, 'every frame differs from the others');
  });

  it('splits a fragmented JPEG without Basic Offset Table into its frames (marker scan)', async () => {
    const instance = await readDicomFile(
      corpusPath(cs('CT0012.fragmented_no_bot_jpeg_baseline.51.dcm')),
    );
    assert.equal(instance.numberOfFrames, 2);
    const a = await decodeFrame(instance, 0);
    const b = await decodeFrame(instance, 1);
    assert.ok(difference(a.pixels, b.pixels).differing > 0, 'the two frames differ');
  });

  it('frame 0 of a 2-frame file equals the single-frame file', async () => {
    const [single] = await decodeCorpusFile(py('OBXXXX1A.dcm'));
    const two = await decodeCorpusFile(py('OBXXXX1A_2frame.dcm'));
    assert.equal(two.length, 2);
    assert.equal(difference(two[0]!.pixels, single!.pixels).differing, 0);
    assert.ok(difference(two[0]!.pixels, two[1]!.pixels).differing > 0);
  });

  it('groups fragments by the Extended Offset Table (frames split over two fragments each)', async () => {
    // Rebuild emri_small_RLE.dcm with an empty Basic Offset Table, each RLE frame split in two
    // fragments, and (7FE0,0001)/(7FE0,0002) Extended Offset Table (Lengths): RLE has no
    // start marker, so only the Extended Offset Table can group these fragments correctly.
    const path = corpusPath(py('emri_small_RLE.dcm'));
    const bytes = readFileSync(path);
    const original = parseDicom(bytes, path);
    const stored = storedPixelData(original);
    assert.ok(stored?.pixels?.kind === 'encapsulated');
    const pixelDataStart = bytes.indexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42]));
    assert.ok(pixelDataStart > 0);
    const items: Buffer[] = [];
    const offsets: bigint[] = [];
    const lengths: bigint[] = [];
    let at = 0;
    for (const fragment of stored.pixels.data.fragments) {
      const half = Math.floor(fragment.bytes.byteLength / 2);
      offsets.push(BigInt(at));
      lengths.push(BigInt(fragment.bytes.byteLength));
      for (const part of [fragment.bytes.subarray(0, half), fragment.bytes.subarray(half)]) {
        const header = Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0, 0, 0, 0]);
        header.writeUInt32LE(part.byteLength, 4);
        items.push(header, Buffer.from(part));
        at += 8 + part.byteLength;
      }
    }
    const ov = (element: number, values: bigint[]): Buffer => {
      const out = Buffer.alloc(12 + 8 * values.length);
      out.writeUInt16LE(0x7fe0, 0);
      out.writeUInt16LE(element, 2);
      out.write('OV', 4, 'latin1');
      out.writeUInt32LE(8 * values.length, 8);
      values.forEach((v, i) => out.writeBigUInt64LE(v, 12 + 8 * i));
      return out;
    };
    const rebuilt = Buffer.concat([
      bytes.subarray(0, pixelDataStart),
      ov(0x0001, offsets),
      ov(0x0002, lengths),
      Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0, 0, 0xff, 0xff, 0xff, 0xff]),
      Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0, 0, 0, 0]),
      ...items,
      Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]),
    ]);
    const withEot = parseDicom(rebuilt, 'emri RLE with EOT');
    assert.equal(
      withEot.dataset['ExtendedOffsetTable'],
      undefined,
      'offset tables stay out of the dataset',
    );
    for (let i = 0; i < 10; i++) {
      const a = await decodeFrame(withEot, i);
      const b = await decodeFrame(original, i);
      assert.equal(difference(a.pixels, b.pixels).differing, 0, `frame ${i}`);
    }
  });

  it('decodes a multi-frame file written to disk and read back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'radiolens-mf-'));
    try {
      const copy = join(dir, 'copy.dcm');
      writeFileSync(copy, readFileSync(corpusPath(py('emri_small_RLE.dcm'))));
      const instance = await readDicomFile(copy);
      assert.equal((await decodeFrame(instance, 9)).pixels.length, 64 * 64);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
