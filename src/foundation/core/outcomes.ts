/**
 * One map from an error to what each protocol answers (ADR 0124): the DIMSE status of a
 * C-STORE response (PS3.4 B.2.3, PS3.7 C), the Failure Reason (0008,1197) of a STOW-RS
 * response (PS3.18 Table I.2-2) and the HTTP status of a request that fails as a whole.
 * C-STORE and STOW-RS used to keep a map each, and disagreed (an uncoded error was "out of
 * resources" to one, "processing failure" to the other). "Out of resources" (A700) tells the
 * sender to try again later, so it is kept for our own trouble (disk, database); input we
 * cannot or will not read — damaged, unsupported, past a limit — is "cannot understand"
 * (C000), which a sender does not retry.
 */
import { isRadiolensError, type ErrorCode } from './errors.js';

/** DIMSE and STOW-RS status values used in answers (PS3.7 C, PS3.4 B.2.3, PS3.18 I.2). */
export const DicomStatus = {
  SUCCESS: 0x0000,
  PROCESSING_FAILURE: 0x0110,
  OUT_OF_RESOURCES: 0xa700,
  DATASET_DOES_NOT_MATCH: 0xa900,
  CANNOT_UNDERSTAND: 0xc000,
  TRANSFER_SYNTAX_NOT_SUPPORTED: 0xc122,
} as const;

export interface Outcome {
  /** Status of a DIMSE response (C-STORE). */
  readonly dimseStatus: number;
  /** Failure Reason of one instance in a STOW-RS response. */
  readonly stowFailureReason: number;
  /** HTTP status when the whole request fails for this reason. */
  readonly httpStatus: number;
}

const CANNOT_UNDERSTAND: Outcome = {
  dimseStatus: DicomStatus.CANNOT_UNDERSTAND,
  stowFailureReason: DicomStatus.CANNOT_UNDERSTAND,
  httpStatus: 400,
};
const OUT_OF_RESOURCES: Outcome = {
  dimseStatus: DicomStatus.OUT_OF_RESOURCES,
  stowFailureReason: DicomStatus.OUT_OF_RESOURCES,
  httpStatus: 503,
};
const PROCESSING_FAILURE: Outcome = {
  dimseStatus: DicomStatus.PROCESSING_FAILURE,
  stowFailureReason: DicomStatus.PROCESSING_FAILURE,
  httpStatus: 500,
};

const OUTCOMES: Partial<Record<ErrorCode, Outcome>> = {
  E_NOT_DICOM: CANNOT_UNDERSTAND,
  E_TRUNCATED: CANNOT_UNDERSTAND,
  E_MALFORMED_DICOM: CANNOT_UNDERSTAND,
  E_BAD_INPUT: CANNOT_UNDERSTAND,
  // C-STORE has no "transfer syntax not supported" status; negotiation normally prevents it.
  E_UNSUPPORTED_TRANSFER_SYNTAX: {
    dimseStatus: DicomStatus.CANNOT_UNDERSTAND,
    stowFailureReason: DicomStatus.TRANSFER_SYNTAX_NOT_SUPPORTED,
    httpStatus: 415,
  },
  // Past a stated limit: retrying the same data cannot succeed.
  E_LIMIT_EXCEEDED: { ...CANNOT_UNDERSTAND, httpStatus: 413 },
  E_STORE: OUT_OF_RESOURCES,
  E_DATABASE: OUT_OF_RESOURCES,
  E_IO: OUT_OF_RESOURCES,
  E_DISK_FULL: OUT_OF_RESOURCES,
};

/** What to answer for `error`; anything uncoded or unlisted is a processing failure. */
export function outcomeOf(error: unknown): Outcome {
  if (!isRadiolensError(error)) return PROCESSING_FAILURE;
  return OUTCOMES[error.code] ?? PROCESSING_FAILURE;
}
