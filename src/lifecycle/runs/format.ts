/** Human-readable views of run records for `radiolens runs list|show`. */
import type { RunRecord } from './record.js';

const ref = (m: { id: string; version: string } | null): string =>
  m ? `${m.id}@${m.version}` : '-';

/** The metric that best summarises a run in one column. */
function headline(run: RunRecord): string {
  for (const key of ['test_auc', 'finetuned_test_auc', 'tuning_auc']) {
    const value = run.metrics[key];
    if (value !== undefined) return `${key}=${value.toFixed(3)}`;
  }
  return '-';
}

/** One line per run, columns aligned. */
export function formatRunTable(runs: readonly RunRecord[]): string {
  if (runs.length === 0) return 'no runs recorded\n';
  const rows = [
    ['ID', 'KIND', 'MODEL', 'PARENT', 'DATASET', 'STEPS', 'RESULT'],
    ...runs.map((run) => [
      run.id,
      run.kind,
      ref(run.model),
      ref(run.parentModel),
      `${run.dataset.id} ${run.dataset.version.replace(/^sha256:/, '').slice(0, 12)}`,
      String(run.history.length),
      headline(run),
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  return (
    rows
      .map((row) =>
        row
          .map((cell, c) => cell.padEnd(widths[c]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** Everything in a run record, history as a table. */
export function formatRunDetails(run: RunRecord): string {
  const lines: string[] = [
    `run       ${run.id} (${run.kind})`,
    `recipe    ${run.recipe}`,
    `model     ${ref(run.model)}   parent ${ref(run.parentModel)}`,
    `dataset   ${run.dataset.id} ${run.dataset.version}`,
    `started   ${run.startedAt ?? 'unknown'}   finished ${run.finishedAt ?? 'unknown'}   ` +
      `duration ${run.durationSeconds === null ? 'unknown' : `${run.durationSeconds.toFixed(1)} s`}`,
  ];
  if (run.importedFrom) {
    lines.push(
      `imported  from ${run.importedFrom.path} (sha256 ${run.importedFrom.sha256.slice(0, 12)}…) at ${run.importedFrom.importedAt}`,
    );
  }
  lines.push('parameters');
  for (const [key, value] of Object.entries(run.parameters)) {
    lines.push(`  ${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  lines.push('metrics');
  for (const [key, value] of Object.entries(run.metrics)) lines.push(`  ${key}: ${round(value)}`);
  lines.push('artefacts');
  for (const [file, hash] of Object.entries(run.artefacts)) lines.push(`  ${file}  sha256 ${hash}`);
  if (run.history.length > 0) {
    lines.push(`history (${run.history.length} steps)`);
    const columns = [...new Set(run.history.flatMap((h) => Object.keys(h)))];
    const cells = [
      columns,
      ...run.history.map((h) =>
        columns.map((c) => {
          const v = h[c];
          return v === undefined || v === null ? '' : typeof v === 'number' ? round(v) : String(v);
        }),
      ),
    ];
    const widths = columns.map((_, c) => Math.max(...cells.map((row) => row[c]!.length)));
    for (const row of cells)
      lines.push(`  ${row.map((cell, c) => cell.padStart(widths[c]!)).join('  ')}`);
  }
  return `${lines.join('\n')}\n`;
}

function round(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? value.toExponential(3) : value.toFixed(4);
}
