import type { Command } from 'commander';
import { DATABASE_URL_ENV } from '../../node/service/index.js';
import {
  formatClusterStatus,
  openPostgresPool,
  readClusterStatus,
} from '../../node/postgres/index.js';
import { RadiolensError } from '../../foundation/core/index.js';
import type { CommandModule } from './index.js';

export const clusterCommand: CommandModule = (program: Command) => {
  const cluster = program
    .command('cluster')
    .description('Look at a cluster of nodes and workers on PostgreSQL (docs/scale-out.md)');
  cluster
    .command('status')
    .description(
      'Nodes and workers with their lease and last beat, the queue by state with the age of ' +
        'the oldest queued job, and the outbox backlog; read-only.',
    )
    .option(
      '--database <postgresql-url>',
      `the shared PostgreSQL database (default $${DATABASE_URL_ENV})`,
    )
    .option('--json', 'print the status as one JSON object')
    .action(async (opts: { database?: string; json?: boolean }) => {
      const env = process.env[DATABASE_URL_ENV];
      const url = opts.database ?? (env === '' ? undefined : env);
      if (url === undefined) {
        throw new RadiolensError(
          'E_BAD_INPUT',
          `no database: give --database postgresql://… or set ${DATABASE_URL_ENV}`,
        );
      }
      const pool = openPostgresPool(url, {
        maxConnections: 1,
        applicationName: 'radiolens-status',
      });
      try {
        const status = await readClusterStatus(pool);
        process.stdout.write(
          opts.json === true ? `${JSON.stringify(status, null, 2)}\n` : formatClusterStatus(status),
        );
      } finally {
        await pool.end().catch(() => undefined);
      }
    });
};
