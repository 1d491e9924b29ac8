/**
 * Turn the parity data of training/parity.py (build/parity: one folder per case with
 * case.json and full float32 tensors) into the small fixture the TypeScript parity test reads
 * (test/fixtures/lung-parity): each case's case.json as written, and of each tensor every
 * 61st value (61 is prime to the 256- and 224-pixel row lengths, so the samples scatter over
 * rows and columns) as raw float32 little-endian. The test also checks the full tensors'
 * statistics from case.json, so a sample that misses a region still sees its mean and extremes.
 *
 * Usage: npx tsx tools/lung-parity-fixture.ts [build/parity] [test/fixtures/lung-parity]
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const SAMPLE_STRIDE = 61;

const from = resolve(process.argv[2] ?? 'build/parity');
const to = resolve(process.argv[3] ?? 'test/fixtures/lung-parity');
rmSync(to, { recursive: true, force: true });
mkdirSync(to, { recursive: true });
let bytes = 0;
for (const name of readdirSync(from).sort()) {
  const folder = join(from, name);
  if (!statSync(folder).isDirectory()) continue;
  const meta = JSON.parse(readFileSync(join(folder, 'case.json'), 'utf8')) as {
    tensors: Record<string, { shape: number[] }>;
  };
  mkdirSync(join(to, name));
  writeFileSync(join(to, name, 'case.json'), `${JSON.stringify(meta, null, 1)}\n`);
  for (const tensor of Object.keys(meta.tensors)) {
    const raw = readFileSync(join(folder, `${tensor}.f32`));
    const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    const sample = new Float32Array(Math.ceil(all.length / SAMPLE_STRIDE));
    for (let i = 0; i < sample.length; i++) sample[i] = all[i * SAMPLE_STRIDE]!;
    const out = Buffer.from(sample.buffer);
    writeFileSync(join(to, name, `${tensor}.sample.f32`), out);
    bytes += out.length;
  }
}
writeFileSync(join(to, 'index.json'), readFileSync(join(from, 'index.json')));
console.log(`${to}: ${(bytes / 1024).toFixed(0)} KiB of tensor samples`);
