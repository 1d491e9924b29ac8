import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDicom } from '../../../foundation/dicom/index.js';
import { buildMultipartRelated } from '../../../foundation/dicomweb/index.js';
import { InstanceStore } from '../../store/index.js';
import { objectFilesIn } from '../../../../test/support/store.js';
import { conformanceDir } from '../../../../test/support/index.js';
import { freeLoopbackPort } from '../../../../test/support/orthanc.js';
import { mountSmallDisk, unmountSmallDisk } from '../../../../test/support/smallDisk.js';
import {
  FAILURE_CANNOT_UNDERSTAND,
  FAILURE_DATASET_DOES_NOT_MATCH,
  createStowRsHandler,
  matchStowRsPath,
  type DicomJson,
  type StowEvent,
  type StowRsOptions,
} from './index.js';

const ROOT = '/dicom-web';
const FILES = {
  ct: join(conformanceDir, 'cornerstone3D', 'CTImage.dcm'),
  mr: join(conformanceDir, 'pydicom-data', 'MR2_J2KR.dcm'),
  us: join(conformanceDir, 'pydicom-data', 'US1_UNCI.dcm'),
  sc: join(conformanceDir, 'pydicom-data', 'SC_rgb.dcm'),
  ctOther: join(conformanceDir, 'pydicom-data', '693_UNCI.dcm'),
};

interface Node {
  store: InstanceStore;
  dataDir: string;
  url: string;
  events: StowEvent[];
}

/** A real HTTP server on a free loopback port, routing /dicom-web/studies[/{uid}] to STOW-RS. */
async function withNode(options: StowRsOptions, run: (node: Node) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-stow-'));
  const dataDir = join(dir, 'data');
  const store = InstanceStore.open(dataDir);
  const events: StowEvent[] = [];
  const handler = createStowRsHandler(store, {
    ...options,
    onEvent: (event) => {
      events.push(event);
      options.onEvent?.(event);
    },
  });
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = path.startsWith(ROOT) ? matchStowRsPath(path.slice(ROOT.length)) : undefined;
    if (route === undefined) {
      res.writeHead(404).end();
      return;
    }
    void handler(req, res, route.studyInstanceUid);
  });
  const port = await freeLoopbackPort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  try {
    await run({ store, dataDir, url: `http://127.0.0.1:${port}${ROOT}`, events });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function uidsOf(bytes: Uint8Array): { sopInstanceUid: string; sopClassUid: string; study: string } {
  const instance = parseDicom(bytes, 'test');
  return {
    sopInstanceUid: instance.sopInstanceUid,
    sopClassUid: instance.sopClassUid,
    study: instance.studyInstanceUid,
  };
}

async function stow(
  url: string,
  bodies: readonly Uint8Array[],
): Promise<{ status: number; json: DicomJson; contentType: string }> {
  const built = buildMultipartRelated(
    bodies.map((body) => ({ contentType: 'application/dicom', body })),
  );
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': built.contentType, accept: 'application/dicom+json' },
    body: built.body,
  });
  const text = await response.text();
  return {
    status: response.status,
    json:
      response.headers.get('content-type') === 'application/dicom+json'
        ? (JSON.parse(text) as DicomJson)
        : {},
    contentType: response.headers.get('content-type') ?? '',
  };
}

/** [SOP Instance UID, Failure Reason or undefined] of each item of a response sequence. */
function items(json: DicomJson, tag: '00081198' | '00081199'): [string, number | undefined][] {
  const sequence = (json[tag]?.Value ?? []) as DicomJson[];
  return sequence.map((item) => [
    String(item['00081155']?.Value?.[0] ?? ''),
    item['00081197']?.Value?.[0] as number | undefined,
  ]);
}

test('matchStowRsPath: /studies and /studies/{uid}, nothing else', () => {
  assert.deepEqual(matchStowRsPath('/studies'), {});
  assert.deepEqual(matchStowRsPath('/studies/'), {});
  assert.deepEqual(matchStowRsPath('/studies/1.2.3'), { studyInstanceUid: '1.2.3' });
  assert.equal(matchStowRsPath('/studies/1.2.3/series'), undefined);
  assert.equal(matchStowRsPath('/study'), undefined);
});

