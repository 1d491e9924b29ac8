import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { createHash } from 'node:crypto';
import pngjs from 'pngjs';
import { spawnSync } from 'node:child_process';
import { importImages } from '../../lifecycle/imports/index.js';
import { ModelRegistry } from '../models/index.js';
import {
  conformanceDir,
  dciodvfy,
  repoRoot,
  validateFhirR4,
  validateFhirR4Schema,
} from '../../../test/support/index.js';
import { writeTestModelPackage } from '../../../test/support/onnxModels.js';
import { decodeFrame, readDicomFile } from '../../foundation/dicom/index.js';
import { toModelInputAndDisplay } from '../imaging/index.js';
import { dicomArtifacts } from '../results/index.js';
import { analyzeFiles } from './index.js';
import { ModelSessions } from './modelSessions.js';

let work: string;
let registry: ModelRegistry;
let radiographs: string[];

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'radiolens-analysis-'));
  await writeTestModelPackage(join(work, 'models', 'cxr-test', '1.0.0'), {
    id: 'cxr-test',
    version: '1.0.0',
    size: 32,
    labels: 2,
    edit: (m) => ({ ...m, intendedUse: { ...m.intendedUse, allowMissing: ['ViewPosition'] } }),
  });
  registry = new ModelRegistry(join(work, 'models'));
  // Real chest radiographs shipped with the product, imported as DICOM CR.
  const imported = await importImages(join(repoRoot, 'samples', 'cxr', 'samples.csv'), {
    outDir: join(work, 'dicom'),
    bodyPart: 'CHEST',
    patientIdColumn: 'patient_id',
  });
  assert.deepEqual(imported.problems, []);
  radiographs = imported.imported.map((entry) => entry.dicom).slice(0, 2);
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

const fixedClock = (): Date => new Date('2026-01-02T03:04:05Z');

