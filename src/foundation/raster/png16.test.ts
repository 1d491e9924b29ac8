import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync, inflateSync } from 'node:zlib';
import pngjs from 'pngjs';
import { isRadiolensError } from '../core/index.js';
import { crc32, encodeGrey16Png, encodeGrey16PngRows } from './png16.js';

/** Decoded by pngjs (an independent decoder that checks every chunk's CRC). */
function decode(png: Uint8Array): { width: number; height: number; values: number[] } {
  const image = pngjs.PNG.sync.read(Buffer.from(png), { skipRescale: true });
  assert.equal(image.depth, 16);
  assert.equal(image.colorType, 0, 'greyscale');
  // With skipRescale pngjs expands to RGBA and keeps 16-bit values: 4 samples per pixel.
  const samples = image.data as unknown as ArrayLike<number>;
  const values: number[] = [];
  for (let i = 0; i < image.width * image.height; i++) values.push(samples[4 * i]!);
  return { width: image.width, height: image.height, values };
}

test('a 16-bit greyscale PNG decodes to the same samples (pngjs), at odd sizes and full range', async () => {
  for (const [width, height] of [
    [1, 1],
    [3, 5],
    [17, 2],
    [64, 48],
  ] as const) {
    const samples = new Uint16Array(width * height);
    let seed = width * 31 + height;
    for (let i = 0; i < samples.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      samples[i] = i === 0 ? 65535 : i === 1 ? 0 : seed >>> 16;
    }
    const decoded = decode(await encodeGrey16Png(width, height, samples));
    assert.equal(decoded.width, width);
    assert.equal(decoded.height, height);
    assert.deepEqual(decoded.values, [...samples]);
  }
});

test('the CRC is the standard CRC-32: its check value, and what gzip writes in its trailer', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  // gzip's trailer carries zlib's CRC-32 of the input: an independent implementation.
  const data = new TextEncoder().encode('Radiolens heatmap, 16-bit');
  const gz = gzipSync(data);
  assert.equal(crc32(data), gz.readUInt32LE(gz.length - 8));
});

test('a size that does not match the samples is refused with a coded error', async () => {
  await assert.rejects(
    () => encodeGrey16Png(4, 4, new Uint16Array(15)),
    (error: unknown) => isRadiolensError(error) && error.code === 'E_BAD_INPUT',
  );
  await assert.rejects(
    () => encodeGrey16Png(0, 4, new Uint16Array(0)),
    (error: unknown) => isRadiolensError(error) && error.code === 'E_BAD_INPUT',
  );
});

test('every row is filtered with Sub (ADR 0126), and rows made one at a time give the same bytes', async () => {
  const width = 40;
  const height = 6;
  const samples = Uint16Array.from({ length: width * height }, (_, i) => (i * 977) % 65536);
  const png = await encodeGrey16Png(width, height, samples);
  const byRows = await encodeGrey16PngRows(width, height, (y, row) =>
    row.set(samples.subarray(y * width, (y + 1) * width)),
  );
  assert.deepEqual(byRows, png);
  // IDAT is the second chunk: signature (8) + IHDR (12 + 13), then its length and type.
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const idatLength = view.getUint32(33);
  const filtered = inflateSync(png.subarray(41, 41 + idatLength));
  assert.equal(filtered.length, height * (1 + 2 * width));
  for (let y = 0; y < height; y++) assert.equal(filtered[y * (1 + 2 * width)], 1, `row ${y}`);
});
