/**
 * Errors are values with a stable code and a message that says what went wrong and what to
 * do about it (STYLE.md). Every module throws RadiolensError for problems the user can act
 * on; anything else escaping is a bug.
 */
export type ErrorCode =
  | 'E_NOT_DICOM'
  | 'E_TRUNCATED'
  | 'E_MALFORMED_DICOM'
  | 'E_UNSUPPORTED_TRANSFER_SYNTAX'
  | 'E_PIXEL_DATA'
  | 'E_DECODE_FAILED'
  | 'E_UNSUPPORTED_PHOTOMETRIC'
  | 'E_INCONSISTENT_SERIES'
  | 'E_MANIFEST_INVALID'
  | 'E_PACKAGE_TAMPERED'
  | 'E_MODEL_NOT_FOUND'
  | 'E_MODEL_RUNTIME'
  | 'E_NOT_IN_INTENDED_USE'
  | 'E_NO_MATCHING_MODEL'
  | 'E_BAD_INPUT'
  | 'E_IO'
  | 'E_DEID_MISSING_UID'
  | 'E_DEID_SECRET'
  | 'E_DEID_CONFIG'
  | 'E_DATASET_INVALID'
  | 'E_MODEL_VERSION_EXISTS'
  | 'E_RUN_EXISTS'
  | 'E_RUN_NOT_FOUND'
  | 'E_STORE'
  | 'E_QUEUE'
  | 'E_DIMSE_CONFIG'
  | 'E_FINETUNE_VERIFY'
  | 'E_PEER'
  | 'E_STUDY_NOT_FOUND'
  | 'E_AUDIT'
  | 'E_MODEL_NOT_ACTIVE'
  | 'E_REGISTRY_STATE'
  /** Input larger or deeper than a stated limit (PDU, inflated dataset, nesting; ADR 0123). */
  | 'E_LIMIT_EXCEEDED'
  /** A DICOM peer broke the upper-layer protocol (PS3.8); its association was ended. */
  | 'E_DIMSE_PROTOCOL'
  /** A value Radiolens was about to write does not fit its VR (ADR 0140). */
  | 'E_VR_INVALID'
  /** The shared PostgreSQL database is unreachable, refused a statement, or has a newer schema (ADR 0181). */
  | 'E_DATABASE'
  /** The shared DICOM store (Orthanc over DICOMweb) cannot be reached or refused us; retried (ADR 0187). */
  | 'E_STORE_UNREACHABLE'
  /** This host's own disk (a temporary or data folder) is full; the work is retried later (ADR 0193). */
  | 'E_DISK_FULL';

export class RadiolensError extends Error {
  readonly code: ErrorCode;
  /** The file or object the problem is about, when there is one. */
  readonly subject: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { subject?: string; cause?: unknown }) {
    super(
      `${code}: ${message}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'RadiolensError';
    this.code = code;
    this.subject = options?.subject;
  }
}

export function isRadiolensError(value: unknown): value is RadiolensError {
  return value instanceof RadiolensError;
}

/** A short, human message for anything thrown, for per-file reports. */
export function describeError(value: unknown): string {
  if (value instanceof Error) return value.message;
  return String(value);
}
