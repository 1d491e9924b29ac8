/**
 * Every compressed corpus file is decoded by us and by an independent decoder (DCMTK's
 * dcmdjpeg/dcmdjpls/dcmdrle, GDCM's gdcmconv --raw (--apply-lut for segmented palettes), OpenJPEG's opj_decompress for HTJ2K),
 * run on a temporary copy; the independent output is uncompressed DICOM (or PNM) that we then
 * read, and every frame must agree. Lossless must be identical; lossy decodes of the same
 * codestream by different libraries may differ by rounding only (tolerance in the table).
 * The tools are required, not optional: .ci/run installs them (opj_decompress comes from
 * Debian's libopenjp2-tools).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeCorpusFile,
  decodeWithReferenceTool,
  difference,
  type ReferenceTool,
} from '../../../test/support/dicom.js';

interface Case {
  readonly file: string;
  readonly tool: ReferenceTool;
  /** Largest allowed |ours − reference| per sample; 0 means bit-identical. */
  readonly tolerance: number;
  /** gdcmconv's option, when not --raw. */
  readonly gdcmOption?: string;
}

const cs = (name: string): string => `cornerstone3D/${name}`;
const py = (name: string): string => `pydicom-data/${name}`;
const ct = (ts: string): string => cs(`CTImage.dcm_${ts}.dcm`);

