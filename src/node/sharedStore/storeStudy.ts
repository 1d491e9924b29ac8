/**
 * Ingest side of the shared store (ADR 0187): a stable study's instances go to the store by
 * STOW-RS before its jobs are enqueued, so that a job never names a study the store lacks.
 * The node's outbox sender does the talking (StowSender: failure reasons, a refused batch
 * split to find the bad part, a duplicate counted as stored); this module batches the study
 * and decides what the outcome means for the study.
 */
import { stat } from 'node:fs/promises';
import { RadiolensError } from '../../foundation/core/index.js';
import { StowSender, type DeliveryPayload } from '../delivery/index.js';
import { sharedStoreHeaders, type SharedStore } from './sharedStore.js';

export interface StudyInstanceFile {
  readonly file: string;
  readonly studyInstanceUid: string;
  readonly sopInstanceUid: string;
}

export interface StoredStudy {
  /** The instances the store holds now. */
  readonly stored: readonly string[];
  /** Instances the store refused for their content (never retried), with its reason. */
  readonly refused: readonly { readonly sopInstanceUid: string; readonly reason: string }[];
}

/** One request carries at most this much (a CT study is sent in several). */
const BATCH_BYTES = 32 * 1024 * 1024;
const BATCH_FILES = 200;

/**
 * Sends every instance; resolves once each is stored or refused for its content. Throws
 * E_STORE_UNREACHABLE when any is neither (network, HTTP 5xx, 401/403, a resource failure):
 * the caller leaves the study undeclared, and a later try sends it again — a resend is
 * harmless, since the same SOP Instance UID replaces itself on the server.
 */
export async function storeStudy(
  store: SharedStore,
  instances: readonly StudyInstanceFile[],
  options: { readonly timeoutMs?: number } = {},
): Promise<StoredStudy> {
  const sender = new StowSender({
    headers: sharedStoreHeaders(store),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  const destination = { kind: 'dicomweb' as const, baseUrl: store.baseUrl };
  const stored: string[] = [];
  const refused: { sopInstanceUid: string; reason: string }[] = [];
  for (const batch of await batches(instances)) {
    const payloads: DeliveryPayload[] = batch.map((instance) => ({ kind: 'dicom', ...instance }));
    const outcomes = await sender.send(destination, payloads);
    for (const [index, outcome] of outcomes.entries()) {
      const uid = batch[index]!.sopInstanceUid;
      if (outcome.status === 'delivered') stored.push(uid);
      else if (outcome.status === 'rejected')
        refused.push({ sopInstanceUid: uid, reason: outcome.reason });
      else {
        throw new RadiolensError(
          'E_STORE_UNREACHABLE',
          `the shared DICOM store did not take the study: ${outcome.reason} — it is sent again shortly; check that the store (Orthanc) is up and its DICOMweb plugin answers`,
        );
      }
    }
  }
  return { stored, refused };
}

async function batches(instances: readonly StudyInstanceFile[]): Promise<StudyInstanceFile[][]> {
  const out: StudyInstanceFile[][] = [];
  let current: StudyInstanceFile[] = [];
  let bytes = 0;
  for (const instance of instances) {
    // A file that cannot be stat'ed is sent anyway: the sender reports it as refused.
    const size = await stat(instance.file).then(
      (s) => s.size,
      () => 0,
    );
    if (current.length > 0 && (bytes + size > BATCH_BYTES || current.length >= BATCH_FILES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(instance);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
