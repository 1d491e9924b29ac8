import {
  escapeXml,
  estimateHtml,
  htmlPage,
  percentHtml,
  type MeanBootstrapOptions,
} from '../validation/index.js';
import { BORDER_BAND, CENTRE_SIGMA, type ImageLocalisation } from './measure.js';
import { summariseLocalisation, type LocalisationSummary } from './summary.js';

export const LOCALISATION_REPORT_SCHEMA = 'radiolens.localisation-report/1';

/** The targets issue #11 sets for a chest model's heatmap. */
export const LOCALISATION_TARGETS = {
  /** Pointing-game hit rate at least this many times the uniformly random heatmap's. */
  hitRateOverRandom: 2,
  /** At least this share of heatmap peaks inside the lung field. */
  peaksInLungs: 0.9,
} as const;

export interface TargetCheck {
  target: number;
  estimate: number;
  /** The point estimate meets the target. */
  met: boolean;
  /** The whole interval meets it: the data show it, not only suggest it. */
  metByLowerBound: boolean;
}

/** What `radiolens localisation` writes (localisation.json) and the model card reads. */
export interface LocalisationReport {
  schema: typeof LOCALISATION_REPORT_SCHEMA;
  generatedAt: string;
  model: { id: string; version: string };
  label: string;
  explanation: string;
  dataset: string;
  regions: string | null;
  lungFields: string | null;
  settings: {
    borderBand: number;
    centreSigma: number;
    resamples: number;
    seed: number;
    level: number;
  };
  targets: {
    hitRateOverRandom: TargetCheck | null;
    peaksInLungs: TargetCheck | null;
  };
  summary: LocalisationSummary;
  /** Listed images without a region or lung field: not measured. */
  unannotated: number;
  images: ImageLocalisation[];
}

export function buildLocalisationReport(input: {
  model: { id: string; version: string };
  label: string;
  explanation: string;
  dataset: string;
  regions: string | null;
  lungFields: string | null;
  images: ImageLocalisation[];
  unannotated: number;
  bootstrap: Required<Pick<MeanBootstrapOptions, 'resamples' | 'seed' | 'level'>>;
  now?: Date;
}): LocalisationReport {
  const summary = summariseLocalisation(input.images, input.bootstrap);
  const check = (
    target: number,
    value: { estimate: number; ci: readonly [number, number] } | undefined,
  ): TargetCheck | null =>
    value === undefined
      ? null
      : {
          target,
          estimate: value.estimate,
          met: value.estimate >= target,
          metByLowerBound: value.ci[0] >= target,
        };
  return {
    schema: LOCALISATION_REPORT_SCHEMA,
    generatedAt: (input.now ?? new Date()).toISOString(),
    model: input.model,
    label: input.label,
    explanation: input.explanation,
    dataset: input.dataset,
    regions: input.regions,
    lungFields: input.lungFields,
    settings: {
      borderBand: BORDER_BAND,
      centreSigma: CENTRE_SIGMA,
      ...input.bootstrap,
    },
    targets: {
      hitRateOverRandom: check(
        LOCALISATION_TARGETS.hitRateOverRandom,
        summary.pointing?.modelOverRandom,
      ),
      peaksInLungs: check(LOCALISATION_TARGETS.peaksInLungs, summary.peakInLungs?.model),
    },
    summary,
    unannotated: input.unannotated,
    images: input.images,
  };
}

