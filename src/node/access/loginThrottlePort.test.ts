// The login throttle port's contract (also run against PostgreSQL in
// src/node/postgres/loginThrottle.int.test.ts) on the embedded node's throttle, in memory.
import { loginThrottleContract } from '../../../test/support/loginThrottleContracts.js';
import { memoryLoginThrottle } from './index.js';

loginThrottleContract('in memory', async (limits, clock, body) => {
  await body(memoryLoginThrottle(limits, () => clock.now));
});
