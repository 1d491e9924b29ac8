import { RadiolensError } from '../../foundation/core/index.js';
import {
  bootstrapMean,
  escapeXml,
  estimateHtml,
  htmlPage,
  percentHtml,
  wilsonInterval,
  type BootstrappedEstimate,
  type Interval,
  type MeanBootstrapOptions,
} from '../validation/index.js';
import { FALLBACK_PERCENTILES, type WindowingRule } from '../../inference/imaging/index.js';
import type { ImageScores } from './measure.js';
import {
  PERTURBATIONS,
  type PERTURBATION_SETTINGS,
  type Perturbation,
  type VersionId,
} from './perturbations.js';

/** Issue #11's targets for decisions that hold still. */
export const ROBUSTNESS_TARGETS = { maxFlipShare: 0.02, maxMeanAbsoluteChange: 0.02 } as const;

export interface PerturbationResult {
  id: string;
  name: string;
  how: string;
  /** The two versions compared (keys of each image's scores). */
  reference: VersionId;
  changed: VersionId;
  images: number;
  /** Mean |p(changed) − p(reference)|, bootstrap CI over images or patients. */
  meanAbsoluteChange: BootstrappedEstimate;
  /** Mean p(changed) − p(reference): a systematic shift, if any. */
  meanChange: BootstrappedEstimate;
  largestChange: { image: string; reference: number; changed: number };
  /** Decisions at the threshold that change, with a Wilson interval over images. */
  flips: {
    count: number;
    share: number;
    ci: Interval;
    /** Negative → positive, and positive → negative. */
    toPositive: number;
    toNegative: number;
  };
  targets: {
    flips: { met: boolean; metByUpperBound: boolean };
    meanAbsoluteChange: { met: boolean; metByUpperBound: boolean };
  };
}

export const ROBUSTNESS_REPORT_SCHEMA = 'radiolens.robustness-report/1';

/** What `radiolens robustness` writes (robustness.json) and the model card reads. */
export interface RobustnessReport {
  schema: typeof ROBUSTNESS_REPORT_SCHEMA;
  generatedAt: string;
  model: { id: string; version: string };
  label: string;
  threshold: number;
  dataset: string;
  /** What the pipeline does with an image that has no VOI window, for this run. */
  defaultWindow: string;
  settings: typeof PERTURBATION_SETTINGS & {
    resamples: number;
    seed: number;
    level: number;
    clusteredBy: string | null;
  };
  targets: typeof ROBUSTNESS_TARGETS;
  perturbations: PerturbationResult[];
  images: ImageScores[];
}

/** What a DICOM image without a VOI window is shown through under a package's rule. */
export function describeWindowing(rule: WindowingRule | undefined): string {
  const r = rule ?? { kind: 'voiLut' };
  if (r.kind === 'minMax') return "the image's minimum to maximum, its own window ignored";
  if (r.kind === 'percentile')
    return `the ${r.low}th to ${r.high}th percentile of the image, its own window ignored`;
  switch (r.fallback ?? 'percentile') {
    case 'percentile':
      return `its own window if it has one, else LINEAR_EXACT from the ${100 * FALLBACK_PERCENTILES.low}th to the ${100 * FALLBACK_PERCENTILES.high}th percentile of its values (ADR 0020)`;
    case 'minMax':
      return "its own window if it has one, else LINEAR_EXACT from the image's minimum to its maximum (ADR 0027)";
    case 'storedRange':
      return 'its own window if it has one, else LINEAR_EXACT over the whole stored range Bits Stored allows (ADR 0027)';
  }
}

