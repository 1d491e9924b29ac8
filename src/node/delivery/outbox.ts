/**
 * The persistent outbox (ADR 0101): one row per (payload, destination) in the node database.
 * A row stays `pending` until a sender confirms delivery; a failed attempt moves its next
 * try out by an exponential backoff (capped) and records why. Nothing is given up unless the
 * operator set maxAttempts, or the destination rejected the content itself (`failed`, kept,
 * and re-queued by requeueFailed once someone has fixed the cause).
 *
 * In-flight rows carry a claim (token + claimed_until). A sender that crashes or hangs leaves
 * a claim that expires, and the row is claimed and sent again; that is harmless because every
 * send is idempotent (same SOP Instance UID, same FHIR ids, same file name).
 */
import { randomUUID } from 'node:crypto';
import type { NodeDatabase } from '../store/index.js';
import { RadiolensError } from '../../foundation/core/index.js';
import {
  accepts,
  destinationLabel,
  type DeliveryPayload,
  type Destination,
} from './destinations.js';

export interface OutboxItem {
  readonly destination: Destination;
  readonly payload: DeliveryPayload;
  /** Idempotency key chosen by the caller: enqueueing the same key again does nothing. */
  readonly key: string;
}

export type OutboxState = 'pending' | 'delivered' | 'failed';

export interface OutboxEntry {
  readonly id: number;
  readonly key: string;
  readonly destination: Destination;
  readonly label: string;
  readonly payload: DeliveryPayload;
  readonly state: OutboxState;
  /** Attempts that ended without delivery (failed sends and expired claims). */
  readonly attempts: number;
  readonly availableAt: number;
  readonly lastError: string | null;
  readonly createdAt: number;
  readonly deliveredAt: number | null;
  /** Set while a sender holds the entry; an expired value means that sender died. */
  readonly claimedUntil: number | null;
}

/** An entry taken for sending, with the token that proves the claim (a fencing token). */
export interface ClaimedEntry {
  readonly entry: OutboxEntry;
  readonly token: string;
}

export interface OutboxOptions {
  /** First retry delay; doubled each attempt; default 1 s. */
  readonly backoffBaseMs?: number;
  /** Longest retry delay; default 5 min. */
  readonly backoffMaxMs?: number;
  readonly now?: () => number;
  /** Give up (state failed) after this many failed attempts; default never. */
  readonly maxAttempts?: number;
  /** How long a claim lasts; must exceed the longest send. Default 10 min. */
  readonly claimMs?: number;
}

interface OutboxRow {
  id: number;
  key: string;
  destination: string;
  label: string;
  payload: string;
  state: OutboxState;
  attempts: number;
  available_at: number;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
  claimed_until: number | null;
  claim_token: string | null;
}

function toEntry(row: OutboxRow): OutboxEntry {
  return {
    id: row.id,
    key: row.key,
    destination: JSON.parse(row.destination) as Destination,
    label: row.label,
    payload: JSON.parse(row.payload) as DeliveryPayload,
    state: row.state,
    attempts: row.attempts,
    availableAt: row.available_at,
    lastError: row.last_error,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at,
    claimedUntil: row.claimed_until,
  };
}

