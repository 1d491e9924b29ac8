/**
 * The fuzz targets (ADR 0125): the Part 10 reader, the PDU gate with dcmjs-dimse behind it
 * (and the command-set decoder on what it delivers), and the multipart/related parser. Each
 * generates structure-aware inputs — mutated conformance files and synthetic datasets, PDU
 * streams built item by item, multipart bodies built part by part — and runs the product
 * exactly as production composes it. Test support only.
 */
import { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import dcmjsDimse from 'dcmjs-dimse';
import {
  configureParsingLimits,
  parseDicom,
  readHeaderLittleEndian,
  readInstanceIdentity,
} from '../../../src/foundation/dicom/index.js';
import { parseMultipartRelated } from '../../../src/foundation/dicomweb/index.js';
import {
  PduGate,
  decidePresentationContext,
  keepReceivedPart10,
  receivePart10,
  silenceDimseLog,
} from '../../../src/foundation/dimse/index.js';
import { decodeCommandSet } from '../../../src/foundation/dimse/commandSet.js';
import { conformanceDir } from '../paths.js';
import {
  element,
  identifyingAttributes,
  imageAttributes,
  nestedSequences,
  part10,
  us,
} from '../craftedDicom.js';
import { associateRq, pDataTf, cStoreRqCommand } from '../rawPdu.js';
import type { FuzzTarget } from './harness.js';

// ---------------------------------------------------------------- Part 10 reader

/** Conformance files small enough to mutate quickly (the corpus the issue names). */
function conformanceSeeds(): Buffer[] {
  const seeds: Buffer[] = [];
  const visit = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return; // no shared data here: synthetic seeds only
    }
    for (const name of names) {
      const path = join(dir, name);
      const stat = statSync(path);
      if (stat.isDirectory()) visit(path);
      else if (name.endsWith('.dcm') && stat.size <= 96 * 1024) seeds.push(readFileSync(path));
    }
  };
  visit(conformanceDir);
  return seeds;
}

const TRANSFER_SYNTAXES = [
  '1.2.840.10008.1.2',
  '1.2.840.10008.1.2.1',
  '1.2.840.10008.1.2.1.99',
  '1.2.840.10008.1.2.2',
  '1.2.840.10008.1.2.5',
  '1.2.840.10008.1.2.4.50',
  '9.9.9',
];

function syntheticSeeds(): Buffer[] {
  const image = Buffer.concat([
    identifyingAttributes('1.2.3.4'),
    nestedSequences(3, false, element(0x00081150, 'UI', '1.2.3'), 0x00081140),
    imageAttributes(4, 4, 8),
    element(0x7fe00010, 'OB', Buffer.alloc(16, 9)),
  ]);
  return [
    part10('1.2.840.10008.1.2.1', '1.2.3.4', image),
    part10('1.2.840.10008.1.2.1.99', '1.2.3.4', deflateRawSync(image)),
    part10('1.2.840.10008.1.2.1', '1.2.3.4', nestedSequences(40, true, us(0x00280010, 1))),
  ];
}

const INTERESTING_32 = [0, 1, 2, 7, 8, 0xff, 0xffff, 0x7fffffff, 0xfffffffe, 0xffffffff];

type Mutation =
  | { kind: 'byte'; at: number; value: number }
  | { kind: 'u32'; at: number; value: number }
  | { kind: 'u16'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'repeat'; at: number; length: number; times: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({
    kind: fc.constant('u32' as const),
    at: fc.nat(),
    value: fc.oneof(fc.constantFrom(...INTERESTING_32), fc.nat()),
  }),
  fc.record({ kind: fc.constant('u16' as const), at: fc.nat(), value: fc.nat(0xffff) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ maxLength: 32 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.nat(64) }),
  fc.record({
    kind: fc.constant('repeat' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 64 }),
    times: fc.integer({ min: 1, max: 64 }),
  }),
);

function mutate(seed: Buffer, mutations: readonly Mutation[]): Buffer {
  let bytes = Buffer.from(seed);
  for (const m of mutations) {
    if (bytes.byteLength === 0) break;
    const at = m.at % bytes.byteLength;
    switch (m.kind) {
      case 'byte':
        bytes[at] = m.value;
        break;
      case 'u32':
        if (at + 4 <= bytes.byteLength) bytes.writeUInt32LE(m.value >>> 0, at);
        break;
      case 'u16':
        if (at + 2 <= bytes.byteLength) bytes.writeUInt16LE(m.value, at);
        break;
      case 'truncate':
        bytes = bytes.subarray(0, at);
        break;
      case 'insert':
        bytes = Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
        break;
      case 'delete':
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.length)]);
        break;
      case 'repeat': {
        const slice = bytes.subarray(at, at + m.length);
        bytes = Buffer.concat([
          bytes.subarray(0, at),
          ...Array.from({ length: m.times }, () => slice),
          bytes.subarray(at),
        ]);
        break;
      }
    }
  }
  return bytes;
}

