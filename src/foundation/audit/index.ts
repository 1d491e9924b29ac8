/** The append-only, hash-chained audit log (ADR 0089) and the port every store of it fills (ADR 0188). */
export {
  AuditLog,
  AUDIT_GENESIS,
  auditEntryHash,
  commandLineActor,
  verifyAuditLog,
  type AuditEntry,
  type AuditEvent,
  type AuditVerification,
} from './auditLog.js';
export { fileAuditChain, type AuditChain } from './auditChain.js';
