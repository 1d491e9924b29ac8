import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMultipartRelated, parseMultipartRelated } from '../../foundation/dicomweb/index.js';
import {
  DelimiterScanner,
  boundaryOf,
  openSpoolFile,
  readSpooledPart,
  removeSpoolFile,
  splitSpooledBody,
  spoolPath,
} from './index.js';

/** Spools `body` in chunks of the given sizes (cycled), then splits and reads every part. */
async function spoolAndSplit(
  dir: string,
  body: Buffer,
  contentType: string,
  chunkSizes: readonly number[],
): Promise<{ headers: Record<string, string>; body: Buffer }[]> {
  const scanner = new DelimiterScanner(boundaryOf(contentType));
  const path = spoolPath(dir, 'test');
  const file = await openSpoolFile(path);
  try {
    for (let at = 0, i = 0; at < body.length; i++) {
      const chunk = body.subarray(at, at + chunkSizes[i % chunkSizes.length]!);
      scanner.push(chunk);
      await file.write(chunk, 0, chunk.length, at);
      at += chunk.length;
    }
    const segments = await splitSpooledBody(file, body.length, scanner);
    const parts = [];
    for (const [i, segment] of segments.entries()) {
      const part = await readSpooledPart(file, segment, i + 1);
      parts.push({ headers: part.headers, body: Buffer.from(part.body) });
    }
    return parts;
  } finally {
    await removeSpoolFile(file, path);
  }
}

function pseudoRandomBytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

test('split from the spooled file = split in memory, for every chunking of the upload', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-spool-'));
  try {
    for (let seed = 1; seed <= 30; seed++) {
      const count = 1 + (seed % 4);
      const parts = Array.from({ length: count }, (_, i) => ({
        contentType: 'application/dicom',
        // Bodies that hold CRLF and dashes, and one that is empty.
        body:
          i === 1 && seed % 5 === 0 ? Buffer.alloc(0) : pseudoRandomBytes(seed * 97 + i, seed + i),
      }));
      const built = buildMultipartRelated(parts);
      // A preamble, transport padding after a delimiter and an epilogue are allowed.
      let body = Buffer.from(built.body);
      if (seed % 3 === 0) body = Buffer.concat([Buffer.from('preamble\r\n'), body]);
      if (seed % 4 === 0) body = Buffer.concat([body, Buffer.from('epilogue')]);
      const expected = parseMultipartRelated(body, built.contentType).map((p) => ({
        headers: p.headers,
        body: Buffer.from(p.body),
      }));
      for (const chunks of [[1], [3, 7], [64], [body.length]]) {
        assert.deepEqual(
          await spoolAndSplit(dir, body, built.contentType, chunks),
          expected,
          `seed ${seed}, chunks ${chunks.join(',')}`,
        );
      }
      // Cut anywhere inside the last part or its close delimiter: truncated, never a part less.
      const cut = body.subarray(0, body.length - (seed % 4 === 0 ? 8 + 3 : 3));
      await assert.rejects(
        spoolAndSplit(dir, cut, built.contentType, [5]),
        /E_BAD_INPUT: multipart body is truncated/,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a body without its boundary, and a Content-Type without one, are coded errors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-spool-'));
  try {
    assert.throws(() => boundaryOf('multipart/related; type="application/dicom"'), /no boundary/);
    assert.throws(() => boundaryOf('application/dicom'), /is not multipart/);
    await assert.rejects(
      spoolAndSplit(dir, Buffer.from('no parts at all'), 'multipart/related; boundary=b', [4]),
      /does not contain the boundary "b"/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
