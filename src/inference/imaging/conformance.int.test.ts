/**
 * Real files against DCMTK: our LUT pipeline on pydicom-data's DCMTK-made LUT test images
 * (mlut_18: Modality LUT Sequence, vlut_04: VOI LUT Sequence) and a real CT with a window,
 * compared pixel by pixel with what `dcmj2pnm` renders as 16-bit PGM, allowing ±1 for
 * rounding. Skipped when DCMTK is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conformanceDir } from '../../../test/support/index.js';
import {
  applyModalityLut,
  applyWindow,
  buildVolume,
  toDisplayGrey,
  type DatasetLike,
  type PixelFrameLike,
} from './index.js';

/** The slice of dcmjs these tests use. dcmjs ships no types, and src/dicom owns any
 * declaration of them, so the module is imported by a non-literal name here. */
interface Dcmjs {
  data: {
    DicomMessage: { readFile(buffer: ArrayBuffer): { dict: unknown } };
    DicomMetaDictionary: { naturalizeDataset(dict: unknown): Record<string, unknown> };
  };
}
const dcmjsName = 'dcmjs';
const { default: dcmjs } = (await import(dcmjsName)) as { default: Dcmjs };

const pydicom = (name: string): string => join(conformanceDir, 'pydicom-data', name);
const ctFile = join(
  conformanceDir,
  'cornerstone3D',
  'CTImage.dcm_LittleEndianExplicitTransferSyntax_1.2.840.10008.1.2.1.dcm',
);
// DCMTK is the independent reference: .ci/run installs it, and its absence must fail the
// tests rather than silently skip the comparison.
if (spawnSync('dcmj2pnm', ['--version']).status !== 0) {
  throw new Error('dcmj2pnm (DCMTK) is not installed: apt-get install dcmtk');
}
const skip = existsSync(pydicom('mlut_18.dcm')) ? false : 'no conformance data (../shared)';

/** Reads a native (uncompressed, little endian) single-frame file with dcmjs. */
function readNative(path: string): { dataset: DatasetLike; frame: PixelFrameLike } {
  const bytes = readFileSync(path);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const message = dcmjs.data.DicomMessage.readFile(buffer);
  const dataset = dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.dict) as Record<
    string,
    unknown
  >;
  const rows = Number(dataset.Rows);
  const columns = Number(dataset.Columns);
  const bitsAllocated = Number(dataset.BitsAllocated);
  const bitsStored = Number(dataset.BitsStored);
  const pixelRepresentation = Number(dataset.PixelRepresentation);
  const raw = (dataset.PixelData as ArrayBuffer[])[0] as ArrayBuffer;
  const count = rows * columns;
  const source =
    bitsAllocated === 8 ? new Uint8Array(raw, 0, count) : new Uint16Array(raw, 0, count);
  const pixels = new Int32Array(count);
  const shift = 32 - bitsStored;
  for (let i = 0; i < count; i++) {
    const word = source[i] as number;
    // Keep the Bits Stored low bits; sign-extend them when Pixel Representation is 1.
    pixels[i] = pixelRepresentation === 1 ? (word << shift) >> shift : (word << shift) >>> shift;
  }
  const frame: PixelFrameLike = {
    rows,
    columns,
    samplesPerPixel: 1,
    bitsAllocated,
    bitsStored,
    pixelRepresentation,
    photometricInterpretation: String(dataset.PhotometricInterpretation),
    pixels,
  };
  return { dataset, frame };
}

/** Renders with dcmj2pnm to 16-bit ASCII PGM and returns the samples and their maximum. */
function dcmtkRender(path: string, options: string[]): { max: number; values: Int32Array } {
  const result = spawnSync('dcmj2pnm', [...options, '+opw', path], {
    maxBuffer: 64 * 1024 * 1024,
    encoding: 'latin1',
  });
  assert.equal(result.status, 0, result.stderr);
  const tokens = result.stdout.split(/\s+/).filter((t) => t !== '');
  assert.equal(tokens[0], 'P2');
  const count = Number(tokens[1]) * Number(tokens[2]);
  const values = Int32Array.from(tokens.slice(4, 4 + count), Number);
  assert.equal(values.length, count);
  return { max: Number(tokens[3]), values };
}

/** ±1 output step: DCMTK truncates where we keep the exact value (21845.0007 vs 21844). */
const ONE_STEP = 1 + 1e-3;

