import { RadiolensError } from '../../foundation/core/index.js';
import {
  bootstrapMean,
  bootstrapRatio,
  wilsonInterval,
  type BootstrappedEstimate,
  type Interval,
  type MeanBootstrapOptions,
} from '../validation/index.js';
import type { ImageLocalisation } from './measure.js';

/** A share of images with its Wilson interval. */
export interface Rate {
  estimate: number;
  ci: Interval;
  successes: number;
  total: number;
  method: 'Wilson score interval over images';
}

export interface LocalisationSummary {
  images: number;
  /** Distinct patients, when images carry a patient id (then mean shares resample patients). */
  patients: number | null;
  /** Images whose heatmap is zero everywhere: a miss in the pointing game, no peak, no energy. */
  emptyHeatmaps: number;
  /** Pointing game against the annotated regions. */
  pointing: {
    images: number;
    model: Rate;
    /** Expected hit rate of a uniformly random heatmap: the mean area share of the regions. */
    random: BootstrappedEstimate;
    centre: Rate;
    /** Model hit rate ÷ random's expected hit rate (the target: at least 2). */
    modelOverRandom: BootstrappedEstimate;
  } | null;
  /** Share of heatmap energy inside the annotated region. */
  energyInRegion: SharesOf | null;
  /** Share of heatmap energy inside the lung field. */
  energyInLungs: SharesOf | null;
  /** Share of heatmap peaks inside the lung field (target: at least 90%). */
  peakInLungs: {
    peaks: number;
    model: Rate;
    /** A uniformly random heatmap's peak lands in the lungs with probability = lung area share. */
    random: BootstrappedEstimate;
    centre: Rate;
  } | null;
  /** Share of heatmap peaks in the outer border band. */
  peakInBorder: {
    peaks: number;
    model: Rate;
    random: BootstrappedEstimate;
    centre: Rate;
  } | null;
}

export interface SharesOf {
  images: number;
  model: BootstrappedEstimate;
  /** Expected share for a uniformly random heatmap: the area share. */
  random: BootstrappedEstimate;
  centre: BootstrappedEstimate;
}

function rate(flags: readonly boolean[], level: number): Rate {
  const successes = flags.filter(Boolean).length;
  return {
    estimate: successes / flags.length,
    ci: wilsonInterval(successes, flags.length, level),
    successes,
    total: flags.length,
    method: 'Wilson score interval over images',
  };
}

/**
 * Summarise per-image measurements: proportions over images with Wilson intervals, mean
 * shares with bootstrap intervals over images, or over patients when every image names one
 * (a patient's images move together). Sections without data (no regions, no lung fields) are
 * null.
 */
export function summariseLocalisation(
  images: readonly ImageLocalisation[],
  options: MeanBootstrapOptions = {},
): LocalisationSummary {
  if (images.length === 0) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      'localisation: no image had an annotated region or a lung field to measure against',
    );
  }
  const level = options.level ?? 0.95;
  const clustered = images.every((i) => i.patient !== null && i.patient !== '');
  const mean = (subset: readonly ImageLocalisation[], values: readonly number[]) =>
    bootstrapMean(values, clustered ? subset.map((i) => i.patient!) : null, options);

  const withRegion = images.filter((i) => i.region !== null);
  const pointing =
    withRegion.length === 0
      ? null
      : {
          images: withRegion.length,
          model: rate(
            withRegion.map((i) => i.region!.hit),
            level,
          ),
          random: mean(
            withRegion,
            withRegion.map((i) => i.baselines.random.hit!),
          ),
          centre: rate(
            withRegion.map((i) => i.baselines.centre.hit!),
            level,
          ),
          modelOverRandom: bootstrapRatio(
            withRegion.map((i) => (i.region!.hit ? 1 : 0)),
            withRegion.map((i) => i.baselines.random.hit!),
            clustered ? withRegion.map((i) => i.patient!) : null,
            options,
          ),
        };

  const shares = (
    model: (i: ImageLocalisation) => number | null | undefined,
    random: (i: ImageLocalisation) => number | null,
    centre: (i: ImageLocalisation) => number | null,
  ): SharesOf | null => {
    const subset = images.filter((i) => model(i) != null);
    if (subset.length === 0) return null;
    return {
      images: subset.length,
      model: mean(
        subset,
        subset.map((i) => model(i)!),
      ),
      random: mean(
        subset,
        subset.map((i) => random(i)!),
      ),
      centre: mean(
        subset,
        subset.map((i) => centre(i)!),
      ),
    };
  };

  const withLungPeak = images.filter((i) => i.lungs !== null && i.lungs.peakInside !== null);
  const withPeak = images.filter((i) => i.peak !== null);
  return {
    images: images.length,
    patients: clustered ? new Set(images.map((i) => i.patient)).size : null,
    emptyHeatmaps: images.filter((i) => i.peak === null).length,
    pointing,
    energyInRegion: shares(
      (i) => i.region?.energyShare,
      (i) => i.baselines.random.energyInRegion,
      (i) => i.baselines.centre.energyInRegion,
    ),
    energyInLungs: shares(
      (i) => i.lungs?.energyShare,
      (i) => i.baselines.random.energyInLungs,
      (i) => i.baselines.centre.energyInLungs,
    ),
    peakInLungs:
      withLungPeak.length === 0
        ? null
        : {
            peaks: withLungPeak.length,
            model: rate(
              withLungPeak.map((i) => i.lungs!.peakInside!),
              level,
            ),
            random: mean(
              withLungPeak,
              withLungPeak.map((i) => i.baselines.random.peakInLungs!),
            ),
            centre: rate(
              withLungPeak.map((i) => i.baselines.centre.peakInLungs!),
              level,
            ),
          },
    peakInBorder:
      withPeak.length === 0
        ? null
        : {
            peaks: withPeak.length,
            model: rate(
              withPeak.map((i) => i.peakInBorder!),
              level,
            ),
            random: mean(
              withPeak,
              withPeak.map((i) => i.baselines.random.peakInBorder),
            ),
            centre: rate(
              withPeak.map((i) => i.baselines.centre.peakInBorder),
              level,
            ),
          },
  };
}
