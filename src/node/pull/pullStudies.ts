/**
 * `pullStudies`: find the study on a PACS, retrieve every instance, and only when all of them
 * arrived and were usable, commit them to a folder or the InstanceStore (ADR 0107). DIMSE:
 * C-FIND then C-GET; DICOMweb: QIDO-RS then WADO-RS.
 */
import { createHash } from 'node:crypto';
import { RadiolensError } from '../../foundation/core/index.js';
import { findStudiesDimse } from './dimseFind.js';
import { getStudyDimse } from './dimseGet.js';
import { findStudiesQido, retrieveStudyWado } from './dicomweb.js';
import { describeQuery, type StudyMatch, type StudyQuery } from './query.js';
import { pullSourceLabel, type PullSource } from './source.js';
import { RetrievalStaging, type PullDestination } from './staging.js';

export const DEFAULT_CALLING_AE_TITLE = 'RADIOLENS';

export interface PullOptions {
  readonly source: PullSource;
  readonly query: StudyQuery;
  readonly destination: PullDestination;
  /** A folder on the destination's file system for the staging area (removed afterwards). */
  readonly workDir: string;
  /** Our AE title towards a DIMSE peer; default RADIOLENS. */
  readonly callingAeTitle?: string;
  /** Silence from the peer for this long fails the pull; default 60 s (DIMSE, QIDO). */
  readonly timeoutMs?: number;
  /** Progress for logs; carries a short hash of the study UID, never the UID itself. */
  readonly onEvent?: (event: PullEvent) => void;
}

export type PullEvent =
  | { type: 'found'; studies: number }
  | { type: 'retrieved'; study: string; instances: number; ms: number }
  | { type: 'committed'; study: string; instances: number };

export interface PulledStudy {
  readonly studyInstanceUid: string;
  /** The committed files (destination folder, or the store's object files). */
  readonly files: readonly string[];
}

/** First 12 hex digits of sha256(uid): names a study in logs without the UID itself. */
export function studyLogRef(studyInstanceUid: string): string {
  return createHash('sha256').update(studyInstanceUid).digest('hex').slice(0, 12);
}

/**
 * Throws RadiolensError: E_STUDY_NOT_FOUND when the peer has no such study, E_PEER when the
 * peer cannot be reached, refuses, drops the connection or fails any instance, E_BAD_INPUT
 * when it sends something that is not a usable instance of the study. On any error nothing
 * is committed.
 */
export async function pullStudies(options: PullOptions): Promise<PulledStudy[]> {
  const { source, query } = options;
  const label = pullSourceLabel(source);
  const callingAeTitle = options.callingAeTitle ?? DEFAULT_CALLING_AE_TITLE;
  const timeouts = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };

  const matches: StudyMatch[] =
    source.kind === 'dicom'
      ? await findStudiesDimse(source, callingAeTitle, query, timeouts)
      : await findStudiesQido(source.baseUrl, query, timeouts);
  if (matches.length === 0) {
    throw new RadiolensError(
      'E_STUDY_NOT_FOUND',
      `${label} has no study matching ${describeQuery(query)} — check the identifier and that the study is on that PACS`,
    );
  }
  options.onEvent?.({ type: 'found', studies: matches.length });

  const staging = await RetrievalStaging.create(options.workDir);
  try {
    for (const match of matches) {
      const started = performance.now();
      const uid = match.studyInstanceUid;
      if (source.kind === 'dicom') {
        let n = 0;
        await getStudyDimse(
          source,
          callingAeTitle,
          uid,
          match.sopClassUids,
          async (received) => {
            n++;
            await staging.add(received.file, `instance ${n} of the C-GET from ${label}`, uid);
          },
          timeouts,
        );
      } else {
        // The answer is spooled inside the staging folder: removed with it on failure.
        await retrieveStudyWado(source.baseUrl, uid, {
          ...timeouts,
          spoolDir: staging.dir,
          onInstance: async (bytes, part) => {
            await staging.add(bytes, `part ${part} of the WADO-RS answer from ${label}`, uid);
          },
        });
      }
      const received = staging.count(uid);
      if (received === 0) {
        throw new RadiolensError(
          'E_PEER',
          `${label} found the study but sent no instances of it — check that it allows this node to retrieve`,
        );
      }
      if (match.instanceCount !== null && received < match.instanceCount) {
        throw new RadiolensError(
          'E_PEER',
          `${label} sent ${received} of the ${match.instanceCount} instances it reported for the study — nothing was kept; retry`,
        );
      }
      options.onEvent?.({
        type: 'retrieved',
        study: studyLogRef(uid),
        instances: received,
        ms: Math.round(performance.now() - started),
      });
    }
    const committed = await staging.commit(options.destination, `pulled from ${label}`);
    const pulled: PulledStudy[] = [];
    for (const [studyInstanceUid, files] of committed) {
      options.onEvent?.({
        type: 'committed',
        study: studyLogRef(studyInstanceUid),
        instances: files.length,
      });
      pulled.push({ studyInstanceUid, files });
    }
    return pulled;
  } finally {
    await staging.discard();
  }
}
