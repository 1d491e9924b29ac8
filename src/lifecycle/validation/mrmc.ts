/**
 * Multi-reader multi-case (MRMC) analysis of reader AUCs by the Obuchowski–Rockette (OR)
 * model with Hillis's degrees of freedom, as in the OR-DBM MRMC program and the R package
 * MRMCaov (ADR 0053). Every reader reads every case in every modality (factorial design).
 *
 * θ_ij is reader j's empirical AUC in modality i. Its error covariance across (i, j) is
 * estimated over cases by the jackknife (OR-DBM MRMC's default) or by DeLong's method, then
 * averaged into Var (same i, same j), Cov1 (different i, same j), Cov2 (same i, different j)
 * and Cov3 (different i, different j). Three generalisations are reported:
 *  - RRRC (random readers, random cases): F = MS(T) / [MS(T×R) + r·max(Cov2 − Cov3, 0)],
 *    Hillis denominator df;
 *  - FRRC (fixed readers): χ² with t − 1 df, reported as F = MS(T)/den with df2 = ∞;
 *  - RRFC (fixed cases): F = MS(T)/MS(T×R) with ((t − 1), (t − 1)(r − 1)) df.
 */
import { RadiolensError } from '../../foundation/core/index.js';
import { chiSquareSurvival, fSurvival, normalQuantile, studentTQuantile } from './distributions.js';
import { delongComponents, type DelongComponents, delongCovariance, type Interval } from './roc.js';

/** One reading: a reader's score of a case in a modality, with the case's truth. */
export interface MrmcReading {
  readonly reader: string;
  readonly caseId: string;
  readonly modality: string;
  readonly truth: 0 | 1;
  readonly score: number;
  /** Seconds (or any unit) the reader took; optional. */
  readonly time?: number;
}

export type MrmcCovarianceMethod = 'jackknife' | 'delong';

export interface MrmcTest {
  readonly statistic: number;
  /** Numerator and denominator df; the denominator is Infinity for FRRC (a χ² test). */
  readonly df: readonly [number, number];
  readonly p: number;
  /** CI of the first − second modality difference of reader-averaged AUCs. */
  readonly ci: Interval;
  readonly standardError: number;
}

export interface ModalityAucCi {
  readonly modality: string;
  readonly meanAuc: number;
  readonly standardError: number;
  readonly df: number;
  readonly ci: Interval;
}

export interface TimeSummary {
  readonly modality: string;
  readonly readings: number;
  readonly mean: number;
  readonly median: number;
  readonly sd: number;
}

export interface TimeToDiagnosis {
  readonly byModality: readonly TimeSummary[];
  /** Mean over readers of (reader's mean time in first − in second modality), with a t CI. */
  readonly meanDifference: number;
  readonly differenceCi: Interval;
}

export interface MrmcResult {
  readonly modalities: readonly string[];
  readonly readers: readonly string[];
  readonly cases: {
    readonly total: number;
    readonly positives: number;
    readonly negatives: number;
  };
  readonly covarianceMethod: MrmcCovarianceMethod;
  /** readerAuc[modality][reader] */
  readonly readerAuc: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly meanAuc: Readonly<Record<string, number>>;
  /** Reader-averaged AUC of the first modality minus the second. */
  readonly difference: number;
  readonly varianceComponents: {
    readonly varError: number;
    readonly cov1: number;
    readonly cov2: number;
    readonly cov3: number;
    readonly msT: number;
    readonly msR: number;
    readonly msTR: number;
  };
  readonly rrrc: MrmcTest;
  readonly frrc: MrmcTest;
  readonly rrfc: MrmcTest;
  /** RRRC CI of each modality's reader-averaged AUC (Hillis 2007 single-treatment df). */
  readonly modalityCi: readonly ModalityAucCi[];
  readonly timeToDiagnosis?: TimeToDiagnosis;
  readonly level: number;
}

const naturalOrder = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

function bad(message: string): RadiolensError {
  return new RadiolensError('E_BAD_INPUT', message);
}

