/**
 * pullStudies against a real Orthanc (DIMSE C-FIND/C-GET and DICOMweb QIDO-RS/WADO-RS): the
 * retrieved bytes are Orthanc's, unknown studies and unreachable or failing peers give clear
 * errors, and a failed retrieval leaves nothing behind.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRadiolensError } from '../../foundation/core/index.js';
import { parseDicom } from '../../foundation/dicom/index.js';
import { importImages } from '../../lifecycle/imports/index.js';
import { part10DatasetOffset } from '../../foundation/dimse/index.js';
import { InstanceStore } from '../store/index.js';
import { objectFilesIn } from '../../../test/support/store.js';
import { conformanceDir, repoRoot, runCli } from '../../../test/support/index.js';
import { writeTestModelPackage } from '../../../test/support/onnxModels.js';
import { OrthancServer, freeLoopbackPort } from '../../../test/support/orthanc.js';
import {
  findStudiesDimse,
  findStudiesQido,
  getStudyDimse,
  parsePullSource,
  pullStudies,
  storageContextsFor,
  type PullSource,
} from './index.js';
import { CR_IMAGE_STORAGE } from '../../lifecycle/imports/index.js';

const ACCESSION = 'RL-PULL-0001';
const CALLING_AE = 'RADIOLENS';

let work: string;
let orthanc: OrthancServer;
let studyUid: string;
/** SOP Instance UID → the file Orthanc stores for it. */
const orthancFiles = new Map<string, Uint8Array>();
let dimse: PullSource;
let dicomweb: PullSource;
let registry: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'radiolens-pull-'));
  registry = join(work, 'models');
  await writeTestModelPackage(join(registry, 'cxr-test', '1.0.0'), {
    id: 'cxr-test',
    version: '1.0.0',
    size: 32,
  });
  // A two-image CR study from the shipped sample radiographs, with an Accession Number.
  const samples = join(repoRoot, 'samples', 'cxr');
  const csv = join(work, 'study.csv');
  await writeFile(
    csv,
    `image,patient_id,visit\n${join(samples, '00000061_012.png')},P1,v1\n${join(samples, '00000150_002.png')},P1,v1\n`,
  );
  const imported = await importImages(csv, {
    outDir: join(work, 'imported'),
    bodyPart: 'CHEST',
    viewPosition: 'PA',
    patientIdColumn: 'patient_id',
    groupByColumn: 'visit',
  });
  assert.equal(imported.imported.length, 2, JSON.stringify(imported.problems));
  studyUid = imported.imported[0]!.studyInstanceUid;
  orthanc = await OrthancServer.start({ dicom: true, dicomWeb: true });
  for (const { dicom } of imported.imported) {
    execFileSync('dcmodify', ['-nb', '-i', `(0008,0050)=${ACCESSION}`, dicom]);
    const id = await orthanc.upload(await readFile(dicom));
    const file = await orthanc.instanceFile(id);
    orthancFiles.set(parseDicom(file, id).sopInstanceUid, file);
  }
  // Orthanc answers C-FIND/C-GET only for known modalities; C-GET needs no port of ours.
  await orthanc.registerModality('radiolens', {
    aeTitle: CALLING_AE,
    host: '127.0.0.1',
    port: await freeLoopbackPort(),
  });
  dimse = parsePullSource(`dicom://${orthanc.aeTitle}@127.0.0.1:${orthanc.dicomPort}`);
  dicomweb = parsePullSource(`dicomweb+${orthanc.url}/dicom-web`);
});

after(async () => {
  await orthanc?.stop();
  await rm(work, { recursive: true, force: true });
});

function datasetOf(file: Uint8Array): Buffer {
  return Buffer.from(file.subarray(part10DatasetOffset(file)));
}

/** From the Pixel Data tag (7FE0,0010), little endian, to the end of the file. */
function pixelDataOf(file: Uint8Array): Buffer {
  const bytes = Buffer.from(file);
  const at = bytes.lastIndexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00]));
  assert.ok(at > 0, 'has Pixel Data');
  return bytes.subarray(at);
}