/** A generated element: a tag from the groups readers care about, a VR, a value. */
const syntheticElement: fc.Arbitrary<Buffer> = fc
  .record({
    tag: fc.oneof(
      fc.constantFrom(0x00080016, 0x00080018, 0x0020000d, 0x00280010, 0x00280011, 0x00280100),
      fc.constantFrom(0x00280008, 0x00280002, 0x00080005, 0x7fe00010, 0x7fe00008, 0xfffee000),
      fc.nat().map((n) => n >>> 0),
    ),
    vr: fc.constantFrom('UI', 'US', 'IS', 'CS', 'OB', 'OW', 'SQ', 'UN', 'PN', 'LO', 'UT', 'FD'),
    value: fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
      fc
        .constantFrom('1.2.3', 'ISO_IR 192', '\\ISO 2022 IR 87', '0', '-1', '65536')
        .map((s) => Buffer.from(s, 'latin1')),
    ),
  })
  .map(({ tag, vr, value }) => element(tag, vr, value));

const syntheticDataset: fc.Arbitrary<Buffer> = fc
  .record({
    transferSyntax: fc.constantFrom(...TRANSFER_SYNTAXES),
    elements: fc.array(syntheticElement, { maxLength: 24 }),
    nesting: fc.option(
      fc.record({ depth: fc.integer({ min: 1, max: 200 }), defined: fc.boolean() }),
    ),
  })
  .map(({ transferSyntax, elements, nesting }) => {
    const parts = [identifyingAttributes('1.2.3.4'), ...elements];
    if (nesting !== null) {
      parts.push(nestedSequences(nesting.depth, nesting.defined, us(0x00280010, 2)));
    }
    const dataset = Buffer.concat(parts);
    return part10(
      transferSyntax,
      '1.2.3.4',
      transferSyntax.endsWith('.99') ? deflateRawSync(dataset) : dataset,
    );
  });

export function part10Target(): FuzzTarget {
  // Tighter than serve's defaults so that the memory bound means something: a generated
  // input may be a small real bomb.
  configureParsingLimits({
    inflateAllowanceBytes: 4 * 1024 * 1024,
    maxInflatedBytes: 32 * 1024 * 1024,
  });
  const seeds = [...conformanceSeeds(), ...syntheticSeeds()];
  const mutated = fc
    .record({
      seed: fc.nat(seeds.length - 1),
      mutations: fc.array(mutation, { minLength: 1, maxLength: 6 }),
    })
    .map(({ seed, mutations }) => mutate(seeds[seed] as Buffer, mutations));
  return {
    name: 'part10',
    inputs: fc.oneof({ arbitrary: mutated, weight: 3 }, { arbitrary: syntheticDataset, weight: 1 }),
    run: (input) => {
      const bytes = Buffer.from(input);
      // Each entry of the one reading path; coded refusals are fine, anything else is not.
      for (const read of [
        () => parseDicom(bytes, 'fuzz.dcm'),
        () => readInstanceIdentity(bytes, 'fuzz.dcm'),
        () => readHeaderLittleEndian(bytes),
      ]) {
        try {
          read();
        } catch (error) {
          if (!(error instanceof Error && error.name === 'RadiolensError')) throw error;
        }
      }
    },
  };
}

// ---------------------------------------------------------------- PDU gate + dcmjs-dimse

