import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDicom } from '../../../foundation/dicom/index.js';
import { InstanceStore } from '../../store/index.js';
import { conformanceDir } from '../../../../test/support/index.js';
import { WatchedFolder, type WatchEvent, type WatchedFolderOptions } from './index.js';

const CT = join(conformanceDir, 'cornerstone3D', 'CTImage.dcm');
const MR = join(conformanceDir, 'pydicom-data', 'MR2_J2KR.dcm');
const SC = join(conformanceDir, 'pydicom-data', 'SC_rgb.dcm');
const US = join(conformanceDir, 'pydicom-data', 'US1_UNCI.dcm');

interface Setup {
  store: InstanceStore;
  folder: string;
  watched: WatchedFolder;
  events: WatchEvent[];
}

async function withFolder(
  options: WatchedFolderOptions,
  run: (setup: Setup) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-watch-'));
  const store = InstanceStore.open(join(dir, 'data'));
  const folder = join(dir, 'import');
  await mkdir(folder);
  const events: WatchEvent[] = [];
  const watched = new WatchedFolder(store, folder, {
    ...options,
    onEvent: (event) => {
      events.push(event);
      options.onEvent?.(event);
    },
  });
  try {
    await run({ store, folder, watched, events });
  } finally {
    await watched.stop();
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const sopOf = (bytes: Uint8Array): string => parseDicom(bytes, 'test').sopInstanceUid;

test('stores real files from the folder and its subfolders, then removes them; dot entries stay', async () => {
  await withFolder({ pollMs: 50 }, async ({ store, folder, watched, events }) => {
    const ct = await readFile(CT);
    const mr = await readFile(MR);
    const sc = await readFile(SC);
    await writeFile(join(folder, 'ct.dcm'), ct);
    await mkdir(join(folder, 'study-2', 'series-1'), { recursive: true });
    await writeFile(join(folder, 'study-2', 'series-1', 'IM0001'), mr); // no extension
    await mkdir(join(folder, '.staging'));
    await writeFile(join(folder, '.staging', 'sc.dcm'), sc); // dot-folder: skipped
    await writeFile(join(folder, '.sc.dcm.part'), sc); // dot-file: skipped
    watched.start();
    await waitFor('two stored files', () => events.filter((e) => e.type === 'stored').length === 2);
    await watched.stop();
    assert.ok(!existsSync(join(folder, 'ct.dcm')));
    assert.ok(!existsSync(join(folder, 'study-2', 'series-1', 'IM0001')));
    assert.ok(existsSync(join(folder, '.staging', 'sc.dcm')));
    assert.ok(existsSync(join(folder, '.sc.dcm.part')));
    for (const bytes of [ct, mr]) {
      const record = store.findInstance(sopOf(bytes));
      assert.ok(record);
      assert.ok(Buffer.from(await store.readInstanceBytes(record)).equals(bytes));
    }
    assert.equal(store.findInstance(sopOf(sc)), undefined);
    // Events carry no file names and no UIDs.
    const logged = JSON.stringify(events);
    assert.ok(!/ct\.dcm|IM0001|study-2/.test(logged));
    assert.ok(!logged.includes(sopOf(ct)));
  });
});

test('a file written slowly in two chunks is taken only once it holds still', async () => {
  await withFolder({}, async ({ store, folder, watched }) => {
    const ct = await readFile(CT);
    const path = join(folder, 'slow.dcm');
    const half = Math.floor(ct.length / 2);
    await writeFile(path, ct.subarray(0, half));
    assert.equal(await watched.scanOnce(), 0); // first sight: recorded
    await appendFile(path, ct.subarray(half));
    assert.equal(await watched.scanOnce(), 0); // grew since: not yet
    assert.equal(store.findInstance(sopOf(ct)), undefined);
    assert.ok(existsSync(path));
    assert.equal(await watched.scanOnce(), 1); // unchanged since the last scan: taken
    assert.ok(!existsSync(path));
    const record = store.findInstance(sopOf(ct));
    assert.ok(record);
    assert.ok(Buffer.from(await store.readInstanceBytes(record)).equals(ct));
  });
});

test('a sender that pauses mid-file is waited for (grace period), not rejected', async () => {
  await withFolder({ pollMs: 40 }, async ({ store, folder, watched, events }) => {
    const ct = await readFile(CT);
    const path = join(folder, 'paused.dcm');
    await writeFile(path, ct.subarray(0, 200_000));
    watched.start();
    // Several scans see the half file unchanged: it is tried, found incomplete, left alone.
    await waitFor('incomplete', () => events.some((e) => e.type === 'incomplete'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(existsSync(path));
    assert.equal(events.filter((e) => e.type === 'incomplete').length, 1, 'tried once per change');
    await appendFile(path, ct.subarray(200_000));
    await waitFor('stored', () => events.some((e) => e.type === 'stored'));
    await watched.stop();
    assert.ok(!existsSync(path));
    assert.ok(!existsSync(join(folder, '.rejected')));
    assert.ok(store.findInstance(sopOf(ct)));
  });
});

test('a bad file goes to .rejected/ with a <name>.error.txt saying why; a cut-off one after the grace', async () => {
  let clock = 1_000_000;
  await withFolder(
    { incompleteGraceMs: 30_000, now: () => clock },
    async ({ store, folder, watched, events }) => {
      await mkdir(join(folder, 'sub'));
      await writeFile(join(folder, 'sub', 'notes.txt'), 'not a DICOM file: just a note\n');
      const ct = await readFile(CT);
      await writeFile(join(folder, 'cut.dcm'), ct.subarray(0, 100_000));
      await watched.scanOnce();
      await watched.scanOnce();
      const rejected = join(folder, '.rejected', 'sub', 'notes.txt');
      assert.equal(await readFile(rejected, 'utf8'), 'not a DICOM file: just a note\n');
      const why = await readFile(`${rejected}.error.txt`, 'utf8');
      assert.match(why, /file: sub\/notes\.txt/);
      assert.match(why, /reason: E_NOT_DICOM: /);
      assert.ok(!existsSync(join(folder, 'sub', 'notes.txt')));
      // The cut-off file is waited for first…
      assert.ok(existsSync(join(folder, 'cut.dcm')));
      clock += 29_000;
      await watched.scanOnce();
      assert.ok(existsSync(join(folder, 'cut.dcm')));
      // …and rejected once it has not changed for the grace period.
      clock += 2_000;
      await watched.scanOnce();
      assert.ok(!existsSync(join(folder, 'cut.dcm')));
      assert.match(
        await readFile(join(folder, '.rejected', 'cut.dcm.error.txt'), 'utf8'),
        /ends early.*E_TRUNCATED/,
      );
      assert.deepEqual(
        events.filter((e) => e.type === 'rejected').map((e) => e.type === 'rejected' && e.error),
        ['E_NOT_DICOM', 'E_TRUNCATED'],
      );
      assert.deepEqual(store.studies(), []);
      // A second rejected file of the same name does not overwrite the first.
      await mkdir(join(folder, 'sub'), { recursive: true });
      await writeFile(join(folder, 'sub', 'notes.txt'), 'another note\n');
      await watched.scanOnce();
      await watched.scanOnce();
      assert.deepEqual((await readdir(join(folder, '.rejected', 'sub'))).sort(), [
        'notes-1.txt',
        'notes-1.txt.error.txt',
        'notes.txt',
        'notes.txt.error.txt',
      ]);
    },
  );
});

test('keepDone moves stored files to .done/; a file stored before a crash is a duplicate next time', async () => {
  await withFolder({ keepDone: true }, async ({ store, folder, watched, events }) => {
    const sc = await readFile(SC);
    // As if the node crashed after storeInstance resolved but before the file was removed.
    await store.storeInstance(sc, { source: 'before the crash' });
    await mkdir(join(folder, 'a'));
    await writeFile(join(folder, 'a', 'sc.dcm'), sc);
    await watched.scanOnce();
    assert.equal(await watched.scanOnce(), 1);
    const stored = events.find((e) => e.type === 'stored');
    assert.ok(stored && stored.type === 'stored' && stored.outcome === 'duplicate');
    assert.ok(!existsSync(join(folder, 'a', 'sc.dcm')));
    assert.ok((await readFile(join(folder, '.done', 'a', 'sc.dcm'))).equals(sc));
    assert.equal(store.studies().length, 1);
    // .done is a dot-folder: never scanned again.
    await watched.scanOnce();
    await watched.scanOnce();
    assert.equal(events.filter((e) => e.type === 'stored').length, 1);
  });
});

test('stop() waits for the file in flight and takes no further file', async () => {
  let watchedRef: WatchedFolder | undefined;
  let stopping: Promise<void> | undefined;
  await withFolder(
    {
      // Stop as soon as the first file is durably stored, before it is removed.
      onEvent: (e) => {
        if (e.type === 'stored' && stopping === undefined) stopping = watchedRef?.stop();
      },
    },
    async ({ store, folder, watched, events }) => {
      watchedRef = watched;
      const files = { a: await readFile(CT), b: await readFile(MR), c: await readFile(US) };
      for (const [name, bytes] of Object.entries(files))
        await writeFile(join(folder, `${name}.dcm`), bytes);
      await watched.scanOnce();
      const scan = watched.scanOnce();
      await waitFor('stop called', () => stopping !== undefined);
      await stopping;
      // By the time stop() resolved, the in-flight file is stored *and* removed…
      assert.ok(!existsSync(join(folder, 'a.dcm')));
      assert.ok(store.findInstance(sopOf(files.a)));
      // …and no other file was taken.
      assert.ok(existsSync(join(folder, 'b.dcm')) && existsSync(join(folder, 'c.dcm')));
      assert.equal(store.findInstance(sopOf(files.b)), undefined);
      assert.equal(await scan, 1);
      assert.equal(events.filter((e) => e.type === 'stored').length, 1);
    },
  );
});

/** A Part 10 file whose dataset is one sequence nested `depth` times (undefined lengths). */
function deeplyNested(depth: number): Buffer {
  const explicitLe = '1.2.840.10008.1.2.1';
  const uid = Buffer.from(explicitLe.length % 2 ? `${explicitLe}\0` : explicitLe, 'latin1');
  const metaElement = Buffer.alloc(8 + uid.length);
  metaElement.writeUInt16LE(0x0002, 0);
  metaElement.writeUInt16LE(0x0010, 2);
  metaElement.write('UI', 4, 'latin1');
  metaElement.writeUInt16LE(uid.length, 6);
  uid.copy(metaElement, 8);
  const groupLength = Buffer.alloc(12);
  groupLength.writeUInt16LE(0x0002, 0);
  groupLength.writeUInt16LE(0x0000, 2);
  groupLength.write('UL', 4, 'latin1');
  groupLength.writeUInt16LE(4, 6);
  groupLength.writeUInt32LE(metaElement.length, 8);
  const open = Buffer.alloc(12 + 8);
  open.writeUInt16LE(0x0008, 0);
  open.writeUInt16LE(0x1115, 2);
  open.write('SQ', 4, 'latin1');
  open.writeUInt32LE(0xffffffff, 8);
  open.writeUInt16LE(0xfffe, 12);
  open.writeUInt16LE(0xe000, 14);
  open.writeUInt32LE(0xffffffff, 16);
  const close = Buffer.alloc(16);
  close.writeUInt16LE(0xfffe, 0);
  close.writeUInt16LE(0xe00d, 2);
  close.writeUInt16LE(0xfffe, 8);
  close.writeUInt16LE(0xe0dd, 10);
  const header = Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), groupLength, metaElement]);
  return Buffer.concat([header, ...Array(depth).fill(open), ...Array(depth).fill(close)]);
}

test('a file that fails for good (100,000-deep nesting) is rejected once, never retried', async () => {
  await withFolder({}, async ({ store, folder, watched, events }) => {
    await writeFile(join(folder, 'deep.dcm'), deeplyNested(100_000));
    await watched.scanOnce();
    await watched.scanOnce();
    assert.ok(!existsSync(join(folder, 'deep.dcm')), 'moved out of the folder');
    assert.match(
      await readFile(join(folder, '.rejected', 'deep.dcm.error.txt'), 'utf8'),
      /reason: E_\w+/,
    );
    await watched.scanOnce();
    assert.equal(events.filter((e) => e.type === 'rejected').length, 1);
    assert.equal(events.filter((e) => e.type === 'store-failed').length, 0);
    assert.deepEqual(store.studies(), []);
  });
});
