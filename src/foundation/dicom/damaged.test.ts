/**
 * Damaged and unsupported input: every case is refused with a RadiolensError whose code
 * says what is wrong and whose message names the file — never a crash, never a wrong image.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RadiolensError, type ErrorCode } from '../core/index.js';
import { decodeFrame } from './decode.js';
import { parseDicom, readDicomFile } from './parse.js';
import { corpusPath, decodeAllFrames, difference } from '../../../test/support/dicom.js';

function assertRefused(error: unknown, code: ErrorCode, source: string): true {
  assert.ok(error instanceof RadiolensError, `expected RadiolensError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  assert.ok(error.message.includes(source), `message names the file: ${error.message}`);
  return true;
}

/** Parses and decodes everything; refusal may come at either step. */
async function readAndDecode(bytes: Uint8Array, source: string): Promise<void> {
  await decodeAllFrames(parseDicom(bytes, source));
}

const truncatable = [
  'cornerstone3D/CTImage.dcm',
  'cornerstone3D/CTImage.dcm_BigEndianExplicitTransferSyntax_1.2.840.10008.1.2.2.dcm',
  'cornerstone3D/CTImage.dcm_DeflatedExplicitVRLittleEndianTransferSyntax_1.2.840.10008.1.2.1.99.dcm',
  'cornerstone3D/CTImage.dcm_JPEG2000LosslessOnlyTransferSyntax_1.2.840.10008.1.2.4.90.dcm',
  'cornerstone3D/CTImage.dcm_JPEGProcess14SV1TransferSyntax_1.2.840.10008.1.2.4.70.dcm',
  'pydicom-data/emri_small_RLE.dcm',
  'pydicom-data/OBXXXX1A_2frame.dcm',
  'pydicom-data/liver.dcm',
];

describe('truncated files', () => {
  for (const file of truncatable) {
    it(`a copy of ${file} cut in half → E_TRUNCATED`, async () => {
      const bytes = readFileSync(corpusPath(file));
      const half = bytes.subarray(0, Math.floor(bytes.byteLength / 2));
      const source = `${file} (first half)`;
      await assert.rejects(readAndDecode(half, source), (e) =>
        assertRefused(e, 'E_TRUNCATED', source),
      );
    });
  }

  it('a file cut inside its dataset header → E_TRUNCATED (via readDicomFile)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'radiolens-trunc-'));
    try {
      const path = join(dir, 'cut.dcm');
      writeFileSync(path, readFileSync(corpusPath('pydicom-data/MR2_UNCR.dcm')).subarray(0, 710));
      await assert.rejects(readDicomFile(path), (e) => assertRefused(e, 'E_TRUNCATED', path));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the corpus file missing its Sequence Delimitation Item is recovered, with a warning', async () => {
    // emri_small_jpeg_2k_lossless_too_short.dcm is the lossless file less its last 8 bytes:
    // every fragment is intact and each frame ends with its EOC marker, so nothing is lost.
    const path = corpusPath('pydicom-data/emri_small_jpeg_2k_lossless_too_short.dcm');
    const damaged = await readDicomFile(path);
    assert.match(damaged.warnings.join('\n'), /Sequence Delimitation Item/);
    const frames = await decodeAllFrames(damaged);
    const intact = await decodeAllFrames(
      await readDicomFile(corpusPath('pydicom-data/emri_small_jpeg_2k_lossless.dcm')),
    );
    assert.equal(frames.length, 10);
    frames.forEach((frame, i) =>
      assert.equal(difference(frame.pixels, intact[i]!.pixels).differing, 0, `frame ${i}`),
    );
  });

  it('an undelimited file cut at a fragment boundary (a frame missing) → E_TRUNCATED', async () => {
    const bytes = readFileSync(
      corpusPath('pydicom-data/emri_small_jpeg_2k_lossless_too_short.dcm'),
    );
    const lastItem = bytes.lastIndexOf(Buffer.from([0xfe, 0xff, 0x00, 0xe0]));
    const source = 'emri J2K without its last fragment';
    await assert.rejects(readAndDecode(bytes.subarray(0, lastItem), source), (e) =>
      assertRefused(e, 'E_TRUNCATED', source),
    );
  });

  it('an undelimited file whose last codestream lacks its end marker → E_TRUNCATED', async () => {
    const bytes = new Uint8Array(
      readFileSync(corpusPath('pydicom-data/emri_small_jpeg_2k_lossless_too_short.dcm')),
    );
    const lastItem = Buffer.from(bytes).lastIndexOf(Buffer.from([0xfe, 0xff, 0x00, 0xe0]));
    const cut = bytes.slice(0, bytes.byteLength - 100);
    const view = new DataView(cut.buffer);
    view.setUint32(lastItem + 4, view.getUint32(lastItem + 4, true) - 100, true);
    const source = 'emri J2K with its last codestream cut';
    await assert.rejects(readAndDecode(cut, source), (e) =>
      assertRefused(e, 'E_TRUNCATED', source),
    );
  });

  it('a JPEG 2000 codestream cut short inside an intact fragment → E_DECODE_FAILED', async () => {
    // Rewrite the fragment so that its item length is honest but the codestream lacks its end.
    const path = corpusPath('pydicom-data/US1_J2KI.dcm');
    const bytes = new Uint8Array(readFileSync(path));
    const soc = Buffer.from(bytes).indexOf(Buffer.from([0xff, 0x4f, 0xff, 0x51]));
    const keep = 4000;
    const cut = new Uint8Array(soc + keep + 8);
    cut.set(bytes.subarray(0, soc + keep));
    new DataView(cut.buffer).setUint32(soc - 4, keep, true);
    cut.set([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0], soc + keep);
    await assert.rejects(readAndDecode(cut, 'US1_J2KI cut'), (e) =>
      assertRefused(e, 'E_DECODE_FAILED', 'US1_J2KI cut'),
    );
  });
});

