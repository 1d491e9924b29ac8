import { createHash } from 'node:crypto';
import { intact } from './fitting.js';
import type { ResultKind } from './resultUids.js';
import type { AlgorithmIdentity } from './types.js';

/**
 * One identity per model version in a PACS series list (ADR 0142): the description names the
 * model id, its version and what the series holds, and the series number is derived from id
 * and version, so two versions of a model never look alike and a re-run keeps its number.
 */
const KINDS: Record<ResultKind, { offset: number; word: string }> = {
  sr: { offset: 1, word: 'findings' },
  sc: { offset: 2, word: 'heatmap NOT FOR DIAGNOSIS' },
  pm: { offset: 3, word: 'parametric map' },
};

/** Series numbers 100001–999993: after any acquisition series, in slots of ten per version. */
export const SERIES_NUMBER_BASE = 100000;
export const SERIES_NUMBER_SLOTS = 90000;

/**
 * 100000 + 10 × (SHA-256(id NUL version) mod 90000) + 1 (SR), 2 (SC) or 3 (parametric map).
 * Two versions share a slot with probability 1/90000; then only their numbers coincide — the
 * Series Instance UIDs and descriptions still differ, and DICOM does not ask series numbers
 * to be unique in a study (PS3.3 C.7.3.1, Type 2, no uniqueness requirement).
 */
export function resultSeriesNumber(algorithm: AlgorithmIdentity, kind: ResultKind): number {
  const digest = createHash('sha256').update(`${algorithm.modelId}\0${algorithm.version}`).digest();
  const slot = digest.readUInt32BE(0) % SERIES_NUMBER_SLOTS;
  return SERIES_NUMBER_BASE + 10 * slot + KINDS[kind].offset;
}

/** "AI cxr-pneumonia 1.2.0 findings": id and version whole, or E_VR_INVALID (LO ≤ 64). */
export function resultSeriesDescription(algorithm: AlgorithmIdentity, kind: ResultKind): string {
  return intact(
    'SeriesDescription',
    `AI ${algorithm.modelId} ${algorithm.version} ${KINDS[kind].word}`,
  );
}
