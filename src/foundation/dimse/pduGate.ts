/**
 * PduGate: the upper-layer framing of one inbound association, between the socket and
 * dcmjs-dimse (ADR 0122). dcmjs-dimse believes a PDU header's length, concatenates every
 * received chunk onto everything before it until that length has arrived (a header declaring
 * 4 GB made the node copy gigabytes and stop answering), and on the acceptor side never arms
 * its timers. The gate reads each PDU header as it arrives, refuses what the state and the
 * limits do not allow before buffering the body, keeps the body's chunks without copying
 * them, checks the structure of what dcmjs-dimse would trust, and hands over whole PDUs only.
 * It holds no socket: its caller writes the reply a refusal carries and closes the
 * connection, so fuzzing can drive it directly. The work per PDU is constant apart from the
 * one copy of a PDU split across chunks and a walk over its few PDV items.
 */
import { checkAssociateRequest, PDU_A_ASSOCIATE_RQ } from './associateRequest.js';

export const PDU_A_ASSOCIATE_AC = 0x02;
export const PDU_A_ASSOCIATE_RJ = 0x03;
export const PDU_P_DATA_TF = 0x04;
export const PDU_A_RELEASE_RQ = 0x05;
export const PDU_A_RELEASE_RP = 0x06;
export const PDU_A_ABORT = 0x07;

export interface AssociationLimits {
  /** Largest P-DATA-TF PDU length accepted, in bytes (the Maximum Length we announce). */
  readonly maxPduLength: number;
  /** Largest A-ASSOCIATE-RQ accepted, in bytes; it comes before any AE title is checked. */
  readonly maxAssociateRequestLength: number;
  /** Largest dataset of one DIMSE message, in bytes; a C-STORE is held whole until stored. */
  readonly maxDatasetBytes: number;
  /** ARTIM (PS3.8 9.1.5): a connection must bring its A-ASSOCIATE-RQ within this time. */
  readonly associationRequestTimeoutMs: number;
  /** An association that receives no PDU and sends nothing for this long is aborted. */
  readonly idleTimeoutMs: number;
  /** A PDU must arrive whole within this time of its first byte: a trickling peer is aborted. */
  readonly pduTimeoutMs: number;
  /** Associations open at once; one more is answered A-ASSOCIATE-RJ "local limit exceeded". */
  readonly maxAssociations: number;
}

export const DEFAULT_ASSOCIATION_LIMITS: AssociationLimits = {
  // dcmjs-dimse's own Maximum Length (256 KiB), which is what its A-ASSOCIATE-AC announces.
  maxPduLength: 262_144,
  maxAssociateRequestLength: 65_536,
  maxDatasetBytes: 2 * 1024 ** 3,
  associationRequestTimeoutMs: 30_000,
  idleTimeoutMs: 120_000,
  pduTimeoutMs: 60_000,
  maxAssociations: 64,
};

/** A command set is a few hundred bytes; more than this is not a command (PS3.7 E.1). */
const MAX_COMMAND_BYTES = 65_536;

/** Why an association was ended by the gate; each a reason in the log record. */
export type GateRefusal =
  | 'pdu-too-long'
  | 'unexpected-pdu'
  | 'unrecognized-pdu'
  | 'invalid-pdu'
  | 'invalid-associate-request'
  | 'protocol-version'
  | 'association-limit'
  | 'dataset-too-large'
  | 'association-request-timeout'
  | 'idle-timeout'
  | 'pdu-timeout';

export interface GateFailure {
  readonly reason: GateRefusal;
  readonly detail: string;
  /** Bytes to send before closing (an A-ABORT or A-ASSOCIATE-RJ); none: just close. */
  readonly reply: Buffer | undefined;
}

/** A-ABORT from the service provider (PS3.8 9.3.8 / Table 9-26). */
export function aAbort(reason: number): Buffer {
  return Buffer.from([PDU_A_ABORT, 0, 0, 0, 0, 4, 0, 0, 2, reason]);
}

