import type { FeatureMap } from '../models/index.js';

/** Global average pooling of a feature map: one value per channel (the OOD check's features). */
export function globalAveragePool(features: FeatureMap): Float32Array {
  const area = features.h * features.w;
  const pooled = new Float32Array(features.k);
  for (let c = 0; c < features.k; c++) {
    let sum = 0;
    for (let i = 0; i < area; i++) sum += features.data[c * area + i]!;
    pooled[c] = sum / area;
  }
  return pooled;
}
