import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRadiolensError } from '../../foundation/core/index.js';
import { DATABASE_URL_ENV, loadNodeConfig } from '../service/config.js';
import { loadWorkerConfig } from '../service/workerConfig.js';
import {
  SHARED_STORE_URL_ENV,
  parseSharedStore,
  sharedSourceOf,
  sharedStoreHeaders,
  sharedStoreLabel,
} from './index.js';

const SECRET = 'p@ss:word-never-shown';

function withoutEnv(run: () => void): void {
  const saved = [process.env[SHARED_STORE_URL_ENV], process.env[DATABASE_URL_ENV]];
  delete process.env[SHARED_STORE_URL_ENV];
  delete process.env[DATABASE_URL_ENV];
  try {
    run();
  } finally {
    if (saved[0] !== undefined) process.env[SHARED_STORE_URL_ENV] = saved[0];
    if (saved[1] !== undefined) process.env[DATABASE_URL_ENV] = saved[1];
  }
}

test('a store URL: the DICOMweb root without credentials for jobs and logs, the credentials only as a header', () => {
  const store = parseSharedStore(
    `dicomweb+https://radiolens:${encodeURIComponent(SECRET)}@pacs.example:8042/dicom-web/`,
  );
  assert.equal(store.baseUrl, 'https://pacs.example:8042/dicom-web');
  assert.deepEqual(sharedStoreHeaders(store), {
    authorization: `Basic ${Buffer.from(`radiolens:${SECRET}`).toString('base64')}`,
  });
  assert.equal(
    sharedStoreLabel(store),
    'dicomweb+https://pacs.example:8042/dicom-web (basic auth)',
  );
  const open = parseSharedStore('http://orthanc:8042/dicom-web');
  assert.deepEqual(open, { baseUrl: 'http://orthanc:8042/dicom-web', authorization: null });
  assert.deepEqual(sharedStoreHeaders(open), {});
});

test('a bad store URL is E_BAD_INPUT that says how to write it and never echoes the password', () => {
  for (const spec of [
    `dicom://ORTHANC:${SECRET}@pacs:4242`,
    `ftp://u:${SECRET}@pacs/dicom-web`,
    `http://u:${SECRET}@pacs/dicom-web?x=1`,
    `not a url ${SECRET}`,
  ]) {
    assert.throws(
      () => parseSharedStore(spec),
      (error: unknown) =>
        isRadiolensError(error) &&
        error.code === 'E_BAD_INPUT' &&
        /dicomweb\+http:\/\/\[user:password@\]host:8042\/dicom-web/.test(error.message) &&
        !error.message.includes(SECRET),
    );
  }
});

test('a job names its study in the store by UIDs; anything else is no source', () => {
  const source = { kind: 'dicomweb', url: 'http://a/dicom-web', sopInstanceUids: ['1.2.3'] };
  assert.deepEqual(sharedSourceOf({ lastReceivedAt: 1, source }), source);
  assert.equal(sharedSourceOf({ files: ['/srv/a.dcm'] }), undefined);
  assert.equal(sharedSourceOf({ source: { ...source, sopInstanceUids: [3] } }), undefined);
  assert.equal(sharedSourceOf({ source: { ...source, kind: 'file' } }), undefined);
});

test('serve and worker: --shared-store or the environment; it needs --database', () => {
  withoutEnv(() => {
    const database = 'postgresql://rl@db/rl';
    assert.equal(loadNodeConfig({ database }, '/m').sharedStore, null);
    const serve = loadNodeConfig(
      { database, sharedStore: 'dicomweb+http://orthanc-a:8042/dicom-web' },
      '/m',
    );
    assert.equal(serve.sharedStore?.baseUrl, 'http://orthanc-a:8042/dicom-web');
    process.env[SHARED_STORE_URL_ENV] = `dicomweb+http://rl:${SECRET}@orthanc-b:8042/dicom-web`;
    const worker = loadWorkerConfig({ database, data: '/srv/w' }, '/m');
    assert.equal(worker.sharedStore?.baseUrl, 'http://orthanc-b:8042/dicom-web');
    assert.ok(worker.sharedStore?.authorization?.startsWith('Basic '));
    assert.throws(
      () => loadNodeConfig({}, '/m'),
      (error: unknown) =>
        isRadiolensError(error) &&
        /serves a cluster — give --database too/.test(error.message) &&
        !error.message.includes(SECRET),
    );
    assert.throws(
      () =>
        loadWorkerConfig(
          { database, data: '/srv/w', sharedStore: `ftp://u:${SECRET}@x/dicom-web` },
          '/m',
        ),
      (error: unknown) =>
        isRadiolensError(error) &&
        /--shared-store: .*not DICOMweb over HTTP/.test(error.message) &&
        !error.message.includes(SECRET),
    );
  });
});

test('a worker keeps its results in the database by default with the shared store, in its folder without it; --results overrides; a bad value is refused (ADR 0193)', () => {
  withoutEnv(() => {
    const database = 'postgresql://radiolens@db.example/radiolens';
    const store = 'dicomweb+http://orthanc-b:8042/dicom-web';
    const config = (flags: { sharedStore?: string; results?: string }) =>
      loadWorkerConfig({ database, data: '/srv/w', ...flags }, '/m').results;
    assert.equal(config({}), 'folder', 'a shared folder, as before');
    assert.equal(config({ sharedStore: store }), 'database', 'no shared folder with the store');
    assert.equal(config({ sharedStore: store, results: 'folder' }), 'folder');
    assert.equal(config({ results: 'database' }), 'database');
    assert.throws(
      () => config({ results: 'nfs' }),
      (error: unknown) =>
        isRadiolensError(error) && /--results: folder .* or database/.test(error.message),
    );
  });
});
