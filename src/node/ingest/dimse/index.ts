/**
 * DIMSE ingest (ADRs 0094–0097): a C-ECHO / C-STORE SCP that acknowledges an instance only
 * once InstanceStore has it durably. The association-level pieces it shares with pull and
 * delivery live in foundation/dimse.
 */
export {
  DicomStorageScp,
  failureStatus,
  STATUS_OUT_OF_RESOURCES,
  STATUS_CANNOT_UNDERSTAND,
  type StorageScpOptions,
  type ScpEvent,
} from './storageScp.js';
