/**
 * Labels for dataset instances, read at the edge: a JSON object or a CSV file, keyed by the
 * input file's path (relative to the input root) or by its original SOP Instance UID. The
 * keys never reach the manifest — only the labels do, attached to pseudonymous instances.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { RadiolensError } from '../../foundation/core/index.js';

export type LabelTable = ReadonlyMap<string, Readonly<Record<string, string>>>;

const jsonSchema = z.record(
  z.string(),
  z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
);

function parseCsv(text: string, source: string): LabelTable {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0]?.split(',').map((h) => h.trim());
  if (header === undefined || header.length < 2) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${source}: a label CSV needs a header "key,label1,…" (key = file path or SOP Instance UID)`,
      { subject: source },
    );
  }
  const out = new Map<string, Record<string, string>>();
  lines.slice(1).forEach((line, n) => {
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length !== header.length) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `${source} line ${n + 2}: ${cells.length} cells but the header has ${header.length} — quote-free CSV only`,
        { subject: source },
      );
    }
    const labels: Record<string, string> = {};
    header.slice(1).forEach((h, i) => (labels[h] = cells[i + 1]!));
    out.set(cells[0]!, labels);
  });
  return out;
}

export async function loadLabels(path: string): Promise<LabelTable> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new RadiolensError('E_IO', `cannot read labels ${path} — check the path`, {
      subject: path,
      cause,
    });
  }
  if (!path.endsWith('.json')) return parseCsv(text, path);
  const parsed = jsonSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${path}: labels must be {"<file or SOP Instance UID>": {"<label>": "<value>"}}`,
      { subject: path },
    );
  }
  return new Map(
    Object.entries(parsed.data).map(([k, v]) => [
      k,
      Object.fromEntries(Object.entries(v).map(([name, value]) => [name, String(value)])),
    ]),
  );
}
