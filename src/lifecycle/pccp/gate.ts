/**
 * The change-control gate (ADR 0035): may this candidate version replace the active one?
 * The active version's change-control plan decides — what kinds of modification it allows,
 * and the acceptance protocol on its locked test dataset — never the candidate's own claims.
 * Both models score the dataset's images the way `validate` does (`scoreImages`: the same
 * DICOM decoding, windowing, intended-use check and model runtime as production, without
 * writing result objects), and the protocol compares their scores image by image.
 *
 * The gate decides and explains; making the candidate active, keeping the evidence and the
 * audit record are the caller's (`radiolens models promote`).
 */
import { RadiolensError, describeError } from '../../foundation/core/index.js';
import { scoreImages } from '../../inference/analysis/index.js';
import type {
  ChangeControlPlan,
  ModelPackage,
  ModelRegistry,
} from '../../inference/models/index.js';
import { objectPath, verifyDataset, type DatasetManifest } from '../datasets/index.js';
import { classifyModifications, type Modification } from './modifications.js';
import {
  evaluateAcceptance,
  type Criterion,
  type GateCase,
  type LabelEvidence,
} from './protocol.js';

export const PROMOTION_REPORT_SCHEMA = 'radiolens.promotion-report/1';

export interface PromotionReport {
  readonly schema: typeof PROMOTION_REPORT_SCHEMA;
  readonly generatedAt: string;
  readonly decision: 'accept' | 'refuse';
  readonly candidate: ModelIdentity;
  readonly active: ModelIdentity;
  /** The governing plan: the active version's. Null when it has none. */
  readonly plan: {
    readonly id: string;
    readonly of: string;
    readonly content: ChangeControlPlan;
  } | null;
  readonly testDataset: {
    readonly dir: string;
    readonly version: string;
    readonly name: string | null;
    readonly instances: number;
  };
  readonly modifications: readonly Modification[];
  readonly criteria: readonly Criterion[];
  /** The failed criteria, in order: the reasons of a refusal. */
  readonly failed: readonly Criterion[];
  readonly evidence: readonly LabelEvidence[];
  readonly cases: readonly GateCase[];
}

export interface ModelIdentity {
  readonly id: string;
  readonly version: string;
  readonly manifestSha256: string;
}

const identity = (pkg: ModelPackage): ModelIdentity => ({
  id: pkg.manifest.id,
  version: pkg.manifest.version,
  manifestSha256: pkg.manifestSha256,
});

export interface GateRequest {
  readonly registry: ModelRegistry;
  readonly candidate: { readonly id: string; readonly version: string };
  readonly test: { readonly dir: string; readonly version: string };
  readonly now?: () => Date;
  readonly onProgress?: (step: string) => void;
}