test('POST /studies stores real files untouched and answers 200 with ReferencedSOPSequence', async () => {
  await withNode({}, async ({ store, url, events }) => {
    const bodies = await Promise.all(
      [FILES.ct, FILES.mr, FILES.us, FILES.sc].map((f) => readFile(f)),
    );
    const result = await stow(`${url}/studies`, bodies);
    assert.equal(result.status, 200);
    assert.equal(result.contentType, 'application/dicom+json');
    assert.equal(result.json['00081198'], undefined);
    assert.deepEqual(result.json['00081190'], { vr: 'UR' });
    const expected = bodies.map((b) => uidsOf(b));
    assert.deepEqual(
      items(result.json, '00081199').map(([uid]) => uid),
      expected.map((e) => e.sopInstanceUid),
    );
    const first = (result.json['00081199']?.Value as DicomJson[])[0]!;
    assert.deepEqual(first['00081150'], { vr: 'UI', Value: [expected[0]!.sopClassUid] });
    // Acknowledged means stored: every instance is indexed with its exact bytes by now.
    for (const [i, body] of bodies.entries()) {
      const record = store.findInstance(expected[i]!.sopInstanceUid);
      assert.ok(record, `instance ${i} indexed`);
      assert.ok(Buffer.from(await store.readInstanceBytes(record)).equals(body));
    }
    assert.equal(events.filter((e) => e.type === 'stored').length, 4);
    const done = events.find((e) => e.type === 'request-completed');
    assert.ok(done && done.type === 'request-completed' && done.stored === 4 && done.failed === 0);
    // No UIDs in events (they go to logs).
    for (const uid of expected.map((e) => e.sopInstanceUid)) {
      assert.ok(!JSON.stringify(events).includes(uid));
    }

    // The same upload again: duplicates are acknowledged, nothing is stored twice.
    const again = await stow(`${url}/studies`, bodies);
    assert.equal(again.status, 200);
    assert.equal(
      store.studies().reduce((n, s) => n + s.instanceCount, 0),
      4,
    );
  });
});

test('POST /studies/{uid}: an instance of another study fails with A900, the rest is stored (202)', async () => {
  await withNode({}, async ({ store, url }) => {
    const ct = await readFile(FILES.ct);
    const sc = await readFile(FILES.sc);
    const ctUids = uidsOf(ct);
    const scUids = uidsOf(sc);
    assert.notEqual(ctUids.study, scUids.study);
    const result = await stow(`${url}/studies/${ctUids.study}`, [ct, sc]);
    assert.equal(result.status, 202);
    assert.deepEqual(items(result.json, '00081199'), [[ctUids.sopInstanceUid, undefined]]);
    assert.deepEqual(items(result.json, '00081198'), [
      [scUids.sopInstanceUid, FAILURE_DATASET_DOES_NOT_MATCH],
    ]);
    const failedItem = (result.json['00081198']?.Value as DicomJson[])[0]!;
    assert.deepEqual(failedItem['00081150'], { vr: 'UI', Value: [scUids.sopClassUid] });
    assert.ok(store.findInstance(ctUids.sopInstanceUid));
    assert.equal(store.findInstance(scUids.sopInstanceUid), undefined);
  });
});

test('all instances failing is 409; a part that is not DICOM fails with C000', async () => {
  await withNode({}, async ({ store, dataDir, url }) => {
    const sc = await readFile(FILES.sc);
    const ctStudy = uidsOf(await readFile(FILES.ct)).study;
    const notDicom = Buffer.from('this is not a DICOM file, it is a note to the PACS admin');
    const result = await stow(`${url}/studies/${ctStudy}`, [notDicom, sc]);
    assert.equal(result.status, 409);
    assert.deepEqual(items(result.json, '00081198'), [
      ['', FAILURE_CANNOT_UNDERSTAND],
      [uidsOf(sc).sopInstanceUid, FAILURE_DATASET_DOES_NOT_MATCH],
    ]);
    assert.equal(result.json['00081199'], undefined);
    assert.deepEqual(store.studies(), []);
    assert.deepEqual(objectFilesIn(dataDir), []);
  });
});

