import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isRadiolensError } from '../../foundation/core/index.js';
import { DEFAULT_PARSING_LIMITS } from '../../foundation/dicom/index.js';
import { DEFAULT_ASSOCIATION_LIMITS } from '../../foundation/dimse/index.js';
import { DEFAULTS, loadNodeConfig } from './config.js';

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-config-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('no file and no flags: defaults that start a working node', () => {
  const config = loadNodeConfig({}, '/opt/models');
  assert.equal(config.dataDir, resolve(DEFAULTS.dataDir));
  assert.equal(config.aeTitle, 'RADIOLENS');
  assert.equal(config.dicomPort, 11112);
  assert.equal(config.httpPort, 8080);
  assert.deepEqual(config.allowedCallers, [{ aeTitle: '*', addresses: ['127.0.0.1', '::1'] }]);
  assert.equal(config.watchFolder, join(resolve(DEFAULTS.dataDir), 'import'));
  assert.equal(config.modelsDir, '/opt/models');
  assert.deepEqual(config.routes, []);
  assert.deepEqual(config.destinations, []);
  assert.equal(config.patientIdSystem, null);
});

test('patientIdSystem: an absolute URI is taken, anything else is refused with what to give', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'node.json');
    await writeFile(file, JSON.stringify({ patientIdSystem: 'urn:oid:1.2.840.99999.7' }));
    assert.equal(loadNodeConfig({ config: file }, '/m').patientIdSystem, 'urn:oid:1.2.840.99999.7');
    await writeFile(file, JSON.stringify({ patientIdSystem: 'hospital MRN' }));
    assert.throws(
      () => loadNodeConfig({ config: file }, '/m'),
      (error: unknown) =>
        isRadiolensError(error) &&
        error.code === 'E_BAD_INPUT' &&
        /patientIdSystem: patientIdSystem must be an absolute URI/.test(error.message),
    );
  });
});

test('flags override the file; file paths are relative to the file', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'node.json');
    await writeFile(
      file,
      JSON.stringify({
        dataDir: 'data',
        aeTitle: 'FROMFILE',
        dicomPort: 104,
        quietPeriodSeconds: 5,
        allowedCallers: [{ aeTitle: 'CT1', addresses: ['10.0.0.5'] }],
        routes: [{ match: { modality: ['CR', 'DX'] }, models: ['cxr-pneumonia@1.2.0'] }],
        destinations: ['file:///tmp/out'],
        watchFolder: false,
      }),
    );
    const config = loadNodeConfig(
      { config: file, aeTitle: 'FLAG', allow: ['PACS@10.0.0.7', 'PACS@10.0.0.8', 'MOD'] },
      '/m',
    );
    assert.equal(config.dataDir, join(dir, 'data'));
    assert.equal(config.aeTitle, 'FLAG');
    assert.equal(config.dicomPort, 104);
    assert.equal(config.quietPeriodSeconds, 5);
    assert.deepEqual(config.allowedCallers, [
      { aeTitle: 'PACS', addresses: ['10.0.0.7', '10.0.0.8'] },
      { aeTitle: 'MOD' },
    ]);
    assert.equal(config.routes.length, 1);
    assert.equal(config.destinations[0]?.destination.kind, 'folder');
    assert.equal(config.watchFolder, null);
  });
});

test('every bad field is reported by its path with what to fix', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'node.json');
    await writeFile(
      file,
      JSON.stringify({
        aeTitle: 'MUCH-TOO-LONG-AE-TITLE',
        dicomPort: 70000,
        workers: 1.5,
        allowedCallers: [{ aeTitle: 'X', addresses: ['pacs.example.org'] }],
        routes: [{ match: { modality: 'CR', colour: 'red' }, models: ['no spaces'] }],
        destinaitons: [],
      }),
    );
    assert.throws(
      () => loadNodeConfig({ config: file }, '/m'),
      (error: unknown) => {
        assert.ok(isRadiolensError(error));
        assert.equal(error.code, 'E_BAD_INPUT');
        for (const expected of [
          /aeTitle: an AE title is 1 to 16/,
          /dicomPort: a port is a whole number from 0 to 65535/,
          /workers: workers is a whole number/,
          /allowedCallers\.0\.addresses\.0: list IPv4 or IPv6 addresses/,
          /routes\.0\.match: .*colour/,
          /routes\.0\.models\.0: a model is written id or id@version/,
          /\(top level\): .*destinaitons/,
        ]) {
          assert.match(error.message, expected);
        }
        return true;
      },
    );
  });
});

