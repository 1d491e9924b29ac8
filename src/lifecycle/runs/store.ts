/**
 * The runs folder: one JSON file per run, named by its id (ADR 0075). Plain files rather than
 * a database because runs are few, written once, reviewed in diffs, and committed beside the
 * models they produced (the shipped folder is `runs/` at the repository root).
 */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { RadiolensError, writeFileAtomic } from '../../foundation/core/index.js';
import { runRecordSchema, type RunRecord } from './record.js';

/** The default runs folder for a model registry: a `runs/` sibling of the registry folder. */
export function defaultRunsFolder(registryRoot: string): string {
  return join(dirname(registryRoot), 'runs');
}

/** <yyyymmddThhmmssZ> of a moment, UTC. */
export function runTimestamp(moment: Date): string {
  return moment
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** A run id: timestamp plus the first 8 hex digits of a hash of what identifies the run. */
export function newRunId(moment: Date, identity: string | Uint8Array): string {
  const hash = createHash('sha256').update(identity).digest('hex').slice(0, 8);
  return `${runTimestamp(moment)}-${hash}`;
}

export interface RunListing {
  runs: RunRecord[];
  /** Files in the folder that are not valid run records, with the reason. */
  problems: { file: string; problem: string }[];
}

export class RunStore {
  constructor(readonly dir: string) {}

  /** Validate and write a record as <id>.json; refuses to overwrite a different record. */
  async write(record: RunRecord): Promise<string> {
    const parsed = runRecordSchema.parse(record);
    const path = join(this.dir, `${parsed.id}.json`);
    const text = `${JSON.stringify(parsed, null, 2)}\n`;
    const existing = await readFile(path, 'utf8').catch(() => null);
    if (existing !== null && existing !== text) {
      throw new RadiolensError(
        'E_RUN_EXISTS',
        `${path} already holds a different run record — run records are written once; remove it only if it is yours`,
        { subject: path },
      );
    }
    await writeFileAtomic(path, text);
    return path;
  }

  /** Every valid record, oldest first (ids start with their UTC timestamp). */
  async list(): Promise<RunListing> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return { runs: [], problems: [] };
    }
    const runs: RunRecord[] = [];
    const problems: RunListing['problems'] = [];
    for (const name of names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort()) {
      const file = join(this.dir, name);
      try {
        const parsed = runRecordSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
        if (parsed.success) runs.push(parsed.data);
        else
          problems.push({
            file,
            problem: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
          });
      } catch (error) {
        problems.push({ file, problem: (error as Error).message });
      }
    }
    runs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { runs, problems };
  }

  /** The run whose id is `id` or starts with it (a unique prefix, as with git hashes). */
  async get(id: string): Promise<RunRecord> {
    const { runs } = await this.list();
    const exact = runs.find((r) => r.id === id);
    if (exact) return exact;
    const matches = runs.filter((r) => r.id.startsWith(id) || r.id.endsWith(`-${id}`));
    if (matches.length === 1) return matches[0]!;
    throw new RadiolensError(
      'E_RUN_NOT_FOUND',
      matches.length === 0
        ? `no run ${id} in ${this.dir} — "radiolens runs list" shows the ids`
        : `${id} matches ${matches.length} runs (${matches.map((r) => r.id).join(', ')}) — give more of the id`,
      { subject: id },
    );
  }
}
