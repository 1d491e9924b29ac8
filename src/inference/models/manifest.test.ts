import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifest, validateManifest, type ModelManifest } from './manifest.js';

function validManifest(): ModelManifest {
  return {
    id: 'cxr-pneumonia',
    version: '1.2.0',
    name: 'Chest X-ray pneumonia classifier',
    task: 'classification',
    manufacturer: 'Example Hospital AI Lab',
    intendedUse: {
      summary: 'Flags adult frontal chest radiographs with signs of pneumonia for review.',
      modalities: ['CR', 'DX'],
      bodyParts: ['CHEST'],
      viewPositions: ['PA', 'AP'],
      photometric: ['MONOCHROME1', 'MONOCHROME2'],
      minRows: 512,
      minColumns: 512,
      bitsStored: { min: 8, max: 16 },
      notFor: ['paediatric patients'],
    },
    limitations: ['Not validated on portable AP images from ICU'],
    input: {
      width: 224,
      height: 224,
      channels: 3,
      resize: 'letterbox',
      normalisation: { kind: 'meanStd', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      inputName: 'image',
    },
    outputs: { scores: 'logits', activation: 'sigmoid', features: 'features' },
    labels: [
      {
        id: 'pneumonia',
        code: { scheme: 'SCT', value: '233604007', meaning: 'Pneumonia' },
        threshold: 0.42,
        alertLevel: 'urgent',
      },
    ],
    explanation: {
      method: 'cam',
      headWeight: 'classifier.weight',
      headWeightLayout: 'classByChannel',
      headBias: 'classifier.bias',
    },
    lineage: {
      trainingDataset: { id: 'kermany-cxr', version: '2018-01' },
      recipe: 'head-only fine-tune, 20 epochs',
      parameters: { lr: 0.001, epochs: 20 },
      parent: { id: 'densenet121-imagenet', version: '1.0.0' },
    },
    validation: [
      {
        dataset: 'site-a-2025',
        metric: 'AUROC',
        value: 0.91,
        ci: { lower: 0.88, upper: 0.94, level: 0.95 },
        n: 812,
      },
    ],
    files: { 'model.onnx': 'a'.repeat(64) },
  };
}

function issuesOf(json: unknown): { path: string; message: string }[] {
  const result = validateManifest(json);
  assert.equal(result.ok, false, 'expected the manifest to be refused');
  return result.ok ? [] : result.issues;
}

test('a complete manifest is accepted and typed', () => {
  const manifest = parseManifest(JSON.stringify(validManifest()));
  assert.equal(manifest.labels[0]?.code.scheme, 'SCT');
  assert.equal(manifest.explanation.method, 'cam');
});

test('unknown fields are refused, with their JSON path', () => {
  const json = validManifest() as unknown as Record<string, unknown>;
  json.extra = 1;
  (json.labels as Record<string, unknown>[])[0]!.treshold = 0.5; // a typo must not pass
  const issues = issuesOf(json);
  assert.ok(issues.some((i) => i.path === '$' && i.message.includes('"extra"')), JSON.stringify(issues));
  assert.ok(issues.some((i) => i.path === '$.labels[0]' && i.message.includes('"treshold"')));
});

test('every problem is listed at once in E_MANIFEST_INVALID', () => {
  const json = validManifest() as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  json.version = '1.2';
  json.labels[0].code.scheme = 'SNOMED';
  json.labels[0].threshold = 1.5;
  json.intendedUse.bitsStored = { min: 16, max: 8 };
  json.input.normalisation.mean = [0.5];
  json.files = { '../escape.bin': 'b'.repeat(64) };
  json.lineage.trainingDataset = { id: 'x' };
  assert.throws(
    () => parseManifest(JSON.stringify(json), '/pkg/manifest.json'),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, 'E_MANIFEST_INVALID');
      for (const path of [
        '$.version',
        '$.labels[0].code.scheme',
        '$.labels[0].threshold',
        '$.intendedUse.bitsStored',
        '$.input.normalisation.mean',
        '$.files["../escape.bin"]',
        '$.lineage.trainingDataset',
      ]) {
        assert.ok(error.message.includes(`${path}:`), `${path} missing from: ${error.message}`);
      }
      assert.ok(error.message.includes('/pkg/manifest.json'));
      return true;
    },
  );
});

test('cam explanation needs a feature output; model.onnx must be listed', () => {
  const json = validManifest();
  delete json.outputs.features;
  json.files = { 'weights.bin': 'c'.repeat(64) };
  const paths = issuesOf(json).map((i) => i.path);
  assert.ok(paths.includes('$.outputs.features'));
  assert.ok(paths.includes('$.files'));
});

test('occlusion explanation validates without features; softmax needs two labels', () => {
  const json = validManifest();
  json.explanation = { method: 'occlusion', patch: 16, stride: 8 };
  delete json.outputs.features;
  assert.equal(validateManifest(json).ok, true);
  json.outputs.activation = 'softmax';
  assert.deepEqual(
    issuesOf(json).map((i) => i.path),
    ['$.outputs.activation'],
  );
});

test('invalid JSON text is E_MANIFEST_INVALID naming the file', () => {
  assert.throws(() => parseManifest('{ "id": ', 'x/manifest.json'), /E_MANIFEST_INVALID: x\/manifest.json is not valid JSON/);
});

test('a confidence interval must contain its value; lower-case hashes only', () => {
  const json = validManifest();
  json.validation[0]!.ci = { lower: 0.95, upper: 0.99, level: 0.95 };
  json.files['model.onnx'] = 'A'.repeat(64);
  const paths = issuesOf(json).map((i) => i.path);
  assert.deepEqual(paths.sort(), ['$.files["model.onnx"]', '$.validation[0].ci']);
});

