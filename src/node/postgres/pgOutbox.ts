/**
 * The outbox on PostgreSQL (ADR 0180), with the semantics of the embedded one (ADR 0101):
 * idempotent enqueue by key, claims with a fencing token and an expiry, an expired claim
 * counts as a failed attempt, capped exponential backoff, rejected content kept as failed
 * until requeued. Claims use `FOR UPDATE SKIP LOCKED` so that senders on many hosts share the
 * backlog without taking one entry twice. Times are ms on the database clock unless a clock
 * is injected (tests).
 */
import { RadiolensError } from '../../foundation/core/index.js';
import {
  OUTBOX_DEFAULTS,
  accepts,
  afterFailedSend,
  sendRetryPolicy,
  type SendRetryPolicy,
  destinationLabel,
  type ClaimedEntry,
  type DeliveryPayload,
  type Destination,
  type OutboxEntry,
  type OutboxItem,
  type OutboxOptions,
  type OutboxState,
  type SettleOutcome,
  type ClaimExclusions,
  type OutboxCounts,
  type OutboxPort,
} from '../delivery/index.js';
import { databaseNow, inTransaction, query, type PgPool, type PgQueryable } from './connection.js';

export interface PgOutboxOptions extends OutboxOptions {
  /** The node whose senders claim here; recorded so a stale node's claims come back. */
  readonly nodeId?: string;
}

interface PgOutboxRow {
  id: string;
  key: string;
  destination: Destination;
  label: string;
  payload: DeliveryPayload;
  state: OutboxState;
  attempts: number;
  available_at: string;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  claimed_until: string | null;
  claim_token: string | null;
}

const numberOrNull = (value: string | null): number | null =>
  value === null ? null : Number(value);

function toEntry(row: PgOutboxRow): OutboxEntry {
  return {
    id: Number(row.id),
    key: row.key,
    destination: row.destination,
    label: row.label,
    payload: row.payload,
    state: row.state,
    attempts: row.attempts,
    availableAt: Number(row.available_at),
    lastError: row.last_error,
    createdAt: Number(row.created_at),
    deliveredAt: numberOrNull(row.delivered_at),
    claimedUntil: numberOrNull(row.claimed_until),
  };
}

/** E_BAD_INPUT, adding none, when a payload cannot go to its destination. */
function checkItems(items: readonly OutboxItem[]): void {
  for (const item of items) {
    if (!accepts(item.destination, item.payload)) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `a ${item.payload.kind} payload cannot go to ${destinationLabel(item.destination)} — DICOM objects go to dicom://, dicomweb+http(s):// or file:// destinations, FHIR bundles to fhir+http(s):// or file://`,
      );
    }
  }
}

const EXPIRED_CLAIM = 'claim expired before the send finished (process crashed or hung)';

export class PgOutbox implements OutboxPort {
  private readonly injectedNow: (() => number) | undefined;
  private readonly retry: SendRetryPolicy;
  private readonly nodeId: string | null;
  readonly claimMs: number;

  /** `pool` must be migrated (migrate()); the outbox does not own it. */
  constructor(
    readonly pool: PgPool,
    options: PgOutboxOptions = {},
  ) {
    this.injectedNow = options.now;
    this.retry = sendRetryPolicy(options);
    this.claimMs = options.claimMs ?? OUTBOX_DEFAULTS.claimMs;
    this.nodeId = options.nodeId ?? null;
  }

  private async clock(db: PgQueryable): Promise<number> {
    return this.injectedNow?.() ?? databaseNow(db);
  }

  now(): Promise<number> {
    return this.clock(this.pool);
  }

  async enqueue(items: readonly OutboxItem[]): Promise<number> {
    checkItems(items);
    if (items.length === 0) return 0;
    return inTransaction(this.pool, 'adding to the outbox', (client) =>
      this.enqueueOn(client, items),
    );
  }

  /**
   * The inserts of enqueue() on a connection in a transaction of the caller's (a job's
   * completion with its result files, ADR 0193). An entry naming a result file in the database
   * records its job in result_job, which retention reads.
   */
  async enqueueOn(client: PgQueryable, items: readonly OutboxItem[]): Promise<number> {
    checkItems(items);
    const now = await this.clock(client);
    let added = 0;
    for (const item of items) {
      const result = await query(
        client,
        'adding to the outbox',
        `INSERT INTO outbox (key, destination, label, payload, state, available_at, created_at,
           result_job)
         VALUES ($1, $2, $3, $4, 'pending', $5, $5, $6) ON CONFLICT (key) DO NOTHING`,
        [
          item.key,
          JSON.stringify(item.destination),
          destinationLabel(item.destination),
          JSON.stringify(item.payload),
          now,
          item.payload.result?.jobId ?? null,
        ],
      );
      added += result.rowCount ?? 0;
    }
    return added;
  }

