/**
 * Test support for migrations.int.test.ts, run as a separate process: migrates the database
 * at <url> once and prints the result as a JSON line. Several are started at once to show that
 * concurrent start-ups apply each migration exactly once.
 */
import { migrate, openPostgresPool } from '../../../src/node/postgres/index.js';

const [url] = process.argv.slice(2);
if (url === undefined) {
  process.stderr.write('usage: migrate.child <postgresql-url>\n');
  process.exit(2);
}
const pool = openPostgresPool(url, { maxConnections: 1 });
try {
  const result = await migrate(pool);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
