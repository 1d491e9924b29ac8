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
export { part10DatasetOffset, part10Header, type FileMetaFields } from './part10.js';
export { keepReceivedPart10, receivePart10, receivedPart10 } from './part10Receiver.js';
export { silenceDimseLog } from './quietDimseLog.js';