export async function runPromotionGate(request: GateRequest): Promise<PromotionReport> {
  const { registry, candidate: wanted, test } = request;
  const now = request.now ?? (() => new Date());
  const active = await registry.activeVersion(wanted.id);
  if (active.version === wanted.version) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${wanted.id}@${wanted.version} is already the active version — nothing to promote`,
      {
        subject: `${wanted.id}@${wanted.version}`,
      },
    );
  }
  const activePkg = await registry.resolve(wanted.id, active.version);
  const candidatePkg = await registry.resolve(wanted.id, wanted.version);
  const plan = activePkg.manifest.changeControl ?? null;
  const criteria: Criterion[] = [];
  const report = (
    rest: Pick<PromotionReport, 'testDataset' | 'modifications' | 'evidence' | 'cases'>,
  ): PromotionReport => {
    const failed = criteria.filter((c) => c.status === 'fail');
    return {
      schema: PROMOTION_REPORT_SCHEMA,
      generatedAt: now().toISOString(),
      decision: failed.length === 0 ? 'accept' : 'refuse',
      candidate: identity(candidatePkg),
      active: identity(activePkg),
      plan:
        plan === null
          ? null
          : {
              id: plan.plan,
              of: `${activePkg.manifest.id}@${activePkg.manifest.version}`,
              content: plan,
            },
      criteria,
      failed,
      ...rest,
    };
  };
  const noDataset = { dir: test.dir, version: test.version, name: null, instances: 0 };

  if (plan === null) {
    criteria.push({
      id: 'change-control-plan',
      label: null,
      status: 'fail',
      requirement: 'the active version carries a change-control plan that governs its successors',
      found: `${activePkg.manifest.id}@${activePkg.manifest.version} has none: a change to it needs a full review, not a promotion`,
      numbers: {},
    });
    return report({ testDataset: noDataset, modifications: [], evidence: [], cases: [] });
  }

  request.onProgress?.('comparing the packages');
  const modifications = await classifyModifications(activePkg, candidatePkg);
  const allowed = new Set(plan.allowedModifications.map((m) => m.kind as string));
  for (const change of modifications) {
    criteria.push({
      id: `modification ${change.kind}`,
      label: null,
      status: allowed.has(change.kind) ? 'pass' : 'fail',
      requirement: change.allowable
        ? `the plan allows "${change.kind}"`
        : `"${change.kind}" is outside every change-control plan`,
      found: allowed.has(change.kind)
        ? change.detail
        : `${change.detail} — not allowed by ${plan.plan.split(' (')[0]}`,
      numbers: {},
    });
  }

  const locked = plan.acceptance.testDataset;
  if (test.version !== locked.version) {
    criteria.push({
      id: 'test-dataset',
      label: null,
      status: 'fail',
      requirement: `the test dataset is the locked one: ${locked.name} version ${locked.version}`,
      found: `version ${test.version} was given`,
      numbers: {},
    });
    return report({ testDataset: noDataset, modifications, evidence: [], cases: [] });
  }
  let manifest: DatasetManifest;
  try {
    request.onProgress?.('verifying the locked test dataset');
    manifest = await verifyDataset(test.dir, test.version);
  } catch (error) {
    criteria.push({
      id: 'test-dataset',
      label: null,
      status: 'fail',
      requirement: `the locked test dataset ${locked.version} is intact`,
      found: describeError(error),
      numbers: {},
    });
    return report({ testDataset: noDataset, modifications, evidence: [], cases: [] });
  }
  criteria.push({
    id: 'test-dataset',
    label: null,
    status: 'pass',
    requirement: `the test dataset is the locked one: ${locked.name} version ${locked.version}`,
    found: `${manifest.name}: ${manifest.instances.length} instances, every hash verified`,
    numbers: { instances: manifest.instances.length },
  });

  const files = manifest.instances.map((instance) => objectPath(test.dir, instance.sha256));
  const scoresOf = async (pkg: ModelPackage): Promise<Map<string, Record<string, number>>> => {
    request.onProgress?.(
      `scoring ${files.length} test images with ${pkg.manifest.id}@${pkg.manifest.version}`,
    );
    const scored = await scoreImages(files, pkg);
    const scores = new Map<string, Record<string, number>>();
    scored.forEach((image, index) => {
      if (image.scores === null) return; // outside its intended use (or unreadable): not analysed
      const row: Record<string, number> = {};
      pkg.manifest.labels.forEach((label, l) => (row[label.id] = image.scores![l]!));
      scores.set(manifest.instances[index]!.sopInstanceUid, row);
    });
    return scores;
  };
  const activeScores = await scoresOf(activePkg);
  const candidateScores = await scoresOf(candidatePkg);
  const cases: GateCase[] = manifest.instances.map((instance) => ({
    sopInstanceUid: instance.sopInstanceUid,
    labels: instance.labels,
    active: activeScores.get(instance.sopInstanceUid) ?? null,
    candidate: candidateScores.get(instance.sopInstanceUid) ?? null,
  }));
  const thresholds = (pkg: ModelPackage): Record<string, number> =>
    Object.fromEntries(pkg.manifest.labels.map((l) => [l.id, l.threshold]));
  const missing = plan.acceptance.labels.filter(
    (rule) => !candidatePkg.manifest.labels.some((l) => l.id === rule.label),
  );
  for (const rule of missing) {
    criteria.push({
      id: 'labels',
      label: rule.label,
      status: 'fail',
      requirement: `the candidate reports the label "${rule.label}" the plan judges`,
      found: 'it does not',
      numbers: {},
    });
  }
  const acceptance = evaluateAcceptance({
    plan: {
      ...plan,
      acceptance: {
        ...plan.acceptance,
        labels: plan.acceptance.labels.filter((rule) => !missing.includes(rule)),
      },
    },
    thresholds: { active: thresholds(activePkg), candidate: thresholds(candidatePkg) },
    cases,
  });
  criteria.push(...acceptance.criteria);
  return report({
    testDataset: {
      dir: test.dir,
      version: test.version,
      name: manifest.name,
      instances: manifest.instances.length,
    },
    modifications,
    evidence: acceptance.evidence,
    cases,
  });
}
