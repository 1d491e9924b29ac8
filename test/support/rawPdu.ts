/**
 * Upper-layer PDUs (PS3.8 9.3) built byte by byte, and a raw TCP peer that sends them and
 * records what comes back: how tests play a hostile or broken DICOM peer without going
 * through any DICOM library. Test support only.
 */
import { connect, type Socket } from 'node:net';

export interface RawContext {
  readonly id: number;
  readonly abstractSyntax: string;
  readonly transferSyntaxes: readonly string[];
}

function item(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header[0] = type;
  header.writeUInt16BE(body.byteLength, 2);
  return Buffer.concat([header, body]);
}

function pdu(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(6);
  header[0] = type;
  header.writeUInt32BE(body.byteLength, 2);
  return Buffer.concat([header, body]);
}

function aeField(title: string): Buffer {
  return Buffer.from(title.padEnd(16, ' '), 'latin1');
}

export function associateRq(options: {
  readonly called: string;
  readonly calling: string;
  readonly contexts: readonly RawContext[];
  readonly maxPduLength?: number;
  readonly version?: number;
}): Buffer {
  const fixed = Buffer.alloc(68);
  fixed.writeUInt16BE(options.version ?? 1, 0);
  aeField(options.called).copy(fixed, 4);
  aeField(options.calling).copy(fixed, 20);
  const contexts = options.contexts.map((c) =>
    item(
      0x20,
      Buffer.concat([
        Buffer.from([c.id, 0, 0, 0]),
        item(0x30, Buffer.from(c.abstractSyntax, 'latin1')),
        ...c.transferSyntaxes.map((ts) => item(0x40, Buffer.from(ts, 'latin1'))),
      ]),
    ),
  );
  const maxLength = Buffer.alloc(4);
  maxLength.writeUInt32BE(options.maxPduLength ?? 16384);
  const userInformation = item(
    0x50,
    Buffer.concat([item(0x51, maxLength), item(0x52, Buffer.from('1.2.3.4', 'latin1'))]),
  );
  return pdu(
    0x01,
    Buffer.concat([
      fixed,
      item(0x10, Buffer.from('1.2.840.10008.3.1.1.1', 'latin1')),
      ...contexts,
      userInformation,
    ]),
  );
}

/** One P-DATA-TF with one PDV; control bit 0 command, bit 1 last fragment. */
export function pDataTf(contextId: number, control: number, value: Buffer): Buffer {
  const pdv = Buffer.alloc(6);
  pdv.writeUInt32BE(value.byteLength + 2, 0);
  pdv[4] = contextId;
  pdv[5] = control;
  return pdu(0x04, Buffer.concat([pdv, value]));
}

export const A_RELEASE_RQ = Buffer.from([0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0]);

export const VERIFICATION = '1.2.840.10008.1.1';
export const IMPLICIT_LITTLE = '1.2.840.10008.1.2';
export const EXPLICIT_LITTLE = '1.2.840.10008.1.2.1';

/** A raw connection that keeps everything the other side sends and when it closed. */
export class RawPeer {
  readonly received: Buffer[] = [];
  closed = false;
  private readonly closedPromise: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk) => this.received.push(chunk));
    socket.on('error', () => undefined);
    this.closedPromise = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        resolve();
      }),
    );
  }

  static async connect(port: number): Promise<RawPeer> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawPeer(socket);
  }

  send(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  bytes(): Buffer {
    return Buffer.concat(this.received);
  }

  /** Resolves when the other side closed; rejects after timeoutMs. */
  async whenClosed(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.closedPromise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** Waits until at least `count` bytes came back (or the connection closed). */
  async whenReceived(count: number, timeoutMs: number): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.bytes().byteLength < count && !this.closed && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.bytes();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function implicitElement(tag: number, value: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  header.writeUInt32LE(value.byteLength, 4);
  return Buffer.concat([header, value]);
}

function usValue(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16LE(value);
  return out;
}

function uidValue(uid: string): Buffer {
  const text = Buffer.from(uid, 'latin1');
  return text.byteLength % 2 === 0 ? text : Buffer.concat([text, Buffer.from([0])]);
}

/** A C-STORE-RQ command set (PS3.7 9.3.1.1), Implicit VR Little Endian, group length first. */
export function cStoreRqCommand(
  sopClassUid: string,
  sopInstanceUid: string,
  messageId = 1,
): Buffer {
  const elements = Buffer.concat([
    implicitElement(0x00000002, uidValue(sopClassUid)),
    implicitElement(0x00000100, usValue(0x0001)),
    implicitElement(0x00000110, usValue(messageId)),
    implicitElement(0x00000700, usValue(0)),
    implicitElement(0x00000800, usValue(0x0000)),
    implicitElement(0x00001000, uidValue(sopInstanceUid)),
  ]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(elements.byteLength);
  return Buffer.concat([implicitElement(0x00000000, length), elements]);
}

/** The command fragment, then the dataset in P-DATA-TF PDUs of at most `pduLength`. */
export function cStoreRq(
  contextId: number,
  command: Buffer,
  dataset: Buffer,
  pduLength = 16_384,
): Buffer[] {
  const pdus = [pDataTf(contextId, 0x03, command)];
  const step = pduLength - 6;
  for (let offset = 0; offset < dataset.byteLength; offset += step) {
    const last = offset + step >= dataset.byteLength;
    pdus.push(pDataTf(contextId, last ? 0x02 : 0x00, dataset.subarray(offset, offset + step)));
  }
  return pdus;
}

/**
 * The Status (0000,0900) of the first DIMSE response in `bytes` (everything received after
 * the A-ASSOCIATE-AC), or undefined when none has arrived whole.
 */
export function responseStatus(bytes: Buffer): number | undefined {
  let offset = 0;
  while (offset + 6 <= bytes.byteLength) {
    const length = bytes.readUInt32BE(offset + 2);
    if (offset + 6 + length > bytes.byteLength) return undefined;
    if (bytes[offset] === 0x04) {
      const value = bytes.subarray(offset + 12, offset + 6 + length);
      for (let at = 0; at + 8 <= value.byteLength;) {
        const tag = ((value.readUInt16LE(at) << 16) | value.readUInt16LE(at + 2)) >>> 0;
        const elementLength = value.readUInt32LE(at + 4);
        if (tag === 0x00000900) return value.readUInt16LE(at + 8);
        at += 8 + elementLength;
      }
    }
    offset += 6 + length;
  }
  return undefined;
}
