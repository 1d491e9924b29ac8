import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRaster, encodeJpeg, encodePng } from './index.js';

test('PNG round trip at 8 and 16 bits is exact', () => {
  const eight = Uint8Array.from({ length: 35 }, (_, i) => (i * 37) % 256);
  const back8 = decodeRaster(encodePng({ width: 7, height: 5, bitDepth: 8, samples: eight }), 'a');
  assert.equal(back8.bitDepth, 8);
  assert.deepEqual(Array.from(back8.samples), Array.from(eight));
  const sixteen = Uint16Array.from({ length: 12 }, (_, i) => (i * 5471) % 65536);
  const back16 = decodeRaster(
    encodePng({ width: 4, height: 3, bitDepth: 16, samples: sixteen }),
    'b',
  );
  assert.equal(back16.bitDepth, 16);
  assert.deepEqual(Array.from(back16.samples), Array.from(sixteen));
  assert.throws(
    () => encodePng({ width: 4, height: 4, bitDepth: 8, samples: eight }),
    /35 samples for a 4×4 image/,
  );
});

test('JPEG at quality 85 is lossy but close, and decodes as grey', () => {
  const width = 64;
  const height = 48;
  const samples = Uint8Array.from(
    { length: width * height },
    (_, i) => 60 + Math.round(80 * Math.sin((i % width) / 9) * Math.cos(i / width / 7)) + 60,
  );
  const bytes = encodeJpeg({ width, height, bitDepth: 8, samples }, 85);
  assert.equal(bytes[0], 0xff);
  assert.equal(bytes[1], 0xd8);
  const back = decodeRaster(bytes, 'c.jpg');
  assert.equal(back.lossy, true);
  assert.equal(back.convertedFromColour, false);
  let error = 0;
  let changed = 0;
  for (let i = 0; i < samples.length; i++) {
    error += Math.abs(back.samples[i]! - samples[i]!);
    if (back.samples[i] !== samples[i]) changed++;
  }
  assert.ok(changed > 0, 'quality 85 must lose something');
  assert.ok(error / samples.length < 3, `mean error ${error / samples.length}`);
  // Lower quality loses more.
  const rough = decodeRaster(encodeJpeg({ width, height, bitDepth: 8, samples }, 10), 'd.jpg');
  let roughError = 0;
  for (let i = 0; i < samples.length; i++) roughError += Math.abs(rough.samples[i]! - samples[i]!);
  assert.ok(roughError > error);
  assert.throws(
    () => encodeJpeg({ width: 1, height: 1, bitDepth: 16, samples: Uint16Array.of(1) }, 85),
    /scale it to 8 bits/,
  );
  assert.throws(() => encodeJpeg({ width, height, bitDepth: 8, samples }, 0), /quality 0/);
});