test('bad flags and destinations are named as typed', () => {
  assert.throws(
    () => loadNodeConfig({ dicomPort: Number.NaN }, '/m'),
    /problems in the command-line flags:\n\s+--dicom-port: a port/,
  );
  assert.throws(() => loadNodeConfig({ sendTo: ['ftp://x'] }, '/m'), /--send-to ftp:\/\/x: /);
  assert.throws(
    () => loadNodeConfig({ config: '/nonexistent/node.json' }, '/m'),
    /cannot read the configuration file/,
  );
});

test('shadow models and the drift monitor: versions required for shadow, monitor on by default, off with false', async () => {
  await withDir(async (dir) => {
    const defaults = loadNodeConfig({}, '/m');
    assert.deepEqual(defaults.shadowModels, []);
    assert.deepEqual(defaults.monitoring, {
      intervalMinutes: 60,
      lastImages: 200,
      persistence: 2,
      webhook: null,
    });
    const file = join(dir, 'node.json');
    await writeFile(
      file,
      JSON.stringify({
        routes: [
          { match: { modality: 'CR' }, models: ['cxr-pneumonia'], shadow: ['cxr-pneumonia@2.0.0'] },
        ],
        shadowModels: ['cxr-pneumonia@2.0.0'],
        monitoring: {
          intervalMinutes: 15,
          lastImages: 100,
          persistence: 3,
          webhook: 'https://alerts.example/radiolens',
        },
      }),
    );
    const config = loadNodeConfig({ config: file, shadow: ['other@1.0.0'] }, '/m');
    assert.deepEqual(config.routes[0]?.shadow, ['cxr-pneumonia@2.0.0']);
    assert.deepEqual(config.shadowModels, ['other@1.0.0'], 'the flag wins over the file');
    assert.deepEqual(config.monitoring, {
      intervalMinutes: 15,
      lastImages: 100,
      persistence: 3,
      webhook: 'https://alerts.example/radiolens',
    });
    await writeFile(file, JSON.stringify({ monitoring: false }));
    assert.equal(loadNodeConfig({ config: file }, '/m').monitoring, null);
    await writeFile(
      file,
      JSON.stringify({
        routes: [{ match: {}, models: [], shadow: ['cxr-pneumonia'] }],
        monitoring: { lastImages: 10, webhook: 'ftp://x' },
      }),
    );
    assert.throws(
      () => loadNodeConfig({ config: file }, '/m'),
      (error: Error) =>
        isRadiolensError(error) &&
        /routes.0.shadow.0: a shadow model is written id@version/.test(error.message) &&
        /monitoring.lastImages: lastImages is at least 30/.test(error.message) &&
        /monitoring.webhook: the webhook is an http\(s\) URL/.test(error.message),
    );
    assert.throws(
      () => loadNodeConfig({ shadow: ['cxr'] }, '/m'),
      /--shadow \(#1\): a shadow model is written id@version/,
    );
  });
});

test('DICOM and parsing limits: defaults, the file (seconds) and the flags over it', async () => {
  const defaults = loadNodeConfig({}, '/m');
  assert.deepEqual(defaults.dicomLimits, DEFAULT_ASSOCIATION_LIMITS);
  assert.deepEqual(defaults.parsingLimits, DEFAULT_PARSING_LIMITS);
  await withDir(async (dir) => {
    const file = join(dir, 'node.json');
    await writeFile(
      file,
      JSON.stringify({
        dicomLimits: { maxPduLength: 65536, maxAssociations: 8, idleSeconds: 30, pduSeconds: 2.5 },
        parsingLimits: { maxSequenceDepth: 16 },
      }),
    );
    const config = loadNodeConfig({ config: file, maxAssociations: 4 }, '/m');
    assert.equal(config.dicomLimits.maxPduLength, 65536);
    assert.equal(config.dicomLimits.maxAssociations, 4, 'the flag wins');
    assert.equal(config.dicomLimits.idleTimeoutMs, 30_000);
    assert.equal(config.dicomLimits.pduTimeoutMs, 2_500);
    assert.equal(
      config.dicomLimits.associationRequestTimeoutMs,
      DEFAULT_ASSOCIATION_LIMITS.associationRequestTimeoutMs,
    );
    assert.equal(config.parsingLimits.maxSequenceDepth, 16);
    await writeFile(file, JSON.stringify({ dicomLimits: { maxPduLength: 100, unknown: 1 } }));
    assert.throws(
      () => loadNodeConfig({ config: file }, '/m'),
      (error: unknown) =>
        isRadiolensError(error) &&
        /dicomLimits\.maxPduLength: maxPduLength is at least 4096 bytes/.test(error.message) &&
        /dicomLimits: Unrecognized key/.test(error.message),
    );
  });
  assert.throws(
    () => loadNodeConfig({ maxAssociations: 0 }, '/m'),
    /--max-associations: maxAssociations is at least 1/,
  );
});

test('listeners apart: --dicom-host/--http-host win over --host, which sets both', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'node.json');
    await writeFile(file, JSON.stringify({ host: '10.0.0.5', httpHost: '127.0.0.1' }));
    const fromFile = loadNodeConfig({ config: file }, '/m');
    assert.equal(fromFile.dicomHost, '10.0.0.5');
    assert.equal(fromFile.httpHost, '127.0.0.1');
    const both = loadNodeConfig({ config: file, host: '0.0.0.0' }, '/m');
    assert.equal(both.dicomHost, '0.0.0.0');
    assert.equal(both.httpHost, '0.0.0.0');
    const apart = loadNodeConfig({ dicomHost: '0.0.0.0', httpHost: '::1' }, '/m');
    assert.deepEqual([apart.dicomHost, apart.httpHost], ['0.0.0.0', '::1']);
    assert.throws(
      () => loadNodeConfig({ httpHost: 'localhost' }, '/m'),
      /--http-host: httpHost is the IP address to listen on/,
    );
  });
});

