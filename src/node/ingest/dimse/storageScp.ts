/**
 * DicomStorageScp: a DIMSE service class provider for Verification (C-ECHO) and Storage
 * (C-STORE) over dcmjs-dimse (ADR 0094). A C-STORE is answered "success" only after
 * InstanceStore.storeInstance resolved, i.e. the bytes and their index row are durable; any
 * failure is answered with a failure status and leaves nothing indexed. An association
 * aborted mid-transfer never reaches the store: the dataset is handed over only when its
 * last fragment has arrived.
 */
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Writable } from 'node:stream';
import dcmjsDimse from 'dcmjs-dimse';
import { RadiolensError, describeError, isRadiolensError } from '../../../foundation/core/index.js';
import type { InstanceStore, StoreOutcome } from '../../store/index.js';
import {
  assertAeTitle,
  decidePresentationContext,
  isCallerAllowed,
  keepReceivedPart10,
  receivePart10,
  receivedPart10,
  silenceDimseLog,
  useDirectCommandDecoding,
  validateCallerPolicy,
  withDirectCommandEncoding,
  type CallerPolicy,
} from '../../../foundation/dimse/index.js';

const { Scp, constants, responses } = dcmjsDimse;
const { PresentationContextResult, RejectResult, RejectSource, RejectReason, Status } = constants;
type DimseAssociation = dcmjsDimse.association.Association;
type DimsePresentationContext = dcmjsDimse.association.PresentationContext;
type DimseDataset = dcmjsDimse.Dataset;
type DimseCStoreRequest = dcmjsDimse.requests.CStoreRequest;
type DimseCEchoRequest = dcmjsDimse.requests.CEchoRequest;
type DimseCStoreResponse = dcmjsDimse.responses.CStoreResponse;
type DimseCEchoResponse = dcmjsDimse.responses.CEchoResponse;

/** C-STORE failure statuses (PS3.4 B.2.3). */
export const STATUS_OUT_OF_RESOURCES = 0xa700;
export const STATUS_CANNOT_UNDERSTAND = 0xc000;

export interface StorageScpOptions {
  /** Our AE title; associations calling another title are rejected. */
  readonly aeTitle: string;
  /** TCP port; 0 picks a free one (read it back from `port`). */
  readonly port: number;
  /** Interface to listen on; default 0.0.0.0. Tests use 127.0.0.1. */
  readonly host?: string;
  readonly allowedCallers: CallerPolicy;
  /** Structured events for logs and metrics; carry no patient data. */
  readonly onEvent?: (event: ScpEvent) => void;
}

export type ScpEvent =
  | { type: 'association-accepted'; callingAeTitle: string; address: string }
  | {
      type: 'association-rejected';
      callingAeTitle: string;
      calledAeTitle: string;
      address: string;
      reason: 'calling-ae-not-allowed' | 'called-ae-unknown';
    }
  | { type: 'association-aborted'; callingAeTitle: string; address: string }
  | { type: 'echo'; callingAeTitle: string }
  | { type: 'stored'; callingAeTitle: string; outcome: StoreOutcome; sha256: string; size: number }
  | { type: 'store-failed'; callingAeTitle: string; status: number; error: string };

/** What each connection's Scp needs; passed through dcmjs-dimse's customOptions. */
interface ScpContext {
  readonly store: InstanceStore;
  readonly options: StorageScpOptions;
  /** C-STOREs being written, so that stop() can let them finish. */
  readonly inFlight: Set<Promise<unknown>>;
}

/** Status for a failed storeInstance: unreadable data vs. our own trouble (disk, database). */
export function failureStatus(error: unknown): number {
  if (isRadiolensError(error)) {
    switch (error.code) {
      case 'E_NOT_DICOM':
      case 'E_TRUNCATED':
      case 'E_MALFORMED_DICOM':
      case 'E_BAD_INPUT':
      case 'E_UNSUPPORTED_TRANSFER_SYNTAX':
        return STATUS_CANNOT_UNDERSTAND;
      default:
        return STATUS_OUT_OF_RESOURCES;
    }
  }
  return STATUS_OUT_OF_RESOURCES;
}

class RadiolensStorageScp extends Scp {
  private readonly context: ScpContext;
  private readonly address: string;
  private callingAeTitle = '';

  constructor(socket: Socket, opts: { customOptions?: Record<string, unknown> }) {
    super(socket, opts);
    this.context = opts.customOptions?.['radiolens'] as ScpContext;
    this.address = socket.remoteAddress ?? '';
  }

  override associationRequested(association: DimseAssociation): void {
    const { options } = this.context;
    const calling = association.getCallingAeTitle().trim();
    const called = association.getCalledAeTitle().trim();
    this.callingAeTitle = calling;
    if (called !== options.aeTitle.trim()) {
      options.onEvent?.({
        type: 'association-rejected',
        callingAeTitle: calling,
        calledAeTitle: called,
        address: this.address,
        reason: 'called-ae-unknown',
      });
      this.sendAssociationReject(
        RejectResult.Permanent,
        RejectSource.ServiceUser,
        RejectReason.CalledAeNotRecognized,
      );
      return;
    }
    if (!isCallerAllowed(options.allowedCallers, calling, this.address)) {
      options.onEvent?.({
        type: 'association-rejected',
        callingAeTitle: calling,
        calledAeTitle: called,
        address: this.address,
        reason: 'calling-ae-not-allowed',
      });
      this.sendAssociationReject(
        RejectResult.Permanent,
        RejectSource.ServiceUser,
        RejectReason.CallingAeNotRecognized,
      );
      return;
    }
    for (const { id } of association.getPresentationContexts()) {
      const context = association.getPresentationContext(id);
      const decision = decidePresentationContext(
        context.getAbstractSyntaxUid(),
        context.getTransferSyntaxUids(),
      );
      if (decision.accept) {
        context.setResult(PresentationContextResult.Accept, decision.transferSyntaxUid);
      } else {
        context.setResult(
          decision.reason === 'abstract-syntax'
            ? PresentationContextResult.RejectAbstractSyntaxNotSupported
            : PresentationContextResult.RejectTransferSyntaxesNotSupported,
        );
      }
    }
    options.onEvent?.({
      type: 'association-accepted',
      callingAeTitle: calling,
      address: this.address,
    });
    this.sendAssociationAccept();
  }

