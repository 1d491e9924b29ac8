/**
 * Decode benchmark over the conformance corpus (not a test): parse and decode time per
 * transfer syntax for the same 512×512 CT, plus a large J2K chest image.
 * Run: node --import tsx src/dicom/decode.bench.ts  (or node dist/src/dicom/decode.bench.js)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conformanceDir } from '../test/support/index.js';
import { loadCodecs } from '../src/foundation/dicom/codecs.js';
import { decodeFrame } from '../src/foundation/dicom/decode.js';
import { parseDicom } from '../src/foundation/dicom/parse.js';

const files = [
  'cornerstone3D/CTImage.dcm_LittleEndianExplicitTransferSyntax_1.2.840.10008.1.2.1.dcm',
  'cornerstone3D/CTImage.dcm_BigEndianExplicitTransferSyntax_1.2.840.10008.1.2.2.dcm',
  'cornerstone3D/CTImage.dcm_DeflatedExplicitVRLittleEndianTransferSyntax_1.2.840.10008.1.2.1.99.dcm',
  'cornerstone3D/CTImage.dcm_RLELosslessTransferSyntax_1.2.840.10008.1.2.5.dcm',
  'cornerstone3D/CTImage.dcm_JPEGProcess1TransferSyntax_1.2.840.10008.1.2.4.50.dcm',
  'cornerstone3D/CTImage.dcm_JPEGProcess2_4TransferSyntax_1.2.840.10008.1.2.4.51.dcm',
  'cornerstone3D/CTImage.dcm_JPEGProcess14SV1TransferSyntax_1.2.840.10008.1.2.4.70.dcm',
  'cornerstone3D/CTImage.dcm_JPEGLSLosslessTransferSyntax_1.2.840.10008.1.2.4.80.dcm',
  'cornerstone3D/CTImage.dcm_JPEG2000LosslessOnlyTransferSyntax_1.2.840.10008.1.2.4.90.dcm',
  'cornerstone3D/CTImage.dcm_JPEG2000TransferSyntax_1.2.840.10008.1.2.4.91.dcm',
  'pydicom-data/HTJ2KLossless_08_RGB.dcm',
  'pydicom-data/US1_UNCR.dcm',
  'pydicom-data/RG1_J2KI.dcm',
];

const repeats = Number(process.env['BENCH_REPEATS'] ?? 5);
await loadCodecs();
console.log(`file | parse ms | decode ms (median of ${repeats}) | Mpixel/s`);
for (const file of files) {
  const bytes = readFileSync(join(conformanceDir, file));
  const parseTimes: number[] = [];
  const decodeTimes: number[] = [];
  let pixels = 0;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    const instance = parseDicom(bytes, file);
    const t1 = performance.now();
    const frame = await decodeFrame(instance, 0);
    const t2 = performance.now();
    parseTimes.push(t1 - t0);
    decodeTimes.push(t2 - t1);
    pixels = frame.rows * frame.columns;
  }
  const parseMs = median(parseTimes);
  const decodeMs = median(decodeTimes);
  console.log(
    `${file.split('/')[1]} | ${parseMs.toFixed(1)} | ${decodeMs.toFixed(1)} | ${(pixels / 1e3 / decodeMs).toFixed(1)}`,
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
