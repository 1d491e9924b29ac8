/**
 * Test support for src/node/postgres/readingRoom.int.test.ts, run as a separate process:
 * appends <count> entries as <actor> to the audit chain in the database at <url>, as fast as
 * it can on its own pool, and prints the seqs it got as a JSON line. Several run at once with
 * the test's own appenders to show that concurrent appenders on many hosts make one chain.
 */
import { PgAuditChain, openPostgresPool } from '../../../src/node/postgres/index.js';

const [url, countText, actor] = process.argv.slice(2);
if (url === undefined || countText === undefined || actor === undefined) {
  process.stderr.write('usage: auditAppender.child <postgresql-url> <count> <actor>\n');
  process.exit(2);
}
const pool = openPostgresPool(url, { maxConnections: 4 });
const chain = new PgAuditChain(pool, url);
try {
  // Four appends in flight at a time from this process, as a busy node's requests would be.
  const seqs: number[] = [];
  let next = 0;
  const count = Number(countText);
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < count) {
        next += 1;
        const entry = await chain.append({
          actor,
          action: 'http.wado',
          subject: `study:${actor}-${next}`,
          details: { address: '127.0.0.1' },
        });
        seqs.push(entry.seq);
      }
    }),
  );
  process.stdout.write(`${JSON.stringify(seqs)}\n`);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
