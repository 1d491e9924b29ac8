/**
 * DicomStorageScp: a DIMSE service class provider for Verification (C-ECHO) and Storage
 * (C-STORE) over dcmjs-dimse (ADR 0094). A C-STORE is answered "success" only after
 * InstanceStore.storeInstance resolved, i.e. the bytes and their index row are durable; any
 * failure is answered with a failure status and leaves nothing indexed. An association
 * aborted mid-transfer never reaches the store: the dataset is handed over only when its
 * last fragment has arrived.
 *
 * Between each socket and dcmjs-dimse sits a PduGate (ADR 0122): PDU lengths, the
 * A-ASSOCIATE-RQ's structure, the number of associations and their time limits are enforced
 * there, before dcmjs-dimse buffers or trusts anything. Whatever one association throws is
 * caught at its boundary, logged with a code and ends that association only.
 */
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Writable } from 'node:stream';
import dcmjsDimse from 'dcmjs-dimse';
import {
  DicomStatus,
  RadiolensError,
  describeError,
  isRadiolensError,
  outcomeOf,
} from '../../../foundation/core/index.js';
import type { InstanceStore, StoreOutcome } from '../../store/index.js';
import {
  DEFAULT_ASSOCIATION_LIMITS,
  PduGate,
  aAbort,
  assertAeTitle,
  type AssociationLimits,
  type GateRefusal,
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

/** C-STORE failure statuses (PS3.4 B.2.3), from the one outcome map (ADR 0124). */
export const STATUS_OUT_OF_RESOURCES = DicomStatus.OUT_OF_RESOURCES;
export const STATUS_CANNOT_UNDERSTAND = DicomStatus.CANNOT_UNDERSTAND;

export interface StorageScpOptions {
  /** Our AE title; associations calling another title are rejected. */
  readonly aeTitle: string;
  /** TCP port; 0 picks a free one (read it back from `port`). */
  readonly port: number;
  /** Interface to listen on; default 0.0.0.0. Tests use 127.0.0.1. */
  readonly host?: string;
  readonly allowedCallers: CallerPolicy;
  /** PDU size, association count and time limits; DEFAULT_ASSOCIATION_LIMITS where unset. */
  readonly limits?: Partial<AssociationLimits>;
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
  | {
      /** Ended by a limit or a protocol check (PduGate); `code` says which kind. */
      type: 'association-refused';
      code: 'E_LIMIT_EXCEEDED' | 'E_DIMSE_PROTOCOL';
      reason: GateRefusal;
      detail: string;
      address: string;
      callingAeTitle: string;
    }
  | {
      /** A bug met while serving one association: that association is aborted, nothing else. */
      type: 'association-error';
      code: string;
      error: string;
      address: string;
      callingAeTitle: string;
    }
  | { type: 'echo'; callingAeTitle: string }
  | { type: 'stored'; callingAeTitle: string; outcome: StoreOutcome; sha256: string; size: number }
  | { type: 'store-failed'; callingAeTitle: string; status: number; error: string };

/** What each connection's Scp needs; passed through dcmjs-dimse's customOptions. */
interface ScpContext {
  readonly store: InstanceStore;
  readonly options: StorageScpOptions;
  /** C-STOREs being written, so that stop() can let them finish. */
  readonly inFlight: Set<Promise<unknown>>;
  readonly limits: AssociationLimits;
}

/** Status for a failed storeInstance: unreadable data vs. our own trouble (disk, database). */
export function failureStatus(error: unknown): number {
  return outcomeOf(error).dimseStatus;
}

/** Refusals that are a limit of ours rather than a broken peer. */
const LIMIT_REFUSALS: ReadonlySet<GateRefusal> = new Set<GateRefusal>([
  'pdu-too-long',
  'association-limit',
  'dataset-too-large',
  'association-request-timeout',
  'idle-timeout',
  'pdu-timeout',
]);

class RadiolensStorageScp extends Scp {
  private readonly context: ScpContext;
  readonly address: string;
  callingAeTitle = '';
  /** C-STOREs of this association being stored: our time, not the peer's idleness. */
  storing = 0;

  constructor(
    private readonly socket: Socket,
    opts: { customOptions?: Record<string, unknown> },
  ) {
    super(socket, opts);
    this.context = opts.customOptions?.['radiolens'] as ScpContext;
    this.address = socket.remoteAddress ?? '';
  }

  /**
   * The association boundary: an exception from our handling of one association (a bug, or
   * something dcmjs-dimse cannot encode) aborts that association and is logged with a code;
   * it never reaches the process (dcmjs-dimse would let it become an unhandled rejection).
   */
  guard(what: string, run: () => void): void {
    try {
      run();
    } catch (error) {
      this.failed(what, error);
    }
  }

  failed(what: string, error: unknown): void {
    this.context.options.onEvent?.({
      type: 'association-error',
      code: isRadiolensError(error) ? error.code : 'E_INTERNAL',
      error: `${what}: ${describeError(error)}`.slice(0, 300),
      address: this.address,
      callingAeTitle: this.callingAeTitle,
    });
    if (!this.socket.destroyed) this.socket.end(aAbort(0));
    this.socket.destroy();
  }

  override associationRequested(association: DimseAssociation): void {
    this.guard('association request', () => this.decideAssociation(association));
  }

  private decideAssociation(association: DimseAssociation): void {
    const { options } = this.context;
    const calling = association.getCallingAeTitle().trim();
    const called = association.getCalledAeTitle().trim();
    this.callingAeTitle = calling;
    // dcmjs-dimse announces the smaller of the caller's Maximum Length and its own 256 KiB as
    // ours in the A-ASSOCIATE-AC; the gate holds the caller to our limit. A caller's 0 (no
    // limit) must not become our announcement, nor anything above the limit.
    const ours = this.context.limits.maxPduLength;
    const theirs = association.getMaxPduLength();
    association.setMaxPduLength(theirs === 0 ? ours : Math.min(theirs, ours));
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
    this.guard('release', () => this.sendAssociationReleaseResponse());
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
    this.guard('C-ECHO', () => {
      const response = responses.CEchoResponse.fromRequest(request);
      response.setStatus(Status.Success);
      this.context.options.onEvent?.({ type: 'echo', callingAeTitle: this.callingAeTitle });
      callback(withDirectCommandEncoding(response));
    });
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
    this.storing++;
    const storing = this.store(request)
      .then(({ response, event }) => {
        callback(withDirectCommandEncoding(response));
        this.context.options.onEvent?.(event);
      })
      .catch((error: unknown) => this.failed('C-STORE response', error))
      .finally(() => this.storing--);
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

/** One inbound connection: its gate and, once constructed, its dcmjs-dimse Scp. */
interface InboundAssociation {
  readonly socket: Socket;
  readonly gate: PduGate;
  readonly scp: RadiolensStorageScp;
  /** socket.bytesWritten when last looked at: a change is our side making progress. */
  bytesWritten: number;
}

/** How often the time limits are looked at: often enough for the shortest of them. */
function sweepIntervalMs(limits: AssociationLimits): number {
  const shortest = Math.min(
    limits.associationRequestTimeoutMs,
    limits.idleTimeoutMs,
    limits.pduTimeoutMs,
  );
  return Math.max(25, Math.min(1_000, Math.floor(shortest / 4)));
}

export class DicomStorageScp {
  private constructor(
    private readonly server: NetServer,
    private readonly associations: Set<InboundAssociation>,
    private readonly inFlight: Set<Promise<unknown>>,
    private readonly sweeper: NodeJS.Timeout,
    readonly port: number,
    readonly aeTitle: string,
    readonly limits: AssociationLimits,
  ) {}

  /**
   * Validates the options and listens. Throws RadiolensError E_DIMSE_CONFIG for a bad AE
   * title, allow-list or limit, E_IO when the port cannot be bound.
   */
  static async start(store: InstanceStore, options: StorageScpOptions): Promise<DicomStorageScp> {
    assertAeTitle(options.aeTitle, 'AE title');
    validateCallerPolicy(options.allowedCallers);
    const limits = validateLimits({ ...DEFAULT_ASSOCIATION_LIMITS, ...options.limits });
    // dcmjs-dimse logs every PDU at info level and datasets on request; we log our own events.
    silenceDimseLog();
    useDirectCommandDecoding();
    const context: ScpContext = { store, options, inFlight: new Set(), limits };
    const scpOptions = { customOptions: { radiolens: context } };
    const associations = new Set<InboundAssociation>();
    const refuse = (association: InboundAssociation, failure: GateFailureLike): void => {
      options.onEvent?.({
        type: 'association-refused',
        code: LIMIT_REFUSALS.has(failure.reason) ? 'E_LIMIT_EXCEEDED' : 'E_DIMSE_PROTOCOL',
        reason: failure.reason,
        detail: failure.detail,
        address: association.scp.address,
        callingAeTitle: association.scp.callingAeTitle,
      });
      const { socket } = association;
      if (failure.reply !== undefined && !socket.destroyed) socket.end(failure.reply);
      // Whatever the peer does next, the connection is gone shortly; end() lets the reply out.
      setTimeout(() => socket.destroy(), 1_000).unref();
      if (failure.reply === undefined) socket.destroy();
    };
    const server = createServer((socket) => {
      try {
        // Each PDU we write is a whole message the peer waits for: Nagle's algorithm would hold
        // a C-STORE-RSP back until the peer's delayed ACK (~40 ms per instance).
        socket.setNoDelay(true);
        socket.on('error', () => socket.destroy());
        const overLimit = associations.size >= limits.maxAssociations;
        const scp = new RadiolensStorageScp(socket, scpOptions);
        // A peer that vanishes is its own problem; do not let it crash the node.
        scp.on('networkError', () => socket.destroy());
        // dcmjs-dimse's own idle timer (socket.setTimeout, 3 minutes) would undercut ours.
        socket.setTimeout(0);
        // dcmjs-dimse's data listener gets whole, checked PDUs from the gate instead of chunks.
        const dimseListeners = socket.listeners('data') as Array<(chunk: Buffer) => void>;
        socket.removeAllListeners('data');
        const gate = new PduGate(
          limits,
          (pdu) => {
            for (const listener of dimseListeners) listener.call(socket, pdu);
          },
          Date.now(),
          overLimit,
        );
        const association: InboundAssociation = { socket, gate, scp, bytesWritten: 0 };
        associations.add(association);
        socket.once('close', () => associations.delete(association));
        socket.on('data', (chunk: Buffer) => {
          let failure;
          try {
            failure = gate.push(chunk, Date.now());
          } catch (error) {
            scp.failed('receiving a PDU', error);
            return;
          }
          if (failure !== undefined) refuse(association, failure);
        });
      } catch (error) {
        // Not even the association could be set up: drop this connection, keep serving.
        options.onEvent?.({
          type: 'association-error',
          code: isRadiolensError(error) ? error.code : 'E_INTERNAL',
          error: describeError(error).slice(0, 300),
          address: socket.remoteAddress ?? '',
          callingAeTitle: '',
        });
        socket.destroy();
      }
    });
    const sweeper = setInterval(() => {
      const now = Date.now();
      for (const association of associations) {
        const { socket, gate, scp } = association;
        if (socket.bytesWritten !== association.bytesWritten) {
          association.bytesWritten = socket.bytesWritten;
          gate.noteActivity(now);
        }
        const failure = gate.checkTimers(now, scp.storing > 0);
        if (failure !== undefined) refuse(association, failure);
      }
    }, sweepIntervalMs(limits));
    sweeper.unref();
    const host = options.host ?? '0.0.0.0';
    try {
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
    } catch (error) {
      clearInterval(sweeper);
      throw error;
    }
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : options.port;
    return new DicomStorageScp(
      server,
      associations,
      context.inFlight,
      sweeper,
      port,
      options.aeTitle,
      limits,
    );
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
    clearInterval(this.sweeper);
    for (const { socket } of this.associations) socket.destroy();
    await closed;
  }
}

type GateFailureLike = NonNullable<ReturnType<PduGate['push']>>;

/** Limits are whole, positive numbers; a zero would refuse everything or time out at once. */
function validateLimits(limits: AssociationLimits): AssociationLimits {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || (value as number) < 1) {
      throw new RadiolensError(
        'E_DIMSE_CONFIG',
        `DICOM limit ${name} is ${String(value)}: use a whole number of at least 1`,
      );
    }
  }
  if (limits.maxPduLength < 4096) {
    throw new RadiolensError(
      'E_DIMSE_CONFIG',
      `DICOM limit maxPduLength is ${limits.maxPduLength}: use at least 4096 bytes`,
    );
  }
  return limits;
}
