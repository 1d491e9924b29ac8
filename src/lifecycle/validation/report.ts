/**
 * The validation report a hospital's AI committee reads: for each finding the model reports,
 * AUC with DeLong and bootstrap CIs, the operating point at the model's threshold, calibration,
 * and subgroups — as report.json (with every image's score, so anyone can recompute it) and a
 * self-contained report.html (ADR 0055). Inference is not done here: the caller supplies the
 * scores, so the same report serves external validation, fine-tuning and monitoring.
 */
import { RadiolensError } from '../../foundation/core/index.js';
import { bootstrapAucCi, rocConfidenceBand, type RocBandPoint } from './bootstrap.js';
import { type Calibration, calibration } from './calibration.js';
import {
  clusterBootstrap,
  clusteredAuc,
  type ClusterBootstrap,
  type ClusteredAuc,
} from './clustered.js';
import type { BinaryOutcomes } from './input.js';
import { type OperatingPoint, operatingPoint } from './operatingPoint.js';
import { renderReportHtml } from './reportHtml.js';
import { aucWithDelong, type Interval, rocCurve } from './roc.js';
import { type SubgroupAnalysis, subgroupAnalysis } from './subgroups.js';

export interface ValidationLabel {
  /** The label id, as used for the truth and score keys of each row. */
  readonly id: string;
  readonly meaning: string;
  /** The model's operating threshold: a score >= threshold is reported as positive. */
  readonly threshold: number;
}

export interface ValidationModel {
  readonly id: string;
  readonly version: string;
  readonly name: string;
  readonly intendedUse: string;
  readonly labels: readonly ValidationLabel[];
}

export interface ValidationRow {
  readonly image: string;
  readonly truth: Readonly<Record<string, 0 | 1>>;
  readonly score: Readonly<Record<string, number>>;
  readonly subgroups: Readonly<Record<string, string>>;
  /** The patient (or other cluster) the image belongs to; when every row has one, the
   * report adds intervals that respect clustering (ADR 0057). */
  readonly cluster?: string;
}

export interface ValidationReportOptions {
  readonly level?: number;
  readonly calibrationBins?: number;
  readonly bootstrapResamples?: number;
  /** Resamples for the ROC confidence band; 500 by default. */
  readonly bandResamples?: number;
  readonly seed?: number;
  /** Fewest positives and negatives for a subgroup AUC CI; 5 by default. */
  readonly minCasesPerClass?: number;
  /** Timestamp written into the report; now by default (pass one for reproducible output). */
  readonly generatedAt?: string;
  /** Where the labels came from, e.g. the labels CSV path. */
  readonly dataset?: string;
  /** What the rows' cluster ids are (the patient column's name), for the report. */
  readonly clusterUnit?: string;
}

export interface LabelValidation {
  readonly id: string;
  readonly meaning: string;
  readonly threshold: number;
  readonly cases: number;
  readonly positives: number;
  readonly negatives: number;
  readonly auc: {
    readonly estimate: number;
    readonly variance: number;
    readonly ci: Interval;
    readonly method: 'DeLong';
    readonly bootstrapCi: Interval;
    readonly bootstrap: { readonly resamples: number; readonly seed: number };
  };
  readonly operatingPoint: OperatingPoint;
  /** Null (with calibrationNote) when the scores are not probabilities in [0, 1]. */
  readonly calibration: Calibration | null;
  readonly calibrationNote?: string;
  readonly rocBand: readonly RocBandPoint[];
  readonly subgroups: SubgroupAnalysis;
  /** Patient-clustered intervals beside the image-level ones, when rows carry a cluster. */
  readonly clustered?: {
    readonly unit: string;
    readonly auc: ClusteredAuc;
    readonly bootstrap: ClusterBootstrap;
  };
}

export interface ValidationReportJson {
  readonly schema: 'radiolens.validation-report/1';
  readonly generatedAt: string;
  readonly model: ValidationModel;
  readonly dataset: { readonly source: string | null; readonly cases: number };
  readonly settings: {
    readonly level: number;
    readonly calibrationBins: number;
    readonly bootstrapResamples: number;
    readonly bandResamples: number;
    readonly seed: number;
    readonly minCasesPerClass: number;
    readonly clusterUnit: string | null;
  };
  readonly labels: readonly LabelValidation[];
  readonly cases: readonly ValidationRow[];
}

function bad(message: string): RadiolensError {
  return new RadiolensError('E_BAD_INPUT', message);
}

/** The truth and score columns of one label, checked row by row (shared with compare.ts). */
export function outcomesFor(
  rows: readonly ValidationRow[],
  labelId: string,
  what: string,
): BinaryOutcomes {
  const truth: (0 | 1)[] = [];
  const scores: number[] = [];
  for (const row of rows) {
    const t = row.truth[labelId];
    const s = row.score[labelId];
    if (t !== 0 && t !== 1) {
      throw bad(
        `${what}: image ${row.image} has no 0/1 truth for label "${labelId}" — add it to the labels file`,
      );
    }
    if (typeof s !== 'number' || !Number.isFinite(s)) {
      throw bad(
        `${what}: image ${row.image} has score ${String(s)} for label "${labelId}", not a finite number — rerun inference on it or exclude it`,
      );
    }
    truth.push(t);
    scores.push(s);
  }
  return { truth, scores };
}

