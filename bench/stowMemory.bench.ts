/**
 * STOW-RS receiving memory (issue #16, ADR 0132): peak resident memory of the receiving
 * process for one large upload, against the named baseline — the pre-#16 handling, which
 * read the whole body into one Buffer and split it in memory (reproduced here as it was:
 * collect chunks, Buffer.concat, parseMultipartRelated, store part by part). The issue
 * measured 1.3 GB for a 268 MB upload (4.8× the body).
 *
 * Each variant runs in a fresh child process (its own heap and RSS) with a fresh data folder;
 * the parent streams the same multipart body from a file, so the sender's memory is not
 * counted. Peak = getrusage maxrss of the child after the upload was answered.
 *
 * Usage: npm run build && node dist/bench/stowMemory.bench.js [--instances 64] [--size 2048]
 *   (64 CR instances of 2048² 8-bit: 4 MiB each, 256 MiB in one request)
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { request, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseMultipartRelated } from '../src/foundation/dicomweb/index.js';
import { createStowRsHandler } from '../src/node/ingest/stow/index.js';
import { InstanceStore } from '../src/node/store/index.js';
import { syntheticInstance } from '../test/support/store.js';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) || fallback : fallback;
}

const VARIANTS = {
  baseline: 'before #16: whole body in memory',
  spooled: 'this change: spooled to disk',
} as const;
type Variant = keyof typeof VARIANTS;

/** The pre-#16 receive path, as it was: every chunk kept, concatenated, split in memory. */
function baselineHandler(store: InstanceStore) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    let received = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      received += chunk.length;
    }
    const body = Buffer.concat(chunks, received);
    const parts = parseMultipartRelated(body, req.headers['content-type'] ?? '');
    for (const [index, part] of parts.entries()) {
      await store.storeInstance(part.body, { source: `part ${index + 1}` });
    }
    res.writeHead(200, { 'content-type': 'application/dicom+json' }).end('{}');
  };
}

async function child(variant: Variant, dataDir: string): Promise<void> {
  const store = InstanceStore.open(dataDir);
  const handler =
    variant === 'baseline'
      ? baselineHandler(store)
      : (() => {
          const stow = createStowRsHandler(store);
          return (req: IncomingMessage, res: ServerResponse) => stow(req, res);
        })();
  const server = createServer((req, res) => {
    if (req.url === '/rss') {
      res.end(JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS }));
      return;
    }
    void handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const idleKiB = process.resourceUsage().maxRSS;
  process.stdout.write(
    `${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0, idleKiB })}\n`,
  );
}

function send(port: number, path: string, file: string, contentType: string, size: number) {
  return new Promise<number>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: { 'content-type': contentType, 'content-length': size },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    createReadStream(file).pipe(req);
  });
}

async function getJson(port: number, path: string): Promise<Record<string, number>> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return (await response.json()) as Record<string, number>;
}

async function measure(variant: Variant, work: string, body: string, contentType: string) {
  const dataDir = join(work, `data-${variant}`);
  const self = fileURLToPath(import.meta.url);
  const proc = spawn(process.execPath, [self, '--child', variant, dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const first = await new Promise<string>((resolve) =>
      proc.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString())),
    );
    const { port, idleKiB } = JSON.parse(first) as { port: number; idleKiB: number };
    const size = (await stat(body)).size;
    const started = performance.now();
    const status = await send(port, '/studies', body, contentType, size);
    const seconds = (performance.now() - started) / 1000;
    const { maxRssKiB } = await getJson(port, '/rss');
    return { status, seconds, idleMiB: idleKiB / 1024, peakMiB: maxRssKiB! / 1024, size };
  } finally {
    proc.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const instances = option('instances', 64);
  const pixels = option('size', 2048);
  const work = await mkdtemp(join(tmpdir(), 'radiolens-stow-bench-'));
  try {
    const boundary = 'radiolens-bench-boundary-7f3a';
    const body = join(work, 'body.multipart');
    const out = createWriteStream(body);
    for (let i = 0; i < instances; i++) {
      const part = syntheticInstance({
        study: 'stow-bench',
        instance: String(i),
        size: pixels,
        seed: i,
      });
      out.write(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`);
      out.write(part);
      out.write('\r\n');
    }
    out.end(`--${boundary}--\r\n`);
    await new Promise<void>((resolve) => out.once('close', () => resolve()));
    const contentType = `multipart/related; type="application/dicom"; boundary=${boundary}`;
    const rows = [];
    for (const variant of Object.keys(VARIANTS) as Variant[]) {
      rows.push({ variant, ...(await measure(variant, work, body, contentType)) });
    }
    const mib = (n: number): string => n.toFixed(0).padStart(8);
    const bodyMiB = rows[0]!.size / 1024 / 1024;
    process.stdout.write(
      `STOW-RS receive memory: one request of ${instances} instances, ${bodyMiB.toFixed(0)} MiB\n` +
        `| variant                                            | status | idle RSS MiB | peak RSS MiB | peak − idle | (peak − idle) / body | seconds |\n` +
        `|----------------------------------------------------|--------|--------------|--------------|-------------|----------------------|---------|\n` +
        rows
          .map(
            (r) =>
              `| ${`${r.variant} (${VARIANTS[r.variant]})`.padEnd(50)} | ${String(r.status).padStart(6)} |     ${mib(r.idleMiB)} |     ${mib(r.peakMiB)} |    ${mib(r.peakMiB - r.idleMiB)} | ${((r.peakMiB - r.idleMiB) / bodyMiB).toFixed(2).padStart(20)} | ${r.seconds.toFixed(1).padStart(7)} |`,
          )
          .join('\n') +
        '\n',
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const at = process.argv.indexOf('--child');
if (at > 0) await child(process.argv[at + 1] as Variant, process.argv[at + 2]!);
else await main();