function assertWithinOne(ours: ArrayLike<number>, theirs: Int32Array, what: string): void {
  for (let i = 0; i < theirs.length; i++) {
    const difference = Math.abs((ours[i] as number) - (theirs[i] as number));
    if (difference > ONE_STEP)
      assert.fail(`${what}: pixel ${i} ours ${ours[i]} vs dcmj2pnm ${theirs[i]}`);
  }
}

test(
  'mlut_18: Modality LUT Sequence (signed, first mapped −2048) matches dcmj2pnm +M',
  { skip },
  () => {
    const { dataset, frame } = readNative(pydicom('mlut_18.dcm'));
    const modality = applyModalityLut(frame, dataset);
    // Without a VOI transform DCMTK spreads the LUT's output range over 0 … 65535.
    const item = (dataset.ModalityLUTSequence as Array<{ LUTData: number[] }>)[0]!;
    const lutMax = Math.max(...item.LUTData);
    const lutMin = Math.min(...item.LUTData);
    const scaled = Float64Array.from(modality, (v) => ((v - lutMin) / (lutMax - lutMin)) * 65535);
    const dcmtk = dcmtkRender(pydicom('mlut_18.dcm'), ['+M', '-W']);
    assertWithinOne(scaled, dcmtk.values, 'mlut_18');
    // By hand: stored 0x0fff is −1 in 12-bit signed → entry −1 − (−2048) = 2047; 0x03ff → 3071.
    assert.equal(frame.pixels[0], -1);
    assert.equal(modality[0], item.LUTData[2047]);
    assert.equal(frame.pixels[1], 1023);
    assert.equal(modality[1], item.LUTData[3071]);
  },
);

test('vlut_04: VOI LUT Sequence matches dcmj2pnm +Wl 1', { skip }, () => {
  const { dataset, frame } = readNative(pydicom('vlut_04.dcm'));
  const grey = toDisplayGrey(frame, dataset);
  const dcmtk = dcmtkRender(pydicom('vlut_04.dcm'), ['+M', '+Wl', '1']);
  assertWithinOne(
    Float64Array.from(grey.data, (v) => v * dcmtk.max),
    dcmtk.values,
    'vlut_04',
  );
  // By hand: stored 0x7f = 127 → LUT entry 127·257 of 65535.
  assert.ok(Math.abs((grey.data[0] as number) - (127 * 257) / 65535) < 1e-6);
});

test('real CT: Rescale + Window (LINEAR) matches dcmj2pnm +Wi 1', { skip }, () => {
  const { dataset, frame } = readNative(ctFile);
  const grey = toDisplayGrey(frame, dataset);
  const dcmtk = dcmtkRender(ctFile, ['+M', '+Wi', '1']);
  assertWithinOne(
    Float64Array.from(grey.data, (v) => v * dcmtk.max),
    dcmtk.values,
    'CT window',
  );
});

test('real CT: SIGMOID window matches dcmj2pnm +Wfs', { skip }, () => {
  const { dataset, frame } = readNative(ctFile);
  const modality = applyModalityLut(frame, dataset);
  const grey = new Float32Array(modality.length);
  applyWindow(modality, grey, 40, 400, 'SIGMOID');
  const dcmtk = dcmtkRender(ctFile, ['+M', '+Ww', '40', '400', '+Wfs']);
  assertWithinOne(
    Float64Array.from(grey, (v) => v * dcmtk.max),
    dcmtk.values,
    'CT sigmoid',
  );
});

test(
  'real CT: dcmjs geometry values build a volume (copies of the slice moved along z)',
  { skip },
  () => {
    const { dataset, frame } = readNative(ctFile);
    const position = dataset.ImagePositionPatient as number[];
    const slices = [2, 0, 1].map((k) => ({
      source: `ct${k}`,
      frame,
      dataset: {
        ...dataset,
        ImagePositionPatient: [position[0], position[1], (position[2] as number) + 5 * k],
      },
    }));
    const volume = buildVolume(slices);
    assert.deepEqual(volume.sliceSources, ['ct0', 'ct1', 'ct2']);
    assert.equal(volume.width, 512);
    const spacing = (dataset.PixelSpacing as number[]).map(Number);
    assert.ok(
      Math.abs(volume.spacing[0] - spacing[1]!) < 1e-9 && Math.abs(volume.spacing[2] - 5) < 1e-6,
    );
    assert.deepEqual(
      Array.from(volume.data.subarray(0, 4)),
      Array.from(applyModalityLut(frame, dataset).subarray(0, 4)),
    );
  },
);