  override associationReleaseRequested(): void {
    this.sendAssociationReleaseResponse();
  }

  override abort(): void {
    this.context.options.onEvent?.({
      type: 'association-aborted',
      callingAeTitle: this.callingAeTitle,
      address: this.address,
    });
  }

  override cEchoRequest(
    request: DimseCEchoRequest,
    callback: (response: DimseCEchoResponse) => void,
  ): void {
    const response = responses.CEchoResponse.fromRequest(request);
    response.setStatus(Status.Success);
    this.context.options.onEvent?.({ type: 'echo', callingAeTitle: this.callingAeTitle });
    callback(withDirectCommandEncoding(response));
  }

  /**
   * Keep the dataset as the bytes received, behind its File Meta Information
   * (part10Receiver.ts); the default would parse it with dcmjs (slow, and not what we store).
   */
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

  override cStoreRequest(
    request: DimseCStoreRequest,
    callback: (response: DimseCStoreResponse) => void,
  ): void {
    // The sender waits for the response, not for our log line: answer first.
    const storing = this.store(request).then(({ response, event }) => {
      callback(withDirectCommandEncoding(response));
      this.context.options.onEvent?.(event);
    });
    this.context.inFlight.add(storing);
    void storing.finally(() => this.context.inFlight.delete(storing));
  }

  private async store(
    request: DimseCStoreRequest,
  ): Promise<{ response: DimseCStoreResponse; event: ScpEvent }> {
    const { store } = this.context;
    const response = responses.CStoreResponse.fromRequest(request);
    try {
      const file = receivedPart10(request.getDataset());
      if (file === undefined) {
        throw new RadiolensError('E_BAD_INPUT', 'C-STORE request without a dataset');
      }
      const result = await store.storeInstance(file, {
        source: `C-STORE from ${this.callingAeTitle}@${this.address}`,
        callingAeTitle: this.callingAeTitle,
        expectedSopInstanceUid: request.getAffectedSopInstanceUid(),
        expectedSopClassUid: request.getAffectedSopClassUid(),
      });
      response.setStatus(Status.Success);
      return {
        response,
        event: {
          type: 'stored',
          callingAeTitle: this.callingAeTitle,
          outcome: result.outcome,
          sha256: result.instance.sha256,
          size: result.instance.size,
        },
      };
    } catch (error) {
      const status = failureStatus(error);
      response.setStatus(status);
      // Error Comment (0000,0902) is LO: at most 64 characters.
      response.setErrorComment(describeError(error).slice(0, 64));
      return {
        response,
        event: {
          type: 'store-failed',
          callingAeTitle: this.callingAeTitle,
          status,
          error: isRadiolensError(error) ? error.code : 'E_UNEXPECTED',
        },
      };
    }
  }
}

export class DicomStorageScp {
  private constructor(
    private readonly server: NetServer,
    private readonly sockets: Set<Socket>,
    private readonly inFlight: Set<Promise<unknown>>,
    readonly port: number,
    readonly aeTitle: string,
  ) {}

  /**
   * Validates the options and listens. Throws RadiolensError E_DIMSE_CONFIG for a bad AE
   * title or allow-list, E_IO when the port cannot be bound.
   */
  static async start(store: InstanceStore, options: StorageScpOptions): Promise<DicomStorageScp> {
    assertAeTitle(options.aeTitle, 'AE title');
    validateCallerPolicy(options.allowedCallers);
    // dcmjs-dimse logs every PDU at info level and datasets on request; we log our own events.
    silenceDimseLog();
    useDirectCommandDecoding();
    const context: ScpContext = { store, options, inFlight: new Set() };
    const scpOptions = { customOptions: { radiolens: context } };
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      // Each PDU we write is a whole message the peer waits for: Nagle's algorithm would hold a
      // C-STORE-RSP back until the peer's delayed ACK (~40 ms per instance).
      socket.setNoDelay(true);
      const scp = new RadiolensStorageScp(socket, scpOptions);
      // A peer that vanishes is its own problem; do not let it crash the node.
      scp.on('networkError', () => socket.destroy());
    });
    const host = options.host ?? '0.0.0.0';
    await new Promise<void>((resolve, reject) => {
      server.once('error', (cause) =>
        reject(
          new RadiolensError(
            'E_IO',
            `cannot listen for DICOM on ${host}:${options.port}: ${cause.message} — choose another --dicom-port or stop the program using it`,
            { cause },
          ),
        ),
      );
      server.listen(options.port, host, () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : options.port;
    return new DicomStorageScp(server, sockets, context.inFlight, port, options.aeTitle);
  }

  /**
   * Graceful stop: no new associations, C-STOREs being written finish and are answered
   * (up to graceMs), then open associations are dropped; their senders retry what was not
   * acknowledged.
   */
  async stop(graceMs = 10_000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((r) => setTimeout(r, graceMs).unref()),
    ]);
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}
