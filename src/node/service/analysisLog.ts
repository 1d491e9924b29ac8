/**
 * The node's record of every analysis it completed (ADR 0088): which study, which model
 * version, live or shadow, when, and where its analysis.json lies. Shadow results exist only
 * here (they are never delivered), and the monitor and the pilot report find their windows
 * through it: `radiolens monitor report --data` and `radiolens pilot report --data` read this
 * table with a read-only connection while the node runs.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RadiolensError } from '../../foundation/core/index.js';
import { DATABASE_FILE_NAME, type NodeDatabase } from '../store/index.js';

export type AnalysisMode = 'clinical' | 'shadow';

export interface AnalysisLogEntry {
  readonly jobId: number;
  readonly studyInstanceUid: string;
  /** Accession Number of the study, so answers keyed by accession find it; null when absent. */
  readonly accessionNumber: string | null;
  /** id@version that analysed it. */
  readonly model: string;
  readonly mode: AnalysisMode;
  readonly completedAt: number;
  /** analysis.json, relative to the data directory. */
  readonly summaryPath: string;
}

interface Row {
  job_id: number;
  study_instance_uid: string;
  accession_number: string | null;
  model: string;
  mode: AnalysisMode;
  completed_at: number;
  summary_path: string;
}

const fromRow = (row: Row): AnalysisLogEntry => ({
  jobId: row.job_id,
  studyInstanceUid: row.study_instance_uid,
  accessionNumber: row.accession_number,
  model: row.model,
  mode: row.mode,
  completedAt: row.completed_at,
  summaryPath: row.summary_path,
});

export function ensureAnalysisLogSchema(db: NodeDatabase): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS analyses (
      job_id INTEGER PRIMARY KEY,
      study_instance_uid TEXT NOT NULL,
      accession_number TEXT,
      model TEXT NOT NULL,
      mode TEXT NOT NULL CHECK (mode IN ('clinical', 'shadow')),
      completed_at INTEGER NOT NULL,
      summary_path TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS analyses_by_model ON analyses (model, completed_at);
  `);
}

export class AnalysisLog {
  constructor(private readonly db: NodeDatabase) {
    ensureAnalysisLogSchema(db);
  }

  /** Idempotent per job: a job re-run after a crash replaces its row. */
  record(entry: AnalysisLogEntry): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO analyses
           (job_id, study_instance_uid, accession_number, model, mode, completed_at, summary_path)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        entry.jobId,
        entry.studyInstanceUid,
        entry.accessionNumber,
        entry.model,
        entry.mode,
        entry.completedAt,
        entry.summaryPath,
      );
  }

  /** Whether the job's analysis is recorded. */
  has(jobId: number): boolean {
    return this.db.prepare('SELECT 1 FROM analyses WHERE job_id = ?').get(jobId) !== undefined;
  }

  /** When the latest recorded analysis completed (ms), 0 when none is. */
  latestCompletedAt(): number {
    const row = this.db.prepare('SELECT MAX(completed_at) AS at FROM analyses').get() as {
      at: number | null;
    };
    return row.at ?? 0;
  }

  list(filter: { mode?: AnalysisMode; model?: string } = {}): AnalysisLogEntry[] {
    return selectEntries(this.db, filter);
  }
}

function selectEntries(
  db: NodeDatabase,
  filter: { mode?: AnalysisMode; model?: string },
): AnalysisLogEntry[] {
  const where: string[] = [];
  const values: string[] = [];
  if (filter.mode !== undefined) {
    where.push('mode = ?');
    values.push(filter.mode);
  }
  if (filter.model !== undefined) {
    where.push('model = ?');
    values.push(filter.model);
  }
  const rows = db
    .prepare(
      `SELECT * FROM analyses ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY completed_at, job_id`,
    )
    .all(...values) as Row[];
  return rows.map(fromRow);
}

/**
 * The analysis log of a node's data directory, read with a read-only connection (the node may
 * be running). Throws when the directory holds no node database.
 */
export function readAnalysisLog(
  dataDir: string,
  filter: { mode?: AnalysisMode; model?: string } = {},
): AnalysisLogEntry[] {
  const path = join(dataDir, DATABASE_FILE_NAME);
  if (!existsSync(path)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${dataDir} holds no node database (${DATABASE_FILE_NAME}) — pass the --data folder of "radiolens serve"`,
      { subject: path },
    );
  }
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 10000');
    const exists = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'analyses'")
      .get();
    return exists === undefined ? [] : selectEntries(db, filter);
  } finally {
    db.close();
  }
}
