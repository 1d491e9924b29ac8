/**
 * The instance index tables (ADR 0090). Created idempotently when a store opens; a table
 * added later is created the same way, so an existing database gains it on its next open
 * and the rows it derives from `instances` are filled in when first needed.
 */
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
    -- The node's own results (SR, SC, Parametric Map) kept beside the originals so that its
    -- DICOMweb serves them to the viewer (ADR 0195); never an arrival for the stability
    -- timer, never an input of an analysis.
    CREATE TABLE IF NOT EXISTS result_instances (
      sop_instance_uid TEXT PRIMARY KEY,
      job_id INTEGER NOT NULL,
      stored_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS study_stability (
      study_instance_uid TEXT PRIMARY KEY,
      stable_for_last_received_at INTEGER NOT NULL,
      declared_at INTEGER NOT NULL
    );
    -- DICOMweb (ADR 0170): the attributes QIDO-RS matches on, and each instance's DICOM JSON
    -- metadata, derived from the stored file once. Filled for older rows on first query.
    CREATE TABLE IF NOT EXISTS dicomweb_instances (
      instance_id INTEGER PRIMARY KEY REFERENCES instances (id),
      patient_name TEXT NOT NULL,
      patient_birth_date TEXT NOT NULL,
      patient_sex TEXT NOT NULL,
      study_date TEXT NOT NULL,
      study_time TEXT NOT NULL,
      accession_number TEXT NOT NULL,
      study_id TEXT NOT NULL,
      study_description TEXT NOT NULL,
      referring_physician_name TEXT NOT NULL,
      series_number TEXT NOT NULL,
      series_description TEXT NOT NULL,
      instance_number TEXT NOT NULL,
      number_of_frames INTEGER NOT NULL,
      metadata TEXT NOT NULL,
      problem TEXT
    );
    CREATE INDEX IF NOT EXISTS dicomweb_study_date ON dicomweb_instances (study_date);
    CREATE INDEX IF NOT EXISTS dicomweb_accession ON dicomweb_instances (accession_number);
    CREATE INDEX IF NOT EXISTS instances_patient ON instances (patient_id);
  `);
}
