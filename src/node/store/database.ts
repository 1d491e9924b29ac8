/**
 * The node's embedded database: one SQLite file in the data directory holds the instance
 * index and the job queue (ADR 0090), so that "instance indexed" and "job enqueued" can share
 * a transaction and a crash never leaves one without the other.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RadiolensError } from '../../foundation/core/index.js';

export type NodeDatabase = Database.Database;

export const DATABASE_FILE_NAME = 'radiolens.sqlite';

/**
 * Opens (creating if needed) `<dataDir>/radiolens.sqlite` in WAL mode with synchronous=FULL:
 * a committed transaction is on disk before the call returns, which is what lets the SCP
 * acknowledge a C-STORE right after the index row is written.
 */
export function openNodeDatabase(dataDir: string): NodeDatabase {
  const path = join(dataDir, DATABASE_FILE_NAME);
  try {
    mkdirSync(dataDir, { recursive: true });
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    // Several processes (SCP, workers) share the file; wait for a writer rather than fail.
    db.pragma('busy_timeout = 10000');
    db.pragma('foreign_keys = ON');
    return db;
  } catch (cause) {
    throw new RadiolensError(
      'E_STORE',
      `cannot open the node database ${path}: ${(cause as Error).message} — check that the data directory is writable and not on a network file system`,
      { subject: path, cause },
    );
  }
}
