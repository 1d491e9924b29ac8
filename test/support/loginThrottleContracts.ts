/**
 * The contract of the login throttle port (ADRs 0175, 0194), run against both backends: the
 * embedded node's, in memory (src/node/access/loginThrottlePort.test.ts), and the cluster's, in
 * PostgreSQL (src/node/postgres/loginThrottle.int.test.ts). The limits, keys, windows and
 * Retry-After of ADR 0175 hold whichever counts, and an attempt is counted when admitted, so
 * that attempts at once cannot pass the limit together.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LoginThrottleLimits, LoginThrottlePort } from '../../src/node/access/index.js';

/** A clock the test moves (ms). */
export interface TestClock {
  now: number;
}

/** Opens a fresh, empty throttle with `limits` on `clock`, runs `body`, cleans up. */
export type WithLoginThrottle = (
  limits: LoginThrottleLimits,
  clock: TestClock,
  body: (throttle: LoginThrottlePort) => Promise<void>,
) => Promise<void>;

const MINUTE = 60_000;
const LIMITS: LoginThrottleLimits = { windowMs: 15 * MINUTE, perAddress: 20, perUser: 5 };
const T0 = 1_700_000_000_000;

async function fail(throttle: LoginThrottlePort, address: string, user: string): Promise<void> {
  const admitted = await throttle.admit(address, user);
  assert.equal(admitted.allowed, true, `${address} ${user} admitted`);
}

export function loginThrottleContract(backend: string, withThrottle: WithLoginThrottle): void {
  void test(`${backend} login throttle: 5 failures for a user from anywhere refuse the 6th by user, until the oldest leaves the window`, async () => {
    const clock = { now: T0 };
    await withThrottle(LIMITS, clock, async (throttle) => {
      assert.deepEqual(throttle.limits, LIMITS);
      for (let i = 0; i < 5; i++) {
        clock.now = T0 + i * MINUTE;
        await fail(throttle, `10.0.0.${i}`, 'ada');
      }
      clock.now = T0 + 5 * MINUTE;
      assert.deepEqual(await throttle.admit('10.0.0.9', 'ada'), {
        allowed: false,
        by: 'user',
        retryAfterSeconds: 10 * 60,
      });
      // Another user from the same addresses is not held up; a refused attempt counts nothing.
      assert.equal((await throttle.admit('10.0.0.1', 'bob')).allowed, true);
      clock.now = T0 + 15 * MINUTE - 1;
      assert.deepEqual(await throttle.admit('10.0.0.9', 'ada'), {
        allowed: false,
        by: 'user',
        retryAfterSeconds: 1,
      });
      // The first failure has left the window: one more attempt, then refused again.
      clock.now = T0 + 15 * MINUTE;
      assert.equal((await throttle.admit('10.0.0.9', 'ada')).allowed, true);
      const again = await throttle.admit('10.0.0.9', 'ada');
      assert.equal(again.allowed, false);
      assert.ok(!again.allowed);
      assert.equal(again.retryAfterSeconds, 60);
    });
  });

  void test(`${backend} login throttle: 20 failures from an address refuse it by address, for every user; other addresses go on`, async () => {
    const clock = { now: T0 };
    await withThrottle(LIMITS, clock, async (throttle) => {
      for (let i = 0; i < 20; i++) {
        clock.now = T0 + i * 1000;
        await fail(throttle, '192.0.2.7', `user${i}`);
      }
      clock.now = T0 + 20_000;
      const refused = await throttle.admit('192.0.2.7', 'nobody-yet');
      assert.deepEqual(refused, {
        allowed: false,
        by: 'address',
        retryAfterSeconds: 15 * 60 - 20,
      });
      assert.equal((await throttle.admit('192.0.2.8', 'nobody-yet')).allowed, true);
      // The address comes first: a user past their limit from a refused address is told "address".
      for (let i = 0; i < 5; i++) await fail(throttle, `198.51.100.${i}`, 'carol');
      const both = await throttle.admit('192.0.2.7', 'carol');
      assert.ok(!both.allowed);
      assert.equal(both.by, 'address');
    });
  });

  void test(`${backend} login throttle: a good login clears the user's count, not the address's`, async () => {
    const clock = { now: T0 };
    await withThrottle({ windowMs: MINUTE, perAddress: 3, perUser: 2 }, clock, async (throttle) => {
      await fail(throttle, '10.0.0.1', 'ada');
      clock.now += 1;
      const good = await throttle.admit('10.0.0.1', 'ada');
      assert.ok(good.allowed);
      assert.equal(good.attempt.user, 'ada');
      assert.equal(good.attempt.address, '10.0.0.1');
      clock.now += 1;
      // Counted when admitted: ada is at her limit until the login turns out good.
      const held = await throttle.admit('10.0.0.2', 'ada');
      assert.ok(!held.allowed);
      assert.equal(held.by, 'user');
      await throttle.succeeded(good.attempt);
      clock.now += 1;
      await fail(throttle, '10.0.0.2', 'ada');
      // The address keeps its one real failure, not the good login: two more are admitted.
      await fail(throttle, '10.0.0.1', 'bob');
      clock.now += 1;
      await fail(throttle, '10.0.0.1', 'carol');
      const address = await throttle.admit('10.0.0.1', 'dave');
      assert.deepEqual(address, { allowed: false, by: 'address', retryAfterSeconds: 60 });
    });
  });

  void test(`${backend} login throttle: attempts at once are each counted, never more admitted than the limit`, async () => {
    const clock = { now: T0 };
    await withThrottle(LIMITS, clock, async (throttle) => {
      const answers = await Promise.all(
        Array.from({ length: 30 }, (_, i) => throttle.admit(`203.0.113.${i}`, 'dora')),
      );
      assert.equal(answers.filter((a) => a.allowed).length, 5);
      const fromOne = await Promise.all(
        Array.from({ length: 30 }, (_, i) => throttle.admit('203.0.113.200', `u${i}`)),
      );
      assert.equal(fromOne.filter((a) => a.allowed).length, 20);
    });
  });
}
