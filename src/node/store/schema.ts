/** The instance index tables (ADR 0090). Created idempotently when a store opens. */
import type { NodeDatabase } from './database.js';

export function ensureStoreSchema(db: NodeDatabase): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS instances (
      id INTEGER PRIMARY KEY,
      patient_id TEXT NOT NULL,
      study_instance_uid TEXT NOT NULL,
      series_instance_uid TEXT NOT NULL,
      sop_instance_uid TEXT NOT NULL,
      version INTEGER NOT NULL,
      sop_class_uid TEXT NOT NULL,
      transfer_syntax_uid TEXT NOT NULL,
      modality TEXT NOT NULL,
      body_part_examined TEXT NOT NULL,
      view_position TEXT NOT NULL,
      calling_ae_title TEXT NOT NULL,
      received_at INTEGER NOT NULL,
      last_received_at INTEGER NOT NULL,
      sha256 TEXT NOT NULL,
      size INTEGER NOT NULL,
      path TEXT NOT NULL,
      UNIQUE (sop_instance_uid, sha256),
      UNIQUE (sop_instance_uid, version)
    );
    CREATE INDEX IF NOT EXISTS instances_study ON instances (study_instance_uid);
    CREATE INDEX IF NOT EXISTS instances_series ON instances (series_instance_uid);
    CREATE TABLE IF NOT EXISTS study_stability (
      study_instance_uid TEXT PRIMARY KEY,
      stable_for_last_received_at INTEGER NOT NULL,
      declared_at INTEGER NOT NULL
    );
  `);
}
