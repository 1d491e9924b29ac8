import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import pngjs from 'pngjs';
import { encodeHeatmapPng } from './heatmapPng.js';

function values(png: Uint8Array): {
  width: number;
  height: number;
  at: (x: number, y: number) => number;
} {
  const image = pngjs.PNG.sync.read(Buffer.from(png), { skipRescale: true });
  // With skipRescale pngjs expands to RGBA and keeps 16-bit values: 4 samples per pixel.
  const samples = image.data as unknown as ArrayLike<number>;
  return {
    width: image.width,
    height: image.height,
    at: (x, y) => samples[4 * (y * image.width + x)]!,
  };
}

test('the heatmap PNG is linear in the map with its maximum at 65535, at the map size', async () => {
  const width = 40;
  const height = 30;
  const data = new Float32Array(width * height);
  // A bump peaking at (27, 9), raw maximum 3.5.
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      data[y * width + x] = 3.5 * Math.exp(-((x - 27) ** 2 + (y - 9) ** 2) / 50);
  const out = await encodeHeatmapPng({ width, height, data, max: 3.5 });
  assert.equal(out.width, width);
  assert.equal(out.height, height);
  assert.equal(out.maxRaw, 3.5);
  assert.deepEqual(out.peak, { x: 27, y: 9 });
  assert.equal(out.sha256, createHash('sha256').update(out.png).digest('hex'));
  const png = values(out.png);
  assert.equal(png.width, width);
  assert.equal(png.height, height);
  assert.equal(png.at(27, 9), 65535);
  for (const [x, y] of [
    [0, 0],
    [20, 15],
    [30, 9],
  ] as const) {
    const raw = data[y * width + x]!;
    assert.ok(Math.abs(png.at(x, y) - (raw / 3.5) * 65535) <= 0.5, `value at ${x},${y}`);
  }
});

test('a map that is zero everywhere is written as zeros with maxRaw 0', async () => {
  const out = await encodeHeatmapPng({ width: 3, height: 2, data: new Float32Array(6), max: 0 });
  assert.equal(out.maxRaw, 0);
  const png = values(out.png);
  for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) assert.equal(png.at(x, y), 0);
});

test('a heatmap given row by row encodes to the same PNG as the whole map', async () => {
  const width = 33;
  const height = 21;
  const data = Float32Array.from({ length: width * height }, (_, i) => (i % 17) * 0.25 + (i % 5));
  let max = 0;
  for (const value of data) if (value > max) max = value;
  const whole = await encodeHeatmapPng({ width, height, data, max });
  const byRows = await encodeHeatmapPng({
    width,
    height,
    row: (y, into) => into.set(data.subarray(y * width, (y + 1) * width)),
  });
  assert.deepEqual(byRows, whole);
});

test('a map whose named maximum rows miss its maximum still gets the exact maximum and peak', async () => {
  // maximumRows is a shortcut (ADR 0129): a row outside it that holds a larger value must
  // give the PNG, maxRaw and peak of the map read whole.
  const width = 20;
  const height = 12;
  const data = Float32Array.from({ length: width * height }, (_, i) => (i % 7) * 0.5);
  data[5 * width + 13] = 9; // the maximum, in row 5
  data[8 * width + 2] = 9; // and again later: the peak is the first
  const row = (y: number, into: Float32Array): void =>
    into.set(data.subarray(y * width, (y + 1) * width));
  const whole = await encodeHeatmapPng({ width, height, data, max: 9 });
  const misled = await encodeHeatmapPng({ width, height, row, maximumRows: [0, 11] });
  assert.deepEqual(misled, whole);
  assert.equal(misled.maxRaw, 9);
  assert.deepEqual(misled.peak, { x: 13, y: 5 });
  const told = await encodeHeatmapPng({ width, height, row, maximumRows: [5] });
  assert.deepEqual(told, whole);
});

test('samples are the raw values rounded half up, as Math.round rounds them', async () => {
  // With the maximum at 65535 the scale is 1: each sample is round(value). Float32 values
  // at and around every .5 the quantiser could get wrong.
  const raws = [
    65535, 0.5, 1.5, 2.5, 0.49999997, 0.50000006, 1.4999999, 255.5, 256.5, 65534.5, 65533.99,
    32767.5, 1e-30, 0, 3.4999998, 4095.5,
  ].map(Math.fround);
  const out = await encodeHeatmapPng({
    width: raws.length,
    height: 1,
    data: Float32Array.from(raws),
    max: 65535,
  });
  const png = values(out.png);
  raws.forEach((raw, x) => assert.equal(png.at(x, 0), Math.round(raw), `value ${raw}`));
});
