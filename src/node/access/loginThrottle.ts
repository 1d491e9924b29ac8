/**
 * Login rate limiting (ADR 0175): failed logins are counted per client address and per user
 * name over a sliding window. Past the limit, further attempts are refused (429 with
 * Retry-After) before any password is hashed, so guessing costs the guesser time and costs
 * the node nothing. A good login clears the user's count, not the address's: one valid
 * account must not reset an address that is guessing others.
 *
 * This is the embedded node's throttle, in memory: a restart forgets the counts, which an
 * attacker cannot cause from outside. The cluster's is PgLoginThrottle (ADR 0194); both are
 * reached through LoginThrottlePort, and both judge with `windowWaitMs`.
 */
export interface LoginThrottleLimits {
  readonly windowMs: number;
  /** Failures from one address within the window before it is refused. */
  readonly perAddress: number;
  /** Failures for one user name within the window before it is refused. */
  readonly perUser: number;
}

export const LOGIN_THROTTLE_DEFAULTS: LoginThrottleLimits = {
  windowMs: 15 * 60_000,
  perAddress: 20,
  perUser: 5,
};

/** Keys kept at most per kind; the oldest go first (a spray of addresses cannot fill memory). */
const MAX_KEYS = 10_000;

/**
 * Milliseconds until another attempt is allowed for a key whose failures were at `times` (ms,
 * any order, old ones included); 0 when it is allowed now. The one rule both throttles use.
 */
export function windowWaitMs(
  times: readonly number[],
  limit: number,
  windowMs: number,
  now: number,
): number {
  const recent = times.filter((t) => now - t < windowMs).sort((a, b) => a - b);
  if (recent.length < limit) return 0;
  // The attempt is allowed again once the limit-th newest failure leaves the window.
  return recent[recent.length - limit]! + windowMs - now;
}

/** The decision for one attempt from the waits of its address and its user (address first). */
export function throttleDecision(addressWaitMs: number, userWaitMs: number): ThrottleDecision {
  if (addressWaitMs > 0) {
    return { allowed: false, by: 'address', retryAfterSeconds: Math.ceil(addressWaitMs / 1000) };
  }
  if (userWaitMs > 0) {
    return { allowed: false, by: 'user', retryAfterSeconds: Math.ceil(userWaitMs / 1000) };
  }
  return { allowed: true };
}

class SlidingWindowCounter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  private recent(key: string, now: number): number[] {
    const times = (this.failures.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (times.length === 0) this.failures.delete(key);
    else this.failures.set(key, times);
    return times;
  }

  /** Milliseconds until another attempt is allowed; 0 when it is allowed now. */
  waitMs(key: string, now: number): number {
    return windowWaitMs(this.recent(key, now), this.limit, this.windowMs, now);
  }

  fail(key: string, now: number): void {
    const times = this.recent(key, now);
    this.failures.delete(key);
    // Only the last `limit` failures matter for the answer.
    this.failures.set(key, [...times, now].slice(-this.limit));
    if (this.failures.size > MAX_KEYS) {
      this.failures.delete(this.failures.keys().next().value!);
    }
  }

  clear(key: string): void {
    this.failures.delete(key);
  }

  /** Takes back one failure counted at `at` (an attempt that turned out to be a good login). */
  withdraw(key: string, at: number): void {
    const times = this.failures.get(key);
    const index = times?.lastIndexOf(at) ?? -1;
    if (times === undefined || index < 0) return;
    times.splice(index, 1);
    if (times.length === 0) this.failures.delete(key);
  }
}

export type ThrottleDecision =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      readonly by: 'address' | 'user';
      readonly retryAfterSeconds: number;
    };

export class LoginThrottle {
  private readonly byAddress: SlidingWindowCounter;
  private readonly byUser: SlidingWindowCounter;

  constructor(limits: LoginThrottleLimits = LOGIN_THROTTLE_DEFAULTS) {
    this.byAddress = new SlidingWindowCounter(limits.perAddress, limits.windowMs);
    this.byUser = new SlidingWindowCounter(limits.perUser, limits.windowMs);
  }

  check(address: string, user: string, now = Date.now()): ThrottleDecision {
    return throttleDecision(this.byAddress.waitMs(address, now), this.byUser.waitMs(user, now));
  }

  failed(address: string, user: string, now = Date.now()): void {
    this.byAddress.fail(address, now);
    this.byUser.fail(user, now);
  }

  succeeded(user: string): void {
    this.byUser.clear(user);
  }

  /** The address's failure counted at `at` was a good login after all (LoginThrottlePort). */
  withdrawAddressFailure(address: string, at: number): void {
    this.byAddress.withdraw(address, at);
  }
}