test('refuses what it cannot take: 415 media type, 400 body or UID, 413 size, 405 method', async () => {
  await withNode({ maxRequestBytes: 200_000 }, async ({ store, url }) => {
    const sc = await readFile(FILES.sc); // 31 kB
    const ct = await readFile(FILES.ct); // 530 kB
    const post = (body: Uint8Array, contentType: string, path = '/studies'): Promise<Response> =>
      fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });

    const bare = await post(sc, 'application/dicom');
    assert.equal(bare.status, 415);
    assert.match(
      await bare.text(),
      /application\/dicom is not supported — send multipart\/related; type="application\/dicom"/,
    );
    const metadata = buildMultipartRelated([
      { contentType: 'application/dicom+json', body: Buffer.from('[]') },
    ]);
    const json = await post(metadata.body, metadata.contentType);
    assert.equal(json.status, 415);
    assert.match(await json.text(), /type=application\/dicom\+json is not supported/);

    const good = buildMultipartRelated([{ contentType: 'application/dicom', body: sc }]);
    const truncated = await post(good.body.subarray(0, good.body.length - 40), good.contentType);
    assert.equal(truncated.status, 400);
    assert.match(await truncated.text(), /truncated.*nothing was stored/);
    const noBoundary = await post(good.body, 'multipart/related; type="application/dicom"');
    assert.equal(noBoundary.status, 400);
    assert.match(await noBoundary.text(), /no boundary parameter/);
    const badUid = await post(good.body, good.contentType, '/studies/not-a-uid');
    assert.equal(badUid.status, 400);
    await badUid.text();

    const big = buildMultipartRelated([{ contentType: 'application/dicom', body: ct }]);
    const tooLarge = await post(big.body, big.contentType);
    assert.equal(tooLarge.status, 413);
    assert.match(await tooLarge.text(), /at most 200000/);
    // Without a Content-Length (chunked), the limit is enforced while reading.
    const chunked = await fetch(`${url}/studies`, {
      method: 'POST',
      headers: { 'content-type': big.contentType },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < big.body.length; i += 65536)
            controller.enqueue(big.body.subarray(i, i + 65536));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(chunked.status, 413);
    await chunked.text();

    const get = await fetch(`${url}/studies`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    await get.text();
    assert.deepEqual(store.studies(), []);
  });
});

test('a part over the part limit is refused with 413 before anything is stored; no spool file stays', async () => {
  await withNode({ maxPartBytes: 100_000 }, async ({ store, dataDir, url }) => {
    const sc = await readFile(FILES.sc); // 31 kB: under the limit
    const ct = await readFile(FILES.ct); // 530 kB: over it
    const built = buildMultipartRelated([
      { contentType: 'application/dicom', body: sc },
      { contentType: 'application/dicom', body: ct },
    ]);
    const response = await fetch(`${url}/studies`, {
      method: 'POST',
      headers: { 'content-type': built.contentType },
      body: built.body,
    });
    assert.equal(response.status, 413);
    assert.match(
      await response.text(),
      /part 2 is \d+ bytes; this node accepts at most 100000 per part/,
    );
    assert.deepEqual(store.studies(), []);
    assert.deepEqual(objectFilesIn(dataDir), []);
    assert.deepEqual(readdirSync(join(dataDir, 'spool')), []);
    // Within the limit, both parts of a spooled body are stored, and the spool is emptied.
    const small = buildMultipartRelated([
      { contentType: 'application/dicom', body: sc },
      { contentType: 'application/dicom', body: sc },
    ]);
    const ok = await fetch(`${url}/studies`, {
      method: 'POST',
      headers: { 'content-type': small.contentType },
      body: small.body,
    });
    assert.equal(ok.status, 200, await ok.text());
    assert.equal(store.studies().length, 1);
    assert.deepEqual(readdirSync(join(dataDir, 'spool')), []);
  });
});

