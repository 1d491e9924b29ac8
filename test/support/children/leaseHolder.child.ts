/**
 * Test support for jobQueue.test.ts, run as a separate process: claims one job, prints the
 * claim as a JSON line, then keeps heartbeating until it is killed. Never completes the job.
 * Arguments: <dataDir> <workerId> <leaseMs>.
 */
import { JobQueue } from '../../../src/node/queue/index.js';

const [dataDir, workerId, leaseMs] = process.argv.slice(2);
if (dataDir === undefined || workerId === undefined || leaseMs === undefined) {
  process.stderr.write('usage: leaseHolder.child <dataDir> <workerId> <leaseMs>\n');
  process.exit(2);
}
const queue = JobQueue.open(dataDir, { leaseMs: Number(leaseMs) });
const claimed = queue.claim(workerId);
process.stdout.write(`${JSON.stringify(claimed ?? null)}\n`);
if (claimed !== undefined) {
  setInterval(() => queue.heartbeat(claimed), Number(leaseMs) / 4);
}