/** The reading table as a complete modality × reader × case array, checked. */
function organise(readings: readonly MrmcReading[]) {
  if (readings.length === 0) throw bad('MRMC: no readings — the file has no data rows');
  const modalities = [...new Set(readings.map((r) => r.modality))].sort(naturalOrder);
  const readers = [...new Set(readings.map((r) => r.reader))].sort(naturalOrder);
  if (modalities.length < 2) {
    throw bad(
      `MRMC: only one modality (${modalities[0]}) — a comparison needs readings in at least two modalities; check the modality column`,
    );
  }
  if (readers.length < 2) {
    throw bad(`MRMC: only one reader (${readers[0]}) — an OR analysis needs at least two readers`);
  }
  const truthByCase = new Map<string, 0 | 1>();
  for (const r of readings) {
    if (!Number.isFinite(r.score)) {
      throw bad(
        `MRMC: reader ${r.reader}, modality ${r.modality}, case ${r.caseId} has score ${String(r.score)}, not a finite number — fix or remove that reading`,
      );
    }
    const known = truthByCase.get(r.caseId);
    if (known !== undefined && known !== r.truth) {
      throw bad(
        `MRMC: case ${r.caseId} has truth ${known} in one row and ${r.truth} in another — a case has one truth`,
      );
    }
    truthByCase.set(r.caseId, r.truth);
  }
  const caseIds = [...truthByCase.keys()].sort(naturalOrder);
  const positiveCases = caseIds.filter((c) => truthByCase.get(c) === 1);
  const negativeCases = caseIds.filter((c) => truthByCase.get(c) === 0);
  if (positiveCases.length < 2 || negativeCases.length < 2) {
    throw bad(
      `MRMC: ${positiveCases.length} positive and ${negativeCases.length} negative cases — need at least 2 of each (check the truth column and --positive)`,
    );
  }
  const key = (m: string, r: string, c: string): string => JSON.stringify([m, r, c]);
  const table = new Map<string, MrmcReading>();
  for (const r of readings) {
    const k = key(r.modality, r.reader, r.caseId);
    if (table.has(k)) {
      throw bad(
        `MRMC: reader ${r.reader} read case ${r.caseId} in modality ${r.modality} twice — keep one reading`,
      );
    }
    table.set(k, r);
  }
  const lookup = (m: string, r: string, c: string): MrmcReading => {
    const reading = table.get(key(m, r, c));
    if (reading === undefined) {
      throw bad(
        `MRMC: reader ${r} has no reading of case ${c} in modality ${m} — this analysis needs every reader to read every case in every modality`,
      );
    }
    return reading;
  };
  return { modalities, readers, positiveCases, negativeCases, lookup };
}

/** Jackknife covariance of AUCs over cases, by leaving each case out in turn. */
function jackknifeCovariance(components: readonly DelongComponents[]): number[][] {
  const m = components[0]!.v10.length;
  const n = components[0]!.v01.length;
  const c = m + n;
  // θ(−k) in O(1): removing a positive drops its V10 from the sum over pairs, likewise V01.
  const pseudo = components.map((comp) => {
    const values = new Float64Array(c);
    for (let p = 0; p < m; p++) values[p] = (m * comp.auc - comp.v10[p]!) / (m - 1);
    for (let q = 0; q < n; q++) values[m + q] = (n * comp.auc - comp.v01[q]!) / (n - 1);
    let mean = 0;
    for (const v of values) mean += v;
    return { values, mean: mean / c };
  });
  return pseudo.map((a) =>
    pseudo.map((b) => {
      let sum = 0;
      for (let k = 0; k < c; k++) sum += (a.values[k]! - a.mean) * (b.values[k]! - b.mean);
      return ((c - 1) / c) * sum;
    }),
  );
}

function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function sampleSd(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const mu = mean(values);
  return Math.sqrt(values.reduce((s, v) => s + (v - mu) ** 2, 0) / (values.length - 1));
}