/** A-ASSOCIATE-RJ (PS3.8 9.3.4): result 1 permanent / 2 transient, source, reason. */
export function aAssociateRj(result: number, source: number, reason: number): Buffer {
  return Buffer.from([PDU_A_ASSOCIATE_RJ, 0, 0, 0, 0, 4, 0, result, source, reason]);
}

/** A-ABORT reasons (PS3.8 Table 9-26). */
const ABORT_NOT_SPECIFIED = 0;
const ABORT_UNRECOGNIZED_PDU = 1;
const ABORT_UNEXPECTED_PDU = 2;
const ABORT_INVALID_PARAMETER = 6;

type GateState = 'awaiting-request' | 'associated';

export class PduGate {
  private state: GateState = 'awaiting-request';
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  /** Type and total length (header included) of the PDU being received. */
  private current: { type: number; total: number } | undefined;
  private pduStartedAt: number | undefined;
  private lastActivityAt: number;
  private readonly connectedAt: number;
  private commandBytes = 0;
  private datasetBytes = 0;
  private failed: GateFailure | undefined;

  /**
   * @param deliver receives whole, checked PDUs in order (several side by side at once).
   * @param overLimit the association is one too many: its request is answered "local limit
   *   exceeded" (transient), so the sender tries again later.
   */
  constructor(
    private readonly limits: AssociationLimits,
    private readonly deliver: (pdu: Buffer) => void,
    now: number,
    private readonly overLimit = false,
  ) {
    this.connectedAt = now;
    this.lastActivityAt = now;
  }

  /** Takes one chunk from the socket; a failure means: send its reply, then close. */
  push(chunk: Buffer, now: number): GateFailure | undefined {
    if (this.failed !== undefined) return undefined; // closing already; ignore the rest
    if (chunk.byteLength === 0) return undefined;
    this.chunks.push(chunk);
    this.buffered += chunk.byteLength;
    this.pduStartedAt ??= now;
    try {
      for (;;) {
        if (this.current === undefined) {
          if (this.buffered < 6) return undefined;
          const header = this.peek(6);
          const failure = this.checkHeader(header[0] as number, header.readUInt32BE(2));
          if (failure !== undefined) return this.fail(failure);
          this.current = { type: header[0] as number, total: 6 + header.readUInt32BE(2) };
        }
        if (this.buffered < this.current.total) return undefined;
        const pdu = this.take(this.current.total);
        this.current = undefined;
        this.pduStartedAt = this.buffered > 0 ? now : undefined;
        this.lastActivityAt = now;
        const failure = this.accept(pdu);
        if (failure !== undefined) return this.fail(failure);
        if (this.buffered === 0) return undefined;
      }
    } finally {
      // PDUs checked before a refusal were sound; the peer's later bytes are not delivered.
      this.flush();
    }
  }

  /**
   * Checked PDUs that lie side by side in one chunk go to dcmjs-dimse in one call, as one
   * view (no copy): it reads several PDUs from one buffer, as it did from socket chunks,
   * and costs per call (the bench, bench/pduGate.bench.ts).
   */
  private readonly ready: Buffer[] = [];

  private queue(pdu: Buffer): void {
    const last = this.ready.at(-1);
    if (
      last !== undefined &&
      last.buffer === pdu.buffer &&
      last.byteOffset + last.byteLength === pdu.byteOffset
    ) {
      this.ready[this.ready.length - 1] = Buffer.from(
        last.buffer,
        last.byteOffset,
        last.byteLength + pdu.byteLength,
      );
    } else {
      this.ready.push(pdu);
    }
  }

  private flush(): void {
    const ready = this.ready.splice(0);
    for (const batch of ready) this.deliver(batch);
  }

  /** Our side sent something (a response): the association is making progress. */
  noteActivity(now: number): void {
    this.lastActivityAt = now;
  }