/** localisation.html: the summary against both baselines, the targets, and every image. */
export function renderLocalisationHtml(report: LocalisationReport): string {
  const s = report.summary;
  const pct = Math.round(report.settings.level * 100);
  const row = (what: string, n: number, model: string, random: string, centre: string): string =>
    `<tr><th>${escapeXml(what)}</th><td>${n}</td><td>${model}</td><td>${random}</td><td>${centre}</td></tr>`;
  const rows: string[] = [];
  if (s.pointing)
    rows.push(
      row(
        'pointing game: peak inside the annotated region',
        s.pointing.images,
        `${percentHtml(s.pointing.model)} (${s.pointing.model.successes}/${s.pointing.model.total})`,
        `${percentHtml(s.pointing.random)} (expected)`,
        `${percentHtml(s.pointing.centre)} (${s.pointing.centre.successes}/${s.pointing.centre.total})`,
      ),
    );
  if (s.energyInRegion)
    rows.push(
      row(
        'share of heatmap energy inside the annotated region',
        s.energyInRegion.images,
        percentHtml(s.energyInRegion.model),
        percentHtml(s.energyInRegion.random),
        percentHtml(s.energyInRegion.centre),
      ),
    );
  if (s.energyInLungs)
    rows.push(
      row(
        'share of heatmap energy inside the lung field',
        s.energyInLungs.images,
        percentHtml(s.energyInLungs.model),
        percentHtml(s.energyInLungs.random),
        percentHtml(s.energyInLungs.centre),
      ),
    );
  if (s.peakInLungs)
    rows.push(
      row(
        'heatmap peaks inside the lung field',
        s.peakInLungs.peaks,
        `${percentHtml(s.peakInLungs.model)} (${s.peakInLungs.model.successes}/${s.peakInLungs.model.total})`,
        percentHtml(s.peakInLungs.random),
        percentHtml(s.peakInLungs.centre),
      ),
    );
  if (s.peakInBorder)
    rows.push(
      row(
        `heatmap peaks in the outer border band (${Math.round(100 * report.settings.borderBand)}% of each side)`,
        s.peakInBorder.peaks,
        `${percentHtml(s.peakInBorder.model)} (${s.peakInBorder.model.successes}/${s.peakInBorder.model.total})`,
        percentHtml(s.peakInBorder.random),
        percentHtml(s.peakInBorder.centre),
      ),
    );
  const target = (name: string, t: TargetCheck | null, format: (v: number) => string): string =>
    t === null
      ? `<tr><th>${name}</th><td colspan="3">not measured (no annotations of this kind)</td></tr>`
      : `<tr class="${t.met ? 'pass' : 'fail'}"><th>${name}</th><td>${format(t.target)}</td><td>${format(t.estimate)}</td><td>${t.met ? (t.metByLowerBound ? 'met, interval included' : 'met by the estimate, not by the whole interval') : 'not met'}</td></tr>`;
  const perImage = report.images
    .map(
      (i) =>
        `<tr><td>${escapeXml(i.image)}</td><td>${i.patient === null ? '' : escapeXml(i.patient)}</td><td>${i.score.toFixed(3)}</td>` +
        `<td>${i.peak === null ? 'none' : `${i.peak.x}, ${i.peak.y}`}</td>` +
        `<td>${i.region === null ? '' : i.region.hit ? 'hit' : 'miss'}</td>` +
        `<td>${i.region?.energyShare == null ? '' : i.region.energyShare.toFixed(3)}</td>` +
        `<td>${i.region === null ? '' : i.region.areaShare.toFixed(3)}</td>` +
        `<td>${i.lungs?.peakInside == null ? '' : i.lungs.peakInside ? 'yes' : 'no'}</td>` +
        `<td>${i.lungs?.energyShare == null ? '' : i.lungs.energyShare.toFixed(3)}</td>` +
        `<td>${i.peakInBorder === null ? '' : i.peakInBorder ? 'yes' : 'no'}</td></tr>`,
    )
    .join('');
  const body = `<section>
<table><tr><th>model</th><td>${escapeXml(report.model.id)}@${escapeXml(report.model.version)} — label ${escapeXml(report.label)}</td></tr>
<tr><th>heatmap</th><td>${escapeXml(report.explanation)}</td></tr>
<tr><th>images</th><td>${escapeXml(report.dataset)}: ${s.images} measured${s.patients === null ? '' : ` (${s.patients} patients)`}, ${report.unannotated} without annotations, ${s.emptyHeatmaps} with an all-zero heatmap</td></tr>
<tr><th>annotated regions</th><td>${escapeXml(report.regions ?? 'none')}</td></tr>
<tr><th>lung fields</th><td>${escapeXml(report.lungFields ?? 'none')}</td></tr>
<tr><th>generated</th><td>${escapeXml(report.generatedAt)}</td></tr></table>
<table><caption>Targets (issue #11)</caption><tr><th></th><th>target</th><th>estimate</th><th></th></tr>
${target("hit rate ÷ random heatmap's", report.targets.hitRateOverRandom, (v) => v.toFixed(2))}
${target('heatmap peaks inside the lungs', report.targets.peaksInLungs, (v) => `${(100 * v).toFixed(1)}%`)}
</table>
<table><caption>Where the heatmap lies, next to two baselines on the same images (${pct}% CIs)</caption>
<tr><th></th><th>n</th><th>model</th><th>uniformly random heatmap</th><th>centre-weighted heatmap</th></tr>
${rows.join('\n')}</table>
${s.pointing ? `<p class="headline">Hit rate ÷ random's expected hit rate: ${estimateHtml(s.pointing.modelOverRandom)}</p>` : ''}
<p class="small">The heatmap is the model's, at the source image's rows and columns, computed as the analysis pipeline computes it. Pointing game: the heatmap's maximum (a plateau: its pixel nearest the plateau's centre) lies inside the region; an all-zero heatmap misses. Energy share: sum of the heatmap inside the region ÷ its sum over the image. Uniformly random heatmap: expectations (its peak is any pixel with equal chance; its expected energy share is the area share). Centre-weighted heatmap: a 2-D Gaussian centred on the image with σ = ${report.settings.centreSigma} × each side. Proportions over images: Wilson intervals; means: ${s.patients === null ? 'percentile bootstrap over images' : 'percentile bootstrap over patients (all images of a drawn patient)'}, ${report.settings.resamples} resamples, seed ${report.settings.seed}.</p>
</section>
<section><h2>Images</h2>
<table><tr><th>image</th><th>patient</th><th>score</th><th>peak (x, y)</th><th>pointing</th><th>energy in region</th><th>region area</th><th>peak in lungs</th><th>energy in lungs</th><th>peak in border</th></tr>
${perImage}</table></section>`;
  return htmlPage(
    `Localisation: ${report.model.id}@${report.model.version} (${report.label})`,
    body,
  );
}
