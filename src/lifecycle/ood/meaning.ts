import type { OodMeaning } from '../../inference/ood/index.js';
import { escapeXml, estimateHtml, htmlPage, percentHtml } from '../validation/index.js';
import type { OodReport, OodVariantResult } from './evaluate.js';

/**
 * What a variant's flag has been shown to mean, in the form the statistics file carries
 * (inference/ood meaning.ts) and the caveat quotes: every number is copied from the variant's
 * measured results. `report` names the evaluation it comes from (path and sha256).
 */
export function oodMeaningFrom(
  variant: OodVariantResult,
  report: { path: string; sha256: string; generatedAt: string },
): OodMeaning {
  const e = variant.errors;
  return {
    measuredAt: report.generatedAt,
    report: `${report.path} (sha256 ${report.sha256})`,
    reference: {
      name: e?.reference ?? 'none',
      images: e?.images ?? 0,
      label: e?.label ?? '',
      threshold: e?.threshold ?? 0,
    },
    error:
      e && e.aucForError
        ? {
            flagged: rateOf(e.flagged),
            unflagged: rateOf(e.unflagged),
            auc: { estimate: e.aucForError.estimate, ci: e.aucForError.ci },
          }
        : null,
    ...(e === undefined
      ? { errorNote: 'no labelled held-out images were given' }
      : e.aucForError === null
        ? { errorNote: e.aucForErrorNote ?? 'not computable' }
        : {}),
    // The caveat names the kinds a reader asks about; the per-modality detail stays in the report.
    detection: (variant.detection ?? [])
      .filter((d) => CAVEAT_KINDS.includes(d.kind))
      .map((d) => ({
        kind: d.name,
        flagged: rateOf(d.flagged),
        ...(d.refused === undefined ? {} : { refused: rateOf(d.refused) }),
      })),
    notMeasured: variant.notMeasured ?? [],
  };
}

const CAVEAT_KINDS = ['paediatric', 'lateral', 'non-chest'];

function rateOf(r: { count: number; n: number; estimate: number; ci: [number, number] }) {
  return { count: r.count, n: r.n, estimate: r.estimate, ci: r.ci };
}

/** report.html of `ood evaluate`: per variant, the flag's rates, error prediction and detection. */
export function renderOodReportHtml(report: OodReport): string {
  const variant = (v: OodVariantResult): string => {
    const sets = v.sets
      .map(
        (s) =>
          `<tr><td>${escapeXml(s.name)}</td><td>${s.expect}</td><td>${s.flagged} / ${s.decoded}</td><td>${percentHtml({ estimate: s.rate, ci: s.ci })}</td><td>${(s.refused ?? []).length}</td></tr>`,
      )
      .join('');
    const e = v.errors;
    const errors = e
      ? `<table><caption>The flag as a predictor of a wrong decision: ${escapeXml(e.reference)} (${e.images} images${e.patients === null ? '' : `, ${e.patients} patients`}; ${escapeXml(e.label)} at threshold ${e.threshold.toFixed(3)}; ${e.errors} wrong decisions)</caption>
<tr><th>wrong decisions among flagged images</th><td>${percentHtml(e.flagged)} (${e.flagged.count}/${e.flagged.n})</td></tr>
<tr><th>wrong decisions among unflagged images</th><td>${percentHtml(e.unflagged)} (${e.unflagged.count}/${e.unflagged.n})</td></tr>
<tr><th>AUC of the distance for a wrong decision</th><td>${e.aucForError ? `${estimateHtml(e.aucForError)} (${escapeXml(e.aucForError.method)})` : escapeXml(e.aucForErrorNote ?? '')}</td></tr>
<tr><th>area under the risk–coverage curve</th><td>${e.aurc.toFixed(3)} (rejecting at random: ${e.aurcRandom.toFixed(3)})</td></tr>
<tr><th>model AUC, all images</th><td>${estimateHtml(e.modelAuc.all)}</td></tr>
<tr><th>model AUC, unflagged images only</th><td>${estimateHtml(e.modelAuc.unflagged)}</td></tr>
<tr><th>unflagged − all</th><td>${e.modelAuc.difference ? `${estimateHtml(e.modelAuc.difference)} (${escapeXml(e.modelAuc.difference.method)})` : escapeXml(e.modelAuc.note ?? '')}</td></tr></table>
<p class="small">Risk–coverage (error rate among the images kept when the most out-of-distribution are rejected first): ${[
          1, 0.9, 0.8, 0.7, 0.5,
        ]
          .map((c) => {
            const point =
              e.riskCoverage.find((p) => p.coverage <= c + 1e-9) ??
              e.riskCoverage[e.riskCoverage.length - 1]!;
            return `coverage ${(100 * point.coverage).toFixed(0)}%: ${(100 * point.risk).toFixed(1)}%`;
          })
          .join(' · ')}</p>`
      : '<p>No labelled held-out images: the flag was not evaluated as a predictor of error.</p>';
    const detection = (v.detection ?? [])
      .map(
        (d) =>
          `<tr><td>${escapeXml(d.name)}</td><td>${d.flagged.count} / ${d.flagged.n}</td><td>${percentHtml(d.flagged)}</td><td>${d.refused ? `${d.refused.count} / ${d.refused.n}` : '—'}</td><td>${d.stopped ? percentHtml(d.stopped) : '—'}</td><td>${d.auc ? estimateHtml(d.auc) : escapeXml(d.aucNote ?? '')}</td><td class="small">${escapeXml(d.kinds.join(', '))}</td></tr>`,
      )
      .join('');
    return `<section><h2>${escapeXml(v.name)}</h2>
<p>${v.origin === 'given' ? 'Evaluated as given' : 'Fitted here'} on ${v.fitCount} images (${escapeXml(v.fitSources.join('; '))}); threshold ${v.threshold.toFixed(3)} (p${v.percentile}, ${escapeXml(v.thresholdSource)}).</p>
<table><caption>Flag rates (Wilson 95% CIs)</caption><tr><th>set</th><th>expected</th><th>flagged / decoded</th><th>rate</th><th>refused by the lung-field check (not scored)</th></tr>${sets}</table>
${errors}
${detection ? `<table><caption>The flag as a detector (AUC: distance of the set against the labelled reference)</caption><tr><th>set</th><th>flagged</th><th>rate</th><th>refused by the lung-field check</th><th>refused or flagged</th><th>AUC</th><th>kinds</th></tr>${detection}</table>` : ''}
${(v.notMeasured ?? []).map((n) => `<p>Not measured: ${escapeXml(n)}.</p>`).join('')}
</section>`;
  };
  return htmlPage(
    `OOD evaluation: ${report.model.id}@${report.model.version}`,
    `<p class="small">Generated ${escapeXml(report.generatedAt)}. Mahalanobis distance of pooled features (Ledoit–Wolf), flagged above the threshold (ADRs 0080, 0086).</p>${report.variants.map(variant).join('\n')}`,
  );
}
