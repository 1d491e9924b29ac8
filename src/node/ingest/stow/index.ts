/**
 * STOW-RS ingest (ADR 0109): a node:http handler for PS3.18 §10.5 that acknowledges an
 * instance only once InstanceStore has it durably.
 */
export {
  createStowRsHandler,
  matchStowRsPath,
  DEFAULT_MAX_STOW_REQUEST_BYTES,
  type StowEvent,
  type StowRsHandler,
  type StowRsOptions,
} from './stowRs.js';
export {
  storeInstancesResponse,
  failureReasonOf,
  storeStatusCode,
  FAILURE_OUT_OF_RESOURCES,
  FAILURE_DATASET_DOES_NOT_MATCH,
  FAILURE_CANNOT_UNDERSTAND,
  FAILURE_TRANSFER_SYNTAX_NOT_SUPPORTED,
  FAILURE_PROCESSING,
  type ReferencedInstance,
  type FailedInstance,
  type DicomJson,
} from './storeResponse.js';