test('analyses radiographs end to end: SR, SC and FHIR per study, valid by independent tools', async () => {
  const out = join(work, 'out-a');
  const run = await analyzeFiles(radiographs, { registry, outDir: out, now: fixedClock });
  assert.equal(run.imagesAnalysed, 2);
  assert.deepEqual(run.problems, []);
  assert.equal(run.studies.length, 2);
  for (const study of run.studies) {
    assert.equal(study.problem, null);
    assert.deepEqual(study.model, { id: 'cxr-test', version: '1.0.0' });
    // Imported radiographs have no View Position; the manifest allows it, with a caveat.
    assert.match(study.warnings[0] ?? '', /View Position/i);
    assert.equal(study.record?.findings.length, 2, 'one finding per label');
    for (const finding of study.record!.findings) {
      assert.ok(finding.probability >= 0 && finding.probability <= 1);
      assert.equal(finding.present, finding.probability >= finding.threshold);
    }
    assert.ok(study.outputs.sr && existsSync(study.outputs.sr));
    assert.equal(study.outputs.sc.length, 1);
    const sr = dciodvfy(await readFile(study.outputs.sr));
    assert.deepEqual(sr.errors, [], sr.text);
    const sc = dciodvfy(await readFile(study.outputs.sc[0]!));
    assert.deepEqual(sc.errors, [], sc.text);
    assert.equal(study.outputs.pm.length, 1, 'the heatmap as a Parametric Map');
    const pm = dciodvfy(await readFile(study.outputs.pm[0]!));
    assert.deepEqual(pm.errors, [], pm.text);
    const dump = spawnSync('dsrdump', ['+Pc', study.outputs.sr], { encoding: 'utf8' });
    assert.equal(dump.status, 0, dump.stderr);
    assert.match(dump.stdout, /Pneumonia/);
    // Each finding is drawn on the image; the explained one links the SC and the map.
    assert.equal(dump.stdout.match(/SCOORD:\(111030,DCM,"Image Region"\)/g)?.length, 2);
    assert.equal(dump.stdout.match(/IMAGE:\(130401,DCM,"Visual Explanation"\)/g)?.length, 2);
    const explained = study.record!.findings.filter((f) => f.explanation !== undefined);
    assert.equal(explained.length, 1, 'the most probable label has the heatmap');
    assert.notEqual(explained[0]!.explanation!.region.basis, 'whole-image');
    // Typed artifacts (ADR 0150): each DICOM one says what its file holds, read back here.
    assert.deepEqual(
      study.artifacts.map((artifact) => artifact.kind),
      ['sr', 'sc', 'parametric-map', 'heatmap-png', 'heatmap-png', 'fhir'],
    );
    for (const artifact of dicomArtifacts(study.artifacts)) {
      const written = await readDicomFile(artifact.path);
      assert.equal(written.sopInstanceUid, artifact.dicom.sopInstanceUid);
      assert.equal(written.seriesInstanceUid, artifact.dicom.seriesInstanceUid);
      assert.equal(written.sopClassUid, artifact.dicom.sopClassUid);
      assert.equal(written.dataset['Modality'], artifact.dicom.modality);
      assert.equal(written.dataset['SeriesNumber'], artifact.dicom.seriesNumber);
      assert.equal(artifact.mediaType, 'application/dicom');
    }
    assert.equal(
      study.artifacts.find((artifact) => artifact.kind === 'sc')?.sourceSopInstanceUid,
      study.record!.sources[0]!.sopInstanceUid,
    );
    const bundle = JSON.parse(await readFile(study.outputs.fhir!, 'utf8')) as {
      entry: Array<{ resource: Record<string, any> }>; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    for (const issue of validateFhirR4(bundle)) assert.notEqual(issue.severity, 'error');
    assert.deepEqual(validateFhirR4Schema(bundle).slice(0, 10), []);
    // The ImagingStudy lists every DICOM object written, and each heatmap Media names its file.
    const imagingStudy = bundle.entry.find((e) => e.resource['resourceType'] === 'ImagingStudy')!;
    const listed = (imagingStudy.resource['series'] as Array<{ instance: Array<{ uid: string }> }>)
      .flatMap((series) => series.instance.map((instance) => instance.uid))
      .sort();
    assert.deepEqual(
      listed,
      [
        ...study.record!.sources.map((source) => source.sopInstanceUid),
        ...dicomArtifacts(study.artifacts).map((artifact) => artifact.dicom.sopInstanceUid),
      ].sort(),
    );
    const heatmapUrls = bundle.entry
      .filter((e) => e.resource['resourceType'] === 'Media' && e.resource['content'].url)
      .map((e) => String(e.resource['content'].url));
    assert.equal(heatmapUrls.length, 2);
    for (const url of heatmapUrls) assert.ok(existsSync(join(dirname(study.outputs.fhir!), url)));
    const summary = JSON.parse(await readFile(study.outputs.summary, 'utf8')) as {
      findings: unknown[];
    };
    assert.equal(summary.findings.length, 2);
  }
});

test('each analysed image and finding has its heatmap as a 16-bit PNG of the source size, named in analysis.json, peaking where the CAM peaks', async () => {
  const out = join(work, 'out-heatmaps');
  const run = await analyzeFiles(radiographs, { registry, outDir: out, now: fixedClock });
  const pkg = await registry.resolve('cxr-test');
  const spec = pkg.manifest.input;
  const sessions = new ModelSessions();
  try {
    const session = await sessions.get(pkg);
    const byUid = new Map(
      await Promise.all(
        radiographs.map(async (file) => {
          const instance = await readDicomFile(file);
          return [instance.sopInstanceUid, instance] as const;
        }),
      ),
    );
    for (const study of run.studies) {
      const studyDir = dirname(study.outputs.summary);
      const summary = JSON.parse(await readFile(study.outputs.summary, 'utf8')) as {
        findings: Array<{
          sopInstanceUid: string;
          label: string;
          heatmap: {
            file: string;
            width: number;
            height: number;
            bitDepth: number;
            sha256: string;
            grid: { width: number; height: number };
            scale: { fullScale: number; maxRaw: number };
          } | null;
        }>;
      };
      assert.equal(summary.findings.length, 2);
      for (const finding of summary.findings) {
        const heatmap = finding.heatmap;
        assert.ok(heatmap, `finding ${finding.label} names its heatmap`);
        // The path is relative and stays inside the study folder.
        assert.ok(!isAbsolute(heatmap.file) && !heatmap.file.split('/').includes('..'));
        const path = resolve(studyDir, heatmap.file);
        assert.ok(path.startsWith(resolve(studyDir) + sep));
        const bytes = await readFile(path);
        assert.equal(createHash('sha256').update(bytes).digest('hex'), heatmap.sha256);
        const instance = byUid.get(finding.sopInstanceUid)!;
        const rows = Number(instance.dataset['Rows']);
        const columns = Number(instance.dataset['Columns']);
        const png = pngjs.PNG.sync.read(bytes, { skipRescale: true });
        assert.deepEqual([png.width, png.height, png.depth, png.colorType], [columns, rows, 16, 0]);
        assert.deepEqual([heatmap.width, heatmap.height, heatmap.bitDepth], [columns, rows, 16]);
        const values = png.data as unknown as ArrayLike<number>;
        let argmax = 0;
        for (let i = 1; i < columns * rows; i++)
          if (values[4 * i]! > values[4 * argmax]!) argmax = i;
        assert.equal(values[4 * argmax], 65535, 'the maximum is written as 65535');
        assert.ok(heatmap.scale.maxRaw > 0);

        // Oracle: the class-activation grid computed here from the model's own features with
        // plain loops (no resampling), its hottest cell mapped back onto the source image.
        const frame = await decodeFrame(instance, 0);
        const { input, placement } = toModelInputAndDisplay(frame, instance.dataset, spec, 64);
        const result = await session.runner.run([input]);
        const features = result.features![0]!;
        const labelIndex = pkg.manifest.labels.findIndex((label) => label.id === finding.label);
        const weights = session.camHead!.weightsFor(labelIndex);
        const { k, h, w } = features;
        assert.deepEqual(heatmap.grid, { width: w, height: h });
        let best = 0;
        let bestValue = -Infinity;
        for (let cell = 0; cell < h * w; cell++) {
          let sum = 0;
          for (let c = 0; c < k; c++) sum += weights[c]! * features.data[c * h * w + cell]!;
          if (sum > bestValue) [best, bestValue] = [cell, sum];
        }
        const toSource = (
          inputCoord: number,
          offset: number,
          extent: number,
          size: number,
        ): number => ((inputCoord - offset) * size) / extent;
        const cellX = best % w;
        const cellY = Math.floor(best / w);
        const x0 = toSource((cellX * spec.width) / w, placement.x, placement.width, columns);
        const x1 = toSource(((cellX + 1) * spec.width) / w, placement.x, placement.width, columns);
        const y0 = toSource((cellY * spec.height) / h, placement.y, placement.height, rows);
        const y1 = toSource(((cellY + 1) * spec.height) / h, placement.y, placement.height, rows);
        const px = argmax % columns;
        const py = Math.floor(argmax / columns);
        assert.ok(
          px >= Math.floor(x0) - 1 &&
            px <= Math.ceil(x1) + 1 &&
            py >= Math.floor(y0) - 1 &&
            py <= Math.ceil(y1) + 1,
          `PNG peak (${px},${py}) lies in the hottest CAM cell, source x ${x0}–${x1}, y ${y0}–${y1}`,
        );
      }
    }
  } finally {
    await sessions.dispose();
  }
});

test('a retry writes the same outputs with the same UIDs (no duplicate series)', async () => {
  const first = await analyzeFiles(radiographs, {
    registry,
    outDir: join(work, 'retry-1'),
    now: fixedClock,
  });
  const second = await analyzeFiles(radiographs, {
    registry,
    outDir: join(work, 'retry-2'),
    now: fixedClock,
  });
  const names = async (dir: string): Promise<string[]> =>
    (await readdir(dir, { recursive: true })).map(String).sort();
  assert.deepEqual(await names(join(work, 'retry-1')), await names(join(work, 'retry-2')));
  const sr1 = await readFile(first.studies[0]!.outputs.sr!);
  const sr2 = await readFile(second.studies[0]!.outputs.sr!);
  assert.ok(sr1.equals(sr2), 'the same input and model version give byte-identical SR');
});

test('images outside the intended use are reported "not analysed" with the reason, never scored', async () => {
  const ct = join(
    conformanceDir,
    'cornerstone3D',
    'CTImage.dcm_LittleEndianExplicitTransferSyntax_1.2.840.10008.1.2.1.dcm',
  );
  const run = await analyzeFiles([ct], {
    registry,
    model: { id: 'cxr-test' },
    outDir: join(work, 'out-ct'),
  });
  const study = run.studies[0]!;
  assert.equal(study.record?.findings.length, 0);
  assert.equal(study.outputs.sr, null);
  assert.match(
    study.record!.notAnalysed[0]!.reason,
    /modality CT is not in the model's intended use/,
  );
  assert.equal(run.imagesAnalysed, 0);
});

test('without --model and with no matching model, it says so instead of guessing', async () => {
  const ct = join(
    conformanceDir,
    'cornerstone3D',
    'CTImage.dcm_LittleEndianExplicitTransferSyntax_1.2.840.10008.1.2.1.dcm',
  );
  const run = await analyzeFiles([ct], { registry, outDir: join(work, 'out-nomodel') });
  assert.match(
    run.studies[0]!.problem ?? '',
    /no installed model is intended for these images \(modality CT/,
  );
});

test('a bad file is reported with its name and skipped; the others are analysed', async () => {
  const bad = join(work, 'not-dicom.dcm');
  await writeFile(bad, 'this is not DICOM');
  const run = await analyzeFiles([bad, radiographs[0]!], {
    registry,
    outDir: join(work, 'out-bad'),
  });
  assert.equal(run.problems.length, 1);
  assert.equal(run.problems[0]!.file, bad);
  assert.match(run.problems[0]!.error, /^E_/);
  assert.equal(run.imagesAnalysed, 1);
});

test('a model without a GAP+linear head is explained by occlusion sensitivity', async () => {
  const registryDir = join(work, 'models-occlusion');
  await writeTestModelPackage(join(registryDir, 'cxr-quadrant', '1.0.0'), {
    id: 'cxr-quadrant',
    version: '1.0.0',
    architecture: 'quadrant',
    edit: (m) => ({ ...m, intendedUse: { ...m.intendedUse, allowMissing: ['ViewPosition'] } }),
  });
  const run = await analyzeFiles(radiographs.slice(0, 1), {
    registry: new ModelRegistry(registryDir),
    outDir: join(work, 'out-occlusion'),
  });
  const study = run.studies[0]!;
  assert.equal(study.model?.id, 'cxr-quadrant');
  assert.equal(study.outputs.sc.length, 1, 'the SC carries the occlusion heatmap');
  const sc = dciodvfy(await readFile(study.outputs.sc[0]!));
  assert.deepEqual(sc.errors, [], sc.text);
});

test('a model that ships OOD statistics gets every image checked, and flags are caveats', async () => {
  const run = await analyzeFiles(radiographs, {
    registry: new ModelRegistry(join(repoRoot, 'models')),
    model: { id: 'cxr-pneumonia', version: '1.2.0' },
    outDir: join(work, 'out-ood'),
  });
  assert.equal(run.imagesAnalysed, radiographs.length);
  for (const study of run.studies) {
    const checks = Object.values(study.ood);
    assert.equal(checks.length, 1, 'one check per analysed image');
    for (const check of checks) {
      assert.ok(check.distance > 0 && check.threshold > 0);
      assert.equal(check.flagged, check.distance > check.threshold);
      assert.equal(
        study.warnings.some((w) => /out of distribution/.test(w)),
        check.flagged,
      );
    }
    const summary = JSON.parse(await readFile(study.outputs.summary, 'utf8')) as {
      findings: Array<{ ood: unknown; sopInstanceUid: string }>;
      caveats: Array<{ code: string; image: string | null; demotes: boolean }>;
    };
    assert.deepEqual(summary.findings[0]!.ood, checks[0]);
    // The same caveats, coded (ADR 0179): the imported images have no View Position, which
    // the model accepts without demoting; an OOD flag demotes.
    const image = summary.findings[0]!.sopInstanceUid;
    assert.deepEqual(
      summary.caveats.map((c) => [c.code, c.image, c.demotes]),
      [
        ['missing-view-position', image, false],
        ...(checks[0]!.flagged ? [['out-of-distribution', image, true]] : []),
      ],
    );
    assert.equal(summary.caveats.length, study.warnings.length, 'one line per coded caveat');
  }
});

test('a study of several images: all SCs in one series, and the same UIDs in any file order', async () => {
  const csv = join(work, 'one-study.csv');
  await writeFile(
    csv,
    'image,patient_id,visit\n00000061_012.png,00000061,v1\n00000150_002.png,00000061,v1\n00001280_004.png,00000061,v1\n',
  );
  for (const png of ['00000061_012.png', '00000150_002.png', '00001280_004.png']) {
    await writeFile(join(work, png), await readFile(join(repoRoot, 'samples', 'cxr', png)));
  }
  const imported = await importImages(csv, {
    outDir: join(work, 'one-study-dicom'),
    bodyPart: 'CHEST',
    patientIdColumn: 'patient_id',
    groupByColumn: 'visit',
  });
  assert.deepEqual(imported.problems, []);
  const files = imported.imported.map((entry) => entry.dicom);
  const uidsOf = async (order: string[], out: string): Promise<string[]> => {
    const run = await analyzeFiles(order, { registry, outDir: join(work, out), now: fixedClock });
    assert.equal(run.studies.length, 1);
    const study = run.studies[0]!;
    const series = new Set<string>();
    const instances: string[] = [];
    for (const sc of study.outputs.sc) {
      const dump = spawnSync('dcmdump', ['+P', '0020,000e', '+P', '0008,0018', sc], {
        encoding: 'utf8',
      });
      const [seriesLine, sopLine] = [/\(0020,000e\).*\[(.*)\]/, /\(0008,0018\).*\[(.*)\]/].map(
        (pattern) => pattern.exec(dump.stdout)?.[1] ?? '',
      );
      series.add(seriesLine!);
      instances.push(sopLine!);
    }
    assert.equal(instances.length, 3);
    assert.equal(series.size, 1, 'every SC of the study in one series');
    return [...series, ...instances.sort(), study.outputs.sr ?? ''].map((p) =>
      p.replace(join(work, out), ''),
    );
  };
  assert.deepEqual(await uidsOf(files, 'order-a'), await uidsOf([...files].reverse(), 'order-b'));
});
