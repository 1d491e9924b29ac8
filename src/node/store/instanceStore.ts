/**
 * InstanceStore: original DICOM bytes kept untouched, content-addressed on disk, and indexed
 * in the node database. `storeInstance` resolves only once both the bytes and the index row
 * are durable, which is the moment an SCP may answer "success" (ADRs 0090, 0091).
 */
import { renameSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { RadiolensError, isRadiolensError } from '../../foundation/core/index.js';
import { readInstanceIdentity } from '../../foundation/dicom/index.js';
import { openNodeDatabase, type NodeDatabase } from './database.js';
import {
  commitPendingObject,
  discardPendingObject,
  ensureObjectFolders,
  fsyncPath,
  recoverPendingObjects,
  sha256Hex,
  writePendingObject,
} from './objectFiles.js';
import { SideThread, type SideJob } from './sideThread.js';
import { ensureStoreSchema } from './schema.js';

/** SQL condition on `instances i`: the row is not one of the node's own results. */
export const NOT_A_RESULT =
  'i.sop_instance_uid NOT IN (SELECT sop_instance_uid FROM result_instances)';

/** Where an instance came from; kept in the index, never in the stored bytes. */
export interface ReceivedFrom {
  /** Calling AE title for DIMSE; '' for other ingest paths. */
  readonly callingAeTitle?: string;
  /** Milliseconds since the epoch; defaults to now. */
  readonly receivedAt?: number;
  /** Name used in error messages (file name, "C-STORE from AE@host"). */
  readonly source: string;
  /**
   * UIDs the transport announced (C-STORE Affected SOP Class/Instance UID, STOW-RS part
   * headers); the dataset must carry the same ones or it is refused (E_BAD_INPUT).
   */
  readonly expectedSopInstanceUid?: string;
  readonly expectedSopClassUid?: string;
}

export interface InstanceRecord {
  readonly id: number;
  readonly patientId: string;
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly sopInstanceUid: string;
  /** 1 for the first payload seen for this SOP Instance UID, 2 for the next different one… */
  readonly version: number;
  readonly sopClassUid: string;
  readonly transferSyntaxUid: string;
  readonly modality: string;
  readonly bodyPartExamined: string;
  readonly viewPosition: string;
  readonly callingAeTitle: string;
  readonly receivedAt: number;
  readonly lastReceivedAt: number;
  readonly sha256: string;
  readonly size: number;
  /** Relative to the data directory. */
  readonly path: string;
}

/**
 * 'stored': first time this SOP Instance UID was seen; 'duplicate': same UID and same bytes
 * as an indexed version (nothing written); 'new-version': same UID, different bytes;
 * 'restored': a duplicate whose object file had gone missing or short, written again.
 */
export type StoreOutcome = 'stored' | 'duplicate' | 'new-version' | 'restored';

export interface StoreResult {
  readonly outcome: StoreOutcome;
  readonly instance: InstanceRecord;
}

export interface StudySummary {
  readonly studyInstanceUid: string;
  readonly instanceCount: number;
  readonly lastReceivedAt: number;
}

interface InstanceRow {
  id: number;
  patient_id: string;
  study_instance_uid: string;
  series_instance_uid: string;
  sop_instance_uid: string;
  version: number;
  sop_class_uid: string;
  transfer_syntax_uid: string;
  modality: string;
  body_part_examined: string;
  view_position: string;
  calling_ae_title: string;
  received_at: number;
  last_received_at: number;
  sha256: string;
  size: number;
  path: string;
}

function toRecord(row: InstanceRow): InstanceRecord {
  return {
    id: row.id,
    patientId: row.patient_id,
    studyInstanceUid: row.study_instance_uid,
    seriesInstanceUid: row.series_instance_uid,
    sopInstanceUid: row.sop_instance_uid,
    version: row.version,
    sopClassUid: row.sop_class_uid,
    transferSyntaxUid: row.transfer_syntax_uid,
    modality: row.modality,
    bodyPartExamined: row.body_part_examined,
    viewPosition: row.view_position,
    callingAeTitle: row.calling_ae_title,
    receivedAt: row.received_at,
    lastReceivedAt: row.last_received_at,
    sha256: row.sha256,
    size: row.size,
    path: row.path,
  };
}

/** The statements every stored instance runs, prepared once per store. */
function prepareStatements(db: NodeDatabase) {
  return {
    findSame: db.prepare('SELECT * FROM instances WHERE sop_instance_uid = ? AND sha256 = ?'),
    touch: db.prepare(
      'UPDATE instances SET last_received_at = MAX(last_received_at, ?) WHERE id = ?',
    ),
    anyVersion: db.prepare('SELECT 1 FROM instances WHERE sop_instance_uid = ? LIMIT 1'),
    latestVersion: db.prepare('SELECT MAX(version) AS v FROM instances WHERE sop_instance_uid = ?'),
    insert: db.prepare(
      `INSERT INTO instances (patient_id, study_instance_uid, series_instance_uid,
         sop_instance_uid, version, sop_class_uid, transfer_syntax_uid, modality,
         body_part_examined, view_position, calling_ae_title, received_at,
         last_received_at, sha256, size, path)
       VALUES (@patient_id, @study_instance_uid, @series_instance_uid, @sop_instance_uid,
         @version, @sop_class_uid, @transfer_syntax_uid, @modality, @body_part_examined,
         @view_position, @calling_ae_title, @received_at, @last_received_at, @sha256,
         @size, @path)`,
    ),
  };
}

export class InstanceStore {
  private readonly statements: ReturnType<typeof prepareStatements>;
  private readonly arrivalListeners: ((studyInstanceUid: string) => void)[] = [];

  private constructor(
    readonly dataDir: string,
    readonly db: NodeDatabase,
    private readonly ownsDatabase: boolean,
  ) {
    ensureStoreSchema(db);
    ensureObjectFolders(dataDir);
    // Start the side thread now: booting a worker takes tens of milliseconds, which the
    // first instance received would otherwise wait for.
    SideThread.shared();
    this.statements = prepareStatements(db);
    const pathOfSha = db.prepare('SELECT path FROM instances WHERE sha256 = ? LIMIT 1');
    recoverPendingObjects(
      dataDir,
      (sha256) => (pathOfSha.get(sha256) as { path: string } | undefined)?.path,
    );
  }

  /** Opens the store in dataDir, creating the database and folders as needed. */
  static open(dataDir: string): InstanceStore {
    return new InstanceStore(dataDir, openNodeDatabase(dataDir), true);
  }

  /** A store over an already open node database (shared with the job queue). */
  static onDatabase(dataDir: string, db: NodeDatabase): InstanceStore {
    return new InstanceStore(dataDir, db, false);
  }

  /**
   * Keeps a DICOM Part 10 file. Throws RadiolensError: E_NOT_DICOM / E_MALFORMED_DICOM /
   * E_TRUNCATED when the bytes are not a readable instance, E_BAD_INPUT when an identifying
   * UID is missing, E_STORE when the disk or database fails. Nothing is indexed on failure,
   * with one exception: if the object's folder fsync fails after the index row committed, the
   * row stays (the bytes are durable, and recoverPendingObjects covers a lost name) and the
   * error is still thrown, so the sender resends and gets `duplicate`.
   */
  async storeInstance(bytes: Uint8Array, from: ReceivedFrom): Promise<StoreResult> {
    const instance = readInstanceIdentity(bytes, from.source);
    for (const [name, uid] of [
      ['SOP Instance UID', instance.sopInstanceUid],
      ['Study Instance UID', instance.studyInstanceUid],
      ['Series Instance UID', instance.seriesInstanceUid],
      ['SOP Class UID', instance.sopClassUid],
    ] as const) {
      if (uid === '') {
        throw new RadiolensError(
          'E_BAD_INPUT',
          `${from.source} has no ${name}; an instance without it cannot be stored — fix the sender`,
          { subject: from.source },
        );
      }
    }
    for (const [name, expected, actual] of [
      ['SOP Instance UID', from.expectedSopInstanceUid, instance.sopInstanceUid],
      ['SOP Class UID', from.expectedSopClassUid, instance.sopClassUid],
    ] as const) {
      if (expected !== undefined && expected !== actual) {
        throw new RadiolensError(
          'E_BAD_INPUT',
          `${from.source} announced ${name} ${expected} but its dataset has ${actual} — fix the sender`,
          { subject: from.source },
        );
      }
    }
    const receivedAt = from.receivedAt ?? Date.now();
    const { findSame, touch, latestVersion, insert, anyVersion } = this.statements;
    const cannotWrite = (cause: unknown): RadiolensError =>
      new RadiolensError(
        'E_STORE',
        `cannot write ${from.source} into ${this.dataDir}: ${(cause as Error).message} — check free space and permissions`,
        { subject: from.source, cause },
      );

    // A SOP Instance seen before may be a resend: hash first, and write nothing for a
    // duplicate. A new one (the usual case) is written while the side thread hashes it.
    const seenBefore = anyVersion.get(instance.sopInstanceUid) !== undefined;
    let sha256: string;
    let pending: string | undefined;
    if (seenBefore) {
      sha256 = sha256Hex(bytes);
    } else {
      const hashing = SideThread.shared().startSha256(bytes);
      try {
        pending = writePendingObject(this.dataDir, bytes);
      } catch (cause) {
        throw cannotWrite(cause);
      } finally {
        sha256 = hashing.join();
      }
    }

    const known = findSame.get(instance.sopInstanceUid, sha256) as InstanceRow | undefined;
    if (known !== undefined) {
      // A duplicate is only a duplicate while its object is still on disk: an object deleted
      // or cut short (by an operator, a failed disk, a restore) is written again from the
      // resent bytes. The size is the cheap check; a sha256 of every resend would not be.
      const onDisk = statSync(join(this.dataDir, known.path), { throwIfNoEntry: false });
      const restore = onDisk === undefined || onDisk.size !== known.size;
      if (restore) {
        try {
          pending ??= writePendingObject(this.dataDir, bytes);
          renameSync(pending, join(this.dataDir, known.path));
          fsyncPath(dirname(join(this.dataDir, known.path)));
        } catch (cause) {
          if (pending !== undefined) discardPendingObject(pending);
          throw cannotWrite(cause);
        }
      } else if (pending !== undefined) discardPendingObject(pending);
      touch.run(receivedAt, known.id);
      this.arrived(instance.studyInstanceUid);
      return {
        outcome: restore ? 'restored' : 'duplicate',
        instance: toRecord({
          ...known,
          last_received_at: Math.max(known.last_received_at, receivedAt),
        }),
      };
    }

    let path: string;
    let nameDurable: SideJob<void> | undefined;
    try {
      pending ??= writePendingObject(this.dataDir, bytes);
      const committed = commitPendingObject(this.dataDir, pending, sha256, bytes.byteLength);
      path = committed.path;
      // The folder fsync runs beside the index commit; both finish before we resolve.
      if (committed.renamedInto !== undefined)
        nameDurable = SideThread.shared().startFsync(committed.renamedInto);
    } catch (cause) {
      if (pending !== undefined) discardPendingObject(pending);
      throw cannotWrite(cause);
    }

    const index = this.db.transaction((): StoreResult => {
      // Re-check inside the write transaction: another process may have stored it meanwhile.
      const again = findSame.get(instance.sopInstanceUid, sha256) as InstanceRow | undefined;
      if (again !== undefined) return { outcome: 'duplicate', instance: toRecord(again) };
      const previous = latestVersion.get(instance.sopInstanceUid) as { v: number | null };
      const version = (previous.v ?? 0) + 1;
      const row: Omit<InstanceRow, 'id'> = {
        patient_id: instance.patientId,
        study_instance_uid: instance.studyInstanceUid,
        series_instance_uid: instance.seriesInstanceUid,
        sop_instance_uid: instance.sopInstanceUid,
        version,
        sop_class_uid: instance.sopClassUid,
        transfer_syntax_uid: instance.transferSyntaxUid,
        modality: instance.modality,
        body_part_examined: instance.bodyPartExamined,
        view_position: instance.viewPosition,
        calling_ae_title: from.callingAeTitle ?? '',
        received_at: receivedAt,
        last_received_at: receivedAt,
        sha256,
        size: bytes.byteLength,
        path,
      };
      const result = insert.run(row);
      return {
        outcome: version === 1 ? 'stored' : 'new-version',
        instance: toRecord({ ...row, id: Number(result.lastInsertRowid) }),
      };
    });
    let result: StoreResult;
    try {
      result = index.immediate();
    } catch (cause) {
      if (isRadiolensError(cause)) throw cause;
      throw new RadiolensError(
        'E_STORE',
        `cannot index ${from.source}: ${(cause as Error).message} — check the database in ${this.dataDir}`,
        { subject: from.source, cause },
      );
    }
    try {
      nameDurable?.join();
    } catch (cause) {
      throw cannotWrite(cause);
    }
    this.arrived(instance.studyInstanceUid);
    return result;
  }

  /**
   * Calls `listener` with the study of each instance indexed from now on (a resend that only
   * touched its receipt time included), after its index commit. An ingest node of a cluster
   * reports the parts of studies arriving at it (ADR 0192). Returns the unsubscribe.
   */
  onArrival(listener: (studyInstanceUid: string) => void): () => void {
    this.arrivalListeners.push(listener);
    return () => {
      const at = this.arrivalListeners.indexOf(listener);
      if (at >= 0) this.arrivalListeners.splice(at, 1);
    };
  }

  private arrived(studyInstanceUid: string): void {
    for (const listener of this.arrivalListeners) listener(studyInstanceUid);
  }

  /** The latest version of an instance, or undefined. */
  findInstance(sopInstanceUid: string): InstanceRecord | undefined {
    const row = this.db
      .prepare('SELECT * FROM instances WHERE sop_instance_uid = ? ORDER BY version DESC LIMIT 1')
      .get(sopInstanceUid) as InstanceRow | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  /** An index row by its id (any version), or undefined. */
  findInstanceById(id: number): InstanceRecord | undefined {
    const row = this.db.prepare('SELECT * FROM instances WHERE id = ?').get(id) as
      InstanceRow | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  /** Every version of an instance, oldest first. */
  instanceVersions(sopInstanceUid: string): InstanceRecord[] {
    const rows = this.db
      .prepare('SELECT * FROM instances WHERE sop_instance_uid = ? ORDER BY version')
      .all(sopInstanceUid) as InstanceRow[];
    return rows.map(toRecord);
  }

  /**
   * Keeps one of the node's own results (an SR, SC or Parametric Map an analysis wrote) so
   * that DICOMweb serves it beside the study's originals (ADR 0195). It is marked as a result
   * before it is indexed: the stability timer never sees it arrive (the study is not analysed
   * again because of its own results) and studyInstances() never hands it to an analysis.
   */
  async storeResult(
    bytes: Uint8Array,
    from: { source: string; jobId: number },
  ): Promise<StoreResult> {
    const identity = readInstanceIdentity(bytes, from.source);
    this.db
      .prepare(
        'INSERT OR IGNORE INTO result_instances (sop_instance_uid, job_id, stored_at) VALUES (?, ?, ?)',
      )
      .run(identity.sopInstanceUid, from.jobId, Date.now());
    return this.storeInstance(bytes, { source: from.source });
  }

  /** The latest version of each instance of a study (not the node's own results), in series then receipt order. */
  studyInstances(studyInstanceUid: string): InstanceRecord[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM instances i WHERE study_instance_uid = ? AND version =
           (SELECT MAX(version) FROM instances j WHERE j.sop_instance_uid = i.sop_instance_uid)
           AND ${NOT_A_RESULT}
         ORDER BY series_instance_uid, received_at, id`,
      )
      .all(studyInstanceUid) as InstanceRow[];
    return rows.map(toRecord);
  }

  studies(): StudySummary[] {
    const rows = this.db
      .prepare(
        `SELECT study_instance_uid AS s, COUNT(DISTINCT sop_instance_uid) AS n,
           MAX(last_received_at) AS t FROM instances GROUP BY study_instance_uid ORDER BY t`,
      )
      .all() as { s: string; n: number; t: number }[];
    return rows.map((r) => ({ studyInstanceUid: r.s, instanceCount: r.n, lastReceivedAt: r.t }));
  }

  /** The stored bytes of an instance, exactly as received. */
  async readInstanceBytes(record: InstanceRecord): Promise<Uint8Array> {
    const path = join(this.dataDir, record.path);
    try {
      return await readFile(path);
    } catch (cause) {
      throw new RadiolensError(
        'E_STORE',
        `stored object ${path} for ${record.sopInstanceUid} cannot be read: ${(cause as Error).message} — restore the data directory from backup`,
        { subject: path, cause },
      );
    }
  }

  close(): void {
    if (this.ownsDatabase) this.db.close();
  }
}
