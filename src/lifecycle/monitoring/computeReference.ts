/**
 * Computing a model's drift reference on the images it was validated on (ADR 0087). The
 * images go through exactly what production does — PNG/JPEG are first made DICOM CR by
 * `import-images`, then `analyzeFiles` decodes, windows, checks the intended use, runs the
 * model and records each image's inputs in analysis.json — and the reference summarises those
 * records. So the reference and every later window are measured by the same code.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { RadiolensError } from '../../foundation/core/index.js';
import { readCsvFile } from '../../foundation/csv/index.js';
import { analyzeFiles } from '../../inference/analysis/index.js';
import type { ModelRegistry } from '../../inference/models/index.js';
import { importImages } from '../imports/index.js';
import { readAnalysisFolder } from './analysisRecords.js';
import { buildDriftReference, type DriftReference } from './reference.js';

export interface ReferenceImagesRequest {
  readonly registry: ModelRegistry;
  readonly model: { readonly id: string; readonly version: string };
  /** Labels CSV: an `image` column (relative to the CSV) and one 0/1 column per model label. */
  readonly labelsCsv: string;
  /**
   * The CSV column with each image's patient, so that a patient's repeated images are known
   * as such (the reference stores them as one cluster, never the ID). Absent: every image is
   * taken as its own patient.
   */
  readonly patientColumn?: string;
  /** Keep only these rows (a split); all rows when absent. */
  readonly select?: (row: Readonly<Record<string, string>>) => boolean;
  readonly description: string;
  /** What the images are a version of; default: the CSV's folder name and the CSV's sha256. */
  readonly dataset?: { readonly id: string; readonly version: string };
  /** Scratch folder: the DICOM copies and the analyses. */
  readonly workDir: string;
  readonly onProgress?: (step: string) => void;
}

export async function computeDriftReference(
  request: ReferenceImagesRequest,
): Promise<DriftReference> {
  const pkg = await request.registry.resolve(request.model.id, request.model.version);
  const labels = pkg.manifest.labels.map((l) => l.id);
  const table = readCsvFile(request.labelsCsv);
  const rows = table.rows.filter((row) => request.select?.(row) ?? true);
  if (rows.length === 0) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${request.labelsCsv}: no image is selected — check the split`,
      {
        subject: request.labelsCsv,
      },
    );
  }
  const folder = dirname(resolve(request.labelsCsv));
  const byImage = new Map<string, Readonly<Record<string, string>>>();
  const patientColumn = request.patientColumn;
  if (patientColumn !== undefined && !table.columns.includes(patientColumn)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${request.labelsCsv} has no column "${patientColumn}"`,
      {
        subject: request.labelsCsv,
      },
    );
  }
  const selection = [patientColumn === undefined ? 'image' : 'image,patient'];
  for (const row of rows) {
    const image = resolve(folder, row['image'] ?? '');
    byImage.set(image, row);
    const patient =
      patientColumn === undefined ? '' : `,${JSON.stringify(row[patientColumn] ?? '')}`;
    selection.push(`${JSON.stringify(image)}${patient}`);
  }
  const selectionCsv = join(request.workDir, 'selection.csv');
  await writeFile(selectionCsv, `${selection.join('\n')}\n`);
  request.onProgress?.(`importing ${rows.length} images as DICOM`);
  const imported = await importImages(selectionCsv, {
    outDir: join(request.workDir, 'dicom'),
    bodyPart: 'CHEST',
    ...(patientColumn === undefined ? {} : { patientIdColumn: 'patient' }),
  });
  if (imported.problems.length > 0) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${imported.problems.length} image(s) could not be imported (first: ${imported.problems[0]!.image}: ${imported.problems[0]!.error}) — fix them or leave them out of the reference`,
    );
  }
  const truthBySop = new Map<string, Readonly<Record<string, string>>>();
  for (const item of imported.imported)
    truthBySop.set(item.sopInstanceUid, byImage.get(resolve(item.image))!);
  request.onProgress?.(`analysing them with ${request.model.id}@${request.model.version}`);
  const outDir = join(request.workDir, 'analysis');
  await analyzeFiles(
    imported.imported.map((item) => item.dicom),
    { registry: request.registry, model: request.model, outDir },
  );
  const images = await readAnalysisFolder(outDir);
  const dataset = request.dataset ?? {
    id: basename(folder),
    version: `sha256:${createHash('sha256')
      .update(await readFile(request.labelsCsv))
      .digest('hex')}`,
  };
  return buildDriftReference({
    model: { ...request.model, modelSha256: pkg.manifest.files['model.onnx']! },
    labels,
    images,
    truth: (image, label) => {
      const value = truthBySop.get(image.sopInstanceUid)?.[label]?.trim();
      return value === '1' ? 1 : value === '0' ? 0 : null;
    },
    source: {
      description: request.description,
      dataset,
      notAnalysed: rows.length - images.length,
      computedBy: `radiolens monitor reference (${basename(request.labelsCsv)}, ${rows.length} images)`,
    },
  });
}
