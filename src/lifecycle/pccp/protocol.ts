/**
 * The acceptance protocol of a change-control plan, applied to the candidate and the active
 * model scored on the same locked test images (ADR 0035). Every criterion is reported with its
 * numbers, passed or not, so a refusal says exactly what failed and by how much:
 *
 * - AUC non-inferiority: DeLong's paired test for correlated ROC curves; the lower bound of
 *   the two-sided CI of AUC(candidate) − AUC(active) at the plan's level must lie above
 *   −margin (at 95% this is the usual one-sided 2.5% non-inferiority test);
 * - sensitivity at the candidate's own operating point: the estimate at or above the minimum
 *   and its lower confidence bound at or above the minimum lower bound; likewise a
 *   specificity minimum when the plan sets one;
 * - when the plan names a patient label, both intervals respect patients: Obuchowski's
 *   clustered DeLong for the paired AUC difference and a patient bootstrap for the
 *   sensitivity bound (ADR 0057); otherwise images count as independent (DeLong, Wilson);
 * - calibration: expected calibration error over the plan's equal-width bins at most the
 *   maximum;
 * - subgroups: in every subgroup of the named dataset labels with enough cases of each class,
 *   AUC(candidate) − AUC(active) at least −maxAucDrop; smaller subgroups are reported as not
 *   assessable (a plan that needs them must lock a dataset that has them).
 */
import type { AcceptanceCriteria, ChangeControlPlan } from '../../inference/models/index.js';
import {
  calibration,
  clusterBootstrap,
  clusteredDelongTest,
  delongComponents,
  delongTest,
  operatingPoint,
  splitByClass,
  type Interval,
  type OperatingPoint,
} from '../validation/index.js';

/** One test image, scored by both models where each analysed it. */
export interface GateCase {
  readonly sopInstanceUid: string;
  /** Dataset labels of the instance (truth columns and subgroup columns). */
  readonly labels: Readonly<Record<string, string>>;
  readonly active: Readonly<Record<string, number>> | null;
  readonly candidate: Readonly<Record<string, number>> | null;
}

export type CriterionStatus = 'pass' | 'fail' | 'not assessable';

export interface Criterion {
  readonly id: string;
  readonly label: string | null;
  readonly status: CriterionStatus;
  /** What was required, in words with the number. */
  readonly requirement: string;
  /** What was found, in words with the numbers. */
  readonly found: string;
  readonly numbers: Readonly<Record<string, number | null>>;
}

export interface LabelEvidence {
  readonly label: string;
  readonly cases: number;
  readonly positives: number;
  readonly active: {
    readonly auc: number;
    readonly threshold: number;
    readonly operatingPoint: OperatingPoint;
    readonly ece: number | null;
  };
  readonly candidate: {
    readonly auc: number;
    readonly threshold: number;
    readonly operatingPoint: OperatingPoint;
    readonly ece: number | null;
  };
  readonly difference: {
    readonly estimate: number;
    readonly ci: Interval;
    readonly p: number;
    readonly level: number;
  };
  readonly subgroups: readonly {
    readonly column: string;
    readonly value: string;
    readonly cases: number;
    readonly positives: number;
    readonly aucActive: number | null;
    readonly aucCandidate: number | null;
  }[];
}

const f3 = (v: number): string => v.toFixed(3);

export function evaluateAcceptance(input: {
  plan: ChangeControlPlan;
  thresholds: {
    active: Readonly<Record<string, number>>;
    candidate: Readonly<Record<string, number>>;
  };
  cases: readonly GateCase[];
}): { criteria: Criterion[]; evidence: LabelEvidence[] } {
  const { plan, cases } = input;
  const level = plan.acceptance.level;
  const criteria: Criterion[] = [];
  const analysed = cases.filter((c) => c.candidate !== null).length;
  const fraction = cases.length === 0 ? 0 : analysed / cases.length;
  criteria.push({
    id: 'analysed-fraction',
    label: null,
    status: fraction >= plan.acceptance.minimumAnalysedFraction ? 'pass' : 'fail',
    requirement: `the candidate analyses at least ${f3(plan.acceptance.minimumAnalysedFraction)} of the test images`,
    found: `${analysed} of ${cases.length} (${f3(fraction)})`,
    numbers: {
      analysed,
      images: cases.length,
      fraction,
      minimum: plan.acceptance.minimumAnalysedFraction,
    },
  });
  const evidence: LabelEvidence[] = [];
  for (const rule of plan.acceptance.labels) {
    const result = evaluateLabel(rule, input.thresholds, cases, level, plan.acceptance.patient);
    criteria.push(...result.criteria);
    if (result.evidence !== null) evidence.push(result.evidence);
  }
  return { criteria, evidence };
}

