/**
 * An analysis in its own thread gives what the same analysis gives on the caller's thread, with
 * coded errors intact, and fails what it had in flight when the thread goes away (ADR 0128).
 */
import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { importImages } from '../../lifecycle/imports/index.js';
import { repoRoot } from '../../../test/support/index.js';
import { writeTestModelPackage } from '../../../test/support/onnxModels.js';
import { isRadiolensError } from '../../foundation/core/index.js';
import { ModelRegistry } from '../models/index.js';
import { AnalysisThread, analyzeFiles } from './index.js';

let work: string;
let radiograph: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'radiolens-analysis-thread-'));
  await writeTestModelPackage(join(work, 'models', 'cxr-test', '1.0.0'), {
    id: 'cxr-test',
    version: '1.0.0',
    size: 32,
    labels: 2,
    edit: (m) => ({ ...m, intendedUse: { ...m.intendedUse, allowMissing: ['ViewPosition'] } }),
  });
  const imported = await importImages(join(repoRoot, 'samples', 'cxr', 'samples.csv'), {
    outDir: join(work, 'dicom'),
    bodyPart: 'CHEST',
    patientIdColumn: 'patient_id',
  });
  radiograph = imported.imported[0]!.dicom;
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

const summaryOf = async (path: string): Promise<Record<string, unknown>> => {
  const summary = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  delete summary['performedAt'];
  return summary;
};

test('the thread analyses as the caller would: same findings, same typed outputs', async () => {
  const thread = new AnalysisThread({ registryRoot: join(work, 'models') });
  try {
    const model = { id: 'cxr-test', version: '1.0.0' };
    const threaded = await thread.analyze([radiograph], { outDir: join(work, 'thread'), model });
    const inline = await analyzeFiles([radiograph], {
      registry: new ModelRegistry(join(work, 'models')),
      outDir: join(work, 'inline'),
      model,
    });
    assert.equal(threaded.imagesAnalysed, 1);
    const [a, b] = [threaded.studies[0]!, inline.studies[0]!];
    assert.deepEqual(
      a.artifacts.map((x) => [x.kind, x.dicom?.sopInstanceUid ?? null]),
      b.artifacts.map((x) => [x.kind, x.dicom?.sopInstanceUid ?? null]),
    );
    assert.deepEqual(
      a.record?.findings.map((f) => [f.labelId, f.probability]),
      b.record?.findings.map((f) => [f.labelId, f.probability]),
    );
    assert.equal(a.record?.sources[0]?.sopInstanceUid, b.record?.sources[0]?.sopInstanceUid);
    const [sa, sb] = [await summaryOf(a.outputs.summary), await summaryOf(b.outputs.summary)];
    assert.deepEqual(sa['findings'], sb['findings']);
  } finally {
    await thread.close();
  }
});

test('a coded error crosses the thread with its code; closing fails what is in flight', async () => {
  const thread = new AnalysisThread({ registryRoot: join(work, 'models') });
  await assert.rejects(
    thread.analyze([radiograph], {
      outDir: join(work, 'missing-model'),
      model: { id: 'no-such-model' },
    }),
    (error: unknown) => isRadiolensError(error) && /^E_MODEL/.test(error.code),
  );
  const inFlight = thread.analyze([radiograph], {
    outDir: join(work, 'closed'),
    model: { id: 'cxr-test' },
  });
  await thread.close();
  await assert.rejects(
    inFlight,
    (error: unknown) =>
      isRadiolensError(error) && error.code === 'E_MODEL_RUNTIME' && /closed/.test(error.message),
  );
});