export function ensureOutboxSchema(db: NodeDatabase): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS outbox (
      id INTEGER PRIMARY KEY,
      key TEXT NOT NULL UNIQUE,
      destination TEXT NOT NULL,
      label TEXT NOT NULL,
      payload TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
      attempts INTEGER NOT NULL DEFAULT 0,
      available_at INTEGER NOT NULL,
      last_error TEXT,
      created_at INTEGER NOT NULL,
      delivered_at INTEGER,
      claimed_until INTEGER,
      claim_token TEXT
    );
    CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, available_at);
    -- Retention (ADR 0189) removes delivered entries by age without a scan.
    CREATE INDEX IF NOT EXISTS outbox_delivered ON outbox (delivered_at) WHERE state = 'delivered';
  `);
}

/**
 * The outbox's defaults, shared by every backend (SQLite here, PostgreSQL in node/postgres)
 * so that they keep one contract.
 */
export const OUTBOX_DEFAULTS = {
  backoffBaseMs: 1000,
  backoffMaxMs: 300_000,
  claimMs: 600_000,
} as const;

/** Delay before the next try after `attempts` failed ones: base × 2^(attempts−1), capped. */
export function backoffDelay(attempts: number, baseMs: number, maxMs: number): number {
  if (attempts <= 0) return 0;
  // 2^(attempts-1) overflows to Infinity for huge counts; min() keeps the cap.
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempts - 1, 60));
}

export type SettleOutcome =
  | { readonly status: 'delivered' }
  /** Worth trying again later (destination down, busy, timed out). */
  | { readonly status: 'retry'; readonly reason: string }
  /** The destination refused this content; resending the same bytes cannot succeed. */
  | { readonly status: 'rejected'; readonly reason: string };

/** How an outbox retries a send: the options with the shared defaults filled in. */
export interface SendRetryPolicy {
  readonly maxAttempts: number | undefined;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

export function sendRetryPolicy(
  options: Pick<OutboxOptions, 'maxAttempts' | 'backoffBaseMs' | 'backoffMaxMs'>,
): SendRetryPolicy {
  return {
    maxAttempts: options.maxAttempts,
    backoffBaseMs: options.backoffBaseMs ?? OUTBOX_DEFAULTS.backoffBaseMs,
    backoffMaxMs: options.backoffMaxMs ?? OUTBOX_DEFAULTS.backoffMaxMs,
  };
}

/**
 * What a send that did not deliver does to its entry, the same for every backend: one more
 * attempt; a rejection, or the last allowed attempt, fails it for good; otherwise it is due
 * again after the backoff.
 */
export function afterFailedSend(
  attemptsBefore: number,
  outcome: Exclude<SettleOutcome, { status: 'delivered' }>,
  policy: SendRetryPolicy,
  now: number,
): { readonly state: OutboxState; readonly attempts: number; readonly availableAt: number } {
  const attempts = attemptsBefore + 1;
  const giveUp =
    outcome.status === 'rejected' ||
    (policy.maxAttempts !== undefined && attempts >= policy.maxAttempts);
  return {
    state: giveUp ? 'failed' : 'pending',
    attempts,
    availableAt: now + backoffDelay(attempts, policy.backoffBaseMs, policy.backoffMaxMs),
  };
}

export class Outbox {
  /** The outbox's clock (injectable for tests); availableAt values are on it. */
  readonly now: () => number;
  private readonly retry: SendRetryPolicy;
  readonly claimMs: number;

  constructor(
    readonly db: NodeDatabase,
    options: OutboxOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.retry = sendRetryPolicy(options);
    this.claimMs = options.claimMs ?? OUTBOX_DEFAULTS.claimMs;
    ensureOutboxSchema(db);
  }

  /**
   * Adds the items in one transaction; existing keys are left alone. Returns how many were new.
   * Throws E_BAD_INPUT (adding nothing) when a payload cannot go to its destination.
   */
  enqueue(items: readonly OutboxItem[]): number {
    for (const item of items) {
      if (!accepts(item.destination, item.payload)) {
        throw new RadiolensError(
          'E_BAD_INPUT',
          `a ${item.payload.kind} payload cannot go to ${destinationLabel(item.destination)} — DICOM objects go to dicom://, dicomweb+http(s):// or file:// destinations, FHIR bundles to fhir+http(s):// or file://`,
        );
      }
    }
    const insert = this.db.prepare(
      `INSERT INTO outbox (key, destination, label, payload, state, available_at, created_at)
       VALUES (?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (key) DO NOTHING`,
    );
    const run = this.db.transaction((): number => {
      const now = this.now();
      let added = 0;
      for (const item of items) {
        added += insert.run(
          item.key,
          JSON.stringify(item.destination),
          destinationLabel(item.destination),
          JSON.stringify(item.payload),
          now,
          now,
        ).changes;
      }
      return added;
    });
    return run.immediate();
  }

  /**
   * Claims up to `limit` entries that are due: pending, available, and not held by a live
   * claim. An expired claim counts as a failed attempt (its sender died or hung).
   */
  claimDue(
    limit: number,
    exclude: { ids?: Iterable<number>; labels?: Iterable<string> } = {},
  ): ClaimedEntry[] {
    const claim = this.db.transaction((): ClaimedEntry[] => {
      const now = this.now();
      const rows = this.db
        .prepare(
          `SELECT * FROM outbox
           WHERE state = 'pending' AND available_at <= ?
             AND (claimed_until IS NULL OR claimed_until <= ?)
             AND id NOT IN (SELECT value FROM json_each(?))
             AND label NOT IN (SELECT value FROM json_each(?))
           ORDER BY available_at, id LIMIT ?`,
        )
        .all(
          now,
          now,
          JSON.stringify([...(exclude.ids ?? [])]),
          JSON.stringify([...(exclude.labels ?? [])]),
          limit,
        ) as OutboxRow[];
      const update = this.db.prepare(
        `UPDATE outbox SET claimed_until = ?, claim_token = ?, attempts = attempts + ?,
           last_error = COALESCE(?, last_error) WHERE id = ?`,
      );
      const read = this.db.prepare('SELECT * FROM outbox WHERE id = ?');
      return rows.map((row) => {
        const token = randomUUID();
        const expired = row.claimed_until !== null;
        update.run(
          now + this.claimMs,
          token,
          expired ? 1 : 0,
          expired ? 'claim expired before the send finished (process crashed or hung)' : null,
          row.id,
        );
        return { entry: toEntry(read.get(row.id) as OutboxRow), token };
      });
    });
    // IMMEDIATE: take the write lock before reading, so two processes never claim one entry.
    return claim.immediate();
  }

  /**
   * Records the result of a send. Returns the new state, or undefined (changing nothing) when
   * the claim was no longer held: it expired and another sender owns the entry now.
   */
  settle(claimed: ClaimedEntry, outcome: SettleOutcome): OutboxState | undefined {
    const settle = this.db.transaction((): OutboxState | undefined => {
      const row = this.db
        .prepare(`SELECT * FROM outbox WHERE id = ? AND claim_token = ? AND state = 'pending'`)
        .get(claimed.entry.id, claimed.token) as OutboxRow | undefined;
      if (row === undefined) return undefined;
      const now = this.now();
      if (outcome.status === 'delivered') {
        this.db
          .prepare(
            `UPDATE outbox SET state = 'delivered', delivered_at = ?, claimed_until = NULL,
               claim_token = NULL WHERE id = ?`,
          )
          .run(now, row.id);
        return 'delivered';
      }
      const next = afterFailedSend(row.attempts, outcome, this.retry, now);
      this.db
        .prepare(
          `UPDATE outbox SET state = ?, attempts = ?, last_error = ?, available_at = ?,
             claimed_until = NULL, claim_token = NULL WHERE id = ?`,
        )
        .run(next.state, next.attempts, outcome.reason, next.availableAt, row.id);
      return next.state;
    });
    return settle.immediate();
  }

  /** Gives a claimed entry back unsent (no attempt counted); due again at `availableAt`. */
  release(claimed: ClaimedEntry, availableAt = this.now()): boolean {
    return (
      this.db
        .prepare(
          `UPDATE outbox SET claimed_until = NULL, claim_token = NULL,
             available_at = MAX(available_at, ?)
           WHERE id = ? AND claim_token = ? AND state = 'pending'`,
        )
        .run(availableAt, claimed.entry.id, claimed.token).changes === 1
    );
  }

  /**
   * A destination is down: its other pending entries wait until `until` too, without an
   * attempt counted against them, so one probe per backoff step finds out whether it is
   * back instead of every entry hammering it.
   */
  postponeDestination(label: string, until: number): number {
    return this.db
      .prepare(
        `UPDATE outbox SET available_at = ? WHERE state = 'pending' AND label = ?
           AND available_at < ? AND (claimed_until IS NULL OR claimed_until <= ?)`,
      )
      .run(until, label, until, this.now()).changes;
  }

  /**
   * Expires every claim at once: for a node that holds its data directory's lock at start-up,
   * when every claim found is a crashed predecessor's. The next claim of each entry records the
   * lost attempt, as after a claim timeout. Returns how many were expired.
   */
  expireAllClaims(): number {
    return this.db
      .prepare(`UPDATE outbox SET claimed_until = ? WHERE state = 'pending' AND claimed_until > ?`)
      .run(this.now(), this.now()).changes;
  }

  /** Puts failed entries back to pending, due now (after the operator fixed the cause). */
  requeueFailed(): number {
    return this.db
      .prepare(
        `UPDATE outbox SET state = 'pending', available_at = ?, claimed_until = NULL,
           claim_token = NULL WHERE state = 'failed'`,
      )
      .run(this.now()).changes;
  }

  /**
   * Retention (ADR 0189): removes up to `limit` entries delivered before `before` (ms), oldest
   * first; returns how many. One short transaction per call: the caller loops. Failed entries
   * are never removed here (a result that never arrived stays until it is requeued).
   */
  pruneDelivered(before: number, limit: number): number {
    return this.db
      .prepare(
        `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
           WHERE state = 'delivered' AND delivered_at < ? ORDER BY delivered_at LIMIT ?)`,
      )
      .run(before, limit).changes;
  }

  /** Earliest time a pending entry becomes due (claims included), or undefined when none. */
  nextDueAt(): number | undefined {
    const row = this.db
      .prepare(
        `SELECT MIN(MAX(available_at, COALESCE(claimed_until, 0))) AS at FROM outbox
         WHERE state = 'pending'`,
      )
      .get() as { at: number | null };
    return row.at ?? undefined;
  }

  /** failing = pending entries that have failed at least once (a destination is down). */
  counts(): { pending: number; delivered: number; failing: number; failed: number } {
    const row = this.db
      .prepare(
        `SELECT
           COALESCE(SUM(state = 'pending'), 0) AS pending,
           COALESCE(SUM(state = 'delivered'), 0) AS delivered,
           COALESCE(SUM(state = 'pending' AND attempts > 0), 0) AS failing,
           COALESCE(SUM(state = 'failed'), 0) AS failed
         FROM outbox`,
      )
      .get() as { pending: number; delivered: number; failing: number; failed: number };
    return row;
  }

  entries(): OutboxEntry[] {
    return (this.db.prepare('SELECT * FROM outbox ORDER BY id').all() as OutboxRow[]).map(toEntry);
  }

  get(key: string): OutboxEntry | undefined {
    const row = this.db.prepare('SELECT * FROM outbox WHERE key = ?').get(key) as
      OutboxRow | undefined;
    return row === undefined ? undefined : toEntry(row);
  }
}
