/**
 * Versioned schema migrations for the shared PostgreSQL database (ADR 0181). Every process
 * runs `migrate` at start: under a transaction-scoped advisory lock, so nodes starting at
 * once apply each step exactly once and the others wait, then find nothing left to do. Each
 * applied step is a row in schema_migrations with its checksum; a database whose schema is
 * newer than this code, or whose recorded step differs from the code's, is refused.
 *
 * A migration is append-only: once released, its SQL never changes; a change is a new step.
 */
import { createHash } from 'node:crypto';
import { RadiolensError } from '../../foundation/core/index.js';
import { inTransaction, query, type PgClient, type PgPool } from './connection.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * The advisory lock key every Radiolens process takes while migrating: the first 8 bytes of
 * sha256('radiolens schema migrations') as a signed bigint, so no other application that
 * picks a small number collides with it.
 */
export const MIGRATION_LOCK_KEY = createHash('sha256')
  .update('radiolens schema migrations')
  .digest()
  .readBigInt64BE(0);

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'job queue and outbox',
    sql: `
      CREATE TABLE jobs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key text NOT NULL UNIQUE,
        study_instance_uid text NOT NULL,
        model text NOT NULL,
        payload jsonb NOT NULL,
        state text NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        max_attempts integer NOT NULL,
        available_at bigint NOT NULL,
        worker_id text,
        node_id text,
        lease_token uuid,
        lease_expires_at bigint,
        last_error text,
        created_at bigint NOT NULL,
        completed_at bigint,
        result jsonb
      );
      -- Claims look only at queued and running rows; done rows (the bulk) stay out of the index.
      CREATE INDEX jobs_ready ON jobs (available_at, id) WHERE state = 'queued';
      CREATE INDEX jobs_leased ON jobs (lease_expires_at) WHERE state = 'running';
      CREATE INDEX jobs_node ON jobs (node_id) WHERE state = 'running';

      CREATE TABLE outbox (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key text NOT NULL UNIQUE,
        destination jsonb NOT NULL,
        label text NOT NULL,
        payload jsonb NOT NULL,
        state text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        available_at bigint NOT NULL,
        last_error text,
        created_at bigint NOT NULL,
        delivered_at bigint,
        claimed_until bigint,
        claim_token uuid,
        node_id text
      );
      CREATE INDEX outbox_due ON outbox (available_at, id) WHERE state = 'pending';
      CREATE INDEX outbox_label ON outbox (label) WHERE state = 'pending';
    `,
  },
  {
    version: 2,
    name: 'node leases',
    sql: `
      CREATE TABLE nodes (
        node_id text PRIMARY KEY,
        role text NOT NULL,
        host text NOT NULL,
        pid integer NOT NULL,
        lease_token uuid,
        started_at bigint NOT NULL,
        heartbeat_at bigint NOT NULL,
        lease_expires_at bigint NOT NULL,
        stopped_at bigint
      );
    `,
  },
  {
    version: 3,
    name: 'completed jobs by completion time',
    // Ingest nodes read the jobs completed since a time every 2 s (ADR 0186): without it that
    // read is a scan of every job ever done, and done jobs are the bulk of the table.
    sql: `
      CREATE INDEX jobs_completed ON jobs (completed_at, id) WHERE state = 'done';
    `,
  },
  {
    version: 4,
    name: 'reading room: users, sessions, answers, audit chain, study-key secret',
    // What ingest nodes behind one load balancer must share (ADR 0188). Times are ms since the
    // epoch, as in the embedded tables. The audit chain keeps each entry exactly as hashed
    // (details as its JSON text, not jsonb, which would rewrite it); its head row is locked
    // FOR UPDATE by every append, which orders appenders on any host, and records the last
    // entry so a removed tail shows. seq and prev are unique: the chain cannot fork.
    sql: `
      CREATE TABLE users (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name text NOT NULL UNIQUE,
        role text NOT NULL
          CHECK (role IN ('radiologist', 'administrator', 'data-scientist', 'auditor')),
        password_hash text NOT NULL,
        created_at bigint NOT NULL,
        disabled_at bigint
      );
      CREATE TABLE sessions (
        id_sha256 text PRIMARY KEY,
        user_id bigint NOT NULL REFERENCES users (id),
        csrf_token text NOT NULL,
        created_at bigint NOT NULL,
        last_seen_at bigint NOT NULL,
        expires_at bigint NOT NULL
      );
      CREATE INDEX sessions_user ON sessions (user_id);
      CREATE INDEX sessions_expiry ON sessions (expires_at);

      CREATE TABLE feedback (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        study_key text NOT NULL,
        sr_sop_instance_uid text NOT NULL,
        source_sop_instance_uid text NOT NULL,
        finding_code text NOT NULL,
        finding_scheme text NOT NULL,
        finding_meaning text NOT NULL,
        label_id text NOT NULL,
        model_id text NOT NULL,
        model_version text NOT NULL,
        ai_call text NOT NULL CHECK (ai_call IN ('positive', 'negative')),
        probability double precision,
        answer text NOT NULL CHECK (answer IN ('agree', 'disagree', 'uncertain')),
        correct_label text,
        comment text,
        time_to_answer_ms integer NOT NULL,
        user_id text NOT NULL,
        answered_at bigint NOT NULL
      );
      CREATE INDEX feedback_study ON feedback (study_key);
      CREATE INDEX feedback_model ON feedback (model_id, model_version);

      CREATE TABLE audit_log (
        seq bigint PRIMARY KEY CHECK (seq > 0),
        at text NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        subject text NOT NULL,
        details text NOT NULL,
        prev text NOT NULL UNIQUE,
        hash text NOT NULL UNIQUE
      );
      CREATE INDEX audit_log_subject ON audit_log (subject);
      CREATE TABLE audit_head (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        seq bigint NOT NULL,
        hash text NOT NULL
      );
      INSERT INTO audit_head (seq, hash) VALUES (0, repeat('0', 64));

      CREATE TABLE shared_secrets (
        name text PRIMARY KEY,
        value bytea NOT NULL
      );
    `,
  },
  {
    version: 5,
    name: 'failed jobs for ingest nodes, retention',
    // ADR 0189. failed_at: when a job failed for good, so that ingest nodes read failures as
    // they read completions (failures before this step get their last availability, the best
    // time known). origin_node: the ingest node that enqueued a job, and results_read_to: how
    // far that node has read finished jobs; a finished job is pruned only once its ingest node
    // has read it. The partial indexes make each prune batch an index range, not a scan.
    sql: `
      ALTER TABLE jobs ADD COLUMN failed_at bigint;
      ALTER TABLE jobs ADD COLUMN origin_node text;
      UPDATE jobs SET failed_at = available_at WHERE state = 'failed';
      CREATE INDEX jobs_failed ON jobs (failed_at, id) WHERE state = 'failed';
      CREATE INDEX outbox_delivered ON outbox (delivered_at, id) WHERE state = 'delivered';
      ALTER TABLE nodes ADD COLUMN results_read_to bigint;
      CREATE TABLE prune_runs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        node_id text NOT NULL,
        started_at bigint NOT NULL,
        finished_at bigint NOT NULL,
        policy jsonb NOT NULL,
        removed jsonb NOT NULL,
        unread jsonb NOT NULL
      );
      CREATE INDEX prune_runs_finished ON prune_runs (finished_at);
    `,
  },
  {
    version: 6,
    name: 'study parts of ingest nodes, study assemblies',
    // ADR 0192. A study whose instances reach several ingest nodes is one part per node; a
    // node reports its part while it arrives (last_received_at, its own clock) and when its
    // stability timer declares it (stable_for, with what a worker needs to read it: source,
    // and the routing facts). A part is ready when stable_for covers its last receipt and
    // assembled once a job covering it was enqueued (assembled_for). study_assemblies keeps,
    // per study, the parts the last jobs covered and the receipt time in their keys, so that
    // the same parts make the same keys again and different ones new keys. updated_at is the
    // database clock (retention).
    sql: `
      CREATE TABLE study_parts (
        study_instance_uid text NOT NULL,
        node_id text NOT NULL,
        instances integer NOT NULL,
        last_received_at bigint NOT NULL,
        stable_for bigint,
        assembled_for bigint,
        source jsonb,
        facts jsonb,
        updated_at bigint NOT NULL,
        PRIMARY KEY (study_instance_uid, node_id)
      );
      CREATE INDEX study_parts_unassembled ON study_parts (node_id, study_instance_uid)
        WHERE stable_for >= last_received_at
          AND (assembled_for IS NULL OR assembled_for < stable_for);
      CREATE INDEX study_parts_updated ON study_parts (updated_at);
      CREATE INDEX study_parts_arriving ON study_parts (updated_at)
        WHERE stable_for IS NULL OR stable_for < last_received_at;
      CREATE TABLE study_assemblies (
        study_instance_uid text PRIMARY KEY,
        key_time bigint NOT NULL,
        parts jsonb NOT NULL,
        assembled_by text NOT NULL,
        assembled_at bigint NOT NULL
      );
      CREATE INDEX study_assemblies_at ON study_assemblies (assembled_at);
    `,
  },
  {
    version: 7,
    name: 'result files in the database',
    // ADR 0193. A worker without a shared folder commits its job's result files with the job's
    // completion; outbox entries name them by (job id, name) and carry the job in result_job,
    // so retention can tell when every entry of a job is delivered and its bytes may go. The
    // files go with their job (ON DELETE CASCADE), and earlier once read and delivered.
    sql: `
      CREATE TABLE result_files (
        job_id bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        name text NOT NULL,
        size integer NOT NULL,
        sha256 text NOT NULL,
        bytes bytea NOT NULL,
        PRIMARY KEY (job_id, name)
      );
      ALTER TABLE outbox ADD COLUMN result_job bigint;
      CREATE INDEX outbox_result_job ON outbox (result_job) WHERE state <> 'delivered';
      -- lz4 where the server has it (14+, built with lz4): measured 2x faster than pglz with a
      -- third less stored and written to WAL (bench/resultFiles.bench.ts); else pglz.
      DO $$
      BEGIN
        IF current_setting('server_version_num')::int >= 140000 THEN
          BEGIN
            EXECUTE 'ALTER TABLE result_files ALTER COLUMN bytes SET COMPRESSION lz4';
          EXCEPTION WHEN OTHERS THEN
            NULL;
          END;
        END IF;
      END $$;
    `,
  },
  {
    version: 8,
    name: 'login throttle counted cluster-wide',
    // ADR 0194. One row per client address and per user name with the times (ms, database
    // clock) of its latest failed logins, at most the limit of them: the row every node locks
    // FOR UPDATE while it admits an attempt, so attempts on several nodes at once are counted
    // one after another. last_at is the newest count; rows older than the window are swept by
    // the next admissions along this index.
    sql: `
      CREATE TABLE login_throttle (
        kind text NOT NULL CHECK (kind IN ('address', 'user')),
        key text NOT NULL,
        failures bigint[] NOT NULL,
        last_at bigint NOT NULL,
        PRIMARY KEY (kind, key)
      );
      CREATE INDEX login_throttle_last ON login_throttle (last_at);
    `,
  },
];