test('a full disk while the upload is spooled: 503 with Retry-After, nothing stored, no spool file left; with room again it is stored', async (t) => {
  await withNode({}, async ({ store, dataDir, url, events }) => {
    const spool = join(dataDir, 'spool');
    const why = mountSmallDisk(spool, 64 * 1024);
    if (why !== null) {
      t.skip(why);
      return;
    }
    let mounted = true;
    try {
      const ct = await readFile(FILES.ct); // 530 kB, on a 64 kB disk
      const built = buildMultipartRelated([{ contentType: 'application/dicom', body: ct }]);
      const response = await fetch(`${url}/studies`, {
        method: 'POST',
        headers: { 'content-type': built.contentType },
        body: built.body,
      });
      // Our trouble, and passing: the sender is told to send it again later — not a 500 it
      // may take as final, nor a 400 for a body the disk cut short.
      assert.equal(response.status, 503);
      assert.equal(response.headers.get('retry-after'), '60');
      assert.match(
        await response.text(),
        /^no room on this node's disk to receive the upload; nothing was stored — send it again later\n?$/,
      );
      assert.ok(events.some((e) => e.type === 'request-rejected' && e.status === 503));
      assert.deepEqual(store.studies(), []);
      assert.deepEqual(objectFilesIn(dataDir), []);
      assert.deepEqual(readdirSync(spool), []);
      unmountSmallDisk(spool);
      mounted = false;
      const again = await stow(`${url}/studies`, [ct]);
      assert.equal(again.status, 200);
      assert.equal(store.studies().length, 1);
    } finally {
      if (mounted) unmountSmallDisk(spool);
    }
  });
});

test('a client that disconnects mid-upload: nothing of the request is indexed or kept', async () => {
  let aborted!: () => void;
  const abortSeen = new Promise<void>((resolve) => (aborted = resolve));
  await withNode(
    { onEvent: (e) => e.type === 'request-aborted' && aborted() },
    async ({ store, dataDir, url }) => {
      const sc = await readFile(FILES.sc);
      const ct = await readFile(FILES.ct);
      const built = buildMultipartRelated([
        { contentType: 'application/dicom', body: sc },
        { contentType: 'application/dicom', body: ct },
      ]);
      const { hostname, port } = new URL(url);
      const socket = connect(Number(port), hostname);
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(
        `POST ${ROOT}/studies HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: ${built.contentType}\r\n` +
          `Content-Length: ${built.body.length}\r\n\r\n`,
      );
      // The first part complete, the second cut in the middle of its pixel data.
      await new Promise((resolve) =>
        socket.write(built.body.subarray(0, sc.length + 300_000), resolve),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      socket.destroy();
      await abortSeen;
      assert.deepEqual(store.studies(), []);
      assert.deepEqual(objectFilesIn(dataDir), []);
    },
  );
});

test('Orthanc (DICOMweb plugin) sends a study to us by STOW-RS', async () => {
  const { OrthancServer } = await import('../../../../test/support/orthanc.js');
  await withNode({}, async ({ store, url }) => {
    const orthanc = await OrthancServer.start({
      dicom: false,
      dicomWeb: true,
      dicomWebServers: { radiolens: { url } },
    });
    try {
      const bodies = await Promise.all([FILES.ct, FILES.ctOther].map((f) => readFile(f)));
      const ids = [];
      for (const body of bodies) ids.push(await orthanc.upload(body));
      const response = await fetch(`${orthanc.url}/dicom-web/servers/radiolens/stow`, {
        method: 'POST',
        body: JSON.stringify({ Resources: ids, Synchronous: true }),
      });
      assert.equal(response.status, 200, await response.text());
      for (const body of bodies) {
        const record = store.findInstance(uidsOf(body).sopInstanceUid);
        assert.ok(record, 'instance sent by Orthanc is indexed');
        // Orthanc stored the files as uploaded (StorageCompression off) and sends them as is.
        assert.ok(Buffer.from(await store.readInstanceBytes(record)).equals(body));
      }
    } finally {
      await orthanc.stop();
    }
  });
});