test('DICOMweb access: the DICOM allow-list addresses by default, a token from the environment kept hashed', () => {
  const defaults = loadNodeConfig({}, '/m');
  assert.deepEqual(defaults.http.allowAddresses, ['127.0.0.1', '::1']);
  assert.equal(defaults.http.tokenSha256, null);
  // An AE title allowed from any address admits nobody over HTTP (no AE title there).
  const anyAddress = loadNodeConfig({ allow: ['PACS', 'CT1@10.1.2.3'] }, '/m');
  assert.deepEqual(anyAddress.http.allowAddresses, ['10.1.2.3']);
  const explicit = loadNodeConfig({ httpAllow: ['10.9.9.9'] }, '/m');
  assert.deepEqual(explicit.http.allowAddresses, ['10.9.9.9']);
  process.env['RADIOLENS_HTTP_TOKEN'] = 's3cret-token';
  try {
    const withToken = loadNodeConfig({}, '/m');
    assert.match(withToken.http.tokenSha256 ?? '', /^[0-9a-f]{64}$/);
    assert.ok(!JSON.stringify(withToken).includes('s3cret-token'));
  } finally {
    delete process.env['RADIOLENS_HTTP_TOKEN'];
  }
});

test('a bad --http-allow address is named by its flag', () => {
  assert.throws(
    () => loadNodeConfig({ httpAllow: ['10.0.0.1', 'pacs.example'] }, '/m'),
    /--http-allow \(#2\): list IPv4 or IPv6 addresses, not host names/,
  );
});

test('worklist alert budget: 5 urgent per 24 h by default, the file over it, nonsense named', async () => {
  await withDir(async (dir) => {
    assert.deepEqual(loadNodeConfig({}, '/m').worklist, {
      alertBudget: { maxUrgent: 5, windowHours: 24 },
      demoteOnCaveats: [],
    });
    const file = join(dir, 'node.json');
    await writeFile(file, JSON.stringify({ worklist: { alertBudget: { maxUrgent: 2 } } }));
    assert.deepEqual(loadNodeConfig({ config: file }, '/m').worklist.alertBudget, {
      maxUrgent: 2,
      windowHours: 24,
    });
    for (const [budget, message] of [
      [{ maxUrgent: -1 }, /worklist\.alertBudget\.maxUrgent.*0 \(mark none urgent\)/],
      [{ maxUrgent: 2.5 }, /maxUrgent is a whole number/],
      [{ maxUrgent: 1000 }, /alerts that fire too often are ignored/],
      [{ windowHours: 0 }, /windowHours is at least 1/],
      [{ perDay: 3 }, /worklist\.alertBudget/],
    ] as const) {
      await writeFile(file, JSON.stringify({ worklist: { alertBudget: budget } }));
      assert.throws(
        () => loadNodeConfig({ config: file }, '/m'),
        (error) =>
          isRadiolensError(error) && error.code === 'E_BAD_INPUT' && message.test(error.message),
        JSON.stringify(budget),
      );
    }
    // Caveat codes the site demotes: known codes only (ADR 0179).
    await writeFile(
      file,
      JSON.stringify({ worklist: { demoteOnCaveats: ['missing-view-position'] } }),
    );
    assert.deepEqual(loadNodeConfig({ config: file }, '/m').worklist.demoteOnCaveats, [
      'missing-view-position',
    ]);
    await writeFile(file, JSON.stringify({ worklist: { demoteOnCaveats: ['no-view'] } }));
    assert.throws(
      () => loadNodeConfig({ config: file }, '/m'),
      /demoteOnCaveats lists caveat codes: missing-body-part, missing-view-position/,
    );
  });
});
