/**
 * The login throttle of a cluster (ADR 0194): failed logins counted per client address and per
 * user name in PostgreSQL (table login_throttle, migration 8), so that every ingest node behind
 * the load balancer sees the same counts. The policy is the embedded throttle's (ADR 0175),
 * judged by the same function (`windowWaitMs`); the clock is the database's, one for every
 * host.
 *
 * An admission is one short transaction: make sure both rows exist, lock them FOR UPDATE
 * (address before user, the one order every admission takes, so two admissions never wait on
 * each other in a circle), read the clock once both are held, judge, and append the attempt to
 * both. A second node admitting for the same user or address waits for the row and then sees
 * the count this one left: two nodes at once cannot both take the last attempt. A refused
 * attempt writes nothing.
 *
 * A user name is stored as its HMAC under a secret the cluster shares (shared_secrets), never
 * as typed: the name box sometimes holds a password, and the embedded throttle never writes
 * names down either. Addresses are stored as they are (the audit records name them too).
 */
import {
  LOGIN_THROTTLE_DEFAULTS,
  throttleDecision,
  windowWaitMs,
  type LoginAdmission,
  type LoginAttempt,
  type LoginThrottleLimits,
  type LoginThrottlePort,
} from '../access/index.js';
import { createHmac } from 'node:crypto';
import { RadiolensError } from '../../foundation/core/index.js';
import { inTransaction, query, type PgClient, type PgPool } from './connection.js';
import { sharedSecret } from './sharedSecrets.js';

/** The name of the secret user names are keyed by in login_throttle. */
export const LOGIN_THROTTLE_SECRET = 'login-throttle-user-key';

const DATABASE_CLOCK = `floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;

/** Expired rows each admission removes (besides its own): more than the two it may add. */
const SWEEP_ROWS = 32;

/** A row removed between making sure of it and locking it (the sweep): try again, this often. */
const LOCK_TRIES = 3;

export interface PgLoginThrottleOptions {
  readonly limits?: LoginThrottleLimits;
  /** The clock (tests); default the database's. */
  readonly now?: () => number;
}

interface Locked {
  readonly address: number[];
  readonly user: number[];
  readonly now: number;
}

export class PgLoginThrottle implements LoginThrottlePort {
  readonly limits: LoginThrottleLimits;
  private readonly now: (() => number) | undefined;

  /**
   * `pool` must be migrated (migrate()); the throttle does not own it. `userKeySecret` keys the
   * user names; every node must use the same one (`open` reads the cluster's).
   */
  constructor(
    private readonly pool: PgPool,
    private readonly userKeySecret: Buffer,
    options: PgLoginThrottleOptions = {},
  ) {
    this.limits = options.limits ?? LOGIN_THROTTLE_DEFAULTS;
    this.now = options.now;
  }

  /** The cluster's throttle, keying user names by the secret shared in the database. */
  static async open(pool: PgPool, options: PgLoginThrottleOptions = {}): Promise<PgLoginThrottle> {
    return new PgLoginThrottle(pool, await sharedSecret(pool, LOGIN_THROTTLE_SECRET), options);
  }

  private userKey(name: string): string {
    return createHmac('sha256', this.userKeySecret).update(name, 'utf8').digest('hex');
  }

  private async lock(client: PgClient, address: string, user: string): Promise<Locked> {
    const clock = this.now?.() ?? null;
    for (let attempt = 0; attempt < LOCK_TRIES; attempt++) {
      // Rows to lock even at a name's first attempt. DO NOTHING waits for another node's
      // insert of the same key to commit, then leaves its row be.
      await client.query(
        `INSERT INTO login_throttle (kind, key, failures, last_at)
         VALUES ('address', $1, '{}', COALESCE($3::bigint, ${DATABASE_CLOCK})),
                ('user', $2, '{}', COALESCE($3::bigint, ${DATABASE_CLOCK}))
         ON CONFLICT (kind, key) DO NOTHING`,
        [address, user, clock],
      );
      // The aggregate reads the clock after both rows are locked, not before a wait for them.
      const result = await client.query<{
        failures: { address?: number[]; user?: number[] } | null;
        now: string;
      }>(
        `WITH locked AS MATERIALIZED (
           SELECT kind, failures FROM login_throttle
           WHERE (kind = 'address' AND key = $1) OR (kind = 'user' AND key = $2)
           ORDER BY kind FOR UPDATE)
         SELECT json_object_agg(kind, failures) AS failures,
                COALESCE($3::bigint, ${DATABASE_CLOCK}) AS now
         FROM locked`,
        [address, user, clock],
      );
      const { failures, now } = result.rows[0]!;
      if (failures?.address !== undefined && failures.user !== undefined) {
        return { address: failures.address, user: failures.user, now: Number(now) };
      }
    }
    throw new RadiolensError(
      'E_DATABASE',
      `counting a login attempt failed: the throttle's rows for this address and user vanished ${LOCK_TRIES} times while being locked — check that nothing else deletes from login_throttle, then retry`,
    );
  }

  async admit(address: string, user: string): Promise<LoginAdmission> {
    const { windowMs, perAddress, perUser } = this.limits;
    const userKey = this.userKey(user);
    return inTransaction(this.pool, 'counting a login attempt', async (client) => {
      const locked = await this.lock(client, address, userKey);
      const { now } = locked;
      const decision = throttleDecision(
        windowWaitMs(locked.address, perAddress, windowMs, now),
        windowWaitMs(locked.user, perUser, windowMs, now),
      );
      if (!decision.allowed) return decision;
      // Only the failures still in the window, and only the newest `limit`, matter later.
      const kept = (times: number[], limit: number): number[] =>
        [...times.filter((t) => now - t < windowMs), now].sort((a, b) => a - b).slice(-limit);
      await client.query(
        `WITH swept AS (
           DELETE FROM login_throttle WHERE (kind, key) IN (
             SELECT kind, key FROM login_throttle
             WHERE last_at < $5 AND NOT ((kind = 'address' AND key = $1) OR (kind = 'user' AND key = $2))
             ORDER BY last_at LIMIT ${SWEEP_ROWS} FOR UPDATE SKIP LOCKED))
         UPDATE login_throttle AS t SET failures = v.failures, last_at = $6
         FROM (VALUES ('address', $1, $3::bigint[]), ('user', $2, $4::bigint[]))
           AS v (kind, key, failures)
         WHERE t.kind = v.kind AND t.key = v.key`,
        [
          address,
          userKey,
          kept(locked.address, perAddress),
          kept(locked.user, perUser),
          now - windowMs,
          now,
        ],
      );
      return { allowed: true, attempt: { address, user, at: now } };
    });
  }

  async succeeded(attempt: LoginAttempt): Promise<void> {
    // The user's row goes; the address's loses the one count this attempt added (one of them,
    // should two attempts share a millisecond).
    await query(
      this.pool,
      'clearing the login count of a user',
      `WITH cleared AS (DELETE FROM login_throttle WHERE kind = 'user' AND key = $2)
       UPDATE login_throttle
       SET failures = failures[:array_position(failures, $3::bigint) - 1]
                   || failures[array_position(failures, $3::bigint) + 1:]
       WHERE kind = 'address' AND key = $1 AND array_position(failures, $3::bigint) IS NOT NULL`,
      [attempt.address, this.userKey(attempt.user), attempt.at],
    );
  }
}