function timeToDiagnosis(
  readings: readonly MrmcReading[],
  modalities: readonly string[],
  readers: readonly string[],
  level: number,
): TimeToDiagnosis | undefined {
  const timed = readings.filter((r) => r.time !== undefined);
  if (timed.length === 0) return undefined;
  if (timed.length !== readings.length) {
    throw bad(
      `MRMC: ${readings.length - timed.length} readings have no time — give a time for every reading or none`,
    );
  }
  const byModality = modalities.map((modality) => {
    const times = timed.filter((r) => r.modality === modality).map((r) => r.time!);
    return {
      modality,
      readings: times.length,
      mean: mean(times),
      median: median(times),
      sd: sampleSd(times),
    };
  });
  const differences = readers.map((reader) => {
    const meanIn = (m: string): number =>
      mean(timed.filter((r) => r.reader === reader && r.modality === m).map((r) => r.time!));
    return meanIn(modalities[0]!) - meanIn(modalities[1]!);
  });
  const meanDifference = mean(differences);
  const half =
    studentTQuantile(1 - (1 - level) / 2, differences.length - 1) *
    (sampleSd(differences) / Math.sqrt(differences.length));
  return {
    byModality,
    meanDifference,
    differenceCi: [meanDifference - half, meanDifference + half],
  };
}