async function freshDir(name: string): Promise<string> {
  return mkdtemp(join(work, `${name}-`));
}

async function assertPulledFilesAreOrthancs(
  files: readonly string[],
  whole: boolean,
): Promise<void> {
  assert.equal(files.length, orthancFiles.size);
  for (const path of files) {
    const bytes = await readFile(path);
    const parsed = parseDicom(bytes, path);
    const original = orthancFiles.get(parsed.sopInstanceUid);
    assert.ok(original, `${path} is one of Orthanc's instances`);
    if (whole) {
      assert.ok(bytes.equals(original), `${path} equals Orthanc's file byte for byte`);
    } else {
      // DIMSE carries the dataset, not the file: the dataset is Orthanc's byte for byte.
      assert.ok(datasetOf(bytes).equals(datasetOf(original)), `${path}: dataset differs`);
      assert.equal(parsed.transferSyntaxUid, parseDicom(original, 'orthanc').transferSyntaxUid);
    }
  }
}

test('C-FIND and QIDO-RS report the study, its SOP classes and instance count', async () => {
  const expected = [
    { studyInstanceUid: studyUid, sopClassUids: [CR_IMAGE_STORAGE], instanceCount: 2 },
  ];
  assert.deepEqual(
    await findStudiesDimse(dimse as Extract<PullSource, { kind: 'dicom' }>, CALLING_AE, {
      accessionNumber: ACCESSION,
    }),
    expected,
  );
  // Orthanc's DICOMweb plugin leaves SOP Classes in Study out; WADO-RS does not need it.
  const [web] = await findStudiesQido(
    (dicomweb as Extract<PullSource, { kind: 'dicomweb' }>).baseUrl,
    { studyInstanceUid: studyUid },
  );
  assert.equal(web?.studyInstanceUid, studyUid);
  assert.equal(web?.instanceCount, 2);
  // The C-GET then proposes that class in every transfer syntax, one context each, as SCP.
  const contexts = storageContextsFor([CR_IMAGE_STORAGE]);
  assert.ok(contexts.length > 2 && contexts.length <= 127);
  assert.ok(contexts.every((c) => c.abstractSyntaxUid === CR_IMAGE_STORAGE && c.scpRole === true));
  assert.ok(contexts.every((c) => c.transferSyntaxUids.length === 1));
  assert.ok(storageContextsFor([]).length <= 127, 'fallback fits in one association');
});

test("DIMSE C-FIND + C-GET by Study Instance UID into a folder: Orthanc's datasets, untouched", async () => {
  const out = await freshDir('dimse-uid');
  const pulled = await pullStudies({
    source: dimse,
    query: { studyInstanceUid: studyUid },
    destination: { kind: 'folder', dir: join(out, 'dicom') },
    workDir: out,
    callingAeTitle: CALLING_AE,
  });
  assert.deepEqual(
    pulled.map((p) => p.studyInstanceUid),
    [studyUid],
  );
  await assertPulledFilesAreOrthancs(pulled[0]!.files, false);
  assert.deepEqual((await readdir(out)).sort(), ['dicom'], 'no staging left behind');
});

test('DIMSE by Accession Number into an InstanceStore data dir', async () => {
  const dir = await freshDir('dimse-acc');
  const store = InstanceStore.open(join(dir, 'data'));
  try {
    const pulled = await pullStudies({
      source: dimse,
      query: { accessionNumber: ACCESSION },
      destination: { kind: 'store', store },
      workDir: dir,
      callingAeTitle: CALLING_AE,
    });
    assert.equal(pulled.length, 1);
    assert.equal(store.studyInstances(studyUid).length, 2);
    await assertPulledFilesAreOrthancs(pulled[0]!.files, false);
  } finally {
    store.close();
  }
});

