/**
 * The audit log of a cluster in PostgreSQL (ADR 0188): the same entries and hashes as the
 * file log (ADR 0089) — each entry's hash covers the previous entry's hash — appended by the
 * ingest nodes and command lines of every host into one chain.
 *
 * Appends are serialised by locking the chain's head row (`audit_head`, one row) FOR UPDATE:
 * the appender that holds it reads the last seq and hash from it, inserts the next entry and
 * moves the head, in one transaction; the next appender waits on the row and then reads the
 * moved head. The lock ends with the transaction, also when its process dies. The head row is
 * also the file log's head file: it names the last entry, so a removed tail shows. seq and prev
 * are unique, so even a writer that bypassed the lock could not fork the chain.
 */
import {
  AUDIT_GENESIS,
  auditEntryHash,
  type AuditChain,
  type AuditEntry,
  type AuditEvent,
  type AuditVerification,
} from '../../foundation/audit/index.js';
import { databaseNow, inTransaction, query, redactUrl, type PgPool } from './connection.js';

interface AuditRow {
  seq: string;
  at: string;
  actor: string;
  action: string;
  subject: string;
  details: string;
  prev: string;
  hash: string;
}

/** Rows read per query while verifying: memory stays flat however long the chain. */
const VERIFY_PAGE_ROWS = 5000;

/** A row as an entry; null when its details are not JSON (edited by hand). */
function entryOf(row: AuditRow): AuditEntry | null {
  let details: Record<string, unknown>;
  try {
    details = JSON.parse(row.details) as Record<string, unknown>;
  } catch {
    return null;
  }
  return {
    seq: Number(row.seq),
    at: row.at,
    actor: row.actor,
    action: row.action,
    subject: row.subject,
    details,
    prev: row.prev,
    hash: row.hash,
  };
}

const plural = (n: number): string => (n === 1 ? 'entry was' : 'entries were');

export class PgAuditChain implements AuditChain {
  readonly location: string;

  /** `pool` must be migrated (migrate()); the chain does not own it. */
  constructor(
    private readonly pool: PgPool,
    databaseUrl: string,
  ) {
    this.location = `${redactUrl(databaseUrl)} (table audit_log)`;
  }

  async append(event: AuditEvent): Promise<AuditEntry> {
    return inTransaction(this.pool, 'appending to the audit log', async (client) => {
      const head = (
        await client.query<{ seq: string; hash: string }>(
          'SELECT seq, hash FROM audit_head WHERE one FOR UPDATE',
        )
      ).rows[0]!;
      // The database clock, read once the head is held: times rise with seq on every host.
      const at = new Date(await databaseNow(client)).toISOString();
      const body = {
        seq: Number(head.seq) + 1,
        at,
        actor: event.actor,
        action: event.action,
        subject: event.subject,
        details: JSON.parse(JSON.stringify(event.details ?? {})) as Record<string, unknown>,
        prev: head.hash,
      };
      const entry: AuditEntry = { ...body, hash: auditEntryHash(body) };
      await client.query(
        `WITH added AS (
           INSERT INTO audit_log (seq, at, actor, action, subject, details, prev, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         )
         UPDATE audit_head SET seq = $1, hash = $8 WHERE one`,
        [
          entry.seq,
          entry.at,
          entry.actor,
          entry.action,
          entry.subject,
          JSON.stringify(entry.details),
          entry.prev,
          entry.hash,
        ],
      );
      return entry;
    });
  }

  async latest(limit: number): Promise<AuditEntry[]> {
    const result = await query<AuditRow>(
      this.pool,
      'reading the audit log',
      'SELECT * FROM audit_log ORDER BY seq DESC LIMIT $1',
      [limit],
    );
    return result.rows
      .reverse()
      .map(entryOf)
      .filter((entry): entry is AuditEntry => entry !== null);
  }

  /**
   * Checks the whole chain in one snapshot (appends during the check are not seen): seq runs
   * 1, 2, 3 … without a gap, each prev is the hash before it, each hash matches its entry,
   * and the head names the last entry. `line` is the position (seq) of the first misfit.
   */
  async verify(): Promise<AuditVerification> {
    return inTransaction(this.pool, 'verifying the audit log', async (client) => {
      await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      let prev = AUDIT_GENESIS;
      let count = 0;
      const fail = (line: number, problem: string): AuditVerification => ({
        ok: false,
        entries: count,
        line,
        problem,
      });
      for (;;) {
        const page = await client.query<AuditRow>(
          'SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2',
          [count, VERIFY_PAGE_ROWS],
        );
        for (const row of page.rows) {
          const expected = count + 1;
          const seq = Number(row.seq);
          if (seq !== expected) {
            return fail(
              expected,
              `entry ${seq} follows entry ${count}: ${seq - expected} ${plural(seq - expected)} removed before it`,
            );
          }
          const entry = entryOf(row);
          if (entry === null)
            return fail(expected, `entry ${seq} was edited: its details are not JSON`);
          if (entry.prev !== prev) {
            return fail(
              expected,
              `entry ${seq} does not chain to the entry before it (its prev hash differs): an entry before it was edited or replaced`,
            );
          }
          const { hash, ...body } = entry;
          if (auditEntryHash(body) !== hash) {
            return fail(
              expected,
              `entry ${seq} was edited: its content no longer matches its hash`,
            );
          }
          prev = hash;
          count = seq;
        }
        if (page.rows.length < VERIFY_PAGE_ROWS) break;
      }
      const head = (
        await client.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_head')
      ).rows[0];
      if (head === undefined) return fail(count + 1, 'the chain head row (audit_head) was removed');
      const headSeq = Number(head.seq);
      if (headSeq > count) {
        return fail(
          count + 1,
          `the log ends at entry ${count} but its head names entry ${headSeq}: the last ${headSeq - count} ${plural(headSeq - count)} removed`,
        );
      }
      if (headSeq < count) {
        return fail(
          headSeq + 1,
          `the log goes on to entry ${count} but its head names entry ${headSeq}: entries were added without the audit log`,
        );
      }
      if (head.hash !== prev) {
        return fail(
          Math.max(count, 1),
          `the head names entry ${headSeq} with another hash than the log holds`,
        );
      }
      return { ok: true, entries: count };
    });
  }
}
