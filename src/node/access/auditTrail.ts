/**
 * The node's side of the audit log (issue #13 Deliver 7, ADR 0176): one chain — the AuditLog
 * in the data directory, or the cluster's chain in PostgreSQL (ADR 0188) — appends taken one
 * at a time in this process (the chain orders this process against others), studies named by
 * a keyed hash of their UID — never the UID, which can carry dates or site numbers, and never
 * a name or accession.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type AuditChain, type AuditEntry, type AuditEvent } from '../../foundation/audit/index.js';
import type { NodeDatabase } from '../store/index.js';

/** Where the node and the command line keep the audit log. */
export function auditLogPath(dataDir: string): string {
  return join(dataDir, 'audit', 'audit.jsonl');
}

/**
 * The study key: HMAC-SHA256 of the Study Instance UID under a secret kept in the node
 * database, 22 base64url characters. Stable for one node (or, with the secret in the shared
 * database, for every node of a cluster; ADR 0188), meaningless without that database.
 */
export class StudyKeys {
  private readonly secret: Buffer;

  /** The node database's secret (made on first use), or a secret read elsewhere. */
  constructor(source: NodeDatabase | { readonly secret: Buffer }) {
    if ('secret' in source) {
      this.secret = source.secret;
      return;
    }
    const db = source;
    db.exec('CREATE TABLE IF NOT EXISTS node_secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL)');
    db.prepare('INSERT OR IGNORE INTO node_secrets (name, value) VALUES (?, ?)').run(
      'study-key',
      randomBytes(32),
    );
    this.secret = (
      db.prepare('SELECT value FROM node_secrets WHERE name = ?').get('study-key') as {
        value: Buffer;
      }
    ).value;
  }

  of(studyInstanceUid: string): string {
    return createHmac('sha256', this.secret)
      .update(studyInstanceUid, 'utf8')
      .digest('base64url')
      .slice(0, 22);
  }
}

export class AuditTrail {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly chain: AuditChain,
    readonly studyKeys: StudyKeys,
  ) {}

  /** Appends after every append already asked for; rejects when the record cannot be written. */
  record(event: AuditEvent): Promise<AuditEntry> {
    const appended = this.tail.then(() => this.chain.append(event));
    this.tail = appended.catch(() => undefined);
    return appended;
  }
}
