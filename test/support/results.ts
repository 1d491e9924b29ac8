import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  AnalysisRecord,
  DisplayImage,
  FindingResult,
  Heatmap,
  SourceImage,
} from '../../src/inference/results/types.js';
import { repoRoot } from './paths.js';

/**
 * Synthetic inputs for the results tests and benchmarks: a CR chest study with one 256×256
 * image, two findings and a Grad-CAM-like heatmap over the right lower zone. Built in code so
 * the tests need no data files; the attribute values mirror a real CR header.
 */
export const CR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.1';

export function syntheticSource(overrides: { sopInstanceUid?: string } = {}): SourceImage {
  const studyInstanceUid = '1.2.826.0.1.3680043.8.498.10001';
  const seriesInstanceUid = '1.2.826.0.1.3680043.8.498.10001.1';
  const sopInstanceUid = overrides.sopInstanceUid ?? '1.2.826.0.1.3680043.8.498.10001.1.1';
  return {
    sopClassUid: CR_IMAGE_STORAGE,
    sopInstanceUid,
    seriesInstanceUid,
    dataset: {
      SOPClassUID: CR_IMAGE_STORAGE,
      SOPInstanceUID: sopInstanceUid,
      StudyInstanceUID: studyInstanceUid,
      SeriesInstanceUID: seriesInstanceUid,
      PatientName: [{ Alphabetic: 'Müller^Anna' }],
      PatientID: 'RL-000123',
      IssuerOfPatientID: 'RADIOLENS-TEST',
      PatientBirthDate: '19570412',
      PatientSex: 'F',
      StudyDate: '20260301',
      StudyTime: '081500',
      StudyID: 'S1',
      AccessionNumber: 'ACC-42',
      ReferringPhysicianName: '',
      StudyDescription: 'XR CHEST PA',
      Modality: 'CR',
      BodyPartExamined: 'CHEST',
      ViewPosition: 'PA',
      PatientOrientation: ['L', 'F'],
      Rows: 256,
      Columns: 256,
    },
  };
}

export function syntheticRecord(
  overrides: { version?: string; sha?: string } = {},
): AnalysisRecord {
  const image = syntheticSource();
  const finding = (
    labelId: string,
    value: string,
    meaning: string,
    probability: number,
    threshold: number,
  ): FindingResult => ({
    labelId,
    finding: { scheme: 'SCT', value, meaning },
    probability,
    threshold,
    present: probability >= threshold,
    alertLevel: probability >= threshold ? 'routine' : 'none',
    image,
  });
  return {
    studyInstanceUid: image.dataset['StudyInstanceUID'] as string,
    sources: [image],
    findings: [
      finding('pneumonia', '233604007', 'Pneumonia', 0.8731, 0.5),
      finding('pneumothorax', '36118008', 'Pneumothorax', 0.0412, 0.3),
    ],
    algorithm: {
      modelId: 'cxr-densenet121',
      version: overrides.version ?? '1.2.0',
      name: 'Radiolens CXR classifier',
      manufacturer: 'Radiolens project',
      manifestSha256: overrides.sha ?? 'a'.repeat(64),
    },
    performedAt: new Date('2026-03-01T09:30:00Z'),
    notAnalysed: [],
  };
}

/** A chest-radiograph-like grey image: dark lungs in a brighter mediastinum and body. */
export function syntheticDisplay(width = 256, height = 256): DisplayImage {
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x / width;
      const v = y / height;
      const inLung = (cx: number): boolean => ((u - cx) / 0.17) ** 2 + ((v - 0.5) / 0.32) ** 2 < 1;
      data[y * width + x] = inLung(0.3) || inLung(0.7) ? 0.2 + 0.1 * v : 0.65 + 0.2 * u * (1 - u);
    }
  }
  return { width, height, data };
}

/** A 16×16 map with one hot region at (row 11, col 4): the image's lower left (patient right). */
export function syntheticHeatmap(): Heatmap {
  const size = 16;
  const data = new Float32Array(size * size);
  let max = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const value = Math.max(0, 3 - Math.hypot(x - 4, y - 11));
      data[y * size + x] = value;
      max = Math.max(max, value);
    }
  }
  return { width: size, height: size, data, max };
}

/** Every model package shipped in models/<id>/<version>/, so a new one is covered by the tests. */
export function shippedModelDirs(): string[] {
  const root = join(repoRoot, 'models');
  const dirs: string[] = [];
  for (const id of readdirSync(root, { withFileTypes: true })) {
    if (!id.isDirectory()) continue;
    for (const version of readdirSync(join(root, id.name), { withFileTypes: true })) {
      const dir = join(root, id.name, version.name);
      if (version.isDirectory() && existsSync(join(dir, 'manifest.json'))) dirs.push(dir);
    }
  }
  return dirs.sort();
}

/**
 * The synthetic study analysed by a shipped package: its identity as the pipeline records it
 * (manifest id, version, name, manufacturer, manifest sha256) and one finding per label.
 */
export function recordForPackage(dir: string): AnalysisRecord {
  const bytes = readFileSync(join(dir, 'manifest.json'));
  const manifest = JSON.parse(bytes.toString('utf8')) as {
    id: string;
    version: string;
    name: string;
    manufacturer: string;
    labels: {
      id: string;
      code: { scheme: string; value: string; meaning: string };
      threshold: number;
    }[];
  };
  const base = syntheticRecord();
  const image = base.sources[0]!;
  return {
    ...base,
    algorithm: {
      modelId: manifest.id,
      version: manifest.version,
      name: manifest.name,
      manufacturer: manifest.manufacturer,
      manifestSha256: createHash('sha256').update(bytes).digest('hex'),
    },
    findings: manifest.labels.map((label, i) => {
      const probability = i === 0 ? 0.8731 : 0.0412;
      return {
        labelId: label.id,
        finding: label.code,
        probability,
        threshold: label.threshold,
        present: probability >= label.threshold,
        alertLevel: 'routine',
        image,
      };
    }),
  };
}
