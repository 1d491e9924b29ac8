/** Test support for the imaging tests: small frames built from literal values. */
import type { PixelFrameLike } from '../../src/inference/imaging/types.js';

export function monoFrame(
  values: number[],
  options: Partial<Omit<PixelFrameLike, 'pixels'>> & { columns?: number } = {},
): PixelFrameLike {
  const columns = options.columns ?? values.length;
  return {
    rows: options.rows ?? Math.ceil(values.length / columns),
    columns,
    samplesPerPixel: options.samplesPerPixel ?? 1,
    bitsAllocated: options.bitsAllocated ?? 16,
    bitsStored: options.bitsStored ?? 16,
    pixelRepresentation: options.pixelRepresentation ?? 0,
    photometricInterpretation: options.photometricInterpretation ?? 'MONOCHROME2',
    pixels: Int32Array.from(values),
  };
}

export function assertClose(actual: ArrayLike<number>, expected: number[], epsilon = 1e-6): void {
  if (actual.length !== expected.length) {
    throw new Error(`length ${actual.length} ≠ expected ${expected.length}`);
  }
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (!(Math.abs(a - e) <= epsilon)) {
      throw new Error(
        `index ${i}: ${a} ≠ expected ${e} (±${epsilon}); actual ${Array.from(actual).join(', ')}`,
      );
    }
  }
}
