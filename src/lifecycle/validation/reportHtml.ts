/**
 * report.html: one self-contained file — inline CSS and SVG, no scripts or external assets —
 * with the model card summary and, per label, the ROC curve with its CI band, the reliability
 * diagram, and the operating-point and subgroup tables (ADR 0055).
 */
import type { CalibrationConsistency } from './calibration.js';
import type { OperatingPoint, Proportion } from './operatingPoint.js';
import type { LabelValidation, ValidationReportJson } from './report.js';
import type { Interval, RocPoint } from './roc.js';
import type { SubgroupAnalysis } from './subgroups.js';
import { escapeXml, reliabilityDiagramSvg, rocCurveSvg } from './svg.js';

const fmt = (v: number | null | undefined, digits = 3): string =>
  v === null || v === undefined ? '—' : v.toFixed(digits);
const fmtCi = (ci: Interval | null): string =>
  ci === null ? '—' : `[${fmt(ci[0])}, ${fmt(ci[1])}]`;

function proportionCells(p: Proportion): string {
  if (p.estimate === null) return `<td>—</td><td>${escapeXml(p.note)}</td><td>0/0</td>`;
  return `<td>${fmt(p.estimate)}</td><td>${fmtCi(p.ci)}</td><td>${p.successes}/${p.total}</td>`;
}

function operatingPointTable(op: OperatingPoint): string {
  const row = (name: string, p: Proportion): string =>
    `<tr><th>${name}</th>${proportionCells(p)}</tr>`;
  const c = op.confusion;
  return (
    `<table><caption>Operating point at threshold ${op.threshold} (score ≥ threshold is positive); Wilson ${Math.round(op.level * 100)}% CIs</caption>` +
    `<tr><th></th><th>estimate</th><th>CI</th><th>n</th></tr>` +
    row('sensitivity', op.sensitivity) +
    row('specificity', op.specificity) +
    row('PPV', op.ppv) +
    row('NPV', op.npv) +
    `</table><p class="small">TP ${c.truePositives} · FP ${c.falsePositives} · TN ${c.trueNegatives} · FN ${c.falseNegatives}</p>`
  );
}

function subgroupTable(analysis: SubgroupAnalysis): string {
  if (analysis.columns.length === 0) return '<p>No subgroup columns were given.</p>';
  const rows = analysis.columns
    .flatMap((column) =>
      column.groups.map((g) => {
        const aucCell =
          g.auc.ci === null
            ? `${fmt(g.auc.estimate)} <span class="note">${escapeXml(g.auc.note ?? '')}</span>`
            : `${fmt(g.auc.estimate)} ${fmtCi(g.auc.ci)}`;
        const flagged = g.flags.length > 0;
        return (
          `<tr${flagged ? ' class="flag"' : ''}><td>${escapeXml(column.column)}</td><td>${escapeXml(g.value)}</td>` +
          `<td>${g.cases}</td><td>${g.positives}</td><td>${aucCell}</td>` +
          `<td>${fmt(g.sensitivity.estimate)} ${fmtCi(g.sensitivity.ci)}</td>` +
          `<td>${fmt(g.specificity.estimate)} ${fmtCi(g.specificity.ci)}</td>` +
          `<td>${fmt(g.brier)}</td><td>${escapeXml(g.flags.join('; '))}</td></tr>`
        );
      }),
    )
    .join('');
  return (
    `<table><caption>Subgroups (flagged rows: the subgroup's CI excludes the overall estimate)</caption>` +
    `<tr><th>column</th><th>value</th><th>cases</th><th>positive</th><th>AUC [CI]</th><th>sensitivity [CI]</th><th>specificity [CI]</th><th>Brier</th><th>flags</th></tr>` +
    rows +
    `</table>`
  );
}

/** Patient-clustered intervals, beside the image-level ones above them (ADR 0057). */
function clusteredSummary(label: LabelValidation, pct: number): string {
  const c = label.clustered;
  if (c === undefined) return '';
  const unit = escapeXml(c.unit);
  return (
    `<p class="headline">Clustered by ${unit} (${c.auc.clusters} ${unit} values): AUC ${pct}% CI ${fmtCi(c.auc.ci)} (Obuchowski), cluster bootstrap ${fmtCi(c.bootstrap.auc)}; ` +
    `sensitivity ${fmtCi(c.bootstrap.sensitivity)}, specificity ${fmtCi(c.bootstrap.specificity)} at the threshold (cluster bootstrap, ${c.bootstrap.resamples} resamples)</p>`
  );
}

