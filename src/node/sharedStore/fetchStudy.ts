/**
 * Worker side of the shared store (ADR 0187): a job's study read by WADO-RS (the whole study,
 * multipart/related application/dicom, the instances as the store holds them) into a private
 * temporary folder, where the analysis reads them exactly as it reads a node's own files. The
 * folder goes when the job is over, whatever its outcome.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  RadiolensError,
  describeError,
  diskFull,
  isRadiolensError,
} from '../../foundation/core/index.js';
import { readInstanceIdentity } from '../../foundation/dicom/index.js';
import { retrieveStudyWado } from '../pull/index.js';
import { sharedStoreHeaders, type SharedStore } from './sharedStore.js';

export interface FetchedStudy {
  /** The study's files in the temporary folder, one per instance the job names. */
  readonly files: readonly string[];
  /** Removes the folder; safe to call twice. */
  remove(): Promise<void>;
}

function diskFullError(parent: string, cause: unknown): RadiolensError {
  return new RadiolensError(
    'E_DISK_FULL',
    `no room on this host's disk for the study (${parent}) — the job runs again later without using up an attempt; free space there or point $TMPDIR at a larger disk`,
    { cause },
  );
}

/**
 * Retrieves the instances `sopInstanceUids` of the study (all of them when the list is
 * empty). Throws E_STUDY_NOT_FOUND when the store has no such study or none of those
 * instances — retrying cannot help; E_STORE_UNREACHABLE when the store cannot be reached or
 * answers with an error — the job runs again later without using up an attempt; E_PEER when
 * some named instances are missing; E_DISK_FULL when this host's temporary folder has no room
 * for the study (not the store's fault, nor the study's: retried without using up an attempt).
 */
export async function fetchStudy(
  store: SharedStore,
  studyInstanceUid: string,
  sopInstanceUids: readonly string[],
  options: { readonly parentDir?: string; readonly timeoutMs?: number } = {},
): Promise<FetchedStudy> {
  // mkdtemp makes the folder 0700: patient data, readable by this user only.
  const parent = options.parentDir ?? tmpdir();
  const dir = await mkdtemp(join(parent, 'radiolens-job-')).catch((error: unknown) => {
    throw diskFull(error) ? diskFullError(parent, error) : error;
  });
  const remove = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    const wanted = new Set(sopInstanceUids);
    const files: string[] = [];
    const found = new Set<string>();
    try {
      await retrieveStudyWado(store.baseUrl, studyInstanceUid, {
        spoolDir: dir,
        headers: sharedStoreHeaders(store),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        onInstance: async (bytes, part) => {
          if (wanted.size > 0) {
            const uid = readInstanceIdentity(bytes, `WADO-RS part ${part}`).sopInstanceUid;
            // Results sent back into the study, or instances that came later: not this job's.
            if (!wanted.has(uid) || found.has(uid)) return;
            found.add(uid);
          }
          const file = join(dir, `${String(part).padStart(6, '0')}.dcm`);
          await writeFile(file, bytes, { mode: 0o600 });
          files.push(file);
        },
      });
    } catch (error) {
      // Checked first: a spool write that ran out of room reads as a dropped connection (E_PEER).
      if (diskFull(error)) throw diskFullError(parent, error);
      if (isRadiolensError(error) && error.code === 'E_PEER') {
        throw new RadiolensError(
          'E_STORE_UNREACHABLE',
          `the shared DICOM store cannot give the study: ${describeError(error).replace(/^E_PEER: /, '')} — the job runs again later; check that the store (Orthanc) is up`,
          { cause: error },
        );
      }
      throw error;
    }
    if (files.length === 0) {
      throw new RadiolensError(
        'E_STUDY_NOT_FOUND',
        `the shared DICOM store ${store.baseUrl} has ${wanted.size > 0 ? 'none of the job’s instances of the study' : 'no instance of the study'} — it was removed from the store after it was enqueued; send the study again to analyse it`,
      );
    }
    if (found.size < wanted.size) {
      throw new RadiolensError(
        'E_PEER',
        `the shared DICOM store ${store.baseUrl} gave ${found.size} of the job’s ${wanted.size} instances of the study`,
      );
    }
    return { files, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
