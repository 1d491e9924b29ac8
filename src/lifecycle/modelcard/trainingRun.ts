import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { RadiolensError, writeFileAtomic } from '../../foundation/core/index.js';
import { readCsvFile, requireColumns } from '../../foundation/csv/index.js';

/**
 * training-run.json as the training recipe (training/train.py) writes it. Only the fields the
 * model card reads are checked; the recipe may add more (looseObject), but a field the card
 * needs that is missing or mistyped fails here, at the edge, naming the file.
 */
const split = z.looseObject({ images: z.int(), positive: z.int(), patients: z.int() });
export const trainingRunSchema = z.looseObject({
  recipe: z.string(),
  parameters: z.looseObject({
    epochs: z.number(),
    seed: z.number(),
    best_epoch: z.number().optional(),
  }),
  dataset: z.looseObject({ path: z.string(), version: z.string() }),
  splits: z.looseObject({ train: split, tune: split, test: split }),
  split_rule: z.string(),
  test_images: z.array(z.string()),
  history: z.array(
    z.looseObject({
      epoch: z.number(),
      train_loss: z.number(),
      tune_loss: z.number(),
      tune_auc: z.number(),
    }),
  ),
  test: z.looseObject({ auc: z.number() }),
  shortcut_checks: z.record(z.string(), z.number()),
  seconds: z.number().optional(),
});

export type TrainingRun = z.infer<typeof trainingRunSchema>;

export async function readTrainingRun(path: string): Promise<TrainingRun> {
  const text = await readFile(path, 'utf8').catch((cause: unknown) => {
    throw new RadiolensError(
      'E_IO',
      `cannot read ${path} — give the training-run.json of the model package`,
      {
        subject: path,
        cause,
      },
    );
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new RadiolensError('E_BAD_INPUT', `${path} is not JSON`, { subject: path, cause });
  }
  const parsed = trainingRunSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 4).map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${path} is not a training run record (${issues.join('; ')}) — rerun training/train.py`,
      {
        subject: path,
      },
    );
  }
  return parsed.data;
}

/**
 * Split the training source's labels.csv by the run's test_images into the internal test set
 * and everything else (train + tune: the population the model saw, used to fit the OOD
 * statistics). Image paths are written relative to the CSVs' folder, as every labels CSV of
 * Radiolens is read (validate, ood, faithfulness), so the folder pair can move together.
 */
export async function writeTrainingSplitCsvs(
  run: TrainingRun,
  labelsCsv: string,
  outDir: string,
): Promise<{ test: string; seen: string; testCount: number; seenCount: number }> {
  const table = readCsvFile(resolve(labelsCsv));
  requireColumns(table, ['image']);
  const base = dirname(resolve(labelsCsv));
  const testSet = new Set(run.test_images);
  const known = new Set(table.rows.map((r) => r['image']));
  const missing = run.test_images.filter((image) => !known.has(image));
  if (missing.length > 0) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${missing.length} test image(s) of the training run are not in ${labelsCsv} (e.g. ${missing[0]}) — is this the dataset the model was trained on?`,
      { subject: labelsCsv },
    );
  }
  const dir = resolve(outDir);
  const imagePath = (image: string): string =>
    relative(dir, resolve(base, image)).split(sep).join('/');
  const csv = (rows: readonly Readonly<Record<string, string>>[]): string =>
    [
      table.columns.join(','),
      ...rows.map((row) =>
        table.columns
          .map((c) => quote(c === 'image' ? imagePath(row[c]!) : (row[c] ?? '')))
          .join(','),
      ),
    ].join('\n') + '\n';
  const testRows = table.rows.filter((r) => testSet.has(r['image']!));
  const seenRows = table.rows.filter((r) => !testSet.has(r['image']!));
  const test = join(dir, 'training-test.csv');
  const seen = join(dir, 'training-seen.csv');
  await writeFileAtomic(test, csv(testRows));
  await writeFileAtomic(seen, csv(seenRows));
  return { test, seen, testCount: testRows.length, seenCount: seenRows.length };
}

function quote(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
