/**
 * The Store Instances Response Module (PS3.18 Annex I) in DICOM JSON (PS3.18 Annex F), and
 * the Failure Reason (0008,1197) for each way an instance can fail (Table I.2-2).
 */
import { DicomStatus, outcomeOf } from '../../../foundation/core/index.js';

/** PS3.18 Table I.2-2, from the one outcome map (ADR 0124). */
export const FAILURE_OUT_OF_RESOURCES = DicomStatus.OUT_OF_RESOURCES;
export const FAILURE_DATASET_DOES_NOT_MATCH = DicomStatus.DATASET_DOES_NOT_MATCH;
export const FAILURE_CANNOT_UNDERSTAND = DicomStatus.CANNOT_UNDERSTAND;
export const FAILURE_TRANSFER_SYNTAX_NOT_SUPPORTED = DicomStatus.TRANSFER_SYNTAX_NOT_SUPPORTED;
export const FAILURE_PROCESSING = DicomStatus.PROCESSING_FAILURE;

export interface ReferencedInstance {
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
}

export interface FailedInstance {
  /** '' when the part could not be read far enough to know them. */
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  readonly failureReason: number;
}

/** Failure Reason for an error thrown while reading or storing one instance. */
export function failureReasonOf(error: unknown): number {
  return outcomeOf(error).stowFailureReason;
}

type JsonAttribute = { vr: string; Value?: unknown[] };
export type DicomJson = Record<string, JsonAttribute>;

function uid(value: string): JsonAttribute {
  // An unknown UID is sent as an attribute without a value rather than an empty string.
  return value === '' ? { vr: 'UI' } : { vr: 'UI', Value: [value] };
}

/**
 * Retrieve URL (0008,1190) is Type 2: present, and empty here because this node does not
 * offer WADO-RS retrieval.
 */
export function storeInstancesResponse(
  referenced: readonly ReferencedInstance[],
  failed: readonly FailedInstance[],
): DicomJson {
  const response: DicomJson = { '00081190': { vr: 'UR' } };
  if (failed.length > 0) {
    response['00081198'] = {
      vr: 'SQ',
      Value: failed.map((f) => ({
        '00081150': uid(f.sopClassUid),
        '00081155': uid(f.sopInstanceUid),
        '00081197': { vr: 'US', Value: [f.failureReason] },
      })),
    };
  }
  if (referenced.length > 0) {
    response['00081199'] = {
      vr: 'SQ',
      Value: referenced.map((r) => ({
        '00081150': uid(r.sopClassUid),
        '00081155': uid(r.sopInstanceUid),
        '00081190': { vr: 'UR' },
      })),
    };
  }
  return response;
}

/** PS3.18 Table 10.5.3-1: all stored 200, some 202, none 409. */
export function storeStatusCode(referenced: number, failed: number): number {
  if (failed === 0) return 200;
  return referenced === 0 ? 409 : 202;
}
