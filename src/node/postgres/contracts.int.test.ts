// The shared queue and outbox contracts (also run against the embedded SQLite ones) on
// PostgreSQL: a fresh, migrated database per test, dropped afterwards.
import { jobQueueContract, outboxContract } from '../../../test/support/queueContracts.js';
import { withTestDatabase } from '../../../test/support/postgres.js';
import { PgJobQueue, PgOutbox } from './index.js';

jobQueueContract('PostgreSQL', (options, body) =>
  withTestDatabase(async ({ pool }) => body(new PgJobQueue(pool, options))),
);

outboxContract('PostgreSQL', (options, body) =>
  withTestDatabase(async ({ pool }) => body(new PgOutbox(pool, options))),
);
