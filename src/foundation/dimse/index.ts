/**
 * DIMSE association pieces shared by the SCP (node/ingest), pull's C-FIND/C-GET and the
 * C-STORE sender (ADRs 0094–0097, 0117): AE-title rules, presentation-context decisions,
 * command sets, Part 10 wrapping of received datasets, and a quiet dcmjs-dimse log.
 */
export {
  isCallerAllowed,
  ANY_AE_TITLE,
  validateCallerPolicy,
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
export { useDirectCommandDecoding, withDirectCommandEncoding } from './commandSet.js';
export {
  DEFAULT_ASSOCIATION_LIMITS,
  PduGate,
  aAbort,
  aAssociateRj,
  type AssociationLimits,
  type GateFailure,
  type GateRefusal,
} from './pduGate.js';
export { checkAssociateRequest, type AssociateRequestCheck } from './associateRequest.js';
export { assertAeTitle, isAeTitle, AE_TITLE_RULE } from './aeTitle.js';
