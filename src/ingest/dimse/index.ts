/**
 * DIMSE ingest (ADRs 0094–0097): a C-ECHO / C-STORE SCP that acknowledges an instance only
 * once InstanceStore has it durably.
 */
export {
  DicomStorageScp,
  failureStatus,
  STATUS_OUT_OF_RESOURCES,
  STATUS_CANNOT_UNDERSTAND,
  type StorageScpOptions,
  type ScpEvent,
} from './storageScp.js';
export {
  isCallerAllowed,
  ANY_AE_TITLE,
  validateCallerPolicy,
  assertAeTitle,
  type AllowedCaller,
  type CallerPolicy,
} from './callers.js';
export {
  decidePresentationContext,
  isStorageSopClass,
  STORAGE_TRANSFER_SYNTAXES,
  VERIFICATION_SOP_CLASS,
  type ContextDecision,
} from './presentationContexts.js';
export { part10FromDataset, part10DatasetOffset, type FileMetaFields } from './part10.js';
export { keepReceivedDatasetBytes, receivedDatasetBytes } from './rawDataset.js';
export { silenceDimseLog } from './quietDimseLog.js';
