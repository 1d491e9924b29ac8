/**
 * Test support for src/node/postgres/loginThrottle.int.test.ts, run as a separate process (as
 * another ingest node would be): on its own pool, waits for a line on stdin (so that every
 * guesser starts at once), then asks the cluster's login throttle to admit <count> attempts,
 * four in flight at a time, each for user <user> from address <address> (a `*` in either is
 * replaced by the attempt's number), and prints how many were admitted as a JSON line.
 */
import { once } from 'node:events';
import { PgLoginThrottle, openPostgresPool } from '../../../src/node/postgres/index.js';
import { hammer } from '../loginAttempts.js';

const [url, countText, user, address] = process.argv.slice(2);
if (url === undefined || countText === undefined || user === undefined || address === undefined) {
  process.stderr.write('usage: loginGuesser.child <postgresql-url> <count> <user> <address>\n');
  process.exit(2);
}
const pool = openPostgresPool(url, { maxConnections: 4 });
const throttle = await PgLoginThrottle.open(pool);
try {
  await pool.query('SELECT 1');
  process.stdout.write('ready\n');
  await once(process.stdin, 'data');
  const admitted = await hammer(throttle, Number(countText), (n) => [
    address.replace('*', String(n)),
    user.replace('*', String(n)),
  ]);
  process.stdout.write(`${JSON.stringify({ admitted })}\n`);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await pool.end();
  process.stdin.destroy();
}
