/**
 * One DIMSE association as a requestor, on dcmjs-dimse's Network (ADR 0105). We do not use
 * its Client because the Client (a) parses every received C-STORE dataset with dcmjs, so the
 * original bytes are lost, and (b) cannot set the SCP role on the storage contexts we choose.
 * Here the contexts are exactly the caller's, C-STORE sub-operations arrive as raw dataset
 * bytes, and every way the peer can fail (refused connection, rejected association, abort,
 * dropped connection, timeout) becomes one RadiolensError.
 */
import { connect, type Socket } from 'node:net';
import type { Writable } from 'node:stream';
import dcmjsDimse from 'dcmjs-dimse';
import {
  keepReceivedPart10,
  receivePart10,
  receivedPart10,
  silenceDimseLog,
} from '../../foundation/dimse/index.js';
import { RadiolensError, describeError } from '../../foundation/core/index.js';
import type { DicomPeer } from './source.js';

const { Scp, association: dimseAssociation, responses } = dcmjsDimse;
type DimseDataset = dcmjsDimse.Dataset;
type DimseRequest = dcmjsDimse.requests.Request;
type DimseCStoreRequest = dcmjsDimse.requests.CStoreRequest;
type DimseCStoreResponse = dcmjsDimse.responses.CStoreResponse;
type DimsePresentationContext = dcmjsDimse.association.PresentationContext;
type DimseAssociation = dcmjsDimse.association.Association;

/**
 * dcmjs-dimse does not export its Network class, but Scp extends it: its prototype is the
 * requestor-capable base with sendAssociationRequest / sendRequests.
 */
const Network = Object.getPrototypeOf(Scp) as new (
  socket: Socket,
  opts?: { associationTimeout?: number; pduTimeout?: number },
) => InstanceType<typeof Scp>;

export interface ProposedContext {
  readonly abstractSyntaxUid: string;
  readonly transferSyntaxUids: readonly string[];
  /** Propose to act as SCP for it (C-STORE sub-operations of a C-GET, PS3.7 D.3.3.4). */
  readonly scpRole?: boolean;
}

/**
 * A C-STORE sub-operation: the dataset exactly as it came off the wire, behind a File Meta
 * Information built from the request (part10Receiver.ts, ADR 0095).
 */
export interface ReceivedInstance {
  readonly file: Uint8Array;
}

export interface AssociationPlan {
  readonly peer: DicomPeer;
  readonly callingAeTitle: string;
  readonly contexts: readonly ProposedContext[];
  readonly request: DimseRequest;
  /**
   * Handles a C-STORE sub-operation; resolves to the status to answer (0x0000 success).
   * Without it, every C-STORE is refused.
   */
  readonly onStore?: (received: ReceivedInstance) => Promise<number>;
  /** No PDU for this long ends the association with an error; default 60 s. */
  readonly timeoutMs?: number;
}

const STATUS_REFUSED_NOT_AUTHORIZED = 0x0124;
const STATUS_PROCESSING_FAILURE = 0x0110;

class RawDatasetNetwork extends Network {
  /** Keep the received dataset as bytes (see the header comment), as our SCP does. */
  override createStoreWritableStream(
    acceptedPresentationContext: DimsePresentationContext,
    request: DimseCStoreRequest,
  ): Writable {
    return receivePart10(acceptedPresentationContext, request);
  }

  override createDatasetFromStoreWritableStream(
    writable: Writable,
    acceptedPresentationContext: DimsePresentationContext,
    callback: (dataset: DimseDataset) => void,
  ): void {
    keepReceivedPart10(writable, acceptedPresentationContext, callback);
  }
}

