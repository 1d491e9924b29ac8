/**
 * Modality LUT (PS3.3 C.11.1): stored pixel values → modality values (HU for CT, OD, …).
 * Either a Modality LUT Sequence or Rescale Slope/Intercept; the standard makes them
 * mutually exclusive, and when a file has both the sequence wins because it is the more
 * specific mapping (it is what DCMTK does too).
 */
import { firstNumber, sequenceItems } from './attributes.js';
import { applyLut, parseLut } from './lut.js';
import type { DatasetLike, PixelFrameLike } from './types.js';

export function applyModalityLut(frame: PixelFrameLike, dataset: DatasetLike): Float32Array {
  const input = frame.pixels;
  const output = new Float32Array(input.length);
  const lutItem = sequenceItems(dataset, 'ModalityLUTSequence')[0];
  // A LUT maps integer stored values; colour and float pixel data have no Modality LUT.
  if (lutItem !== undefined && frame.samplesPerPixel === 1 && isIntegerPixelData(frame)) {
    const lut = parseLut(lutItem, {
      signedInput: frame.pixelRepresentation === 1,
      context: 'Modality LUT Sequence',
    });
    applyLut(lut, input, output);
    return output;
  }
  const slope = firstNumber(dataset, 'RescaleSlope') ?? 1;
  const intercept = firstNumber(dataset, 'RescaleIntercept') ?? 0;
  if (slope === 1 && intercept === 0) {
    output.set(input);
    return output;
  }
  for (let p = 0; p < input.length; p++) output[p] = (input[p] as number) * slope + intercept;
  return output;
}

function isIntegerPixelData(frame: PixelFrameLike): boolean {
  return !(frame.pixels instanceof Float32Array || frame.pixels instanceof Float64Array);
}
