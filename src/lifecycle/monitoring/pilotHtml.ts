/** report.html of `radiolens pilot report`: live performance of a model run in shadow mode. */
import {
  escapeXml,
  rocCurveSvg,
  type Proportion,
  type SubgroupMetrics,
} from '../validation/index.js';
import { timeSeriesSvg, type SeriesPoint } from './charts.js';
import { pilotRocCurve, type PilotLabelReport, type PilotReport } from './pilot.js';

const fmt = (v: number | null | undefined): string =>
  v === null || v === undefined ? '—' : v.toFixed(3);
const ci = (c: readonly [number, number] | null): string =>
  c === null ? '' : ` [${fmt(c[0])}, ${fmt(c[1])}]`;
const proportion = (p: Proportion): string =>
  p.estimate === null ? '—' : `${fmt(p.estimate)}${ci(p.ci)} (${p.successes}/${p.total})`;
const auc = (m: SubgroupMetrics): string =>
  m.auc.estimate === null
    ? `— <span class="note">${escapeXml(m.auc.note ?? '')}</span>`
    : `${fmt(m.auc.estimate)}${ci(m.auc.ci)}${m.auc.note ? ` <span class="note">${escapeXml(m.auc.note)}</span>` : ''}`;

function series(
  label: PilotLabelReport,
  pick: (m: SubgroupMetrics) => SeriesPoint['estimate'] | Proportion | SubgroupMetrics['auc'],
): SeriesPoint[] {
  return label.overTime.map(({ period, metrics }) => {
    const value = pick(metrics);
    if (value === null || typeof value === 'number')
      return { label: period, estimate: value, lower: null, upper: null };
    return {
      label: period,
      estimate: value.estimate,
      lower: value.ci?.[0] ?? null,
      upper: value.ci?.[1] ?? null,
    };
  });
}

function labelSection(label: PilotLabelReport): string {
  const curve = pilotRocCurve(label);
  const periodRows = label.overTime
    .map(
      ({ period, metrics }) =>
        `<tr><td>${escapeXml(period)}</td><td>${metrics.cases}</td><td>${metrics.positives}</td><td>${proportion(metrics.sensitivity)}</td><td>${proportion(metrics.specificity)}</td><td>${auc(metrics)}</td></tr>`,
    )
    .join('');
  const subgroupRows = label.subgroups.columns
    .flatMap((column) =>
      column.groups.map(
        (g) =>
          `<tr${g.flags.length > 0 ? ' class="flag"' : ''}><td>${escapeXml(column.column)}</td><td>${escapeXml(g.value)}</td><td>${g.cases}</td><td>${g.positives}</td>` +
          `<td>${proportion(g.sensitivity)}</td><td>${proportion(g.specificity)}</td><td>${auc(g)}</td><td>${escapeXml(g.flags.join('; '))}</td></tr>`,
      ),
    )
    .join('');
  return (
    `<section><h2>${escapeXml(label.id)} (operating point ${label.threshold})</h2>` +
    `<p class="headline">${label.answered} answered studies: sensitivity ${proportion(label.overall.sensitivity)}, specificity ${proportion(label.overall.specificity)}, AUC ${auc(label.overall)}</p>` +
    `<div class="charts">` +
    (curve === null ? '' : rocCurveSvg(`ROC: ${label.id} (shadow pilot)`, curve, [])) +
    timeSeriesSvg(
      `sensitivity per period`,
      series(label, (m) => m.sensitivity),
    ) +
    timeSeriesSvg(
      `specificity per period`,
      series(label, (m) => m.specificity),
    ) +
    timeSeriesSvg(
      `AUC per period`,
      series(label, (m) => m.auc),
    ) +
    `</div>` +
    `<table><caption>Per period</caption><tr><th>period</th><th>studies</th><th>positive</th><th>sensitivity [CI]</th><th>specificity [CI]</th><th>AUC [CI]</th></tr>${periodRows}</table>` +
    (subgroupRows === ''
      ? '<p>No subgroup column with two or more values.</p>'
      : `<table><caption>Subgroups (flagged: the subgroup's CI excludes the overall estimate)</caption><tr><th>column</th><th>value</th><th>studies</th><th>positive</th><th>sensitivity [CI]</th><th>specificity [CI]</th><th>AUC [CI]</th><th>flags</th></tr>${subgroupRows}</table>`) +
    `</section>`
  );
}

export function renderPilotHtml(report: PilotReport): string {
  const m = report.model;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Shadow pilot: ${escapeXml(m.id)}@${escapeXml(m.version)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
caption{text-align:left;font-weight:bold;padding:4px 0}.flag{background:#fde0dd}.note{color:#a50f15;font-size:12px}
.small{font-size:12px;color:#555}.charts{display:flex;gap:1em;flex-wrap:wrap;align-items:flex-start}.headline{font-size:18px}
</style></head><body>
<h1>Shadow pilot: ${escapeXml(m.id)}@${escapeXml(m.version)}</h1>
<p>The model analysed these studies in shadow mode: its results were kept in the node and delivered to no PACS, EHR or worklist. The radiologists' final answers are the truth.</p>
<table><tr><th>studies analysed</th><td>${report.studies.analysed}</td></tr>
<tr><th>with an answer</th><td>${report.studies.answered}</td></tr>
<tr><th>without an answer yet</th><td>${report.studies.unanswered}</td></tr>
<tr><th>generated</th><td>${escapeXml(report.generatedAt)}</td></tr></table>
${report.labels.map(labelSection).join('\n')}
<section><h2>Methods</h2><p class="small">Unit: the study (its highest image score; positive when any image is at or above the operating point). Sensitivity and specificity with Wilson ${Math.round(report.level * 100)}% intervals; AUC with DeLong's interval when each class has at least 5 studies. Periods are ${report.period === 'week' ? 'ISO weeks' : 'calendar months'} (UTC) of the analysis time. Subgroups: the answer file's columns with 2–20 values, and the manufacturer and view position recorded from each study's first image. report.json lists every study's score and answer so the numbers can be recomputed.</p></section>
</body></html>
`;
}