function peerError(peer: DicomPeer, what: string, cause?: unknown): RadiolensError {
  return new RadiolensError(
    'E_PEER',
    `DICOM peer ${peer.aeTitle}@${peer.host}:${peer.port} ${what}`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Connects, negotiates the contexts, sends the request, answers C-STORE sub-operations and
 * releases. Resolves once the request completed and the association was released; rejects
 * with E_PEER otherwise. The request's own 'response' events tell the caller the outcome.
 */
export function runAssociation(plan: AssociationPlan): Promise<void> {
  silenceDimseLog();
  const { peer } = plan;
  const association = new dimseAssociation.Association(plan.callingAeTitle, peer.aeTitle);
  for (const proposed of plan.contexts) {
    const id = association.addPresentationContext(proposed.abstractSyntaxUid);
    for (const uid of proposed.transferSyntaxUids) {
      association.addTransferSyntaxToPresentationContext(id, uid);
    }
    if (proposed.scpRole === true) {
      const context = association.getPresentationContext(id);
      context.setUserRole(false);
      context.setProviderRole(true);
    }
  }

  return new Promise<void>((resolve, reject) => {
    const timeoutMs = plan.timeoutMs ?? 60_000;
    // No Nagle: every request PDU is a whole message the peer waits for (see storageScp.ts).
    const socket = connect({ host: peer.host, port: peer.port, noDelay: true });
    const network = new RawDatasetNetwork(socket, {
      associationTimeout: timeoutMs,
      pduTimeout: timeoutMs,
    });
    let done = false;
    let settled = false;
    const pendingStores = new Set<Promise<unknown>>();
    const fail = (error: RadiolensError): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(error);
    };

    network.on('connect', () => network.sendAssociationRequest(association));
    network.on('associationAccepted', (accepted: DimseAssociation) => {
      // The first context is the query/retrieve service the request needs.
      const first = accepted.getPresentationContexts()[0];
      const context = first === undefined ? undefined : accepted.getPresentationContext(first.id);
      if (context?.getResult() !== dcmjsDimse.constants.PresentationContextResult.Accept) {
        fail(
          peerError(
            peer,
            `does not support ${plan.contexts[0]?.abstractSyntaxUid ?? 'the service'} for calling AE ${plan.callingAeTitle}: ${context?.getResultDescription() ?? 'no presentation context accepted'}`,
          ),
        );
        return;
      }
      network.sendRequests([plan.request]);
    });
    network.on('associationRejected', (rejection: { toString(): string }) =>
      fail(
        peerError(
          peer,
          `rejected the association from calling AE ${plan.callingAeTitle} (${rejection.toString()}) — ask its administrator to add ${plan.callingAeTitle} as a known modality`,
        ),
      ),
    );
    network.on(
      'cStoreRequest',
      (request: DimseCStoreRequest, callback: (response: DimseCStoreResponse) => void) => {
        const storing = answerStore(plan, request).then(callback, () => undefined);
        pendingStores.add(storing);
        void storing.finally(() => pendingStores.delete(storing));
      },
    );
    network.on('done', () => {
      done = true;
      // Every sub-operation answered first, then release.
      void Promise.allSettled([...pendingStores]).then(() =>
        network.sendAssociationReleaseRequest(),
      );
    });
    network.on('associationReleaseResponse', () => {
      socket.end();
      if (!settled) {
        settled = true;
        resolve();
      }
    });
    network.on('abort', () =>
      fail(
        peerError(
          peer,
          `aborted the association with calling AE ${plan.callingAeTitle} before the request completed — ` +
            `a PACS usually does this when it does not know the calling AE title: ask its administrator to add ${plan.callingAeTitle} (C-FIND and C-GET allowed)`,
        ),
      ),
    );
    network.on('networkError', (cause: unknown) =>
      fail(
        peerError(
          peer,
          `cannot be reached or dropped the connection: ${describeError(cause)}`,
          cause,
        ),
      ),
    );
    network.on('close', () => {
      if (done) {
        // A peer that closes instead of answering the release still completed the request.
        if (!settled) {
          settled = true;
          resolve();
        }
        return;
      }
      fail(peerError(peer, 'closed the connection before the request completed'));
    });
  });
}

async function answerStore(
  plan: AssociationPlan,
  request: DimseCStoreRequest,
): Promise<DimseCStoreResponse> {
  const response = responses.CStoreResponse.fromRequest(request);
  const file = receivedPart10(request.getDataset());
  if (plan.onStore === undefined || file === undefined) {
    response.setStatus(STATUS_REFUSED_NOT_AUTHORIZED);
    return response;
  }
  try {
    response.setStatus(await plan.onStore({ file }));
  } catch (error) {
    response.setStatus(STATUS_PROCESSING_FAILURE);
    response.setErrorComment(describeError(error).slice(0, 64));
  }
  return response;
}