/** Obuchowski–Rockette MRMC analysis with Hillis df (see the module comment). */
export function mrmcAnalysis(
  readings: readonly MrmcReading[],
  options: { covariance?: MrmcCovarianceMethod; level?: number } = {},
): MrmcResult {
  const method = options.covariance ?? 'jackknife';
  const level = options.level ?? 0.95;
  const { modalities, readers, positiveCases, negativeCases, lookup } = organise(readings);
  const t = modalities.length;
  const r = readers.length;
  // Components in modality-major order: index i * r + j.
  const components: DelongComponents[] = [];
  for (const modality of modalities) {
    for (const reader of readers) {
      components.push(
        delongComponents({
          positives: positiveCases.map((c) => lookup(modality, reader, c).score),
          negatives: negativeCases.map((c) => lookup(modality, reader, c).score),
        }),
      );
    }
  }
  const theta = (i: number, j: number): number => components[i * r + j]!.auc;
  const cov =
    method === 'jackknife' ? jackknifeCovariance(components) : delongCovariance(components);

  const buckets = {
    varError: [] as number[],
    cov1: [] as number[],
    cov2: [] as number[],
    cov3: [] as number[],
  };
  for (let i = 0; i < t; i++) {
    for (let j = 0; j < r; j++) {
      for (let i2 = 0; i2 < t; i2++) {
        for (let j2 = 0; j2 < r; j2++) {
          const value = cov[i * r + j]![i2 * r + j2]!;
          if (i === i2 && j === j2) buckets.varError.push(value);
          else if (i !== i2 && j === j2) buckets.cov1.push(value);
          else if (i === i2) buckets.cov2.push(value);
          else buckets.cov3.push(value);
        }
      }
    }
  }
  const varError = mean(buckets.varError);
  const cov1 = mean(buckets.cov1);
  const cov2 = mean(buckets.cov2);
  const cov3 = mean(buckets.cov3);

  const modalityMeans = modalities.map((_, i) => mean(readers.map((__, j) => theta(i, j))));
  const readerMeans = readers.map((_, j) => mean(modalities.map((__, i) => theta(i, j))));
  const grand = mean(modalityMeans);
  const msT = (r / (t - 1)) * modalityMeans.reduce((s, v) => s + (v - grand) ** 2, 0);
  const msR = (t / (r - 1)) * readerMeans.reduce((s, v) => s + (v - grand) ** 2, 0);
  let ssTR = 0;
  for (let i = 0; i < t; i++) {
    for (let j = 0; j < r; j++)
      ssTR += (theta(i, j) - modalityMeans[i]! - readerMeans[j]! + grand) ** 2;
  }
  const msTR = ssTR / ((t - 1) * (r - 1));
  const difference = modalityMeans[0]! - modalityMeans[1]!;
  const zCrit = normalQuantile(1 - (1 - level) / 2);

  const requirePositive = (value: number, analysis: string): void => {
    if (!(value > 0)) {
      throw bad(
        `MRMC ${analysis}: the error term is ${value} — the readings show no variability between readers or cases, so no test is possible`,
      );
    }
  };

  // RRRC
  const denRRRC = msTR + r * Math.max(cov2 - cov3, 0);
  requirePositive(denRRRC, 'random readers, random cases');
  const ddfRRRC = msTR > 0 ? denRRRC ** 2 / (msTR ** 2 / ((t - 1) * (r - 1))) : Infinity;
  const seRRRC = Math.sqrt((2 / r) * denRRRC);
  const halfRRRC = studentTQuantile(1 - (1 - level) / 2, ddfRRRC) * seRRRC;
  const fRRRC = msT / denRRRC;
  const rrrc: MrmcTest = {
    statistic: fRRRC,
    df: [t - 1, ddfRRRC],
    p: fSurvival(fRRRC, t - 1, ddfRRRC),
    ci: [difference - halfRRRC, difference + halfRRRC],
    standardError: seRRRC,
  };

  // FRRC: chi-square (t − 1)·MS(T)/den on t − 1 df; as an F that is MS(T)/den on (t − 1, ∞).
  const denFRRC = varError - cov1 + (r - 1) * Math.max(cov2 - cov3, 0);
  requirePositive(denFRRC, 'fixed readers, random cases');
  const seFRRC = Math.sqrt((2 / r) * denFRRC);
  const frrc: MrmcTest = {
    statistic: msT / denFRRC,
    df: [t - 1, Infinity],
    p: chiSquareSurvival(((t - 1) * msT) / denFRRC, t - 1),
    ci: [difference - zCrit * seFRRC, difference + zCrit * seFRRC],
    standardError: seFRRC,
  };

  // RRFC
  requirePositive(msTR, 'random readers, fixed cases');
  const dfRRFC = (t - 1) * (r - 1);
  const seRRFC = Math.sqrt((2 / r) * msTR);
  const halfRRFC = studentTQuantile(1 - (1 - level) / 2, dfRRFC) * seRRFC;
  const rrfc: MrmcTest = {
    statistic: msT / msTR,
    df: [t - 1, dfRRFC],
    p: fSurvival(msT / msTR, t - 1, dfRRFC),
    ci: [difference - halfRRFC, difference + halfRRFC],
    standardError: seRRFC,
  };

  // Each modality alone: SE² = [MS(R)_i + r·max(Cov2_i, 0)] / r, Hillis (2007) df.
  const modalityCi = modalities.map((modality, i): ModalityAucCi => {
    const msRi =
      readers.reduce((s, _, j) => s + (theta(i, j) - modalityMeans[i]!) ** 2, 0) / (r - 1);
    const cov2i: number[] = [];
    for (let j = 0; j < r; j++) {
      for (let j2 = 0; j2 < r; j2++) if (j !== j2) cov2i.push(cov[i * r + j]![i * r + j2]!);
    }
    const den = msRi + r * Math.max(mean(cov2i), 0);
    const df = msRi > 0 ? den ** 2 / (msRi ** 2 / (r - 1)) : Infinity;
    const se = Math.sqrt(den / r);
    const half = studentTQuantile(1 - (1 - level) / 2, df) * se;
    return {
      modality,
      meanAuc: modalityMeans[i]!,
      standardError: se,
      df,
      ci: [modalityMeans[i]! - half, modalityMeans[i]! + half],
    };
  });

  const readerAuc: Record<string, Record<string, number>> = {};
  const meanAuc: Record<string, number> = {};
  modalities.forEach((modality, i) => {
    readerAuc[modality] = {};
    readers.forEach((reader, j) => (readerAuc[modality]![reader] = theta(i, j)));
    meanAuc[modality] = modalityMeans[i]!;
  });
  const timing = timeToDiagnosis(readings, modalities, readers, level);
  return {
    modalities,
    readers,
    cases: {
      total: positiveCases.length + negativeCases.length,
      positives: positiveCases.length,
      negatives: negativeCases.length,
    },
    covarianceMethod: method,
    readerAuc,
    meanAuc,
    difference,
    varianceComponents: { varError, cov1, cov2, cov3, msT, msR, msTR },
    rrrc,
    frrc,
    rrfc,
    modalityCi,
    ...(timing === undefined ? {} : { timeToDiagnosis: timing }),
    level,
  };
}
