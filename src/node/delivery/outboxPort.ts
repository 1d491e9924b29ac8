/**
 * The outbox as an asynchronous port (ADR 0180): what the deliverer and the worker need from
 * an outbox, whichever database holds it. The embedded SQLite outbox (outbox.ts, synchronous)
 * is wrapped by sqliteOutboxPort; the PostgreSQL outbox (node/postgres) implements it
 * directly. One contract suite (test/support/queueContracts.ts) runs against both.
 *
 * Times (availableAt, until) are milliseconds on the outbox's own clock, which `now()` reads:
 * for PostgreSQL that is the database's clock, shared by every host.
 */
import type {
  ClaimedEntry,
  Outbox,
  OutboxEntry,
  OutboxItem,
  OutboxState,
  SettleOutcome,
} from './outbox.js';

export interface OutboxCounts {
  readonly pending: number;
  readonly delivered: number;
  readonly failing: number;
  readonly failed: number;
}

export interface ClaimExclusions {
  readonly ids?: Iterable<number>;
  readonly labels?: Iterable<string>;
}

export interface OutboxPort {
  /** The outbox's clock, in ms. */
  now(): Promise<number>;
  /** Adds the items atomically, existing keys left alone; how many were new. E_BAD_INPUT adds none. */
  enqueue(items: readonly OutboxItem[]): Promise<number>;
  /** Claims up to `limit` due entries; an expired claim counts as a failed attempt. */
  claimDue(limit: number, exclude?: ClaimExclusions): Promise<ClaimedEntry[]>;
  /** The new state, or undefined (nothing changed) when the claim is no longer held. */
  settle(claimed: ClaimedEntry, outcome: SettleOutcome): Promise<OutboxState | undefined>;
  /** Gives a claimed entry back unsent, due again at `availableAt` (default: now). */
  release(claimed: ClaimedEntry, availableAt?: number): Promise<boolean>;
  /** Moves a down destination's unclaimed pending entries to `until`; how many moved. */
  postponeDestination(label: string, until: number): Promise<number>;
  /** Failed entries back to pending, due now. */
  requeueFailed(): Promise<number>;
  /** Earliest time a pending entry becomes due (claims included), or undefined. */
  nextDueAt(): Promise<number | undefined>;
  counts(): Promise<OutboxCounts>;
  entries(): Promise<OutboxEntry[]>;
  get(key: string): Promise<OutboxEntry | undefined>;
}

/**
 * The embedded outbox behind the port: every call runs synchronously; async so that a thrown
 * error becomes a rejection, as it would from the PostgreSQL outbox.
 */
export function sqliteOutboxPort(outbox: Outbox): OutboxPort {
  return {
    now: async () => outbox.now(),
    enqueue: async (items) => outbox.enqueue(items),
    claimDue: async (limit, exclude) => outbox.claimDue(limit, exclude),
    settle: async (claimed, outcome) => outbox.settle(claimed, outcome),
    release: async (claimed, availableAt) => outbox.release(claimed, availableAt),
    postponeDestination: async (label, until) => outbox.postponeDestination(label, until),
    requeueFailed: async () => outbox.requeueFailed(),
    nextDueAt: async () => outbox.nextDueAt(),
    counts: async () => outbox.counts(),
    entries: async () => outbox.entries(),
    get: async (key) => outbox.get(key),
  };
}