  /**
   * The time limits at `now`; `busy` when a request of this association is still being
   * handled by us, which is our delay, not the peer's.
   */
  checkTimers(now: number, busy: boolean): GateFailure | undefined {
    if (this.failed !== undefined) return undefined;
    const { associationRequestTimeoutMs, pduTimeoutMs, idleTimeoutMs } = this.limits;
    if (
      this.state === 'awaiting-request' &&
      now - this.connectedAt >= associationRequestTimeoutMs
    ) {
      // ARTIM expiry before an association exists: close the connection, no PDU (PS3.8 9.2).
      return this.fail({
        reason: 'association-request-timeout',
        detail: `no A-ASSOCIATE-RQ within ${associationRequestTimeoutMs} ms of connecting`,
        reply: undefined,
      });
    }
    if (this.pduStartedAt !== undefined && now - this.pduStartedAt >= pduTimeoutMs) {
      return this.fail({
        reason: 'pdu-timeout',
        detail: `a PDU begun ${now - this.pduStartedAt} ms ago is still incomplete (${this.buffered} bytes)`,
        reply: aAbort(ABORT_NOT_SPECIFIED),
      });
    }
    if (!busy && this.state === 'associated' && now - this.lastActivityAt >= idleTimeoutMs) {
      return this.fail({
        reason: 'idle-timeout',
        detail: `nothing received or sent for ${now - this.lastActivityAt} ms`,
        reply: aAbort(ABORT_NOT_SPECIFIED),
      });
    }
    return undefined;
  }

