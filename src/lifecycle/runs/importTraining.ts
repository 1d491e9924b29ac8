/**
 * Import the run record that training/train.py writes (training-run.json) as a Radiolens run,
 * so the shipped model's training is listed beside the fine-tuning runs made from it. The
 * Python record is parsed with a schema at this edge; fields it does not have (start and end
 * time) are recorded as unknown rather than guessed.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { RadiolensError } from '../../foundation/core/index.js';
import { parseManifest, sha256 } from '../../inference/models/index.js';
import { RUN_SCHEMA, type RunRecord } from './record.js';
import { newRunId, type RunStore } from './store.js';

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** What training/train.py writes; extra fields (test scores, image lists) are allowed. */
const pythonTrainingRun = z.looseObject({
  recipe: z.string().min(1),
  parameters: z.record(z.string(), z.unknown()),
  dataset: z.looseObject({ path: z.string().min(1), version: z.string().min(1) }),
  splits: z.record(z.string(), z.unknown()).optional(),
  split_rule: z.string().optional(),
  history: z.array(z.record(z.string(), scalar)),
  test: z.looseObject({ auc: z.number() }).optional(),
  shortcut_checks: z.record(z.string(), z.number()).optional(),
  artefacts: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
  seconds: z.number().nonnegative().optional(),
});

/**
 * Turn a training-run.json into a run record. The model it produced is `model` when given,
 * else the package whose manifest.json sits beside the file (models/<id>/<version>/).
 */
export async function readPythonTrainingRun(
  path: string,
  options: { model?: { id: string; version: string }; now?: Date } = {},
): Promise<RunRecord> {
  const bytes = await readFile(path).catch((error: unknown) => {
    throw new RadiolensError('E_IO', `cannot read ${path}`, { subject: path, cause: error });
  });
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new RadiolensError('E_BAD_INPUT', `${path} is not JSON (${(error as Error).message})`, {
      subject: path,
    });
  }
  const parsed = pythonTrainingRun.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${path} is not a training-run.json as training/train.py writes it (${issues})`,
      { subject: path },
    );
  }
  const run = parsed.data;
  const model = options.model ?? (await modelBeside(path));
  const digest = sha256(bytes);
  const now = options.now ?? new Date();
  // train.py records a duration but no clock time. The id's timestamp is then the file's
  // modification time (when the trainer wrote it, for a fresh checkout), so the run sorts
  // before the runs made from its model; startedAt/finishedAt stay null, not guessed.
  const written = (await stat(path)).mtime;
  const stamp = written.getTime() < now.getTime() ? written : now;
  const metrics: Record<string, number> = {};
  if (run.test) metrics['test_auc'] = run.test.auc;
  for (const [key, value] of Object.entries(run.shortcut_checks ?? {}))
    metrics[`shortcut.${key}`] = value;
  const last = run.history.at(-1);
  if (last) {
    for (const [key, value] of Object.entries(last)) {
      if (typeof value === 'number' && key !== 'epoch') metrics[`last_epoch.${key}`] = value;
    }
  }
  return {
    schema: RUN_SCHEMA,
    id: newRunId(stamp, digest),
    kind: 'train',
    startedAt: null,
    finishedAt: null,
    durationSeconds: run.seconds ?? null,
    recipe: run.recipe,
    parameters: {
      ...run.parameters,
      ...(run.split_rule ? { split_rule: run.split_rule } : {}),
      ...(run.splits ? { splits: run.splits } : {}),
    },
    dataset: { id: basename(run.dataset.path), version: run.dataset.version },
    parentModel: null,
    model,
    history: run.history,
    metrics,
    artefacts: run.artefacts,
    importedFrom: { path, sha256: digest, importedAt: now.toISOString() },
  };
}

/**
 * Import into a store, once: a file already imported (same sha256) returns the existing
 * record instead of a duplicate.
 */
export async function importPythonTrainingRun(
  store: RunStore,
  path: string,
  options: { model?: { id: string; version: string }; now?: Date } = {},
): Promise<{ record: RunRecord; created: boolean }> {
  const record = await readPythonTrainingRun(path, options);
  const { runs } = await store.list();
  const existing = runs.find((r) => r.importedFrom?.sha256 === record.importedFrom?.sha256);
  if (existing) return { record: existing, created: false };
  await store.write(record);
  return { record, created: true };
}

async function modelBeside(path: string): Promise<{ id: string; version: string } | null> {
  const manifestPath = join(dirname(path), 'manifest.json');
  const text = await readFile(manifestPath, 'utf8').catch(() => null);
  if (text === null) return null;
  const manifest = parseManifest(text, manifestPath);
  return { id: manifest.id, version: manifest.version };
}