/** Per perturbation: changes of the score and of the decision at the threshold, with CIs. */
export function summariseRobustness(
  images: readonly ImageScores[],
  threshold: number,
  options: Required<Pick<MeanBootstrapOptions, 'resamples' | 'seed' | 'level'>>,
  perturbations: readonly Perturbation[] = PERTURBATIONS,
): PerturbationResult[] {
  if (images.length === 0) {
    throw new RadiolensError('E_BAD_INPUT', 'robustness: no image was scored');
  }
  const clustered = images.every((i) => i.patient !== null && i.patient !== '');
  const clusters = clustered ? images.map((i) => i.patient!) : null;
  return perturbations.map((p) => {
    const reference = images.map((i) => i.scores[p.reference]);
    const changed = images.map((i) => i.scores[p.changed]);
    const delta = changed.map((c, k) => c - reference[k]!);
    const absolute = delta.map(Math.abs);
    let largest = 0;
    absolute.forEach((d, k) => {
      if (d > absolute[largest]!) largest = k;
    });
    const positive = (s: number): boolean => s >= threshold;
    let toPositive = 0;
    let toNegative = 0;
    reference.forEach((r, k) => {
      if (!positive(r) && positive(changed[k]!)) toPositive++;
      if (positive(r) && !positive(changed[k]!)) toNegative++;
    });
    const count = toPositive + toNegative;
    const ci = wilsonInterval(count, images.length, options.level);
    const meanAbsoluteChange = bootstrapMean(absolute, clusters, options);
    return {
      id: p.id,
      name: p.name,
      how: p.how,
      reference: p.reference,
      changed: p.changed,
      images: images.length,
      meanAbsoluteChange,
      meanChange: bootstrapMean(delta, clusters, options),
      largestChange: {
        image: images[largest]!.image,
        reference: reference[largest]!,
        changed: changed[largest]!,
      },
      flips: { count, share: count / images.length, ci, toPositive, toNegative },
      targets: {
        flips: {
          met: count / images.length <= ROBUSTNESS_TARGETS.maxFlipShare,
          metByUpperBound: ci[1] <= ROBUSTNESS_TARGETS.maxFlipShare,
        },
        meanAbsoluteChange: {
          met: meanAbsoluteChange.estimate <= ROBUSTNESS_TARGETS.maxMeanAbsoluteChange,
          metByUpperBound: meanAbsoluteChange.ci[1] <= ROBUSTNESS_TARGETS.maxMeanAbsoluteChange,
        },
      },
    };
  });
}

/** robustness.html: one row per perturbation against the targets, then every image's scores. */
export function renderRobustnessHtml(report: RobustnessReport): string {
  const pct = Math.round(report.settings.level * 100);
  const rows = report.perturbations
    .map((p) => {
      const ok = p.targets.flips.met && p.targets.meanAbsoluteChange.met;
      return (
        `<tr class="${ok ? 'pass' : 'fail'}"><th>${escapeXml(p.name)}</th><td>${p.images}</td>` +
        `<td>${estimateHtml(p.meanAbsoluteChange)}</td><td>${estimateHtml(p.meanChange)}</td>` +
        `<td>${percentHtml({ estimate: p.flips.share, ci: p.flips.ci })} (${p.flips.count}: ${p.flips.toPositive} to positive, ${p.flips.toNegative} to negative)</td>` +
        `<td>${p.largestChange.reference.toFixed(3)} → ${p.largestChange.changed.toFixed(3)} (${escapeXml(p.largestChange.image)})</td></tr>`
      );
    })
    .join('\n');
  const methods = report.perturbations
    .map((p) => `<li><b>${escapeXml(p.name)}</b>: ${escapeXml(p.how)}</li>`)
    .join('');
  const ids = Object.keys(report.images[0]?.scores ?? {});
  const perImage = report.images
    .map(
      (i) =>
        `<tr><td>${escapeXml(i.image)}</td><td>${i.patient === null ? '' : escapeXml(i.patient)}</td>${ids
          .map((id) => `<td>${i.scores[id as keyof typeof i.scores].toFixed(3)}</td>`)
          .join('')}</tr>`,
    )
    .join('');
  const body = `<section>
<table><tr><th>model</th><td>${escapeXml(report.model.id)}@${escapeXml(report.model.version)} — label ${escapeXml(report.label)}, threshold ${report.threshold.toFixed(3)}</td></tr>
<tr><th>images</th><td>${escapeXml(report.dataset)} (${report.images.length}${report.settings.clusteredBy === null ? '' : `; intervals resample ${escapeXml(report.settings.clusteredBy)}`})</td></tr>
<tr><th>images without a VOI window</th><td>${escapeXml(report.defaultWindow)}</td></tr>
<tr><th>generated</th><td>${escapeXml(report.generatedAt)}</td></tr></table>
<table><caption>Score and decision changes (${pct}% CIs). Targets: at most ${(100 * report.targets.maxFlipShare).toFixed(0)}% flipped decisions and mean |Δp| ≤ ${report.targets.maxMeanAbsoluteChange}</caption>
<tr><th>perturbation</th><th>images</th><th>mean |Δp|</th><th>mean Δp</th><th>decisions flipped</th><th>largest change</th></tr>
${rows}</table>
<p class="small">Every version is a real file read back through the normal scoring path (scoreImages: PNG/JPEG as display grey; DICOM through the intended-use check, Modality LUT and VOI LUT). Mean changes: ${report.settings.clusteredBy === null ? 'percentile bootstrap over images' : 'percentile bootstrap over patients'}, ${report.settings.resamples} resamples, seed ${report.settings.seed}; flipped share: Wilson interval over images.</p>
<ul class="small">${methods}</ul></section>
<section><h2>Scores per image</h2><table><tr><th>image</th><th>patient</th>${ids.map((id) => `<th>${escapeXml(id)}</th>`).join('')}</tr>${perImage}</table></section>`;
  return htmlPage(`Robustness: ${report.model.id}@${report.model.version} (${report.label})`, body);
}