export function migrationChecksum(migration: Migration): string {
  return createHash('sha256').update(migration.sql).digest('hex');
}

export interface MigrationResult {
  /** Versions this call applied, in order (empty when another process had done them). */
  readonly applied: number[];
  /** The schema version after the call. */
  readonly version: number;
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

function checkKnown(applied: readonly AppliedRow[], migrations: readonly Migration[]): void {
  const known = new Map(migrations.map((m) => [m.version, m]));
  const newest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  const ahead = applied.filter((row) => row.version > newest);
  if (ahead.length > 0) {
    const version = Math.max(...ahead.map((row) => row.version));
    throw new RadiolensError(
      'E_DATABASE',
      `the database schema is at version ${version} (${ahead.at(-1)!.name}), newer than this Radiolens knows (${newest}) — a newer Radiolens has migrated it; run that version on this host too, or point this node at another database`,
    );
  }
  for (const row of applied) {
    const migration = known.get(row.version);
    if (migration === undefined) continue;
    if (migration.name !== row.name || migrationChecksum(migration) !== row.checksum) {
      throw new RadiolensError(
        'E_DATABASE',
        `schema migration ${row.version} recorded in the database ("${row.name}") differs from this Radiolens's ("${migration.name}") — the database was migrated by an unreleased or altered build; restore it or use a fresh database`,
      );
    }
  }
}

async function appliedMigrations(client: PgClient): Promise<AppliedRow[]> {
  const result = await query<AppliedRow>(
    client,
    'reading schema_migrations',
    'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
  );
  return result.rows;
}

/**
 * Brings the database to the newest schema this code knows, in one transaction (PostgreSQL
 * DDL is transactional: a failed step leaves the database as it was). Throws E_DATABASE for
 * a newer or different schema, before changing anything.
 */
export async function migrate(
  pool: PgPool,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrationResult> {
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  return inTransaction(pool, 'migrating the database schema', async (client) => {
    // Serialises every migrating process, including the very first CREATE TABLE below.
    await query(client, 'waiting for the migration lock', 'SELECT pg_advisory_xact_lock($1)', [
      MIGRATION_LOCK_KEY.toString(),
    ]);
    await query(
      client,
      'creating schema_migrations',
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version integer PRIMARY KEY,
         name text NOT NULL,
         checksum text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const applied = await appliedMigrations(client);
    checkKnown(applied, ordered);
    const done = new Set(applied.map((row) => row.version));
    const now: number[] = [];
    for (const migration of ordered) {
      if (done.has(migration.version)) continue;
      await query(
        client,
        `schema migration ${migration.version} (${migration.name})`,
        migration.sql,
      );
      await query(
        client,
        'recording a schema migration',
        'INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)',
        [migration.version, migration.name, migrationChecksum(migration)],
      );
      now.push(migration.version);
    }
    const version = Math.max(0, ...applied.map((row) => row.version), ...now);
    return { applied: now, version };
  });
}

/** The schema version of the database (0 when never migrated), without changing anything. */
export async function schemaVersion(pool: PgPool): Promise<number> {
  const exists = await query<{ found: string | null }>(
    pool,
    'looking for schema_migrations',
    `SELECT to_regclass('schema_migrations')::text AS found`,
  );
  if (exists.rows[0]?.found === null) return 0;
  const result = await query<{ version: number | null }>(
    pool,
    'reading the schema version',
    'SELECT max(version) AS version FROM schema_migrations',
  );
  return result.rows[0]?.version ?? 0;
}
