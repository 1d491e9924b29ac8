/**
 * Patient-level split into train / tuning / test — ADR 0072. Every image of a patient lands in
 * the same split (follow-up films of one patient are near duplicates; letting them straddle
 * splits inflates every number). The order is a keyed hash of the patient id, so the split is
 * reproducible from the seed alone and does not depend on the CSV's row order; patients are
 * stratified by whether any of their images is positive, so each split gets both classes
 * even on a small site.
 */
import { createHmac } from 'node:crypto';
import { RadiolensError } from '../../foundation/core/index.js';

export type SplitName = 'train' | 'tuning' | 'test';

export interface SplitFractions {
  train: number;
  tuning: number;
  test: number;
}

export const DEFAULT_SPLIT_FRACTIONS: SplitFractions = { train: 0.6, tuning: 0.2, test: 0.2 };

export interface PatientSplit {
  /** The rule in words, recorded in the manifest and the run record. */
  rule: string;
  seed: number;
  fractions: SplitFractions;
  /** Patient ids per split, sorted. */
  patients: Record<SplitName, string[]>;
  /** Split of each case, in input order. */
  assignment: SplitName[];
}

/** HMAC-SHA256 of the patient id keyed by the seed: the patient's place in the order. */
export function patientKey(patientId: string, seed: number): string {
  return createHmac('sha256', `radiolens-split:${seed}`).update(patientId, 'utf8').digest('hex');
}

/**
 * Split cases (one patient id and one truth each) by patient. Within each stratum (patients
 * with any positive image / patients with none) patients are ordered by their keyed hash; the
 * first round(train·m) go to train, the next round(tuning·m) to tuning, the rest to test.
 */
export function splitByPatient(
  cases: readonly { patientId: string; truth: 0 | 1 }[],
  options: { seed: number; fractions?: SplitFractions },
): PatientSplit {
  const fractions = options.fractions ?? DEFAULT_SPLIT_FRACTIONS;
  const total = fractions.train + fractions.tuning + fractions.test;
  if (Math.abs(total - 1) > 1e-9 || Object.values(fractions).some((f) => !(f > 0 && f < 1))) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `split fractions must each be in (0, 1) and add up to 1, got ${JSON.stringify(fractions)}`,
    );
  }
  const positivePatient = new Map<string, boolean>();
  cases.forEach(({ patientId, truth }, i) => {
    if (patientId.trim() === '') {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `case ${i + 1} has an empty patient id — every image needs one`,
      );
    }
    positivePatient.set(patientId, (positivePatient.get(patientId) ?? false) || truth === 1);
  });
  const splitOf = new Map<string, SplitName>();
  for (const positive of [true, false]) {
    const stratum = [...positivePatient.entries()]
      .filter(([, p]) => p === positive)
      .map(([id]) => ({ id, key: patientKey(id, options.seed) }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const nTrain = Math.round(fractions.train * stratum.length);
    const nTuning = Math.round(fractions.tuning * stratum.length);
    stratum.forEach(({ id }, rank) => {
      splitOf.set(id, rank < nTrain ? 'train' : rank < nTrain + nTuning ? 'tuning' : 'test');
    });
  }
  const patients: Record<SplitName, string[]> = { train: [], tuning: [], test: [] };
  for (const [id, split] of splitOf) patients[split].push(id);
  for (const list of Object.values(patients)) list.sort();
  const pct = (f: number): string => `${Math.round(f * 1000) / 10}%`;
  return {
    rule:
      `patients stratified by "any image positive"; within each stratum ordered by ` +
      `HMAC-SHA256(key "radiolens-split:${options.seed}", patient id); first ` +
      `${pct(fractions.train)} → train, next ${pct(fractions.tuning)} → tuning, rest → test (rounded)`,
    seed: options.seed,
    fractions,
    patients,
    assignment: cases.map(({ patientId }) => splitOf.get(patientId)!),
  };
}
