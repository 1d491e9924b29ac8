/** report.html of `radiolens monitor report`: the verdict, each test, and a plot per feature. */
import { escapeXml } from '../validation/index.js';
import { categoryBarsSvg, ecdfSvg } from './charts.js';
import type { DriftReport } from './drift.js';
import type { DriftReference } from './reference.js';

const fmt = (v: number | null, digits = 4): string =>
  v === null ? '—' : Math.abs(v) > 0 && Math.abs(v) < 1e-4 ? v.toExponential(2) : v.toFixed(digits);

export function renderDriftHtml(report: DriftReport, reference: DriftReference): string {
  const verdict = report.drift
    ? `<p class="alarm">Drift: ${report.tests.filter((t) => t.drift).length} of ${report.tests.length} features differ from the reference.</p>`
    : `<p class="ok">No drift: none of ${report.tests.length} features differs from the reference at the chosen levels.</p>`;
  const rows = report.tests
    .map(
      (t) =>
        `<tr${t.drift ? ' class="flag"' : ''}><td>${escapeXml(t.feature)}</td><td>${t.group}</td><td>${escapeXml(t.test)}</td>` +
        `<td>${fmt(t.statistic)}</td><td>${fmt(t.p)}</td><td>${t.decision === 'p <= threshold' ? 'p ≤ ' : 'statistic > '}${fmt(t.threshold)}</td>` +
        `<td>${t.n}</td><td>${t.referenceN}</td><td>${t.drift ? 'DRIFT' : 'no'}</td></tr>`,
    )
    .join('');
  const skipped =
    report.skipped.length === 0
      ? ''
      : `<table><caption>Not tested</caption><tr><th>feature</th><th>why</th></tr>${report.skipped
          .map((s) => `<tr><td>${escapeXml(s.feature)}</td><td>${escapeXml(s.reason)}</td></tr>`)
          .join('')}</table>`;
  const plots = report.tests
    .map((t) => {
      const ref = reference.features[t.feature];
      const win = report.windowValues[t.feature];
      if (ref === undefined || win === undefined) return '';
      return ref.kind === 'numeric' && Array.isArray(win)
        ? ecdfSvg(t.feature, ref.values, win)
        : ref.kind === 'categorical' && !Array.isArray(win)
          ? categoryBarsSvg(t.feature, ref.counts, win as Readonly<Record<string, number>>)
          : '';
    })
    .join('');
  const s = report.settings;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Drift report: ${escapeXml(report.model.id)}@${escapeXml(report.model.version)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
caption{text-align:left;font-weight:bold;padding:4px 0}.flag{background:#fde0dd}.alarm{color:#a50f15;font-size:18px;font-weight:bold}.ok{color:#006d2c;font-size:18px}
.small{font-size:12px;color:#555}.charts{display:flex;gap:1em;flex-wrap:wrap}
</style></head><body>
<h1>Drift report: ${escapeXml(report.model.id)}@${escapeXml(report.model.version)}</h1>
${verdict}
<table>
<tr><th>window</th><td>${report.window.images} analysed images, ${escapeXml(report.window.from ?? '—')} to ${escapeXml(report.window.to ?? '—')}</td></tr>
<tr><th>reference</th><td>${escapeXml(report.reference.description)}: ${report.reference.images} images (dataset ${escapeXml(report.reference.dataset.id)} ${escapeXml(report.reference.dataset.version)})</td></tr>
<tr><th>generated</th><td>${escapeXml(report.generatedAt)}</td></tr>
</table>
<table><caption>Tests (flagged rows: drift)</caption>
<tr><th>feature</th><th>group</th><th>test</th><th>statistic</th><th>p</th><th>decides</th><th>window n</th><th>reference n</th><th>drift</th></tr>
${rows}</table>
${skipped}
<h2>Reference and window</h2>
<div class="charts">${plots}</div>
<h2>Methods</h2>
<p class="small">Numeric features: two-sample Kolmogorov–Smirnov test (exact p-value up to 10⁶ pairs). Categorical features: Fisher's exact test for two categories, the chi-squared test of homogeneity where every expected count is at least 1 and at most 20% are below 5, otherwise the chi-squared statistic's permutation distribution (4,999 seeded shuffles). Holm's step-down correction over every test of this report keeps the chance of any false alarm at α = ${s.alpha}. From an effective sample size n·m/(n+m) of ${s.distanceRegimeFrom}, effect sizes replace the tests (a p-value would flag shifts too small to matter): population stability index over the reference deciles (drift above ${s.psiThreshold}) and Jensen–Shannon distance (drift above ${s.jsdThreshold}). A feature with fewer than ${s.minimumValues} values in the window or the reference is not tested. Pixel statistics are of the model's input after windowing, in [0, 1]; the OOD distance is the package's Mahalanobis distance.</p>
</body></html>
`;
}
