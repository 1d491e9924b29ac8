/**
 * The DICOMweb side of the instance index (ADR 0170): for each stored instance, the
 * attributes QIDO-RS matches on and its DICOM JSON metadata, derived from the stored bytes
 * once and kept in `dicomweb_instances`. Ingest is untouched: rows are added for instances
 * that lack one when a DICOMweb request arrives, which also fills databases written before
 * this table existed.
 */
import { describeError } from '../../foundation/core/index.js';
import type { InstanceRecord, InstanceStore, NodeDatabase } from '../store/index.js';
import { firstText, type DicomJsonDataset } from './dicomJson.js';
import { readInstanceMetadata } from './instanceMetadata.js';

/** One instance as DICOMweb sees it: the index row and its metadata. */
export interface IndexedInstance {
  readonly id: number;
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly sopInstanceUid: string;
  readonly sopClassUid: string;
  readonly transferSyntaxUid: string;
  readonly modality: string;
  readonly numberOfFrames: number;
  /** Relative to the data directory. */
  readonly path: string;
  readonly metadata: DicomJsonDataset;
}

interface JoinedRow {
  id: number;
  study_instance_uid: string;
  series_instance_uid: string;
  sop_instance_uid: string;
  sop_class_uid: string;
  transfer_syntax_uid: string;
  modality: string;
  number_of_frames: number;
  path: string;
  metadata: string;
}

/** SQL condition: the row is the latest version of its SOP instance (older ones are history). */
export const LATEST_VERSION = `i.version = (SELECT MAX(j.version) FROM instances j
  WHERE j.sop_instance_uid = i.sop_instance_uid)`;

export const JOINED_COLUMNS = `i.id, i.study_instance_uid, i.series_instance_uid,
  i.sop_instance_uid, i.sop_class_uid, i.transfer_syntax_uid, i.modality, d.number_of_frames,
  i.path, d.metadata`;

export function toIndexedInstance(row: JoinedRow): IndexedInstance {
  return {
    id: row.id,
    studyInstanceUid: row.study_instance_uid,
    seriesInstanceUid: row.series_instance_uid,
    sopInstanceUid: row.sop_instance_uid,
    sopClassUid: row.sop_class_uid,
    transferSyntaxUid: row.transfer_syntax_uid,
    modality: row.modality,
    numberOfFrames: row.number_of_frames,
    path: row.path,
    metadata: JSON.parse(row.metadata) as DicomJsonDataset,
  };
}

export type JoinedInstanceRow = JoinedRow;

export class DicomWebIndex {
  private refreshing: Promise<number> | undefined;
  /** Every instance with an id up to this one has a DICOMweb row. */
  private indexedUpTo = 0;
  private readonly missing;
  private readonly insert;

  constructor(
    readonly store: InstanceStore,
    private readonly onProblem: (sopInstanceUid: string, problem: string) => void = () => {},
  ) {
    // Rows are only ever added to `instances`, with growing ids: after one full pass, only
    // ids above the highest seen can lack a DICOMweb row, so a request does not scan them all.
    this.missing = store.db.prepare(
      `SELECT i.id FROM instances i LEFT JOIN dicomweb_instances d ON d.instance_id = i.id
       WHERE i.id > ? AND i.id <= ? AND d.instance_id IS NULL ORDER BY i.id LIMIT 500`,
    );
    this.insert = store.db.prepare(
      `INSERT OR REPLACE INTO dicomweb_instances (instance_id, patient_name, patient_birth_date,
         patient_sex, study_date, study_time, accession_number, study_id, study_description,
         referring_physician_name, series_number, series_description, instance_number,
         number_of_frames, metadata, problem)
       VALUES (@instance_id, @patient_name, @patient_birth_date, @patient_sex, @study_date,
         @study_time, @accession_number, @study_id, @study_description,
         @referring_physician_name, @series_number, @series_description, @instance_number,
         @number_of_frames, @metadata, @problem)`,
    );
  }

  get db(): NodeDatabase {
    return this.store.db;
  }

  /**
   * Indexes every stored instance that has no DICOMweb row yet; concurrent callers share one
   * pass. Returns how many were added. An unreadable file gets a row with its problem (and
   * only its UIDs as metadata), so it is reported once, not on every query.
   */
  refresh(): Promise<number> {
    this.refreshing ??= this.indexMissing().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async indexMissing(): Promise<number> {
    let added = 0;
    for (;;) {
      // The bound is read first, so an instance stored meanwhile is left for the next pass.
      const upTo =
        (this.db.prepare('SELECT MAX(id) AS id FROM instances').get() as { id: number | null })
          .id ?? 0;
      const rows = this.missing.all(this.indexedUpTo, upTo) as { id: number }[];
      if (rows.length === 0) {
        this.indexedUpTo = upTo;
        return added;
      }
      for (const row of rows) {
        const record = this.store.findInstanceById(row.id);
        if (record !== undefined) {
          await this.indexOne(record);
          added += 1;
        }
      }
    }
  }

  private async indexOne(record: InstanceRecord): Promise<void> {
    let dataset: DicomJsonDataset;
    let frames = 0;
    let problem: string | null = null;
    try {
      const bytes = await this.store.readInstanceBytes(record);
      const read = readInstanceMetadata(bytes, record.sopInstanceUid);
      dataset = read.dataset;
      frames = read.hasPixelData ? read.numberOfFrames : 0;
    } catch (error) {
      problem = describeError(error);
      this.onProblem(record.sopInstanceUid, problem);
      dataset = {
        '00080016': { vr: 'UI', Value: [record.sopClassUid] },
        '00080018': { vr: 'UI', Value: [record.sopInstanceUid] },
        '00080060': { vr: 'CS', Value: [record.modality] },
        '00100020': { vr: 'LO', Value: [record.patientId] },
        '0020000D': { vr: 'UI', Value: [record.studyInstanceUid] },
        '0020000E': { vr: 'UI', Value: [record.seriesInstanceUid] },
      };
    }
    const text = (tag: string): string => firstText(dataset, tag);
    this.insert.run({
      instance_id: record.id,
      patient_name: text('00100010'),
      patient_birth_date: text('00100030'),
      patient_sex: text('00100040'),
      study_date: text('00080020'),
      study_time: text('00080030'),
      accession_number: text('00080050'),
      study_id: text('00200010'),
      study_description: text('00081030'),
      referring_physician_name: text('00080090'),
      series_number: text('00200011'),
      series_description: text('0008103E'),
      instance_number: text('00200013'),
      number_of_frames: frames,
      metadata: JSON.stringify(dataset),
      problem,
    });
  }
}
