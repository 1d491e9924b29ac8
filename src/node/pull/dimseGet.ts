/**
 * C-GET, Study Root, STUDY level (PS3.4 C.4.3): the peer sends every instance back as C-STORE
 * sub-operations on the same association, so no inbound port and no AE title → host mapping
 * on the peer are needed beyond knowing our calling AE (ADR 0105). Storage contexts are
 * proposed with the SCP role, one per (SOP class, transfer syntax), so the peer can send each
 * instance in the syntax it holds it in instead of transcoding it.
 */
import dcmjsDimse from 'dcmjs-dimse';
import { RadiolensError } from '../../foundation/core/index.js';
import { STORAGE_TRANSFER_SYNTAXES } from '../../foundation/dimse/index.js';
import {
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
} from '../../foundation/dicom/index.js';
import { runAssociation, type ProposedContext, type ReceivedInstance } from './dimseAssociation.js';
import type { DicomPeer } from './source.js';

const { CGetRequest } = dcmjsDimse.requests;
const { Status, StorageClass } = dcmjsDimse.constants;

export const STUDY_ROOT_GET = '1.2.840.10008.5.1.4.1.2.2.3';
const NATIVE_SYNTAXES = [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN];
/** PS3.8 9.3.2.2: presentation context IDs are odd numbers 1–255. */
const MAX_CONTEXTS = 128;

export interface GetOutcome {
  readonly completed: number;
  readonly failed: number;
  readonly warnings: number;
}

/**
 * The storage contexts to propose: for the SOP classes the C-FIND reported, each transfer
 * syntax in its own context (the peer accepts the ones it can send unchanged); when the peer
 * did not say, every storage SOP class dcmjs-dimse knows in the native syntaxes only, as
 * 128 contexts cannot hold every class in every syntax.
 */
export function storageContextsFor(sopClassUids: readonly string[]): ProposedContext[] {
  const syntaxes = [...new Set([...NATIVE_SYNTAXES, ...STORAGE_TRANSFER_SYNTAXES])];
  const specific = sopClassUids.flatMap((abstractSyntaxUid) =>
    syntaxes.map((uid) => ({ abstractSyntaxUid, transferSyntaxUids: [uid], scpRole: true })),
  );
  if (sopClassUids.length > 0 && specific.length < MAX_CONTEXTS) return specific;
  return Object.values(StorageClass as Record<string, string>)
    .slice(0, MAX_CONTEXTS - 1)
    .map((abstractSyntaxUid) => ({
      abstractSyntaxUid,
      transferSyntaxUids: NATIVE_SYNTAXES,
      scpRole: true,
    }));
}

/**
 * Retrieves one study. `onInstance` is called for each C-STORE sub-operation with the
 * instance as received; if it throws, that sub-operation is answered as failed. Throws E_PEER
 * when the peer fails the C-GET or any sub-operation failed.
 */
export async function getStudyDimse(
  peer: DicomPeer,
  callingAeTitle: string,
  studyInstanceUid: string,
  sopClassUids: readonly string[],
  onInstance: (received: ReceivedInstance) => Promise<void>,
  options: { timeoutMs?: number } = {},
): Promise<GetOutcome> {
  const request = CGetRequest.createStudyGetRequest(studyInstanceUid);
  request.setAddStorageSopClassesToAssociation(false);
  let final: { status: number; comment: string } & GetOutcome = {
    status: -1,
    comment: '',
    completed: 0,
    failed: 0,
    warnings: 0,
  };
  let refusedLocally = 0;
  request.on('response', (response: dcmjsDimse.responses.CGetResponse) => {
    const status = response.getStatus();
    if (status === Status.Pending) return;
    final = {
      status,
      comment: response.getErrorComment() ?? '',
      completed: response.getCompleted() ?? 0,
      failed: response.getFailures() ?? 0,
      warnings: response.getWarnings() ?? 0,
    };
  });
  await runAssociation({
    peer,
    callingAeTitle,
    contexts: [
      { abstractSyntaxUid: STUDY_ROOT_GET, transferSyntaxUids: NATIVE_SYNTAXES },
      ...storageContextsFor(sopClassUids),
    ],
    request,
    onStore: async (received) => {
      try {
        await onInstance(received);
        return Status.Success;
      } catch (error) {
        refusedLocally++;
        throw error;
      }
    },
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  const where = `DICOM peer ${peer.aeTitle}@${peer.host}:${peer.port}`;
  if (final.status === -1) {
    throw new RadiolensError('E_PEER', `${where} never sent the final C-GET response`);
  }
  if (final.status !== Status.Success || final.failed > 0 || refusedLocally > 0) {
    const counts = `${final.completed} sent, ${final.failed} failed, ${final.warnings} with warnings`;
    throw new RadiolensError(
      'E_PEER',
      `${where} did not complete the C-GET (status 0x${final.status.toString(16).padStart(4, '0')}` +
        `${final.comment ? `, ${final.comment}` : ''}; ${counts}${refusedLocally > 0 ? `; ${refusedLocally} refused here as unusable` : ''}) — ` +
        'nothing was kept; check that the peer knows this calling AE title and allows C-GET, and that it holds every instance',
    );
  }
  return { completed: final.completed, failed: final.failed, warnings: final.warnings };
}
