/** The append-only, hash-chained audit log (ADR 0089). */
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
