/**
 * Login rate limiting (ADR 0175): failed logins are counted per client address and per user
 * name over a sliding window. Past the limit, further attempts are refused (429 with
 * Retry-After) before any password is hashed, so guessing costs the guesser time and costs
 * the node nothing. A good login clears the user's count, not the address's: one valid
 * account must not reset an address that is guessing others.
 *
 * In memory: a restart forgets the counts, which an attacker cannot cause from outside.
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
    const times = this.recent(key, now);
    if (times.length < this.limit) return 0;
    return times[times.length - this.limit]! + this.windowMs - now;
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
    const address_ = this.byAddress.waitMs(address, now);
    if (address_ > 0) {
      return { allowed: false, by: 'address', retryAfterSeconds: Math.ceil(address_ / 1000) };
    }
    const user_ = this.byUser.waitMs(user, now);
    if (user_ > 0)
      return { allowed: false, by: 'user', retryAfterSeconds: Math.ceil(user_ / 1000) };
    return { allowed: true };
  }

  failed(address: string, user: string, now = Date.now()): void {
    this.byAddress.fail(address, now);
    this.byUser.fail(user, now);
  }

  succeeded(user: string): void {
    this.byUser.clear(user);
  }
}