function evaluateLabel(
  rule: AcceptanceCriteria,
  thresholds: {
    active: Readonly<Record<string, number>>;
    candidate: Readonly<Record<string, number>>;
  },
  cases: readonly GateCase[],
  level: number,
  patientLabel: string | undefined,
): { criteria: Criterion[]; evidence: LabelEvidence | null } {
  const label = rule.label;
  const criteria: Criterion[] = [];
  const fail = (
    id: string,
    requirement: string,
    found: string,
  ): { criteria: Criterion[]; evidence: null } => ({
    criteria: [{ id, label, status: 'fail', requirement, found, numbers: {} }],
    evidence: null,
  });
  const paired = cases.filter(
    (c) => c.active?.[label] !== undefined && c.candidate?.[label] !== undefined,
  );
  const unlabelled = paired.filter(
    (c) => c.labels[rule.truth] !== '0' && c.labels[rule.truth] !== '1',
  );
  if (unlabelled.length > 0) {
    return fail(
      'truth',
      `every test image has the truth "${rule.truth}" as 1 or 0`,
      `${unlabelled.length} image(s) have ${JSON.stringify(unlabelled[0]!.labels[rule.truth] ?? null)} — the locked dataset does not fit this plan`,
    );
  }
  const truth = paired.map((c) => (c.labels[rule.truth] === '1' ? 1 : 0) as 0 | 1);
  let patients: string[] | null = null;
  if (patientLabel !== undefined) {
    const without = paired.filter((c) => (c.labels[patientLabel] ?? '').trim() === '');
    if (without.length > 0) {
      return fail(
        'patients',
        `every test image names its patient in "${patientLabel}"`,
        `${without.length} image(s) do not — the locked dataset does not fit this plan`,
      );
    }
    patients = paired.map((c) => c.labels[patientLabel]!);
  }
  const active = paired.map((c) => c.active![label]!);
  const candidate = paired.map((c) => c.candidate![label]!);
  const positives = truth.filter((t) => t === 1).length;
  if (positives < 2 || paired.length - positives < 2) {
    return fail(
      'cases',
      'at least 2 positive and 2 negative test images scored by both models',
      `${positives} positive, ${paired.length - positives} negative`,
    );
  }
  const activeThreshold = thresholds.active[label]!;
  const candidateThreshold = thresholds.candidate[label]!;

  const test =
    patients === null
      ? delongTest(truth, candidate, active, { level, what: ['candidate', 'active model'] })
      : clusteredDelongTest(truth, candidate, active, patients, { level });
  const margin = rule.aucNonInferiorityMargin;
  criteria.push({
    id: 'auc-non-inferiority',
    label,
    status: test.ci[0] > -margin ? 'pass' : 'fail',
    requirement: `lower ${Math.round(level * 100)}% bound of AUC(candidate) − AUC(active) above −${margin} (${patients === null ? 'paired DeLong' : `paired DeLong clustered by patient, ${new Set(patients).size} patients`})`,
    found: `AUC ${f3(test.aucA)} vs ${f3(test.aucB)}: difference ${f3(test.difference)} [${f3(test.ci[0])}, ${f3(test.ci[1])}], p ${test.p.toPrecision(3)}`,
    numbers: {
      aucCandidate: test.aucA,
      aucActive: test.aucB,
      difference: test.difference,
      lower: test.ci[0],
      upper: test.ci[1],
      p: test.p,
      margin,
    },
  });

  const point = operatingPoint({ truth, scores: candidate }, candidateThreshold, level);
  const sensitivity = point.sensitivity;
  const sensitivityEstimate = sensitivity.estimate ?? 0;
  const bootstrap =
    patients === null
      ? null
      : clusterBootstrap({ truth, scores: candidate }, patients, candidateThreshold, {
          level,
          what: 'candidate',
        });
  const sensitivityInterval = bootstrap?.sensitivity ?? sensitivity.ci ?? [0, 0];
  const sensitivityLower = sensitivityInterval[0];
  criteria.push({
    id: 'sensitivity',
    label,
    status: sensitivityEstimate >= rule.sensitivity.minimum ? 'pass' : 'fail',
    requirement: `sensitivity at the candidate's operating point (${candidateThreshold}) at least ${rule.sensitivity.minimum}`,
    found: `${f3(sensitivityEstimate)} (${sensitivity.successes}/${sensitivity.total})`,
    numbers: {
      estimate: sensitivityEstimate,
      minimum: rule.sensitivity.minimum,
      threshold: candidateThreshold,
    },
  });
  criteria.push({
    id: 'sensitivity-lower-bound',
    label,
    status: sensitivityLower >= rule.sensitivity.minimumLowerBound ? 'pass' : 'fail',
    requirement: `lower ${Math.round(level * 100)}% bound of that sensitivity (${bootstrap === null ? 'Wilson' : `patient bootstrap, ${bootstrap.resamples} resamples`}) at least ${rule.sensitivity.minimumLowerBound}`,
    found: `${f3(sensitivityLower)} (estimate ${f3(sensitivityEstimate)} [${f3(sensitivityLower)}, ${f3(sensitivityInterval[1])}])`,
    numbers: {
      lower: sensitivityLower,
      upper: sensitivityInterval[1],
      minimum: rule.sensitivity.minimumLowerBound,
    },
  });
  if (rule.specificity !== undefined) {
    const specificity = point.specificity.estimate ?? 0;
    criteria.push({
      id: 'specificity',
      label,
      status: specificity >= rule.specificity.minimum ? 'pass' : 'fail',
      requirement: `specificity at the candidate's operating point at least ${rule.specificity.minimum}`,
      found: `${f3(specificity)} (${point.specificity.successes}/${point.specificity.total})`,
      numbers: { estimate: specificity, minimum: rule.specificity.minimum },
    });
  }

  const probabilities = candidate.every((s) => s >= 0 && s <= 1);
  const candidateEce = probabilities
    ? calibration({ truth, scores: candidate }, { bins: rule.calibration.bins }).ece
    : null;
  criteria.push({
    id: 'calibration',
    label,
    status: candidateEce !== null && candidateEce <= rule.calibration.maximumEce ? 'pass' : 'fail',
    requirement: `expected calibration error (${rule.calibration.bins} equal-width bins) at most ${rule.calibration.maximumEce}`,
    found:
      candidateEce === null
        ? 'the scores are not probabilities in [0, 1]'
        : `ECE ${f3(candidateEce)}`,
    numbers: { ece: candidateEce, maximum: rule.calibration.maximumEce },
  });

  const subgroups: LabelEvidence['subgroups'][number][] = [];
  for (const column of rule.subgroups.columns) {
    const values = paired.map((c) => c.labels[column]);
    if (values.some((v) => v === undefined || v.trim() === '')) {
      criteria.push({
        id: `subgroup ${column}`,
        label,
        status: 'fail',
        requirement: `every test image has the subgroup label "${column}"`,
        found: `${values.filter((v) => v === undefined || v.trim() === '').length} image(s) lack it — the locked dataset does not fit this plan`,
        numbers: {},
      });
      continue;
    }
    for (const value of [...new Set(values as string[])].sort()) {
      const idx = values.map((v, i) => (v === value ? i : -1)).filter((i) => i >= 0);
      const t = idx.map((i) => truth[i]!);
      const pos = t.filter((x) => x === 1).length;
      const neg = t.length - pos;
      const id = `subgroup ${column}=${value}`;
      if (pos < rule.subgroups.minCasesPerClass || neg < rule.subgroups.minCasesPerClass) {
        subgroups.push({
          column,
          value,
          cases: t.length,
          positives: pos,
          aucActive: null,
          aucCandidate: null,
        });
        criteria.push({
          id,
          label,
          status: 'not assessable',
          requirement: `AUC(candidate) − AUC(active) at least −${rule.subgroups.maxAucDrop}, with at least ${rule.subgroups.minCasesPerClass} cases of each class`,
          found: `${pos} positive, ${neg} negative: too few to judge`,
          numbers: { positives: pos, negatives: neg },
        });
        continue;
      }
      const auc = (scores: readonly number[]): number =>
        delongComponents(splitByClass({ truth: t, scores: idx.map((i) => scores[i]!) }, id)).auc;
      const aucCandidate = auc(candidate);
      const aucActive = auc(active);
      subgroups.push({ column, value, cases: t.length, positives: pos, aucActive, aucCandidate });
      criteria.push({
        id,
        label,
        status: aucCandidate - aucActive >= -rule.subgroups.maxAucDrop ? 'pass' : 'fail',
        requirement: `AUC(candidate) − AUC(active) at least −${rule.subgroups.maxAucDrop}`,
        found: `AUC ${f3(aucCandidate)} vs ${f3(aucActive)} (difference ${f3(aucCandidate - aucActive)}) on ${t.length} images, ${pos} positive`,
        numbers: {
          aucCandidate,
          aucActive,
          difference: aucCandidate - aucActive,
          maxDrop: rule.subgroups.maxAucDrop,
        },
      });
    }
  }

  const activeEce = active.every((s) => s >= 0 && s <= 1)
    ? calibration({ truth, scores: active }, { bins: rule.calibration.bins }).ece
    : null;
  return {
    criteria,
    evidence: {
      label,
      cases: paired.length,
      positives,
      active: {
        auc: test.aucB,
        threshold: activeThreshold,
        operatingPoint: operatingPoint({ truth, scores: active }, activeThreshold, level),
        ece: activeEce,
      },
      candidate: {
        auc: test.aucA,
        threshold: candidateThreshold,
        operatingPoint: point,
        ece: candidateEce,
      },
      difference: { estimate: test.difference, ci: test.ci, p: test.p, level },
      subgroups,
    },
  };
}