function changeControl(): NonNullable<ModelManifest['changeControl']> {
  return {
    plan: 'PCCP-TEST-1',
    allowedModifications: [{ kind: 'head-refit', description: 're-fit the linear head on site data' }],
    acceptance: {
      testDataset: { name: 'site test split', version: 'b'.repeat(64) },
      level: 0.95,
      minimumAnalysedFraction: 0.95,
      labels: [
        {
          label: 'pneumonia',
          truth: 'pneumonia',
          aucNonInferiorityMargin: 0.05,
          sensitivity: { minimum: 0.9, minimumLowerBound: 0.8 },
          calibration: { maximumEce: 0.15, bins: 10 },
          subgroups: { columns: ['visit'], maxAucDrop: 0.1, minCasesPerClass: 5 },
        },
      ],
    },
  };
}

test('the change-control plan and the drift reference are part of the checked contract', () => {
  const manifest = {
    ...validManifest(),
    monitoring: { reference: 'drift-reference.json' },
    changeControl: changeControl(),
    files: { 'model.onnx': 'a'.repeat(64), 'drift-reference.json': 'c'.repeat(64) },
  };
  assert.equal(parseManifest(JSON.stringify(manifest)).changeControl?.plan, 'PCCP-TEST-1');

  const unlisted = { ...manifest, files: { 'model.onnx': 'a'.repeat(64) } };
  assert.deepEqual(
    issuesOf(unlisted).map((i) => i.path),
    ['$.monitoring.reference'],
    'the reference must be a hashed file of the package',
  );

  const plan = changeControl();
  const bad = {
    ...manifest,
    changeControl: {
      ...plan,
      allowedModifications: [{ kind: 'intended-use-widening', description: 'anything' }],
      acceptance: {
        ...plan.acceptance,
        testDataset: { name: 'x', version: 'not-a-version' },
        labels: [
          { ...plan.acceptance.labels[0]!, label: 'effusion', sensitivity: { minimum: 0.8, minimumLowerBound: 0.9 } },
        ],
      },
    },
  };
  const paths = issuesOf(bad).map((i) => i.path);
  assert.ok(paths.includes('$.changeControl.allowedModifications[0].kind'), paths.join());
  assert.ok(paths.includes('$.changeControl.acceptance.testDataset.version'), paths.join());
});

test('the plan names only labels the model has, and a lower bound below its minimum', () => {
  const plan = changeControl();
  const manifest = {
    ...validManifest(),
    changeControl: {
      ...plan,
      acceptance: {
        ...plan.acceptance,
        labels: [
          { ...plan.acceptance.labels[0]!, label: 'effusion', sensitivity: { minimum: 0.8, minimumLowerBound: 0.9 } },
        ],
      },
    },
  };
  assert.deepEqual(
    issuesOf(manifest).map((i) => `${i.path}: ${i.message}`),
    [
      '$.changeControl.acceptance.labels[0].label: the model has no label effusion',
      '$.changeControl.acceptance.labels[0].sensitivity: the minimum lower bound cannot exceed the minimum estimate',
    ],
  );
});

test('a segmentation package: labels are its channels, no explanation, no change-control plan (ADR 0160)', () => {
  const json = validManifest();
  const segmentation = {
    ...json,
    id: 'cxr-lungs',
    task: 'segmentation',
    outputs: { scores: 'lungs', activation: 'none' },
    explanation: { method: 'none' },
    labels: [
      { id: 'right-lung', code: { scheme: 'SCT', value: '3341006', meaning: 'Right lung structure' }, threshold: 0.5, alertLevel: 'none' },
      { id: 'left-lung', code: { scheme: 'SCT', value: '44029006', meaning: 'Left lung structure' }, threshold: 0.5, alertLevel: 'none' },
    ],
  };
  assert.equal(parseManifest(JSON.stringify(segmentation)).task, 'segmentation');
  const withCam = { ...segmentation, explanation: json.explanation };
  assert.ok(issuesOf(withCam).some((i) => i.path === '$.explanation.method'));
  const classifierWithout = { ...json, explanation: { method: 'none' } };
  assert.ok(issuesOf(classifierWithout).some((i) => i.path === '$.explanation.method'));
  const region = { ...segmentation, input: { ...json.input, region: { kind: 'lungField', model: { id: 'x', version: '1.0.0' } } } };
  assert.ok(issuesOf(region).some((i) => i.path === '$.input.region'));
});

test('a classifier may declare the lung field of a named segmentation package as its input region', () => {
  const json = validManifest();
  json.input.region = { kind: 'lungField', model: { id: 'cxr-lungs', version: '1.0.0' } };
  assert.deepEqual(parseManifest(JSON.stringify(json)).input.region?.model, {
    id: 'cxr-lungs',
    version: '1.0.0',
  });
  const bad = validManifest() as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  bad.input.region = { kind: 'lungMask', model: { id: 'cxr-lungs', version: '1' } };
  assert.ok(issuesOf(bad).some((i) => i.path.startsWith('$.input.region')));
});

test('a lung-field region may ask for the edge guard, with an inset inside (0, 0.25)', () => {
  const json = validManifest();
  json.input.region = {
    kind: 'lungField',
    model: { id: 'cxr-lungs', version: '1.0.0' },
    edgeGuard: { inset: 0.04 },
  };
  assert.deepEqual(parseManifest(JSON.stringify(json)).input.region?.edgeGuard, { inset: 0.04 });
  for (const inset of [0, 0.25, -0.1]) {
    const bad = validManifest() as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    bad.input.region = { ...json.input.region, edgeGuard: { inset } };
    assert.ok(
      issuesOf(bad).some((i) => i.path.startsWith('$.input.region.edgeGuard')),
      `inset ${inset}`,
    );
  }
});
