/**
 * Where audit records go, whichever store holds the chain (ADR 0188): the file log of one
 * data directory (ADR 0089) or the one chain of a cluster in PostgreSQL. The node's audit
 * trail, `/api/audit` and `radiolens audit verify` take this port; both stores keep the same
 * entries with the same hashes, so a chain is verified the same way wherever it lives.
 */
import { verifyAuditLog, type AuditLog } from './auditLog.js';
import type { AuditEntry, AuditEvent, AuditVerification } from './auditLog.js';

export interface AuditChain {
  /** Where the chain lives, for messages: a file path or a database URL without password. */
  readonly location: string;
  /** Appends one entry after the chain's last; resolves once it is durable. */
  append(event: AuditEvent): Promise<AuditEntry>;
  /** Checks the whole chain; names the first entry that does not fit. */
  verify(): Promise<AuditVerification>;
  /** The last `limit` entries, oldest first. */
  latest(limit: number): Promise<AuditEntry[]>;
}

/** The file log behind the port. */
export function fileAuditChain(log: AuditLog): AuditChain {
  return {
    location: log.path,
    append: (event) => log.append(event),
    verify: () => verifyAuditLog(log.path),
    latest: async (limit) => (await log.entries()).slice(-limit),
  };
}
