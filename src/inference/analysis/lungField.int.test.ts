/**
 * analyze with the lung model (ADRs 0160, 0161): a classifier whose input is the lung field
 * gets the crop, an image without a plausible lung field is listed as not analysed with coded
 * reasons, and each finding says how much of its heatmap lies in the lungs (analysis.json and
 * the SR). The lung-field classifier here is cxr-pneumonia 1.2.0's network declared with a
 * lung-field input: the real lung model and a real network, not the 2.0.0 weights (which are
 * not trained yet); the numbers it scores are not its validated ones and are not asserted.
 * The SR is checked with dciodvfy and dsrdump (hence .int).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, sharedDir } from '../../../test/support/index.js';
import { dciodvfy, runOnDicom } from '../../../test/support/dicomTools.js';
import { encodeDicomPart10 } from '../../foundation/dicom/index.js';
import { decodeRaster, type GreyRaster } from '../../foundation/raster/index.js';
import { crDataset } from '../../lifecycle/imports/index.js';
import { ModelRegistry, writeModelPackage, type ModelManifest } from '../models/index.js';
import { analyzeFiles } from './analyze.js';

const NIH = join(sharedDir, 'data', 'cxr-site-nih', 'images', '00001371_001.png');
const skip = existsSync(NIH) ? false : `no shared data (${NIH})`;

function rotate90(raster: GreyRaster): GreyRaster {
  const { width: w, height: h } = raster;
  const samples = new Uint8Array(w * h);
  for (let i = 0; i < w; i++)
    for (let j = 0; j < h; j++) samples[i * h + j] = raster.samples[j * w + (w - 1 - i)]!;
  return { ...raster, width: h, height: w, samples };
}

async function cr(dir: string, name: string, raster: GreyRaster, n: number): Promise<string> {
  const path = join(dir, `${name}.dcm`);
  const bytes = encodeDicomPart10(
    crDataset(raster, {
      studyInstanceUid: '1.2.826.0.1.3680043.8.498.11000',
      seriesInstanceUid: '1.2.826.0.1.3680043.8.498.11001',
      sopInstanceUid: `1.2.826.0.1.3680043.8.498.1100${1 + n}.1`,
      patientId: 'LUNGTEST',
      bodyPart: 'CHEST',
      viewPosition: 'PA',
      sourceName: name,
    }),
  );
  await writeFile(path, bytes);
  return path;
}

interface Summary {
  findings: Array<{
    sopInstanceUid: string;
    probability: number;
    lungField: { energyInside: number | null; peakInside: boolean | null } | null;
  }>;
  notAnalysed: Array<{ sopInstanceUid: string; reason: string; codes?: string[] }>;
  outputs: { sr: string | null };
}

test(
  'a lung-field classifier is fed the lung field, refuses an image without one, and says where its heatmap lies',
  { skip },
  async (t) => {
    const work = await mkdtemp(join(tmpdir(), 'radiolens-lungfield-'));
    t.after(() => rm(work, { recursive: true, force: true }));
    const registry = join(work, 'models');
    await cp(join(repoRoot, 'models', 'cxr-lungs', '1.0.0'), join(registry, 'cxr-lungs', '1.0.0'), {
      recursive: true,
    });
    const base = JSON.parse(
      await readFile(join(repoRoot, 'models', 'cxr-pneumonia', '1.2.0', 'manifest.json'), 'utf8'),
    ) as ModelManifest;
    const {
      files: _files,
      ood: _ood,
      monitoring: _monitoring,
      changeControl: _plan,
      ...rest
    } = base;
    const manifest: Omit<ModelManifest, 'files'> = {
      ...rest,
      id: 'cxr-lungfield-test',
      version: '1.0.0',
      input: {
        ...base.input,
        normalisation: { kind: 'meanStd', mean: [0.5], std: [0.25] },
        region: { kind: 'lungField', model: { id: 'cxr-lungs', version: '1.0.0' } },
      },
    };
    await writeModelPackage(join(registry, manifest.id, manifest.version), manifest, {
      'model.onnx': await readFile(
        join(repoRoot, 'models', 'cxr-pneumonia', '1.2.0', 'model.onnx'),
      ),
    });
    const raster = decodeRaster(await readFile(NIH), NIH);
    const frontal = await cr(work, 'frontal', raster, 0);
    const turned = await cr(work, 'turned', rotate90(raster), 1);
    const out = join(work, 'out');
    const run = await analyzeFiles([frontal, turned], {
      registry: new ModelRegistry(registry),
      model: { id: manifest.id },
      outDir: out,
    });
    const study = run.studies[0]!;
    const summary = JSON.parse(await readFile(study.outputs.summary, 'utf8')) as Summary;
    assert.equal(summary.findings.length, 1, JSON.stringify(summary.notAnalysed));
    const finding = summary.findings[0]!;
    assert.ok(finding.probability >= 0 && finding.probability <= 1);
    // The heatmap lives on the lung-field crop, which holds the lungs and little else.
    assert.ok(
      finding.lungField !== null &&
        finding.lungField.energyInside !== null &&
        finding.lungField.energyInside > 0.3,
      JSON.stringify(finding.lungField),
    );
    assert.equal(summary.notAnalysed.length, 1);
    const refused = summary.notAnalysed[0]!;
    assert.ok(
      refused.codes !== undefined &&
        refused.codes.length > 0 &&
        refused.codes.every((c) => c.startsWith('LUNG_')),
      JSON.stringify(refused),
    );
    assert.match(refused.reason, /no plausible pair of lungs/);
    // The SR carries the share as a measurement of the finding.
    const sr = await readFile(summary.outputs.sr!);
    assert.ok(sr.includes(Buffer.from('HMLUNGS')), 'the SR has no heatmap-in-lungs measurement');
    assert.ok(sr.includes(Buffer.from('Heatmap energy inside lung field')));
    // …and stays a valid Comprehensive SR that DCMTK reads (independent tools).
    const check = dciodvfy(sr);
    assert.deepEqual(check.errors, [], check.text);
    const dump = runOnDicom('dsrdump', [], sr);
    assert.match(`${dump.stdout}`, /Heatmap energy inside lung field/);
    // The lung model that cropped the input is named beside the classifier (ADR 0145).
    const equipment = runOnDicom('dcmdump', ['+L', '+P', 'ContributionDescription'], sr).stdout;
    assert.match(`${equipment}`, /AI inference by .*\(cxr-lungfield-test 1\.0\.0,/);
    assert.match(
      `${equipment}`,
      /AI lung field segmentation \(input region\) by .*\(cxr-lungs 1\.0\.0, manifest sha256 [0-9a-f]{64}\)/,
    );
  },
);

test(
  'analyze --lungs places a whole-image classifier’s heatmaps relative to the lungs, scores unchanged',
  { skip },
  async (t) => {
    const work = await mkdtemp(join(tmpdir(), 'radiolens-lungshare-'));
    t.after(() => rm(work, { recursive: true, force: true }));
    const registry = join(work, 'models');
    for (const [id, version] of [
      ['cxr-lungs', '1.0.0'],
      ['cxr-pneumonia', '1.2.0'],
    ] as const) {
      await cp(join(repoRoot, 'models', id, version), join(registry, id, version), {
        recursive: true,
      });
    }
    const raster = decodeRaster(await readFile(NIH), NIH);
    const file = await cr(work, 'frontal', raster, 0);
    const plain = await analyzeFiles([file], {
      registry: new ModelRegistry(registry),
      model: { id: 'cxr-pneumonia' },
      outDir: join(work, 'plain'),
    });
    const placed = await analyzeFiles([file], {
      registry: new ModelRegistry(registry),
      model: { id: 'cxr-pneumonia' },
      lungs: { id: 'cxr-lungs' },
      outDir: join(work, 'placed'),
    });
    const read = async (run: typeof plain): Promise<Summary> =>
      JSON.parse(await readFile(run.studies[0]!.outputs.summary, 'utf8')) as Summary;
    const [a, b] = [await read(plain), await read(placed)];
    assert.equal(a.findings[0]!.lungField, null);
    assert.equal(b.findings[0]!.probability, a.findings[0]!.probability);
    const share = b.findings[0]!.lungField!.energyInside!;
    assert.ok(share >= 0 && share <= 1);
    t.diagnostic(
      `cxr-pneumonia@1.2.0 heatmap energy inside the lungs on ${NIH}: ${share.toFixed(3)}`,
    );
  },
);
