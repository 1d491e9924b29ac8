/** The gate's evidence as one self-contained HTML file, kept with the candidate version. */
import { escapeXml, rocCurve, rocCurveSvg, type Proportion } from '../validation/index.js';
import type { PromotionReport } from './gate.js';

const fmt = (v: number | null | undefined): string =>
  v === null || v === undefined || Number.isNaN(v) ? '—' : v.toFixed(3);
const proportion = (p: Proportion): string =>
  p.estimate === null
    ? '—'
    : `${fmt(p.estimate)} [${fmt(p.ci[0])}, ${fmt(p.ci[1])}] (${p.successes}/${p.total})`;

export function renderPromotionHtml(report: PromotionReport): string {
  const c = report.candidate;
  const a = report.active;
  const verdict =
    report.decision === 'accept'
      ? `<p class="ok">ACCEPTED: every criterion of ${escapeXml(report.plan?.id ?? '')} holds; ${escapeXml(c.id)}@${escapeXml(c.version)} becomes the active version.</p>`
      : `<p class="alarm">REFUSED: ${report.failed.length} criterion/criteria failed; ${escapeXml(a.id)}@${escapeXml(a.version)} stays active.</p>`;
  const criteria = report.criteria
    .map(
      (k) =>
        `<tr class="${k.status === 'fail' ? 'flag' : k.status === 'not assessable' ? 'na' : ''}"><td>${escapeXml(k.id)}</td><td>${escapeXml(k.label ?? '')}</td>` +
        `<td>${escapeXml(k.requirement)}</td><td>${escapeXml(k.found)}</td><td>${k.status.toUpperCase()}</td></tr>`,
    )
    .join('');
  const modifications =
    report.modifications.length === 0
      ? '<p>No difference between the packages was found.</p>'
      : `<table><caption>Modifications found by comparing the packages</caption><tr><th>kind</th><th>detail</th></tr>${report.modifications
          .map((m) => `<tr><td>${escapeXml(m.kind)}</td><td>${escapeXml(m.detail)}</td></tr>`)
          .join('')}</table>`;
  const labels = report.evidence
    .map((e) => {
      const truth = report.cases
        .filter((x) => x.active?.[e.label] !== undefined && x.candidate?.[e.label] !== undefined)
        .map((x) => x);
      const data = (which: 'active' | 'candidate'): { truth: (0 | 1)[]; scores: number[] } => ({
        truth: truth.map((x) =>
          x.labels[
            report.plan!.content.acceptance.labels.find((l) => l.label === e.label)!.truth
          ] === '1'
            ? 1
            : 0,
        ),
        scores: truth.map((x) => x[which]![e.label]!),
      });
      const subgroupRows = e.subgroups
        .map(
          (s) =>
            `<tr><td>${escapeXml(s.column)}</td><td>${escapeXml(s.value)}</td><td>${s.cases}</td><td>${s.positives}</td><td>${fmt(s.aucActive)}</td><td>${fmt(s.aucCandidate)}</td></tr>`,
        )
        .join('');
      return (
        `<section><h2>${escapeXml(e.label)}: ${e.cases} test images, ${e.positives} positive</h2>` +
        `<div class="charts">${rocCurveSvg(`ROC active ${a.version}`, rocCurve(data('active')), [])}${rocCurveSvg(`ROC candidate ${c.version}`, rocCurve(data('candidate')), [])}</div>` +
        `<table><tr><th></th><th>active ${escapeXml(a.version)}</th><th>candidate ${escapeXml(c.version)}</th></tr>` +
        `<tr><th>AUC</th><td>${fmt(e.active.auc)}</td><td>${fmt(e.candidate.auc)}</td></tr>` +
        `<tr><th>operating point</th><td>${e.active.threshold}</td><td>${e.candidate.threshold}</td></tr>` +
        `<tr><th>sensitivity</th><td>${proportion(e.active.operatingPoint.sensitivity)}</td><td>${proportion(e.candidate.operatingPoint.sensitivity)}</td></tr>` +
        `<tr><th>specificity</th><td>${proportion(e.active.operatingPoint.specificity)}</td><td>${proportion(e.candidate.operatingPoint.specificity)}</td></tr>` +
        `<tr><th>ECE</th><td>${fmt(e.active.ece)}</td><td>${fmt(e.candidate.ece)}</td></tr></table>` +
        `<p>AUC difference (candidate − active) ${fmt(e.difference.estimate)}, ${Math.round(e.difference.level * 100)}% CI [${fmt(e.difference.ci[0])}, ${fmt(e.difference.ci[1])}], paired DeLong p ${e.difference.p.toPrecision(3)}.</p>` +
        (subgroupRows === ''
          ? ''
          : `<table><caption>Subgroups</caption><tr><th>column</th><th>value</th><th>images</th><th>positive</th><th>AUC active</th><th>AUC candidate</th></tr>${subgroupRows}</table>`) +
        `</section>`
      );
    })
    .join('');
  const allowed =
    report.plan === null
      ? ''
      : `<table><caption>Allowed modifications (${escapeXml(report.plan.id)}, the plan of ${escapeXml(report.plan.of)})</caption><tr><th>kind</th><th>description</th></tr>${report.plan.content.allowedModifications
          .map((m) => `<tr><td>${escapeXml(m.kind)}</td><td>${escapeXml(m.description)}</td></tr>`)
          .join('')}</table>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Promotion gate: ${escapeXml(c.id)}@${escapeXml(c.version)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
caption{text-align:left;font-weight:bold;padding:4px 0}.flag{background:#fde0dd}.na{color:#777}.alarm{color:#a50f15;font-size:18px;font-weight:bold}.ok{color:#006d2c;font-size:18px;font-weight:bold}
.charts{display:flex;gap:1em;flex-wrap:wrap}
</style></head><body>
<h1>Promotion gate: ${escapeXml(c.id)}@${escapeXml(c.version)} over ${escapeXml(a.version)}</h1>
${verdict}
<table><tr><th>candidate</th><td>${escapeXml(c.id)}@${escapeXml(c.version)} (manifest sha256 ${escapeXml(c.manifestSha256)})</td></tr>
<tr><th>active</th><td>${escapeXml(a.id)}@${escapeXml(a.version)} (manifest sha256 ${escapeXml(a.manifestSha256)})</td></tr>
<tr><th>locked test dataset</th><td>${escapeXml(report.testDataset.name ?? '—')} version ${escapeXml(report.testDataset.version)}, ${report.testDataset.instances} instances</td></tr>
<tr><th>generated</th><td>${escapeXml(report.generatedAt)}</td></tr></table>
<table><caption>Criteria</caption><tr><th>criterion</th><th>label</th><th>required</th><th>found</th><th>result</th></tr>${criteria}</table>
${modifications}
${allowed}
${labels}
<p class="small">Both models scored the locked test images with the production decoding, windowing, intended-use check and runtime. report.json holds every image's two scores and labels, so every number here can be recomputed.</p>
</body></html>
`;
}
