import { RadiolensError } from '../../foundation/core/index.js';
import type { GreyImage } from '../../inference/imaging/index.js';
import type { RegionSource } from './annotations.js';
import type { RegionMask } from './regions.js';

/**
 * Where an image's lung field comes from. Today: mask files drawn by people
 * (`lungFieldFromMasks`); once a lung segmentation model runs in the pipeline, it plugs in
 * through `lungFieldFromProbabilities` with a function that returns its per-channel
 * probability maps at the image's size. Either way the measurement code sees only this.
 */
export interface LungFieldSource {
  /** For the report: e.g. "lung masks from …" or "cxr-lungs@1.0.0, p ≥ 0.5". */
  readonly description: string;
  /** Whether it can give this image a lung field without reading it (absent: any image). */
  covers?(imagePath: string): boolean;
  /** The lung field of the image at its size, or null when the source has none for it. */
  lungField(image: { path: string; grey: GreyImage }): Promise<RegionMask | null>;
}

/** Lung fields from mask files (a folder or a CSV; see masksFrom). */
export function lungFieldFromMasks(masks: RegionSource): LungFieldSource {
  return {
    description: masks.description,
    covers: (imagePath) => masks.covers(imagePath),
    lungField: ({ path, grey }) => masks.regionFor(path, grey.width, grey.height),
  };
}

/**
 * Lung fields from a segmentation model: `predict` returns one probability map per output
 * channel (e.g. the patient's right and left lung), each at the image's size; the field is
 * every pixel where any channel reaches `threshold`.
 */
export function lungFieldFromProbabilities(
  description: string,
  predict: (grey: GreyImage) => Promise<readonly Float32Array[]>,
  threshold = 0.5,
): LungFieldSource {
  return {
    description: `${description}, probability ≥ ${threshold}`,
    lungField: async ({ path, grey }) => {
      const channels = await predict(grey);
      const size = grey.width * grey.height;
      const data = new Uint8Array(size);
      for (const [c, map] of channels.entries()) {
        if (map.length !== size) {
          throw new RadiolensError(
            'E_BAD_INPUT',
            `${description}: channel ${c} of the lung field of ${path} holds ${map.length} values, not ${grey.width}×${grey.height}`,
          );
        }
        for (let i = 0; i < size; i++) if (map[i]! >= threshold) data[i] = 1;
      }
      return { width: grey.width, height: grey.height, data };
    },
  };
}
