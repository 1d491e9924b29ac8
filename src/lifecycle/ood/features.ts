import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { describeError, filesUnder, RadiolensError } from '../../foundation/core/index.js';
import { readGreyImage } from '../../inference/imaging/index.js';
import {
  classifierInput,
  LungSegmenter,
  regionPackageOf,
} from '../../inference/lungField/index.js';
import { createModelRunner, type ModelPackage } from '../../inference/models/index.js';
import { globalAveragePool } from '../../inference/ood/index.js';
import { readCsvFile, requireColumns } from '../../foundation/csv/index.js';

/** An image's pooled features, or why it has none, with the DICOM attributes that say what it is. */
export interface ImageFeatures {
  path: string;
  pooled: Float32Array | null;
  /** The model's scores for the image (per label, manifest order), beside its features. */
  scores: Float32Array | null;
  problem: string | null;
  /**
   * For a lung-field classifier (manifest input.region): why the lung-field check refused the
   * image, which analyze would then not score — so it has no features either. Null otherwise.
   */
  refused: string | null;
  /** Modality / Body Part Examined / Photometric Interpretation when DICOM; 'raster' otherwise. */
  kind: string;
  /** SOP Instance UID when DICOM: the same image in several transfer syntaxes counts once. */
  uid: string | null;
}

/**
 * Pooled features of any decodable image, DICOM or PNG/JPEG. Unlike scoreImages this does NOT
 * apply the attribute intended-use check: the OOD check is measured on what the pixels look
 * like, because DICOM attributes are often missing or wrong (secondary captures, legacy
 * imports) and the check must hold where the attribute check cannot.
 * A lung-field classifier's features are those of the input analyze gives it — the lung-field
 * crop, found by the segmentation package installed beside it — since statistics fitted on any
 * other input would describe images the model never sees. An image whose lung field the
 * pixel check refuses is never scored by analyze, so it gets no features: `refused` says why.
 */
export async function extractPooledFeatures(
  paths: readonly string[],
  pkg: ModelPackage,
  options: { batchSize?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<ImageFeatures[]> {
  if (pkg.manifest.outputs.features === undefined) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${pkg.manifest.id}@${pkg.manifest.version} exposes no feature output — the OOD check needs pooled features (manifest outputs.features)`,
    );
  }
  const runner = await createModelRunner(pkg);
  let segmenter: LungSegmenter | null = null;
  const batchSize = options.batchSize ?? 16;
  const out: ImageFeatures[] = [];
  try {
    const lungPkg = await regionPackageOf(pkg);
    if (lungPkg !== null) segmenter = await LungSegmenter.open(lungPkg);
    for (let start = 0; start < paths.length; start += batchSize) {
      const batch: Array<{ path: string; kind: string; uid: string | null; input: Float32Array }> =
        [];
      for (const path of paths.slice(start, start + batchSize)) {
        try {
          const loaded = await readGreyImage(path, { windowing: pkg.manifest.input.windowing });
          const prepared = await classifierInput(pkg, loaded.grey, segmenter);
          if (prepared.kind === 'refused') {
            out.push({
              path,
              pooled: null,
              scores: null,
              problem: `not analysed: ${prepared.reason}`,
              refused: prepared.reason,
              kind: loaded.kind,
              uid: loaded.uid,
            });
            continue;
          }
          batch.push({ path, kind: loaded.kind, uid: loaded.uid, input: prepared.input });
        } catch (error) {
          out.push({
            path,
            pooled: null,
            scores: null,
            problem: describeError(error),
            refused: null,
            kind: 'undecodable',
            uid: null,
          });
        }
      }
      if (batch.length > 0) {
        const result = await runner.run(batch.map((b) => b.input));
        batch.forEach((b, i) => {
          out.push({
            path: b.path,
            kind: b.kind,
            uid: b.uid,
            problem: null,
            refused: null,
            pooled: globalAveragePool(result.features![i]!),
            scores: result.scores[i]!,
          });
        });
      }
      options.onProgress?.(Math.min(paths.length, start + batchSize), paths.length);
    }
  } finally {
    await runner.dispose();
    await segmenter?.dispose();
  }
  const byPath = new Map(out.map((item) => [item.path, item]));
  return paths.map((path) => byPath.get(path)!);
}

/** A list of images: a CSV's "image" column (relative to the CSV), or every file under a folder. */
export interface ImageList {
  source: string;
  paths: string[];
  /** Patient ids from a CSV's patient_id column, when it has one (folds never split a patient). */
  groups: string[] | null;
}

export async function readImageList(spec: string): Promise<ImageList> {
  const path = resolve(spec);
  const info = await stat(path).catch((cause: unknown) => {
    throw new RadiolensError('E_IO', `${spec} does not exist — give a CSV or a folder of images`, {
      subject: spec,
      cause,
    });
  });
  if (info.isDirectory()) {
    const paths = (await filesUnder(path))
      .sort()
      .filter((p) => !/(\.md|\.csv|\.txt|LICENSE)$/i.test(p));
    return { source: spec, paths, groups: null };
  }
  const table = readCsvFile(path);
  requireColumns(table, ['image']);
  const base = dirname(path);
  return {
    source: spec,
    paths: table.rows.map((row) => resolve(base, row['image']!)),
    groups: table.columns.includes('patient_id')
      ? table.rows.map((row) => row['patient_id']!)
      : null,
  };
}
