/**
 * The login throttle as an asynchronous port (ADR 0194), so that the ingest nodes of a cluster
 * count failed logins together: the embedded node keeps its counts in memory
 * (`memoryLoginThrottle`, ADR 0175), a node on a shared database in PostgreSQL
 * (`PgLoginThrottle`). Same limits, same keys, same answers.
 *
 * An attempt is counted when it is admitted, before its password is hashed, not after it
 * failed: with several nodes (or several requests of one node) at once, a check followed later
 * by a count lets every concurrent attempt through the check. Admitting and counting as one
 * step bounds the password checks, not only the recorded failures, by the limit. A good login
 * then takes its count back from the address and clears the user's.
 */
import {
  LOGIN_THROTTLE_DEFAULTS,
  LoginThrottle,
  type LoginThrottleLimits,
  type ThrottleDecision,
} from './loginThrottle.js';

/** An admitted attempt, counted as a failure until `succeeded` says otherwise. */
export interface LoginAttempt {
  readonly address: string;
  readonly user: string;
  /** When it was counted (ms, the throttle's clock). */
  readonly at: number;
}

export type LoginAdmission =
  | { readonly allowed: true; readonly attempt: LoginAttempt }
  | Extract<ThrottleDecision, { allowed: false }>;

export interface LoginThrottlePort {
  readonly limits: LoginThrottleLimits;
  /**
   * Admits one password check of `user` from `address` and counts it as a failure, or refuses
   * it (counting nothing) when the address or the user is past its limit.
   */
  admit(address: string, user: string): Promise<LoginAdmission>;
  /** The admitted attempt was a good login: the user's count is cleared, the address's is not. */
  succeeded(attempt: LoginAttempt): Promise<void>;
}

/**
 * The embedded node's throttle (ADR 0175), in this process's memory. `clock` is for tests;
 * admitting is synchronous underneath, so concurrent requests of the node cannot both pass.
 */
export function memoryLoginThrottle(
  limits: LoginThrottleLimits = LOGIN_THROTTLE_DEFAULTS,
  clock: () => number = Date.now,
): LoginThrottlePort {
  const throttle = new LoginThrottle(limits);
  return {
    limits,
    admit: async (address, user) => {
      const at = clock();
      const decision = throttle.check(address, user, at);
      if (!decision.allowed) return decision;
      throttle.failed(address, user, at);
      return { allowed: true, attempt: { address, user, at } };
    },
    succeeded: async ({ address, user, at }) => {
      throttle.succeeded(user);
      throttle.withdrawAddressFailure(address, at);
    },
  };
}
