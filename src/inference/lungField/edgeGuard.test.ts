import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../../test/support/index.js';
import { edgeGuardBox, guardEdges } from './edgeGuard.js';
import { LUNG_GRID } from './procedure.js';

const PLANE = LUNG_GRID * LUNG_GRID;

/** Deterministic maps in [0, 1) (a linear congruential generator; no Math.random). */
function maps(seed: number): Float32Array {
  const out = new Float32Array(2 * PLANE);
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s >>> 8) / 2 ** 24;
  }
  return out;
}

test('the inset view loses floor(inset · size) pixels on each side', () => {
  assert.deepEqual(edgeGuardBox(512, 512, 0.04), { left: 20, top: 20, right: 492, bottom: 492 });
  assert.deepEqual(edgeGuardBox(2048, 1700, 0.04), {
    left: 81,
    top: 68,
    right: 1967,
    bottom: 1632,
  });
  assert.throws(() => edgeGuardBox(512, 512, 0), /not in \(0, 0\.25\)/);
  assert.throws(() => edgeGuardBox(512, 512, 0.3), /not in \(0, 0\.25\)/);
  assert.deepEqual(edgeGuardBox(3, 3, 0.24), { left: 0, top: 0, right: 3, bottom: 3 });
});

test('each cell keeps the smaller of the two views, the inset cell under its centre', () => {
  // 512²: whole cell g covers source [2g, 2g + 2), centre 2g + 1; the inset view starts at 20
  // and is 472 wide, so cell g sits in inset cell floor((2g + 1 − 20) / 472 · 256).
  const whole = maps(1);
  const inset = maps(2);
  const box = edgeGuardBox(512, 512, 0.04);
  const out = guardEdges(whole, inset, 512, 512, box);
  const insetCell = (g: number): number => Math.floor(((2 * g + 1 - 20) / 472) * 256);
  for (const [c, gx, gy] of [
    [0, 10, 10],
    [1, 128, 40],
    [0, 245, 245],
    [1, 11, 200],
  ] as const) {
    const sx = insetCell(gx);
    const sy = insetCell(gy);
    const expected = Math.min(
      whole[c * PLANE + gy * LUNG_GRID + gx]!,
      inset[c * PLANE + sy * LUNG_GRID + sx]!,
    );
    assert.equal(out[c * PLANE + gy * LUNG_GRID + gx], expected, `channel ${c} cell ${gx},${gy}`);
  }
  // Cells whose centre lies in the cut-off band (2g + 1 < 20, or ≥ 492) are not lung.
  for (const g of [0, 9, 246, 255]) {
    assert.equal(out[g], 0, `row 0 column ${g}`);
    assert.equal(out[PLANE + g * LUNG_GRID + 128], 0, `left lung row ${g}`);
  }
  assert.equal(insetCell(10), 0);
  assert.equal(insetCell(245), 255);
});

test('a NaN of either view stays NaN (a broken lung model shows), and the inputs are not changed', () => {
  const whole = maps(3);
  const inset = maps(4);
  const box = edgeGuardBox(512, 512, 0.04);
  const at = 100 * LUNG_GRID + 100;
  const before = Float32Array.from(whole);
  inset.fill(Number.NaN);
  const out = guardEdges(whole, inset, 512, 512, box);
  assert.ok(Number.isNaN(out[at]));
  assert.deepEqual(whole, before);
  assert.throws(
    () => guardEdges(new Float32Array(10), inset, 512, 512, box),
    /lung maps of 10 and/,
  );
});

test('the same values as training/cxrlib.py guard_edges, bit for bit', (t) => {
  const python = '/usr/bin/python3';
  const probe = spawnSync(python, ['-c', 'import numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    t.skip('no /usr/bin/python3 with numpy (tools/test-tools.sh install adds it)');
    return;
  }
  for (const [width, height, inset, seed] of [
    [512, 512, 0.04, 5],
    [2048, 1700, 0.04, 6],
    [300, 1000, 0.1, 7],
  ] as const) {
    const whole = maps(seed);
    const view = maps(seed + 100);
    const box = edgeGuardBox(width, height, inset);
    const script = [
      'import sys, numpy as np',
      `sys.path.insert(0, ${JSON.stringify(join(repoRoot, 'training'))})`,
      'import cxrlib',
      'raw = sys.stdin.buffer.read()',
      'a = np.frombuffer(raw[:2*256*256*4], dtype="<f4").reshape(2, 256, 256)',
      'b = np.frombuffer(raw[2*256*256*4:], dtype="<f4").reshape(2, 256, 256)',
      `box = cxrlib.edge_guard_box(${width}, ${height}, ${inset})`,
      `sys.stdout.buffer.write(cxrlib.guard_edges(a, b, ${width}, ${height}, box).astype("<f4").tobytes() + repr(box).encode())`,
    ].join('\n');
    const run = spawnSync(python, ['-c', script], {
      input: Buffer.concat([Buffer.from(whole.buffer), Buffer.from(view.buffer)]),
      maxBuffer: 8 << 20,
    });
    assert.equal(run.status, 0, run.stderr.toString());
    const bytes = run.stdout.subarray(0, 2 * PLANE * 4);
    const theirs = new Float32Array(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
    );
    assert.equal(
      run.stdout.subarray(2 * PLANE * 4).toString(),
      `[${box.left}, ${box.top}, ${box.right}, ${box.bottom}]`,
    );
    assert.deepEqual(guardEdges(whole, view, width, height, box), theirs, `${width}×${height}`);
  }
});
