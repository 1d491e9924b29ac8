/**
 * Login attempts at a throttle, several in flight at once, as guessers on many connections
 * make them: used by the cluster throttle's test in this process and by its child processes
 * (children/loginGuesser.child.ts), so both count admissions the same way.
 */
import type { LoginThrottlePort } from '../../src/node/access/index.js';

/** Admits `count` attempts, four at a time, and says how many were let through. */
export async function hammer(
  throttle: Pick<LoginThrottlePort, 'admit'>,
  count: number,
  attempt: (n: number) => [address: string, user: string],
): Promise<number> {
  let next = 0;
  let admitted = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < count) {
        next += 1;
        const [address, user] = attempt(next);
        if ((await throttle.admit(address, user)).allowed) admitted += 1;
      }
    }),
  );
  return admitted;
}
