import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobQueueContract } from '../../../test/support/queueContracts.js';
import { JobQueue, sqliteJobQueuePort } from './index.js';

// The shared contract (also run against PostgreSQL in node/postgres) on the embedded queue.
jobQueueContract('SQLite', async (options, body) => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-queue-port-'));
  const queue = sqliteJobQueuePort(JobQueue.open(dir, options));
  try {
    await body(queue);
  } finally {
    await queue.close();
    await rm(dir, { recursive: true, force: true });
  }
});