test("DICOMweb QIDO-RS + WADO-RS by Study Instance UID and by Accession Number: Orthanc's files, byte for byte", async () => {
  for (const query of [{ studyInstanceUid: studyUid }, { accessionNumber: ACCESSION }]) {
    const out = await freshDir('web');
    const pulled = await pullStudies({
      source: dicomweb,
      query,
      destination: { kind: 'folder', dir: join(out, 'dicom') },
      workDir: out,
    });
    assert.deepEqual(
      pulled.map((p) => p.studyInstanceUid),
      [studyUid],
    );
    await assertPulledFilesAreOrthancs(pulled[0]!.files, true);
  }
});

async function assertRejects(run: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(run, (error: unknown) => {
    assert.ok(isRadiolensError(error), String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
    return true;
  });
}

test('compressed instances arrive in the transfer syntax Orthanc holds them in, on both paths', async () => {
  for (const name of [
    'pydicom-data/RG1_J2KI.dcm', // CR, JPEG 2000 (lossy)
    'pydicom-data/JPEG-LL.dcm', // SC, JPEG lossless SV1
    'pydicom-data/emri_small_RLE.dcm', // Enhanced MR, RLE
    'cornerstone3D/CTImage.dcm_JPEGProcess1TransferSyntax_1.2.840.10008.1.2.4.50.dcm',
  ]) {
    const stored = await orthanc.instanceFile(
      await orthanc.upload(await readFile(join(conformanceDir, name))),
    );
    const original = parseDicom(stored, name);
    for (const source of [dimse, dicomweb]) {
      const out = await freshDir('compressed');
      const [pulled] = await pullStudies({
        source,
        query: { studyInstanceUid: original.studyInstanceUid },
        destination: { kind: 'folder', dir: join(out, 'dicom') },
        workDir: out,
        callingAeTitle: CALLING_AE,
      });
      assert.equal(pulled?.files.length, 1, name);
      const bytes = await readFile(pulled!.files[0]!);
      assert.equal(parseDicom(bytes, name).transferSyntaxUid, original.transferSyntaxUid, name);
      if (source.kind === 'dicomweb') {
        assert.ok(bytes.equals(stored), `${name} over DICOMweb: differs from Orthanc's file`);
      } else {
        // Orthanc's DCMTK re-encodes sequences of undefined length with explicit lengths when
        // it sends (storescu does the same, see ingest/dimse's tests), so the datasets differ
        // there; the encapsulated pixel data must be Orthanc's, byte for byte: no transcoding.
        assert.ok(pixelDataOf(bytes).equals(pixelDataOf(stored)), `${name} over DIMSE: pixels`);
      }
    }
  }
});

test('an unknown study is a clear E_STUDY_NOT_FOUND on both paths, and nothing is written', async () => {
  for (const source of [dimse, dicomweb]) {
    for (const query of [
      { studyInstanceUid: '1.2.3.4.5.6.7.8.9' },
      { accessionNumber: 'NOPE-1' },
    ]) {
      const out = await freshDir('unknown');
      await assertRejects(
        pullStudies({
          source,
          query,
          destination: { kind: 'folder', dir: join(out, 'dicom') },
          workDir: out,
          callingAeTitle: CALLING_AE,
        }),
        'E_STUDY_NOT_FOUND',
        /has no study matching/,
      );
      assert.deepEqual(await readdir(out), []);
    }
  }
});

test('a peer that is down is a clear E_PEER on both paths', async () => {
  const port = await freeLoopbackPort();
  for (const spec of [
    `dicom://NOBODY@127.0.0.1:${port}`,
    `dicomweb+http://127.0.0.1:${port}/dicom-web`,
  ]) {
    const out = await freshDir('down');
    await assertRejects(
      pullStudies({
        source: parsePullSource(spec),
        query: { studyInstanceUid: studyUid },
        destination: { kind: 'folder', dir: join(out, 'dicom') },
        workDir: out,
      }),
      'E_PEER',
      /cannot be reached/,
    );
    assert.deepEqual(await readdir(out), []);
  }
});

test('a calling AE the PACS does not know is refused with a clear E_PEER', async () => {
  const out = await freshDir('stranger');
  await assertRejects(
    pullStudies({
      source: dimse,
      query: { studyInstanceUid: studyUid },
      destination: { kind: 'folder', dir: join(out, 'dicom') },
      workDir: out,
      callingAeTitle: 'STRANGER',
    }),
    'E_PEER',
    /STRANGER/,
  );
  assert.deepEqual(await readdir(out), []);
});

test('failed C-STORE sub-operations fail the C-GET with the counts', async () => {
  let seen = 0;
  await assertRejects(
    getStudyDimse(
      dimse as Extract<PullSource, { kind: 'dicom' }>,
      CALLING_AE,
      studyUid,
      [],
      async () => {
        seen++;
        if (seen === 2) throw new Error('disk full (simulated)');
      },
    ),
    'E_PEER',
    /1 failed/,
  );
  assert.equal(seen, 2);
});

/**
 * A TCP relay to Orthanc's DICOM port that cuts both connections once `limit` bytes came
 * back from Orthanc: a PACS dropping the association in the middle of the C-GET.
 */
async function droppingRelay(
  targetPort: number,
  limit: number,
): Promise<{ server: Server; port: number }> {
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    let relayed = 0;
    upstream.on('data', (chunk: Buffer) => {
      relayed += chunk.length;
      if (relayed > limit) {
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address !== null ? address.port : 0 };
}

test('a peer dropping the connection mid C-GET: clear E_PEER, nothing committed, no staging left', async () => {
  const first = orthancFiles.values().next().value as Uint8Array;
  // The C-FIND runs on its own connection; on the C-GET's, the first instance arrives whole
  // (and is staged), and the connection drops in the middle of the second.
  const relay = await droppingRelay(orthanc.dicomPort, Math.floor(first.byteLength * 1.5));
  try {
    const out = await freshDir('dropped');
    const store = InstanceStore.open(join(out, 'data'));
    try {
      await assertRejects(
        pullStudies({
          source: parsePullSource(`dicom://${orthanc.aeTitle}@127.0.0.1:${relay.port}`),
          query: { studyInstanceUid: studyUid },
          destination: { kind: 'store', store },
          workDir: out,
          callingAeTitle: CALLING_AE,
        }),
        'E_PEER',
        /dropped the connection|closed the connection/,
      );
      assert.deepEqual(store.studies(), [], 'nothing indexed');
      assert.deepEqual(objectFilesIn(join(out, 'data')), [], 'no object files');
      assert.deepEqual(
        (await readdir(out)).filter((name) => name.startsWith('.pull-staging-')),
        [],
      );
    } finally {
      store.close();
    }
  } finally {
    relay.server.close();
  }
});

function radiolens(...args: string[]): ReturnType<typeof runCli> {
  return runCli(args, { RADIOLENS_MODELS: registry });
}

test('CLI: pull over DIMSE by --study into --out, then analyse: exit 0, files and outputs there', async () => {
  const out = await freshDir('cli-dimse');
  const run = radiolens(
    'pull',
    '--from',
    `dicom://${orthanc.aeTitle}@127.0.0.1:${orthanc.dicomPort}`,
    '--study',
    studyUid,
    '--calling-ae',
    CALLING_AE,
    '--model',
    'cxr-test@1.0.0',
    '--out',
    out,
  );
  assert.equal(run.status, 0, run.stderr + run.stdout);
  assert.match(run.stderr, /1 study\(ies\) found/);
  assert.doesNotMatch(
    run.stderr,
    new RegExp(studyUid.replaceAll('.', '\\.')),
    'no UID in log lines',
  );
  const dicomDir = join(out, 'dicom', studyUid);
  await assertPulledFilesAreOrthancs(
    (await readdir(dicomDir)).map((name) => join(dicomDir, name)),
    false,
  );
  const results = await readdir(join(out, 'results', studyUid));
  assert.ok(results.includes('fhir-bundle.json'), results.join());
  assert.ok(results.includes('analysis.json'), results.join());
  assert.ok(
    results.some((name) => name.startsWith('SR_')),
    results.join(),
  );
  assert.equal(results.filter((name) => name.startsWith('SC_')).length, 2, results.join());
  assert.ok(existsSync(join(out, 'results', 'summary.json')));
});

test('CLI: pull over DICOMweb by --accession into a --data store, --json summary', async () => {
  const out = await freshDir('cli-web');
  const data = join(out, 'data');
  const run = radiolens(
    'pull',
    '--from',
    `dicomweb+${orthanc.url}/dicom-web`,
    '--accession',
    ACCESSION,
    '--out',
    out,
    '--data',
    data,
    '--json',
  );
  assert.equal(run.status, 0, run.stderr + run.stdout);
  const summary = JSON.parse(run.stdout) as {
    pulled: { studyInstanceUid: string; files: string[] }[];
    imagesAnalysed: number;
  };
  assert.deepEqual(
    summary.pulled.map((p) => p.studyInstanceUid),
    [studyUid],
  );
  assert.equal(summary.imagesAnalysed, 2);
  await assertPulledFilesAreOrthancs(summary.pulled[0]!.files, true);
  assert.ok(summary.pulled[0]!.files.every((file) => file.startsWith(join(data, 'objects'))));
  assert.equal(existsSync(join(out, 'dicom')), false, 'kept in the store, not in --out');
  assert.ok(existsSync(join(out, 'results', studyUid, 'fhir-bundle.json')));
  const store = InstanceStore.open(data);
  try {
    assert.equal(store.studyInstances(studyUid).length, 2);
  } finally {
    store.close();
  }
});

test('CLI: unknown study, unreachable peer and usage errors exit 2 with a clear message', async () => {
  const out = await freshDir('cli-bad');
  const from = `dicom://${orthanc.aeTitle}@127.0.0.1:${orthanc.dicomPort}`;
  const unknown = radiolens('pull', '--from', from, '--study', '1.2.3.999', '--out', out);
  assert.equal(unknown.status, 2, unknown.stderr);
  assert.match(
    unknown.stderr,
    /E_STUDY_NOT_FOUND: .* has no study matching the Study Instance UID given/,
  );
  const down = radiolens(
    'pull',
    '--from',
    `dicomweb+http://127.0.0.1:${await freeLoopbackPort()}/dicom-web`,
    '--study',
    studyUid,
    '--out',
    out,
  );
  assert.equal(down.status, 2, down.stderr);
  assert.match(down.stderr, /E_PEER: DICOMweb server .* cannot be reached/);
  assert.deepEqual(await readdir(out), [], 'nothing written');
  for (const args of [
    ['--from', from, '--out', out],
    ['--from', from, '--study', studyUid, '--accession', ACCESSION, '--out', out],
    ['--from', 'http://pacs:8042', '--study', studyUid, '--out', out],
    ['--from', from, '--accession', 'A*', '--out', out],
    ['--from', from, '--study', 'not-a-uid', '--out', out],
  ]) {
    const run = radiolens('pull', ...args);
    assert.equal(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, /E_BAD_INPUT/);
  }
  const noModel = radiolens(
    'pull',
    '--from',
    from,
    '--study',
    studyUid,
    '--model',
    'nope@9',
    '--out',
    out,
  );
  assert.equal(noModel.status, 2, noModel.stderr);
  assert.match(noModel.stderr, /E_MODEL_NOT_FOUND/);
  assert.deepEqual(await readdir(out), [], 'checked before anything was retrieved');
  const help = radiolens('pull', '--help');
  assert.equal(help.status, 0);
  for (const option of [
    '--from',
    '--study',
    '--accession',
    '--calling-ae',
    '--model',
    '--out',
    '--data',
  ]) {
    assert.ok(help.stdout.includes(option), option);
  }
});
