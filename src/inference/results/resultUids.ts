import { deriveUid } from '../../foundation/core/index.js';
import type { AlgorithmIdentity, AnalysisRecord, SourceImage } from './types.js';

/**
 * Deterministic UIDs for result objects. The key is what makes a result *the same result*:
 * the input instances (sorted, so their order does not matter), the model identity including
 * its manifest hash, and the kind of object. A retried job therefore writes the same Series
 * and SOP Instance UIDs and the PACS replaces instead of duplicating; a new model version
 * gives new UIDs, so its results never overwrite the old ones.
 */
export type ResultKind = 'sr' | 'sc' | 'pm';

function algorithmKey(algorithm: AlgorithmIdentity): string[] {
  return [algorithm.modelId, algorithm.version, algorithm.manifestSha256];
}

function inputKey(record: AnalysisRecord): string {
  const uids = record.inputSopInstanceUids ?? record.sources.map((s) => s.sopInstanceUid);
  return [...new Set(uids)].sort().join('\\');
}

export function resultSeriesUid(record: AnalysisRecord, kind: ResultKind): string {
  return deriveUid(
    'radiolens-series',
    kind,
    record.studyInstanceUid,
    inputKey(record),
    ...algorithmKey(record.algorithm),
  );
}

export function resultInstanceUid(
  record: AnalysisRecord,
  kind: ResultKind,
  image?: SourceImage,
): string {
  return deriveUid(
    'radiolens-instance',
    kind,
    record.studyInstanceUid,
    inputKey(record),
    image?.sopInstanceUid ?? '',
    ...algorithmKey(record.algorithm),
  );
}

/** Tracking Unique Identifier (112040) of one finding's measurement group. */
export function trackingUid(record: AnalysisRecord, labelId: string, image: SourceImage): string {
  return deriveUid(
    'radiolens-tracking',
    record.studyInstanceUid,
    image.sopInstanceUid,
    labelId,
    ...algorithmKey(record.algorithm),
  );
}

/** Device Observer UID (121012): one per model version and package content. */
export function deviceObserverUid(algorithm: AlgorithmIdentity): string {
  return deriveUid('radiolens-device', ...algorithmKey(algorithm));
}
