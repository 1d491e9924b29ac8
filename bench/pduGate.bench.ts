/**
 * What the PDU gate costs on the C-STORE path (issue #16; ADRs 0117, 0122). The same bytes —
 * an A-ASSOCIATE-RQ, then C-STOREs of a --size MiB dataset in 16 KiB P-DATA-TF PDUs — reach
 * dcmjs-dimse's reading in socket-sized chunks (--chunk bytes, as TCP delivers them), in two
 * ways in the same run:
 *
 *   baseline — the chunks go to dcmjs-dimse's own accumulator, as before the gate;
 *   gate     — the chunks go through PduGate, which hands dcmjs-dimse whole, checked PDUs.
 *
 * Prints MB/s for each, best of --rounds. Target: the gate within 5% of the baseline (its
 * checks are O(1) per PDU plus one copy of a PDU split across chunks).
 *
 * Usage: npx tsx bench/pduGate.bench.ts [--size 2] [--stores 200] [--chunk 65536] [--rounds 5]
 */
import {
  DEFAULT_ASSOCIATION_LIMITS,
  PduGate,
  silenceDimseLog,
} from '../src/foundation/dimse/index.js';
import { FuzzScp, NullSocket } from '../test/support/fuzz/targets.js';
import { associateRq, cStoreRq, cStoreRqCommand } from '../test/support/rawPdu.js';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) || fallback : fallback;
}

const SIZE_MIB = option('size', 2);
const STORES = option('stores', 200);
const CHUNK = option('chunk', 65_536);
const ROUNDS = option('rounds', 5);
const SC = '1.2.840.10008.5.1.4.1.1.7';

silenceDimseLog();
const dataset = Buffer.alloc(SIZE_MIB * 1024 * 1024, 0x5a);
const rq = associateRq({
  called: 'RADIOLENS',
  calling: 'BENCH',
  contexts: [{ id: 1, abstractSyntax: SC, transferSyntaxes: ['1.2.840.10008.1.2.1'] }],
});
const stream = Buffer.concat([
  rq,
  ...Array.from({ length: STORES }, (_, i) =>
    cStoreRq(1, cStoreRqCommand(SC, `1.2.3.${i}`, i + 1), dataset),
  ).flat(),
]);
const chunks: Buffer[] = [];
for (let at = 0; at < stream.byteLength; at += CHUNK) chunks.push(stream.subarray(at, at + CHUNK));

async function run(withGate: boolean): Promise<number> {
  const socket = new NullSocket();
  const scp = new FuzzScp(socket as never, {});
  const dimse = socket.listeners('data') as Array<(chunk: Buffer) => void>;
  const deliver = (bytes: Buffer): void => {
    for (const listener of dimse) listener.call(socket, bytes);
  };
  const gate = new PduGate(DEFAULT_ASSOCIATION_LIMITS, deliver, Date.now());
  const started = performance.now();
  for (const chunk of chunks) {
    if (withGate) gate.push(chunk, 0);
    else deliver(chunk);
    // dcmjs-dimse handles each PDU in an async listener: let it, as the event loop would.
    await new Promise((r) => setImmediate(r));
  }
  const seconds = (performance.now() - started) / 1000;
  (scp as unknown as { _reset(): void })._reset();
  if (scp.stores !== STORES) throw new Error(`${scp.stores} of ${STORES} C-STOREs arrived`);
  return stream.byteLength / 1e6 / seconds;
}

const best = { baseline: 0, gate: 0 };
for (let round = 0; round < ROUNDS; round++) {
  best.baseline = Math.max(best.baseline, await run(false));
  best.gate = Math.max(best.gate, await run(true));
}
const ratio = best.gate / best.baseline;
process.stdout.write(
  [
    `C-STORE bytes into dcmjs-dimse: ${STORES} × ${SIZE_MIB} MiB in 16 KiB PDUs, ${CHUNK}-byte chunks, best of ${ROUNDS}`,
    'path        MB/s',
    `baseline ${best.baseline.toFixed(0).padStart(7)}   (dcmjs-dimse's accumulator alone)`,
    `gate     ${best.gate.toFixed(0).padStart(7)}   (${(ratio * 100).toFixed(0)}% of baseline; target ≥ 95%)`,
    '',
  ].join('\n'),
);