/** A socket as dcmjs-dimse's Network uses one, writing into the void. */
export class NullSocket extends EventEmitter {
  readonly remoteAddress = '127.0.0.1';
  destroyed = false;
  bytesWritten = 0;
  write(bytes: Uint8Array): boolean {
    this.bytesWritten += bytes.byteLength;
    return true;
  }
  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  end(): this {
    this.destroyed = true;
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
}

const { Scp, constants, responses } = dcmjsDimse;

/** The storage SCP's decisions, without a store: accept what it would, answer success. */
export class FuzzScp extends Scp {
  /** C-STORE requests answered. */
  stores = 0;
  override associationRequested(association: dcmjsDimse.association.Association): void {
    for (const { id } of association.getPresentationContexts()) {
      const context = association.getPresentationContext(id);
      const decision = decidePresentationContext(
        context.getAbstractSyntaxUid(),
        context.getTransferSyntaxUids(),
      );
      if (decision.accept) {
        context.setResult(constants.PresentationContextResult.Accept, decision.transferSyntaxUid);
      } else {
        context.setResult(constants.PresentationContextResult.RejectAbstractSyntaxNotSupported);
      }
    }
    this.sendAssociationAccept();
  }
  override associationReleaseRequested(): void {
    this.sendAssociationReleaseResponse();
  }
  // Received datasets kept as the storage SCP keeps them (part10Receiver.ts).
  override createStoreWritableStream(
    context: dcmjsDimse.association.PresentationContext,
    request: dcmjsDimse.requests.CStoreRequest,
  ): Writable {
    return receivePart10(context, request);
  }
  override createDatasetFromStoreWritableStream(
    writable: Writable,
    context: dcmjsDimse.association.PresentationContext,
    callback: (dataset: dcmjsDimse.Dataset) => void,
  ): void {
    keepReceivedPart10(writable, context, callback);
  }
  override cEchoRequest(
    request: dcmjsDimse.requests.CEchoRequest,
    callback: (response: dcmjsDimse.responses.CEchoResponse) => void,
  ): void {
    callback(responses.CEchoResponse.fromRequest(request));
  }
  override cStoreRequest(
    request: dcmjsDimse.requests.CStoreRequest,
    callback: (response: dcmjsDimse.responses.CStoreResponse) => void,
  ): void {
    this.stores++;
    const response = responses.CStoreResponse.fromRequest(request);
    response.setStatus(constants.Status.Success);
    callback(response);
  }
}

const VERIFICATION = '1.2.840.10008.1.1';
const SC = '1.2.840.10008.5.1.4.1.1.7';
const EXPLICIT = '1.2.840.10008.1.2.1';

/** One PDU as a peer might send it: well formed, subtly wrong or garbage. */
const pduPiece: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .array(
      fc.record({
        id: fc.oneof(fc.constantFrom(1, 3, 255, 257 & 0xff, 2, 0), fc.nat(255)),
        abstract: fc.constantFrom(VERIFICATION, SC, '1.2.3', ''),
        syntaxes: fc.array(fc.constantFrom(EXPLICIT, '1.2.840.10008.1.2', '9'), { maxLength: 3 }),
      }),
      { maxLength: 5 },
    )
    .map((contexts) =>
      associateRq({
        called: 'RADIOLENS',
        calling: 'FUZZ',
        contexts: contexts.map((c) => ({
          id: c.id,
          abstractSyntax: c.abstract,
          transferSyntaxes: c.syntaxes,
        })),
      }),
    ),
  fc
    .record({
      id: fc.constantFrom(1, 3, 5, 2),
      control: fc.nat(3),
      value: fc.uint8Array({ maxLength: 300 }),
    })
    .map(({ id, control, value }) => pDataTf(id, control, Buffer.from(value))),
  fc
    .record({ id: fc.constantFrom(1, 3), messageId: fc.nat(0xffff) })
    .map(({ id, messageId }) => pDataTf(id, 3, cStoreRqCommand(SC, '1.2.3.4', messageId))),
  fc
    .record({ type: fc.nat(9), length: fc.oneof(fc.constantFrom(4, 0, 0xffffffff), fc.nat(2000)) })
    .map(({ type, length }) => {
      const header = Buffer.alloc(10);
      header[0] = type;
      header.writeUInt32BE(length >>> 0, 2);
      return header;
    }),
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
);

let unhandled: unknown;
let listening = false;

