/**
 * The project's site data (../shared/data/cxr-site-nih) as the monitoring and change-control
 * tests and tools need it: a split's rows, the locked test dataset the shipped change-control
 * plan names (rebuilt byte for byte: import-images and de-identification are deterministic
 * for a fixed secret), and shifted copies of site images for the drift tests.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { readCsvFile } from '../../src/foundation/csv/index.js';
import { createDataset, type CreatedDataset } from '../../src/lifecycle/datasets/index.js';
import { DeidKeys } from '../../src/lifecycle/deid/index.js';
import { importImages } from '../../src/lifecycle/imports/index.js';
import { repoRoot, sharedDir } from './paths.js';

export const SITE_DIR = join(sharedDir, 'data', 'cxr-site-nih');
export const KERMANY_DIR = join(sharedDir, 'data', 'cxr-train-kermany');
/** The split of the shipped site-adapted versions (1.1.0 and 1.2.0 share it). */
export const SITE_SPLITS = join(repoRoot, 'models', 'cxr-pneumonia', '1.2.0', 'splits.json');

/**
 * The de-identification secret of the locked demonstration dataset. It is public because the
 * data is (NIH's release, already without identity); a hospital uses its installation secret
 * and records the version `radiolens dataset create` prints.
 */
export const LOCKED_DATASET_SECRET = createHash('sha256')
  .update(
    'radiolens public demonstration secret: locked cxr-site-nih test split; never for patient data',
  )
  .digest();
export const LOCKED_DATASET_NAME = 'cxr-site-nih test split (locked for PCCP-CXR-PNEUMONIA-1)';

export interface SiteRow {
  readonly image: string;
  readonly patientId: string;
  readonly followUp: string;
  readonly pneumonia: '0' | '1';
}

/** The rows of one split of the site data (by patient, as splits.json lists them). */
export async function siteSplitRows(
  split: 'train' | 'tuning' | 'test',
  splits = SITE_SPLITS,
): Promise<SiteRow[]> {
  const patients = new Set(
    (JSON.parse(await readFile(splits, 'utf8')) as { patients: Record<string, string[]> }).patients[
      split
    ],
  );
  return readCsvFile(join(SITE_DIR, 'labels.csv'))
    .rows.filter((row) => patients.has(row['patient_id'] ?? ''))
    .map((row) => ({
      image: join(SITE_DIR, row['image']!),
      patientId: row['patient_id']!,
      followUp: row['follow_up']!,
      pneumonia: row['pneumonia'] === '1' ? '1' : '0',
    }));
}

/**
 * Build the locked site test dataset in `datasetDir` (scratch in `workDir`): the test split's
 * PNGs imported as DICOM CR, de-identified with the public secret, labelled with the truth
 * (`pneumonia`), a subgroup (`visit`: the patient's first study or a follow-up) and the
 * patient as a keyed pseudonym (`patient`), so the gate's intervals can respect patients.
 */
export async function buildLockedSiteTestDataset(
  datasetDir: string,
  workDir: string,
): Promise<CreatedDataset> {
  const rows = await siteSplitRows('test');
  await mkdir(workDir, { recursive: true });
  const selection = join(workDir, 'test-split.csv');
  await writeFile(
    selection,
    `image,patient_id\n${rows.map((r) => `${r.image},${r.patientId}`).join('\n')}\n`,
  );
  const imported = await importImages(selection, {
    outDir: join(workDir, 'dicom'),
    bodyPart: 'CHEST',
    patientIdColumn: 'patient_id',
  });
  if (imported.problems.length > 0)
    throw new Error(`import failed: ${JSON.stringify(imported.problems[0])}`);
  const byImage = new Map(rows.map((r) => [r.image, r]));
  const keys = new DeidKeys(LOCKED_DATASET_SECRET);
  const labels = new Map(
    imported.imported.map((item) => {
      const row = byImage.get(item.image)!;
      return [
        item.sopInstanceUid,
        {
          pneumonia: row.pneumonia,
          visit: row.followUp === '000' ? 'initial' : 'follow-up',
          patient: keys.patientPseudonym(row.patientId),
        },
      ];
    }),
  );
  return createDataset({
    name: LOCKED_DATASET_NAME,
    files: imported.imported.map((item) => item.dicom).sort(),
    root: join(workDir, 'dicom'),
    datasetDir,
    config: { options: new Set(), keys },
    labels,
  });
}

/**
 * Copies of images with their brightness scaled (a new detector or processing), as 8-bit
 * PNGs under `outDir`; returns their paths.
 */
export async function writeBrightenedCopies(
  images: readonly string[],
  factor: number,
  outDir: string,
): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const out: string[] = [];
  for (const [index, image] of images.entries()) {
    const png = PNG.sync.read(await readFile(image));
    for (let i = 0; i < png.data.length; i += 4) {
      for (let c = 0; c < 3; c++)
        png.data[i + c] = Math.min(255, Math.round(png.data[i + c]! * factor));
    }
    const path = join(outDir, `bright-${index}.png`);
    await writeFile(path, PNG.sync.write(png, { colorType: 0, inputColorType: 6 }));
    out.push(path);
  }
  return out;
}