function subgroupColumns(rows: readonly ValidationRow[]): Record<string, string[]> {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.subgroups)))].sort();
  const columns: Record<string, string[]> = {};
  for (const name of names) columns[name] = rows.map((r) => r.subgroups[name] ?? '');
  return columns;
}

function validateLabel(
  label: ValidationLabel,
  rows: readonly ValidationRow[],
  settings: ValidationReportJson['settings'],
): LabelValidation {
  const what = `label "${label.id}"`;
  if (!Number.isFinite(label.threshold)) {
    throw bad(
      `${what}: the model's threshold is ${label.threshold}, not a number — fix the model manifest`,
    );
  }
  const data = outcomesFor(rows, label.id, what);
  const delong = aucWithDelong(data, { level: settings.level, what });
  const boot = bootstrapAucCi(data, {
    resamples: settings.bootstrapResamples,
    seed: settings.seed,
    level: settings.level,
    what,
  });
  const probabilities = data.scores.every((s) => s >= 0 && s <= 1);
  const clusters = rows.map((row) => row.cluster);
  const clustered =
    settings.clusterUnit !== null && clusters.every((c): c is string => c !== undefined)
      ? {
          unit: settings.clusterUnit,
          auc: clusteredAuc(data, clusters, { level: settings.level, what }),
          bootstrap: clusterBootstrap(data, clusters, label.threshold, {
            resamples: settings.bootstrapResamples,
            seed: settings.seed,
            level: settings.level,
            what,
          }),
        }
      : undefined;
  return {
    id: label.id,
    meaning: label.meaning,
    threshold: label.threshold,
    cases: data.truth.length,
    positives: delong.positives,
    negatives: delong.negatives,
    auc: {
      estimate: delong.auc,
      variance: delong.variance,
      ci: delong.ci,
      method: 'DeLong',
      bootstrapCi: boot.ci,
      bootstrap: { resamples: boot.resamples, seed: boot.seed },
    },
    operatingPoint: operatingPoint(data, label.threshold, settings.level),
    calibration: probabilities
      ? calibration(data, {
          bins: settings.calibrationBins,
          what,
          consistency: { resamples: settings.bootstrapResamples, seed: settings.seed },
        })
      : null,
    ...(probabilities
      ? {}
      : { calibrationNote: 'scores are not probabilities in [0, 1]; calibration not applicable' }),
    rocBand: rocConfidenceBand(data, {
      resamples: settings.bandResamples,
      seed: settings.seed,
      level: settings.level,
      what,
    }),
    subgroups: subgroupAnalysis(data, subgroupColumns(rows), {
      threshold: label.threshold,
      level: settings.level,
      minCasesPerClass: settings.minCasesPerClass,
      calibrationBins: settings.calibrationBins,
    }),
    ...(clustered === undefined ? {} : { clustered }),
  };
}

/** Builds report.json (as an object) and report.html for a model's scores on labelled images. */
export function buildValidationReport(input: {
  model: ValidationModel;
  rows: readonly ValidationRow[];
  options?: ValidationReportOptions;
}): { json: ValidationReportJson; html: string } {
  const { model, rows } = input;
  const options = input.options ?? {};
  if (rows.length === 0)
    throw bad('validation report: no labelled images — the labels file has no rows');
  if (model.labels.length === 0)
    throw bad(`validation report: model ${model.id} declares no labels to validate`);
  const seen = new Set<string>();
  for (const row of rows) {
    if (seen.has(row.image))
      throw bad(`validation report: image ${row.image} is listed twice — list each image once`);
    seen.add(row.image);
  }
  const settings = {
    level: options.level ?? 0.95,
    calibrationBins: options.calibrationBins ?? 15,
    bootstrapResamples: options.bootstrapResamples ?? 2000,
    bandResamples: options.bandResamples ?? 500,
    seed: options.seed ?? 20_240_501,
    minCasesPerClass: options.minCasesPerClass ?? 5,
    clusterUnit: rows.every((row) => row.cluster !== undefined)
      ? (options.clusterUnit ?? 'cluster')
      : null,
  };
  const labels = model.labels.map((label) => validateLabel(label, rows, settings));
  const json: ValidationReportJson = {
    schema: 'radiolens.validation-report/1',
    generatedAt: options.generatedAt ?? new Date().toISOString(),
    model,
    dataset: { source: options.dataset ?? null, cases: rows.length },
    settings,
    labels,
    cases: rows,
  };
  const curves = new Map(
    model.labels.map((label) => [label.id, rocCurve(outcomesFor(rows, label.id, label.id))]),
  );
  return { json, html: renderReportHtml(json, curves) };
}
