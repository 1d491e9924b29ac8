/**
 * Result delivery (ADRs 0100–0104): destinations parsed from configuration, a persistent
 * outbox in the node database, one sender per destination kind (C-STORE, STOW-RS, FHIR
 * transaction, folder) and the deliverer that drives them with retries and backoff.
 */
export {
  parseDestination,
  destinationLabel,
  accepts,
  type Destination,
  type DeliveryPayload,
  type ResultFileRef,
} from './destinations.js';
export {
  checkResultFileName,
  readResultFolder,
  writeResultFolder,
  ResultStaging,
  sha256Hex,
  type ResultFile,
  type ResultFilesPort,
} from './resultFiles.js';
export {
  Outbox,
  OUTBOX_DEFAULTS,
  backoffDelay,
  afterFailedSend,
  sendRetryPolicy,
  type SendRetryPolicy,
  ensureOutboxSchema,
  type OutboxItem,
  type OutboxEntry,
  type OutboxState,
  type OutboxOptions,
  type ClaimedEntry,
  type SettleOutcome,
} from './outbox.js';
export {
  sqliteOutboxPort,
  type OutboxPort,
  type OutboxCounts,
  type ClaimExclusions,
} from './outboxPort.js';
export {
  OutboxDeliverer,
  entryRef,
  scrubUids,
  type DeliveryEvent,
  type OutboxDelivererOptions,
  type SenderRegistry,
} from './deliverer.js';
export type { Sender, SendOutcome } from './sender.js';
export { DimseSender, type DimseSenderOptions } from './dimseSender.js';
export { StowSender, failedInstances, type StowSenderOptions } from './stowSender.js';
export { FhirSender, toTransactionBundle, type FhirSenderOptions } from './fhirSender.js';
export { FolderSender } from './folderSender.js';
