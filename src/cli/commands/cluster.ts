import type { Command } from 'commander';
import { hostname } from 'node:os';
import { DATABASE_URL_ENV } from '../../node/service/index.js';
import {
  RETENTION_DEFAULT_DAYS,
  formatClusterStatus,
  openPostgresPool,
  pruneCluster,
  readClusterStatus,
  type PgPool,
  type PruneReport,
} from '../../node/postgres/index.js';
import { RadiolensError } from '../../foundation/core/index.js';
import type { CommandModule } from './index.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30d`, `12h`, `90m`, `45s` (a number and a unit) → milliseconds; E_BAD_INPUT otherwise. */
export function parseAge(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (match === null) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${option} ${text}: an age is a number and a unit (s, m, h or d), e.g. 30d or 12h`,
    );
  }
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

function databaseUrlOf(given: string | undefined): string {
  const env = process.env[DATABASE_URL_ENV];
  const url = given ?? (env === '' ? undefined : env);
  if (url === undefined) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `no database: give --database postgresql://… or set ${DATABASE_URL_ENV}`,
    );
  }
  return url;
}

async function withPool<T>(
  url: string,
  name: string,
  work: (pool: PgPool) => Promise<T>,
): Promise<T> {
  const pool = openPostgresPool(url, { maxConnections: 1, applicationName: name });
  try {
    return await work(pool);
  } finally {
    await pool.end().catch(() => undefined);
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** What a prune removed (or would), for operators. */
export function formatPruneReport(report: PruneReport): string {
  if (!report.ran) {
    return 'another node is pruning now (it holds the prune lock); nothing was done — try again later\n';
  }
  const verb = report.dryRun ? 'would remove' : 'removed';
  const { doneJobs, failedJobs, deliveredOutbox, studyParts } = report.removed;
  const lines = [
    `${verb} ${doneJobs} done jobs, ${failedJobs} failed jobs, ${deliveredOutbox} delivered outbox entries (${report.batches} batches, ${(report.ms / 1000).toFixed(1)} s); failed outbox entries are kept until requeued`,
  ];
  if (studyParts !== undefined && studyParts > 0) {
    lines.push(`${verb} ${studyParts} study parts of ingest nodes (ADR 0192)`);
  }
  const files = report.resultFiles;
  if (files.files > 0) {
    lines.push(
      `${verb} ${files.files} result files (${(files.bytes / 1048576).toFixed(1)} MiB) of ${files.jobs} jobs read by their ingest node and delivered`,
    );
  }
  for (const [node, u] of Object.entries(report.removedUnread)) {
    lines.push(
      `${verb} ${u.jobs} finished jobs that ingest node ${node} never read (finished ${iso(u.from)} … ${iso(u.to)}): their analyses are not on its worklist`,
    );
  }
  for (const [node, u] of Object.entries(report.keptUnread)) {
    lines.push(
      `kept ${u.jobs} finished jobs past their age that ingest node ${node} has not read yet (oldest finished ${iso(u.from)})`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export const clusterCommand: CommandModule = (program: Command) => {
  const cluster = program
    .command('cluster')
    .description(
      'Look at and prune a cluster of nodes and workers on PostgreSQL (docs/scale-out.md)',
    );
  cluster
    .command('status')
    .description(
      'Nodes and workers with their lease and last beat (ingest nodes: how far they have read ' +
        'finished jobs), the queue by state with the age of the oldest queued and done job, the ' +
        'outbox backlog with the age of the oldest delivered entry, and the last prune with its ' +
        'retention; read-only.',
    )
    .option(
      '--database <postgresql-url>',
      `the shared PostgreSQL database (default $${DATABASE_URL_ENV})`,
    )
    .option('--json', 'print the status as one JSON object')
    .action(async (opts: { database?: string; json?: boolean }) => {
      await withPool(databaseUrlOf(opts.database), 'radiolens-status', async (pool) => {
        const status = await readClusterStatus(pool);
        process.stdout.write(
          opts.json === true ? `${JSON.stringify(status, null, 2)}\n` : formatClusterStatus(status),
        );
      });
    });
  cluster
    .command('prune')
    .description(
      'Remove done jobs and delivered outbox entries older than an age, and failed jobs older ' +
        'than a longer one, in short batches, and print what was removed (ADR 0189). A finished ' +
        'job is kept until the ingest node that enqueued it has read it, unless older than ' +
        '--unread-older-than; failed outbox entries are kept until requeued. Ingest nodes do ' +
        'the same every retention.intervalMinutes; one prune runs at a time (an advisory lock).',
    )
    .option(
      '--database <postgresql-url>',
      `the shared PostgreSQL database (default $${DATABASE_URL_ENV})`,
    )
    .option('--dry-run', 'count what would be removed; remove nothing')
    .option(
      '--older-than <age>',
      'done jobs and delivered outbox entries finished longer ago than this (e.g. 30d, 12h)',
      `${RETENTION_DEFAULT_DAYS.doneJobsDays}d`,
    )
    .option(
      '--failed-older-than <age>',
      'jobs that failed for good longer ago than this',
      `${RETENTION_DEFAULT_DAYS.failedJobsDays}d`,
    )
    .option(
      '--unread-older-than <age>',
      'finished jobs their ingest node has not read are removed only past this age (and reported)',
      `${RETENTION_DEFAULT_DAYS.unreadJobsDays}d`,
    )
    .option('--batch <rows>', 'rows per statement', '5000')
    .option('--json', 'print the report as one JSON object')
    .action(
      async (opts: {
        database?: string;
        dryRun?: boolean;
        olderThan: string;
        failedOlderThan: string;
        unreadOlderThan: string;
        batch: string;
        json?: boolean;
      }) => {
        const done = parseAge(opts.olderThan, '--older-than');
        const policy = {
          doneJobsMs: done,
          deliveredOutboxMs: done,
          failedJobsMs: parseAge(opts.failedOlderThan, '--failed-older-than'),
          unreadJobsMs: parseAge(opts.unreadOlderThan, '--unread-older-than'),
        };
        const batchSize = Number(opts.batch);
        if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
          throw new RadiolensError(
            'E_BAD_INPUT',
            `--batch ${opts.batch}: a whole number from 1 to 100000`,
          );
        }
        const report = await withPool(databaseUrlOf(opts.database), 'radiolens-prune', (pool) =>
          pruneCluster(pool, {
            policy,
            nodeId: `cli@${hostname()}`,
            batchSize,
            dryRun: opts.dryRun === true,
          }),
        );
        process.stdout.write(
          opts.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatPruneReport(report),
        );
        if (!report.ran) process.exitCode = 1;
      },
    );
};