describe('malformed and foreign input', () => {
  it('bad_sequence.dcm is read (its odd element is kept as UN) and decodes like DCMTK', async () => {
    // The cross-decoder test compares its pixels with dcmdjpeg; here: it parses and decodes.
    const instance = await readDicomFile(corpusPath('pydicom-data/bad_sequence.dcm'));
    const frame = await decodeFrame(instance, 0);
    assert.equal(frame.pixels.length, 512 * 512);
  });

  it('a sequence whose item is not an item → E_MALFORMED_DICOM', async () => {
    const path = corpusPath('pydicom-data/bad_sequence.dcm');
    const bytes = new Uint8Array(readFileSync(path));
    // Break the first item tag (FFFE,E000) of the Derivation Code Sequence.
    const at = Buffer.from(bytes).indexOf(
      Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff]),
    );
    assert.ok(at > 0);
    const broken = bytes.slice();
    broken.set([0x08, 0x00, 0x00, 0x01], at);
    await assert.rejects(readAndDecode(broken, 'broken sequence'), (e) =>
      assertRefused(
        e,
        (e as RadiolensError).code === 'E_TRUNCATED' ? 'E_TRUNCATED' : 'E_MALFORMED_DICOM',
        'broken sequence',
      ),
    );
  });

  const foreign: readonly [string, Uint8Array][] = [
    ['empty file', new Uint8Array(0)],
    [
      'text file',
      new TextEncoder().encode('This is a radiology report, not an image.\n'.repeat(10)),
    ],
    [
      'PNG header',
      Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Array(200).fill(0)]),
    ],
    ['random bytes', Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)],
  ];
  for (const [name, bytes] of foreign) {
    it(`a ${name} → E_NOT_DICOM`, () => {
      assert.throws(
        () => parseDicom(bytes, name),
        (e) => assertRefused(e, 'E_NOT_DICOM', name),
      );
    });
  }

  it('a missing file → E_IO', async () => {
    const path = join(tmpdir(), 'radiolens-does-not-exist.dcm');
    await assert.rejects(readDicomFile(path), (e) => assertRefused(e, 'E_IO', path));
  });

  it('an unsupported transfer syntax parses, but decoding → E_UNSUPPORTED_TRANSFER_SYNTAX', async () => {
    // Same length UID swap: JPEG 2000 (.91) → JPEG 2000 Part 2 multi-component (.92).
    const bytes = new Uint8Array(readFileSync(corpusPath('pydicom-data/US1_J2KI.dcm')));
    const uid = Buffer.from('1.2.840.10008.1.2.4.91');
    const at = Buffer.from(bytes).indexOf(uid);
    bytes.set(Buffer.from('1.2.840.10008.1.2.4.92'), at);
    const instance = parseDicom(bytes, 'part2.dcm');
    assert.equal(instance.transferSyntaxUid, '1.2.840.10008.1.2.4.92');
    assert.equal(instance.dataset['Rows'], 480);
    await assert.rejects(decodeFrame(instance, 0), (e) =>
      assertRefused(e, 'E_UNSUPPORTED_TRANSFER_SYNTAX', 'part2.dcm'),
    );
  });

  it('a frame index out of range → E_BAD_INPUT', async () => {
    const instance = await readDicomFile(corpusPath('pydicom-data/emri_small.dcm'));
    await assert.rejects(decodeFrame(instance, 10), (e) =>
      assertRefused(e, 'E_BAD_INPUT', instance.source),
    );
    await assert.rejects(decodeFrame(instance, -1), (e) =>
      assertRefused(e, 'E_BAD_INPUT', instance.source),
    );
  });

  it('an instance without pixel data → hasPixelData false and E_PIXEL_DATA on decode', async () => {
    const instance = await readDicomFile(corpusPath('cornerstone3D/no-pixel-data.dcm'));
    assert.equal(instance.hasPixelData, false);
    await assert.rejects(decodeFrame(instance, 0), (e) =>
      assertRefused(e, 'E_PIXEL_DATA', instance.source),
    );
  });

  it('an unsupported photometric interpretation → E_UNSUPPORTED_PHOTOMETRIC, not a wrong image', async () => {
    const bytes = new Uint8Array(readFileSync(corpusPath('pydicom-data/SC_rgb.dcm')));
    const at = Buffer.from(bytes).indexOf(Buffer.from('CS\x04\x00RGB ', 'latin1'));
    assert.ok(at > 0);
    bytes.set(Buffer.from('HSV '), at + 4);
    const instance = parseDicom(bytes, 'hsv.dcm');
    await assert.rejects(decodeFrame(instance, 0), (e) =>
      assertRefused(e, 'E_UNSUPPORTED_PHOTOMETRIC', 'hsv.dcm'),
    );
  });

  it('YBR_ICT in an uncompressed file → E_UNSUPPORTED_PHOTOMETRIC (only J2K may carry it)', async () => {
    const bytes = new Uint8Array(
      readFileSync(corpusPath('pydicom-data/SC_ybr_full_uncompressed.dcm')),
    );
    const at = Buffer.from(bytes).indexOf(Buffer.from('YBR_FULL'));
    bytes.set(Buffer.from('YBR_ICT '), at);
    const instance = parseDicom(bytes, 'ict.dcm');
    await assert.rejects(decodeFrame(instance, 0), (e) =>
      assertRefused(e, 'E_UNSUPPORTED_PHOTOMETRIC', 'ict.dcm'),
    );
  });
});