  /** Bytes held for an incomplete PDU (the bound the limits give). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  private fail(failure: GateFailure): GateFailure {
    this.failed = failure;
    this.chunks.length = 0;
    this.buffered = 0;
    return failure;
  }

  private checkHeader(type: number, length: number): GateFailure | undefined {
    const abort = (reason: GateRefusal, detail: string, code: number): GateFailure => ({
      reason,
      detail,
      reply: aAbort(code),
    });
    if (type < PDU_A_ASSOCIATE_RQ || type > PDU_A_ABORT) {
      return abort('unrecognized-pdu', `PDU type 0x${type.toString(16)}`, ABORT_UNRECOGNIZED_PDU);
    }
    if (this.state === 'awaiting-request') {
      if (type === PDU_A_ABORT)
        return { reason: 'unexpected-pdu', detail: 'A-ABORT', reply: undefined };
      if (type !== PDU_A_ASSOCIATE_RQ) {
        return abort(
          'unexpected-pdu',
          `PDU type ${type} before A-ASSOCIATE-RQ`,
          ABORT_UNEXPECTED_PDU,
        );
      }
      if (length > this.limits.maxAssociateRequestLength) {
        return abort(
          'pdu-too-long',
          `A-ASSOCIATE-RQ of ${length} bytes (at most ${this.limits.maxAssociateRequestLength})`,
          ABORT_INVALID_PARAMETER,
        );
      }
      return undefined;
    }
    if (type === PDU_A_ASSOCIATE_RQ || type === PDU_A_ASSOCIATE_AC || type === PDU_A_ASSOCIATE_RJ) {
      return abort(
        'unexpected-pdu',
        `PDU type ${type} inside an association`,
        ABORT_UNEXPECTED_PDU,
      );
    }
    if (type === PDU_P_DATA_TF) {
      if (length > this.limits.maxPduLength) {
        return abort(
          'pdu-too-long',
          `P-DATA-TF of ${length} bytes (at most ${this.limits.maxPduLength}, as announced)`,
          ABORT_INVALID_PARAMETER,
        );
      }
      return undefined;
    }
    // A-RELEASE-RQ, A-RELEASE-RP, A-ABORT: four bytes of fixed fields (PS3.8 9.3.6–9.3.8).
    if (length !== 4) {
      return abort(
        'invalid-pdu',
        `PDU type ${type} with length ${length}, not 4`,
        ABORT_INVALID_PARAMETER,
      );
    }
    return undefined;
  }

  private accept(pdu: Buffer): GateFailure | undefined {
    const type = pdu[0] as number;
    if (type === PDU_A_ASSOCIATE_RQ) {
      if (this.overLimit) {
        return {
          reason: 'association-limit',
          detail: `${this.limits.maxAssociations} associations are open`,
          // Transient, service provider (presentation), local limit exceeded (PS3.8 9.3.4).
          reply: aAssociateRj(2, 3, 2),
        };
      }
      const checked = checkAssociateRequest(pdu);
      if (!checked.ok) {
        if (checked.versionNotSupported === true) {
          // Permanent, service provider (ACSE), protocol version not supported.
          return {
            reason: 'protocol-version',
            detail: checked.problem,
            reply: aAssociateRj(1, 2, 2),
          };
        }
        return {
          reason: 'invalid-associate-request',
          detail: checked.problem,
          reply: aAbort(ABORT_INVALID_PARAMETER),
        };
      }
      this.state = 'associated';
      this.queue(checked.pdu);
      return undefined;
    }
    if (type === PDU_P_DATA_TF) {
      const problem = this.checkPdvs(pdu);
      if (problem !== undefined) return problem;
    }
    this.queue(pdu);
    return undefined;
  }

  /** PDV items (PS3.8 9.3.5.1) must fill the PDU exactly; counts message sizes. */
  private checkPdvs(pdu: Buffer): GateFailure | undefined {
    const invalid = (detail: string): GateFailure => ({
      reason: 'invalid-pdu',
      detail,
      reply: aAbort(ABORT_INVALID_PARAMETER),
    });
    let offset = 6;
    if (pdu.byteLength === offset) return invalid('P-DATA-TF without a PDV');
    while (offset < pdu.byteLength) {
      if (offset + 6 > pdu.byteLength) return invalid(`PDV header at byte ${offset} is cut off`);
      const length = pdu.readUInt32BE(offset);
      if (length < 2 || offset + 4 + length > pdu.byteLength) {
        return invalid(`PDV at byte ${offset} declares ${length} bytes`);
      }
      const id = pdu[offset + 4] as number;
      if (id % 2 === 0) return invalid(`PDV for presentation context ${id}`);
      const control = pdu[offset + 5] as number;
      const fragment = length - 2;
      if ((control & 1) === 1) {
        this.commandBytes += fragment;
        if (this.commandBytes > MAX_COMMAND_BYTES) {
          return invalid(`a command set of more than ${MAX_COMMAND_BYTES} bytes`);
        }
        if ((control & 2) === 2) this.commandBytes = 0;
      } else {
        this.datasetBytes += fragment;
        if (this.datasetBytes > this.limits.maxDatasetBytes) {
          return {
            reason: 'dataset-too-large',
            detail: `a dataset of more than ${this.limits.maxDatasetBytes} bytes`,
            reply: aAbort(ABORT_NOT_SPECIFIED),
          };
        }
        if ((control & 2) === 2) this.datasetBytes = 0;
      }
      offset += 4 + length;
    }
    return undefined;
  }

  /** The first n buffered bytes, without consuming them (n ≤ buffered). */
  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.byteLength >= n) return first;
    const out = Buffer.alloc(n);
    let filled = 0;
    for (const chunk of this.chunks) {
      if (filled === n) break;
      const used = Math.min(chunk.byteLength, n - filled);
      chunk.copy(out, filled, 0, used);
      filled += used;
    }
    return out;
  }

  /** Removes and returns the first n buffered bytes: a view when one chunk holds them. */
  private take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    this.buffered -= n;
    if (first.byteLength >= n) {
      if (first.byteLength === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0] as Buffer;
      const used = Math.min(chunk.byteLength, n - filled);
      chunk.copy(out, filled, 0, used);
      filled += used;
      if (used === chunk.byteLength) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    return out;
  }
}