  async claimDue(limit: number, exclude: ClaimExclusions = {}): Promise<ClaimedEntry[]> {
    return inTransaction(this.pool, 'claiming outbox entries', async (client) => {
      const now = await this.clock(client);
      const result = await query<PgOutboxRow>(
        client,
        'claiming outbox entries',
        `WITH due AS (
           SELECT id, claimed_until IS NOT NULL AS expired FROM outbox
           WHERE state = 'pending' AND available_at <= $1
             AND (claimed_until IS NULL OR claimed_until <= $1)
             AND id <> ALL ($2::bigint[]) AND label <> ALL ($3::text[])
           ORDER BY available_at, id LIMIT $4
           FOR UPDATE SKIP LOCKED)
         UPDATE outbox SET claimed_until = $5, claim_token = gen_random_uuid(), node_id = $6,
           attempts = outbox.attempts + CASE WHEN due.expired THEN 1 ELSE 0 END,
           last_error = CASE WHEN due.expired THEN $7 ELSE outbox.last_error END
         FROM due WHERE outbox.id = due.id
         RETURNING outbox.*`,
        [
          now,
          [...(exclude.ids ?? [])],
          [...(exclude.labels ?? [])],
          limit,
          now + this.claimMs,
          this.nodeId,
          EXPIRED_CLAIM,
        ],
      );
      return result.rows
        .map((row) => ({ entry: toEntry(row), token: row.claim_token! }))
        .sort((a, b) => a.entry.availableAt - b.entry.availableAt || a.entry.id - b.entry.id);
    });
  }

  async settle(claimed: ClaimedEntry, outcome: SettleOutcome): Promise<OutboxState | undefined> {
    return inTransaction(this.pool, 'settling an outbox entry', async (client) => {
      const found = await query<PgOutboxRow>(
        client,
        'settling an outbox entry',
        `SELECT * FROM outbox WHERE id = $1 AND claim_token = $2 AND state = 'pending' FOR UPDATE`,
        [claimed.entry.id, claimed.token],
      );
      const row = found.rows[0];
      if (row === undefined) return undefined;
      const now = await this.clock(client);
      if (outcome.status === 'delivered') {
        await query(
          client,
          'settling an outbox entry',
          `UPDATE outbox SET state = 'delivered', delivered_at = $2, claimed_until = NULL,
             claim_token = NULL, node_id = NULL WHERE id = $1`,
          [row.id, now],
        );
        return 'delivered';
      }
      const next = afterFailedSend(row.attempts, outcome, this.retry, now);
      await query(
        client,
        'settling an outbox entry',
        `UPDATE outbox SET state = $2, attempts = $3, last_error = $4, available_at = $5,
           claimed_until = NULL, claim_token = NULL, node_id = NULL WHERE id = $1`,
        [row.id, next.state, next.attempts, outcome.reason, next.availableAt],
      );
      return next.state;
    });
  }

  async release(claimed: ClaimedEntry, availableAt?: number): Promise<boolean> {
    const at = availableAt ?? (await this.now());
    const result = await query(
      this.pool,
      'releasing an outbox entry',
      `UPDATE outbox SET claimed_until = NULL, claim_token = NULL, node_id = NULL,
         available_at = GREATEST(available_at, $3)
       WHERE id = $1 AND claim_token = $2 AND state = 'pending'`,
      [claimed.entry.id, claimed.token, at],
    );
    return result.rowCount === 1;
  }

  async postponeDestination(label: string, until: number): Promise<number> {
    const now = await this.now();
    const result = await query(
      this.pool,
      'postponing a destination',
      `UPDATE outbox SET available_at = $2 WHERE state = 'pending' AND label = $1
         AND available_at < $2 AND (claimed_until IS NULL OR claimed_until <= $3)`,
      [label, until, now],
    );
    return result.rowCount ?? 0;
  }

  async requeueFailed(): Promise<number> {
    const now = await this.now();
    const result = await query(
      this.pool,
      'requeueing failed outbox entries',
      `UPDATE outbox SET state = 'pending', available_at = $1, claimed_until = NULL,
         claim_token = NULL, node_id = NULL WHERE state = 'failed'`,
      [now],
    );
    return result.rowCount ?? 0;
  }

  async nextDueAt(): Promise<number | undefined> {
    const result = await query<{ at: string | null }>(
      this.pool,
      'reading the outbox',
      `SELECT min(GREATEST(available_at, COALESCE(claimed_until, 0))) AS at FROM outbox
       WHERE state = 'pending'`,
    );
    const at = result.rows[0]?.at ?? null;
    return at === null ? undefined : Number(at);
  }

  async counts(): Promise<OutboxCounts> {
    const result = await query<OutboxCounts>(
      this.pool,
      'counting the outbox',
      `SELECT
         count(*) FILTER (WHERE state = 'pending')::integer AS pending,
         count(*) FILTER (WHERE state = 'delivered')::integer AS delivered,
         count(*) FILTER (WHERE state = 'pending' AND attempts > 0)::integer AS failing,
         count(*) FILTER (WHERE state = 'failed')::integer AS failed
       FROM outbox`,
    );
    return result.rows[0]!;
  }

  async entries(): Promise<OutboxEntry[]> {
    const result = await query<PgOutboxRow>(
      this.pool,
      'reading the outbox',
      'SELECT * FROM outbox ORDER BY id',
    );
    return result.rows.map(toEntry);
  }

  async get(key: string): Promise<OutboxEntry | undefined> {
    const result = await query<PgOutboxRow>(
      this.pool,
      'reading the outbox',
      'SELECT * FROM outbox WHERE key = $1',
      [key],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : toEntry(row);
  }
}