const cases: readonly Case[] = [
  // JPEG: baseline, extended 12-bit, spectral selection, full progression, lossless.
  { file: ct('JPEGProcess1TransferSyntax_1.2.840.10008.1.2.4.50'), tool: 'dcmdjpeg', tolerance: 0 },
  {
    file: ct('JPEGProcess2_4TransferSyntax_1.2.840.10008.1.2.4.51'),
    tool: 'dcmdjpeg',
    tolerance: 0,
  },
  {
    file: ct('JPEGProcess6_8TransferSyntax_1.2.840.10008.1.2.4.53'),
    tool: 'dcmdjpeg',
    tolerance: 0,
  },
  {
    file: ct('JPEGProcess10_12TransferSyntax_1.2.840.10008.1.2.4.55'),
    tool: 'dcmdjpeg',
    tolerance: 0,
  },
  {
    file: ct('JPEGProcess14TransferSyntax_1.2.840.10008.1.2.4.57'),
    tool: 'dcmdjpeg',
    tolerance: 0,
  },
  {
    file: ct('JPEGProcess14SV1TransferSyntax_1.2.840.10008.1.2.4.70'),
    tool: 'dcmdjpeg',
    tolerance: 0,
  },
  { file: cs('CT0012.fragmented_no_bot_jpeg_baseline.51.dcm'), tool: 'dcmdjpeg', tolerance: 0 },
  { file: cs('TestPattern_JPEG-Baseline_YBR422.dcm'), tool: 'dcmdjpeg', tolerance: 0 },
  { file: cs('TestPattern_JPEG-Baseline_YBRFull.dcm'), tool: 'dcmdjpeg', tolerance: 0 },
  { file: cs('TestPattern_JPEG-Lossless_RGB.dcm'), tool: 'dcmdjpeg', tolerance: 0 },
  { file: py('JPEG-LL.dcm'), tool: 'dcmdjpeg', tolerance: 0 },
  { file: py('JPGLosslessP14SV1_1s_1f_8b.dcm'), tool: 'dcmdjpeg', tolerance: 0 },
  { file: py('bad_sequence.dcm'), tool: 'dcmdjpeg', tolerance: 0 },
  // JPEG-LS lossless and near-lossless.
  {
    file: ct('JPEGLSLosslessTransferSyntax_1.2.840.10008.1.2.4.80'),
    tool: 'dcmdjpls',
    tolerance: 0,
  },
  { file: ct('JPEGLSLossyTransferSyntax_1.2.840.10008.1.2.4.81'), tool: 'dcmdjpls', tolerance: 0 },
  { file: cs('TestPattern_JPEG-LS-Lossless.dcm'), tool: 'dcmdjpls', tolerance: 0 },
  { file: cs('TestPattern_JPEG-LS-NearLossless.dcm'), tool: 'dcmdjpls', tolerance: 0 },
  { file: py('JLSL_08_07_0_1F.dcm'), tool: 'gdcmconv', tolerance: 0 },
  { file: py('JLSL_16_15_1_1F.dcm'), tool: 'dcmdjpls', tolerance: 0 },
  { file: py('JLSL_RGB_ILV0.dcm'), tool: 'dcmdjpls', tolerance: 0 },
  { file: py('JLSL_RGB_ILV1.dcm'), tool: 'dcmdjpls', tolerance: 0 },
  { file: py('JLSL_RGB_ILV2.dcm'), tool: 'dcmdjpls', tolerance: 0 },
  { file: py('JLSN_RGB_ILV0.dcm'), tool: 'dcmdjpls', tolerance: 0 },
  { file: py('emri_small_jpeg_ls_lossless.dcm'), tool: 'dcmdjpls', tolerance: 0 },
  // RLE (our own decoder).
  { file: ct('RLELosslessTransferSyntax_1.2.840.10008.1.2.5'), tool: 'dcmdrle', tolerance: 0 },
  { file: cs('no-pixel-spacing.dcm'), tool: 'dcmdrle', tolerance: 0 },
  { file: py('OBXXXX1A_rle.dcm'), tool: 'dcmdrle', tolerance: 0 },
  { file: py('OBXXXX1A_rle_2frame.dcm'), tool: 'dcmdrle', tolerance: 0 },
  { file: py('emri_small_RLE.dcm'), tool: 'dcmdrle', tolerance: 0 },
  // JPEG 2000 lossless and lossy. Large reversible files whose uncompressed twin is in the
  // corpus (CT .90, MR2_J2KR, 693_J2KR, RG3_J2KR) are checked bit-exact in decode.test.ts.
  { file: ct('JPEG2000TransferSyntax_1.2.840.10008.1.2.4.91'), tool: 'gdcmconv', tolerance: 0 },
  { file: py('MR2_J2KI.dcm'), tool: 'gdcmconv', tolerance: 0 },
  { file: py('US1_J2KI.dcm'), tool: 'gdcmconv', tolerance: 0 },
  { file: py('US1_J2KR.dcm'), tool: 'gdcmconv', tolerance: 0 },
  { file: py('RG1_J2KI.dcm'), tool: 'gdcmconv', tolerance: 0 },
  { file: py('RG3_J2KI.dcm'), tool: 'gdcmconv', tolerance: 0 },
  { file: py('emri_small_jpeg_2k_lossless.dcm'), tool: 'gdcmconv', tolerance: 0 },
  { file: py('explicit_VR-UN.dcm'), tool: 'gdcmconv', tolerance: 0 },
  { file: py('liver_j2k.dcm'), tool: 'gdcmconv', tolerance: 0 },
  { file: py('liver_nonbyte_aligned_j2k.dcm'), tool: 'gdcmconv', tolerance: 0 },
  // HTJ2K: GDCM and DCMTK predate it; OpenJPEG ≥ 2.5 decodes it.
  { file: py('HTJ2KLossless_08_RGB.dcm'), tool: 'opj_decompress', tolerance: 0 },
  // OpenJPH and OpenJPEG round the irreversible 9/7 wavelet differently by at most 1.
  { file: py('HTJ2K_08_RGB.dcm'), tool: 'opj_decompress', tolerance: 1 },
  // Segmented palette (PS3.3 C.7.9.2): GDCM applies the LUT itself, DCMTK cannot.
  { file: py('gdcm-US-ALOKA-16.dcm'), tool: 'gdcmconv', tolerance: 0, gdcmOption: '--apply-lut' },
  {
    file: py('gdcm-US-ALOKA-16_big.dcm'),
    tool: 'gdcmconv',
    tolerance: 0,
    gdcmOption: '--apply-lut',
  },
];

// Two at a time: the reference tools are separate processes, so their start-up overlaps.
describe('decoding agrees with an independent decoder', { concurrency: 2 }, () => {
  for (const { file, tool, tolerance, gdcmOption } of cases) {
    it(`${file} ≡ ${tool} ${gdcmOption ?? ''}`, async () => {
      const ours = await decodeCorpusFile(file);
      const reference = await decodeWithReferenceTool(file, tool, gdcmOption);
      const compared = tool === 'opj_decompress' ? ours.slice(0, 1) : ours;
      assert.equal(reference.length, compared.length, 'frame count');
      compared.forEach((frame, i) => {
        const diff = difference(frame.pixels, reference[i]!);
        assert.ok(
          diff.maxAbs <= tolerance,
          `frame ${i}: max |Δ| ${diff.maxAbs} > ${tolerance} (${diff.differing} samples differ, mean ${diff.meanAbs.toFixed(3)})`,
        );
      });
    });
  }
});
