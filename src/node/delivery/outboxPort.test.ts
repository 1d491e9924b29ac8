import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outboxContract } from '../../../test/support/queueContracts.js';
import { openNodeDatabase } from '../store/index.js';
import { Outbox, sqliteOutboxPort } from './index.js';

// The shared contract (also run against PostgreSQL in node/postgres) on the embedded outbox.
outboxContract('SQLite', async (options, body) => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-outbox-port-'));
  const db = openNodeDatabase(dir);
  try {
    await body(sqliteOutboxPort(new Outbox(db, options)));
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});