/** What the ECE means on this many cases (consistency resampling; calibration.ts). */
function consistencyNote(ece: number, c: CalibrationConsistency | undefined): string {
  if (c === undefined) return '';
  const verdict =
    ece <= c.upperEce
      ? 'consistent with perfect calibration on this sample'
      : 'more than chance alone explains: the scores are miscalibrated';
  return (
    `<p>A perfectly calibrated model with these scores would show ECE ${fmt(c.medianEce, 4)} ` +
    `(95th percentile ${fmt(c.upperEce, 4)}; ${c.resamples} consistency resamples, Bröcker &amp; Smith 2007): ` +
    `the observed ECE is ${verdict} (p = ${fmt(c.pValue, 3)}).</p>`
  );
}

function labelSection(label: LabelValidation, curve: readonly RocPoint[], level: number): string {
  const pct = Math.round(level * 100);
  const calib =
    label.calibration === null
      ? `<p>${escapeXml(label.calibrationNote ?? '')}</p>`
      : reliabilityDiagramSvg(`Reliability: ${label.id}`, label.calibration.bins) +
        `<p>Brier score ${fmt(label.calibration.brier, 4)} · ECE ${fmt(label.calibration.ece, 4)} · MCE ${fmt(label.calibration.mce, 4)} (${label.calibration.bins.length} equal-width bins)</p>` +
        consistencyNote(label.calibration.ece, label.calibration.consistency);
  return (
    `<section><h2>${escapeXml(label.id)} — ${escapeXml(label.meaning)}</h2>` +
    `<p>${label.cases} images: ${label.positives} positive, ${label.negatives} negative.</p>` +
    `<p class="headline">AUC ${fmt(label.auc.estimate)} (${pct}% CI ${fmtCi(label.auc.ci)}, DeLong; bootstrap ${fmtCi(label.auc.bootstrapCi)}, ${label.auc.bootstrap.resamples} stratified resamples)</p>` +
    clusteredSummary(label, pct) +
    `<div class="charts">${rocCurveSvg(`ROC: ${label.id} (band: ${pct}% CI)`, curve, label.rocBand)}${calib}</div>` +
    operatingPointTable(label.operatingPoint) +
    subgroupTable(label.subgroups) +
    `</section>`
  );
}

/** Renders report.html from the report JSON and each label's ROC curve. */
export function renderReportHtml(
  report: ValidationReportJson,
  curves: ReadonlyMap<string, readonly RocPoint[]>,
): string {
  const m = report.model;
  const labelRows = m.labels
    .map(
      (l) =>
        `<tr><td>${escapeXml(l.id)}</td><td>${escapeXml(l.meaning)}</td><td>${l.threshold}</td></tr>`,
    )
    .join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Validation report: ${escapeXml(m.name)} ${escapeXml(m.version)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
caption{text-align:left;font-weight:bold;padding:4px 0}.flag{background:#fde0dd}.note{color:#a50f15;font-size:12px}
.small{font-size:12px;color:#555}.charts{display:flex;gap:2em;flex-wrap:wrap;align-items:flex-start}.headline{font-size:18px}
</style></head><body>
<h1>Validation report: ${escapeXml(m.name)}</h1>
<section><h2>Model card summary</h2>
<table><tr><th>model</th><td>${escapeXml(m.id)}@${escapeXml(m.version)}</td></tr>
<tr><th>intended use</th><td>${escapeXml(m.intendedUse)}</td></tr>
<tr><th>dataset</th><td>${escapeXml(report.dataset.source ?? '(not named)')} — ${report.dataset.cases} images</td></tr>
<tr><th>generated</th><td>${escapeXml(report.generatedAt)}</td></tr></table>
<table><caption>Findings and operating thresholds</caption><tr><th>label</th><th>meaning</th><th>threshold</th></tr>${labelRows}</table>
<p class="small">This model is a second reader, not a replacement. Every number below comes with its ${Math.round(report.settings.level * 100)}% confidence interval; report.json holds every image's score so the results can be recomputed.</p>
</section>
${report.labels.map((l) => labelSection(l, curves.get(l.id) ?? [], report.settings.level)).join('\n')}
<section><h2>Methods</h2><p class="small">Empirical AUC (ties count ½) with DeLong variance and a normal CI clipped to [0, 1]; bootstrap CIs resample positives and negatives separately (seed ${report.settings.seed}). The ROC band is the pointwise bootstrap percentile CI of sensitivity at fixed specificities. Proportions use Wilson score intervals. Calibration: Brier score, and expected/maximum calibration error over ${report.settings.calibrationBins} equal-width bins. A subgroup AUC CI needs at least ${report.settings.minCasesPerClass} positive and negative cases.${report.settings.clusterUnit === null ? '' : ` Images of one ${escapeXml(report.settings.clusterUnit)} are not independent: the clustered intervals use Obuchowski's nonparametric clustered ROC variance (1997) and a bootstrap that resamples ${escapeXml(report.settings.clusterUnit)} values with all their images; the image-level intervals beside them understate the uncertainty.`}</p></section>
</body></html>
`;
}
