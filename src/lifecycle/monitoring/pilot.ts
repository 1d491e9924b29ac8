/**
 * The prospective pilot (ADR 0088): a model runs in shadow mode, its results stay in the node,
 * and the radiologists' final answers arrive later. This report answers "how would it have
 * done?": sensitivity and specificity at the operating point (Wilson CIs) and AUC (DeLong CI),
 * overall, per period of time and per subgroup. The unit is the study (the answers are per
 * study): a study's score is its highest image score, and it is positive when any image is.
 */
import { RadiolensError } from '../../foundation/core/index.js';
import {
  rocCurve,
  subgroupAnalysis,
  subgroupMetrics,
  type RocPoint,
  type SubgroupAnalysis,
  type SubgroupMetrics,
} from '../validation/index.js';
import type { AnalysedImage } from './analysisRecords.js';
import type { RadiologistAnswers } from './answers.js';

/** One analysed study as the node recorded it. */
export interface PilotStudy {
  readonly studyInstanceUid: string;
  readonly accessionNumber: string | null;
  readonly images: readonly AnalysedImage[];
}

export type PilotPeriod = 'week' | 'month';

export interface PilotCase {
  readonly studyInstanceUid: string;
  readonly performedAt: string;
  readonly period: string;
  readonly score: number;
  readonly present: boolean;
  readonly truth: 0 | 1;
  readonly subgroups: Readonly<Record<string, string>>;
}

export interface PilotLabelReport {
  readonly id: string;
  readonly threshold: number;
  readonly answered: number;
  readonly overall: SubgroupMetrics;
  readonly overTime: readonly { readonly period: string; readonly metrics: SubgroupMetrics }[];
  readonly subgroups: SubgroupAnalysis;
  readonly cases: readonly PilotCase[];
}

export interface PilotReport {
  readonly schema: 'radiolens.pilot-report/1';
  readonly generatedAt: string;
  readonly model: { readonly id: string; readonly version: string };
  readonly period: PilotPeriod;
  readonly level: number;
  readonly studies: {
    readonly analysed: number;
    readonly answered: number;
    readonly unanswered: number;
  };
  readonly labels: readonly PilotLabelReport[];
}

/** ISO week (2026-W49) or month (2026-12) of a time, in UTC. */
export function periodOf(time: Date, period: PilotPeriod): string {
  if (period === 'month') return time.toISOString().slice(0, 7);
  const day = new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday); // the Thursday of this week names its year
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

export function buildPilotReport(input: {
  model: { id: string; version: string };
  labels: readonly { id: string; threshold: number }[];
  studies: readonly PilotStudy[];
  answers: RadiologistAnswers;
  period?: PilotPeriod;
  level?: number;
  generatedAt?: string;
}): PilotReport {
  const period = input.period ?? 'month';
  const level = input.level ?? 0.95;
  const studies = input.studies.filter((study) => study.images.length > 0);
  if (studies.length === 0) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `pilot report: no study was analysed by ${input.model.id}@${input.model.version} in shadow mode — route studies to it with a "shadow" entry in the node's routes and wait for them`,
    );
  }
  let answered = 0;
  for (const study of studies) {
    if (input.answers.find(study.studyInstanceUid, study.accessionNumber) !== undefined) answered++;
  }
  const labels = input.labels.map((label): PilotLabelReport => {
    const cases: PilotCase[] = [];
    for (const study of studies) {
      const answer = input.answers.find(study.studyInstanceUid, study.accessionNumber);
      const truth = answer?.truth[label.id];
      const scored = study.images.filter((image) => image.findings[label.id] !== undefined);
      if (truth === undefined || truth === null || scored.length === 0) continue;
      const first = scored.reduce((a, b) => (a.performedAt <= b.performedAt ? a : b));
      const acquisition = first.inputs?.acquisition;
      cases.push({
        studyInstanceUid: study.studyInstanceUid,
        performedAt: first.performedAt.toISOString(),
        period: periodOf(first.performedAt, period),
        score: Math.max(...scored.map((image) => image.findings[label.id]!.probability)),
        present: scored.some((image) => image.findings[label.id]!.present),
        truth,
        subgroups: {
          ...answer!.subgroups,
          ...(acquisition
            ? {
                manufacturer: acquisition.manufacturer ?? '',
                'view position': acquisition.viewPosition ?? '',
              }
            : {}),
        },
      });
    }
    cases.sort((a, b) =>
      a.performedAt < b.performedAt ? -1 : a.performedAt > b.performedAt ? 1 : 0,
    );
    if (cases.length === 0) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `pilot report: none of the ${studies.length} shadow studies has an answer for ${label.id} — check that the labels CSV keys match (study_instance_uid or accession_number)`,
      );
    }
    const data = { truth: cases.map((c) => c.truth), scores: cases.map((c) => c.score) };
    const options = { threshold: label.threshold, level };
    const periods = [...new Set(cases.map((c) => c.period))].sort();
    const columns: Record<string, string[]> = {};
    for (const name of [...new Set(cases.flatMap((c) => Object.keys(c.subgroups)))].sort()) {
      const values = cases.map((c) => c.subgroups[name] ?? '');
      if (new Set(values).size >= 2) columns[name] = values;
    }
    return {
      id: label.id,
      threshold: label.threshold,
      answered: cases.length,
      overall: subgroupMetrics(data, options),
      overTime: periods.map((p) => {
        const inPeriod = cases.filter((c) => c.period === p);
        return {
          period: p,
          metrics: subgroupMetrics(
            { truth: inPeriod.map((c) => c.truth), scores: inPeriod.map((c) => c.score) },
            options,
          ),
        };
      }),
      subgroups: subgroupAnalysis(data, columns, options),
      cases,
    };
  });
  return {
    schema: 'radiolens.pilot-report/1',
    generatedAt: input.generatedAt ?? new Date().toISOString(),
    model: input.model,
    period,
    level,
    studies: { analysed: studies.length, answered, unanswered: studies.length - answered },
    labels,
  };
}

/** The ROC curve of a label's cases, when both classes are present. */
export function pilotRocCurve(label: PilotLabelReport): RocPoint[] | null {
  const truth = label.cases.map((c) => c.truth);
  if (!truth.includes(0) || !truth.includes(1)) return null;
  return rocCurve({ truth, scores: label.cases.map((c) => c.score) });
}
