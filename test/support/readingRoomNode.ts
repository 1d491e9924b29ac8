/**
 * Test support: a real started node with one chest radiograph analysed by the shipped model
 * (cxr-pneumonia, its active version), users of every role, and a way to log in — for the
 * reading room's API and viewer tests (ADRs 0195–0197).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importImages } from '../../src/lifecycle/imports/index.js';
import { ROLES, UserStore, type Role } from '../../src/node/access/index.js';
import type { RadiolensNode } from '../../src/node/service/service.js';
import { startLoopbackNode } from './loopbackNode.js';
import { InstanceStore, openNodeDatabase } from '../../src/node/store/index.js';
import { cookieOf, httpCall } from './httpClient.js';
import { waitFor } from './node.js';
import { repoRoot } from './paths.js';

export const READING_ROOM_PASSWORD = 'a passphrase long enough';

/** The user name of each role in this node. */
export const USER_OF: Record<Role, string> = {
  radiologist: 'rita',
  administrator: 'adam',
  'data-scientist': 'dana',
  auditor: 'otto',
};

export interface ReadingRoomNode {
  readonly node: RadiolensNode;
  readonly base: string;
  readonly dataDir: string;
  readonly studyInstanceUid: string;
  /** The study's key as the worklist gives it. */
  readonly studyKey: string;
  login(role: Role): Promise<{ cookie: string; csrf: string }>;
  stop(): Promise<void>;
}

/**
 * Starts a node (loopback, free ports, one worker) whose data folder holds users of every role
 * and one chest radiograph, and waits until the worklist shows it analysed.
 * `ohifDir`: the OHIF app the node serves (absent: the default, not installed).
 */
export async function startReadingRoomNode(
  options: { readonly ohifDir?: string; readonly sample?: string } = {},
): Promise<ReadingRoomNode> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-reading-room-'));
  const dataDir = join(dir, 'data');
  await mkdir(dataDir, { mode: 0o700 });
  const db = openNodeDatabase(dataDir);
  const users = new UserStore(db);
  for (const role of ROLES) await users.add(USER_OF[role], role, READING_ROOM_PASSWORD);
  db.close();
  const images = join(dir, 'images');
  await mkdir(images);
  const sample = options.sample ?? '00000150_002.png';
  await writeFile(join(images, sample), await readFile(join(repoRoot, 'samples', 'cxr', sample)));
  await writeFile(join(images, 'images.csv'), `image,patient_id\n${sample},p1\n`);
  const imported = await importImages(join(images, 'images.csv'), {
    outDir: join(images, 'dicom'),
    bodyPart: 'CHEST',
    viewPosition: 'PA',
    patientIdColumn: 'patient_id',
  });
  const source = imported.imported[0];
  assert.ok(source !== undefined, JSON.stringify(imported.problems));
  const { node, base } = await startLoopbackNode(dir, dataDir, {
    http: { allowAddresses: [] },
    quietPeriodSeconds: 0.5,
    ...(options.ohifDir === undefined ? {} : { viewer: { ohifDir: options.ohifDir } }),
  });
  const login = async (role: Role): Promise<{ cookie: string; csrf: string }> => {
    const answer = await httpCall(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: USER_OF[role], password: READING_ROOM_PASSWORD }),
    });
    assert.equal(answer.status, 200, answer.body);
    return {
      cookie: cookieOf(answer),
      csrf: (JSON.parse(answer.body) as { csrfToken: string }).csrfToken,
    };
  };
  try {
    const store = InstanceStore.open(dataDir);
    try {
      await store.storeInstance(await readFile(source.dicom), { source: 'test' });
    } finally {
      store.close();
    }
    const { cookie } = await login('radiologist');
    const studyKey = await waitFor(
      'the study analysed on the worklist',
      async () => {
        const answer = await httpCall(`${base}/api/worklist`, { headers: { cookie } });
        const rows = (JSON.parse(answer.body) as { rows: { status: string; studyKey: string }[] })
          .rows;
        return rows.find((r) => r.status === 'analysed')?.studyKey;
      },
      300_000,
      500,
    );
    return {
      node,
      base,
      dataDir,
      studyInstanceUid: source.studyInstanceUid,
      studyKey,
      login,
      stop: async () => {
        await node.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await node.stop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