export function pduTarget(): FuzzTarget {
  silenceDimseLog();
  if (!listening) {
    listening = true;
    // dcmjs-dimse reads PDUs in an async listener: what it throws there is a rejection.
    process.on('unhandledRejection', (reason) => {
      unhandled = reason;
    });
  }
  const limits = {
    maxPduLength: 16_384,
    maxAssociateRequestLength: 16_384,
    maxDatasetBytes: 1_000_000,
    associationRequestTimeoutMs: 30_000,
    idleTimeoutMs: 30_000,
    pduTimeoutMs: 30_000,
    maxAssociations: 8,
  };
  return {
    name: 'pdu',
    // First byte: how the stream is cut into socket chunks; the rest: the PDUs.
    inputs: fc
      .record({ split: fc.nat(255), pieces: fc.array(pduPiece, { minLength: 1, maxLength: 6 }) })
      .map(({ split, pieces }) => Buffer.concat([Buffer.from([split]), ...pieces])),
    run: async (input) => {
      const chunkSize = 1 + (((input[0] ?? 0) * 61) % 1500);
      const stream = Buffer.from(input.subarray(1));
      const socket = new NullSocket();
      const scp = new FuzzScp(socket as never, {});
      scp.on('networkError', () => socket.destroy());
      const dimse = socket.listeners('data') as Array<(chunk: Buffer) => void>;
      socket.removeAllListeners('data');
      const delivered: Buffer[] = [];
      const gate = new PduGate(
        limits,
        (pdu) => {
          delivered.push(pdu);
          for (const listener of dimse) listener.call(socket, pdu);
        },
        0,
      );
      unhandled = undefined;
      for (let at = 0; at < stream.byteLength && !socket.destroyed; at += chunkSize) {
        if (gate.push(stream.subarray(at, at + chunkSize), at) !== undefined) break;
        const bound =
          Math.max(limits.maxPduLength, limits.maxAssociateRequestLength) + 6 + chunkSize;
        if (gate.bufferedBytes > bound) {
          throw new Error(`the gate holds ${gate.bufferedBytes} bytes, over ${bound}`);
        }
      }
      gate.checkTimers(1e12, false);
      // Let dcmjs-dimse's async PDU handling run to its end.
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
      (scp as unknown as { _reset(): void })._reset();
      if (unhandled !== undefined) throw unhandled;
      // The command-set decoder on every command fragment the gate let through.
      for (const batch of delivered) {
        // A delivery may hold several PDUs side by side.
        for (let start = 0; start + 6 <= batch.byteLength;) {
          const end = start + 6 + batch.readUInt32BE(start + 2);
          const pdu = batch.subarray(start, end);
          start = end;
          if (pdu[0] !== 0x04) continue;
          for (let at = 6; at + 6 <= pdu.byteLength;) {
            const length = pdu.readUInt32BE(at);
            if (((pdu[at + 5] as number) & 1) === 1) {
              decodeCommandSet(pdu.subarray(at + 6, at + 4 + length));
            }
            at += 4 + length;
          }
        }
      }
    },
  };
}

// ---------------------------------------------------------------- multipart/related

const multipartInput: fc.Arbitrary<Uint8Array> = fc
  .record({
    boundary: fc.oneof(
      fc.constantFrom('b', 'BOUNDARY-123', '--', ' spaced '),
      fc.string({ maxLength: 80 }),
    ),
    quoted: fc.boolean(),
    mediaType: fc.constantFrom('multipart/related', 'multipart/form-data', 'application/dicom', ''),
    preamble: fc.option(fc.string({ maxLength: 20 })),
    parts: fc.array(
      fc.record({
        headers: fc.array(
          fc.oneof(
            fc.constantFrom(
              'Content-Type: application/dicom',
              'no colon',
              ': empty name',
              '__proto__: x',
            ),
            fc.string({ maxLength: 40 }),
          ),
          { maxLength: 3 },
        ),
        body: fc.uint8Array({ maxLength: 200 }),
        separator: fc.constantFrom('\r\n\r\n', '\r\n', '\n\n', ''),
      }),
      { maxLength: 4 },
    ),
    close: fc.constantFrom('--', '', '-', '--\r\n'),
    cut: fc.option(fc.nat()),
  })
  .map(({ boundary, quoted, mediaType, preamble, parts, close, cut }) => {
    const header = `${mediaType}; type="application/dicom"; boundary=${quoted ? `"${boundary}"` : boundary}`;
    const chunks: Buffer[] = [];
    if (preamble !== null) chunks.push(Buffer.from(`${preamble}\r\n`, 'latin1'));
    for (const part of parts) {
      chunks.push(
        Buffer.from(`--${boundary}\r\n${part.headers.join('\r\n')}${part.separator}`, 'latin1'),
      );
      chunks.push(Buffer.from(part.body), Buffer.from('\r\n'));
    }
    chunks.push(Buffer.from(`--${boundary}${close}`, 'latin1'));
    let body = Buffer.concat(chunks);
    if (cut !== null && body.byteLength > 0) body = body.subarray(0, cut % body.byteLength);
    // Corpus form: the Content-Type header, a line feed, the body.
    return Buffer.concat([Buffer.from(`${header.replace(/\n/g, ' ')}\n`, 'latin1'), body]);
  });

export function multipartTarget(): FuzzTarget {
  return {
    name: 'multipart',
    inputs: multipartInput,
    run: (input) => {
      const bytes = Buffer.from(input);
      const newline = bytes.indexOf(0x0a);
      const header = bytes.toString('latin1', 0, newline < 0 ? bytes.byteLength : newline);
      const body = newline < 0 ? Buffer.alloc(0) : bytes.subarray(newline + 1);
      parseMultipartRelated(body, header);
    },
  };
}

export function allTargets(): FuzzTarget[] {
  return [part10Target(), pduTarget(), multipartTarget()];
}
