import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aSAH } from '../../../test/support/referenceStats.js';
import {
  aucWithDelong,
  clusterBootstrap,
  clusteredAuc,
  clusteredDelongTest,
  delongTest,
} from './index.js';

function close(actual: number, expected: number, relative = 1e-12): void {
  assert.ok(
    Math.abs(actual - expected) <= relative * Math.max(1, Math.abs(expected)),
    `${actual} differs from ${expected}`,
  );
}

describe('clustered AUC (Obuchowski 1997)', () => {
  it('with one image per patient it is DeLong exactly (pROC: s100b variance 0.00266868245717244)', () => {
    const { truth, column } = aSAH();
    const scores = column('s100b');
    const ids = truth.map((_, i) => `p${i}`);
    const clustered = clusteredAuc({ truth, scores }, ids);
    close(clustered.variance, 0.00266868245717244, 1e-9);
    const delong = aucWithDelong({ truth, scores });
    close(clustered.auc, delong.auc);
    close(clustered.ci[0], delong.ci[0]);
    close(clustered.ci[1], delong.ci[1]);
    assert.equal(clustered.clusters, 113);
  });

  it('the paired test with one image per patient is DeLong’s (pROC: wfns vs s100b, Z = 2.20898359144091)', () => {
    const { truth, column } = aSAH();
    const ids = truth.map((_, i) => `p${i}`);
    const clustered = clusteredDelongTest(truth, column('wfns'), column('s100b'), ids);
    close(clustered.z, 2.20898359144091, 1e-9);
    const delong = delongTest(truth, column('wfns'), column('s100b'));
    close(clustered.p, delong.p, 1e-9);
  });

  it('a patient imaged three times adds no information: the clustered variance stays, the naive one shrinks', () => {
    const { truth, column } = aSAH();
    const scores = column('s100b');
    const tripled = {
      truth: truth.flatMap((t) => [t, t, t]),
      scores: scores.flatMap((s) => [s, s, s]),
    };
    const ids = truth.flatMap((_, i) => [`p${i}`, `p${i}`, `p${i}`]);
    const once = clusteredAuc(
      { truth, scores },
      truth.map((_, i) => `p${i}`),
    );
    const clustered = clusteredAuc(tripled, ids);
    close(clustered.variance, once.variance, 1e-9);
    close(clustered.auc, once.auc);
    const naive = aucWithDelong(tripled);
    assert.ok(naive.variance < once.variance / 2.5, `${naive.variance} vs ${once.variance}`);
  });

  it('the cluster bootstrap is reproducible and wider than treating copies as patients', () => {
    const { truth, column } = aSAH();
    const scores = column('s100b');
    const tripled = {
      truth: truth.flatMap((t) => [t, t, t]),
      scores: scores.flatMap((s) => [s, s, s]),
    };
    const patients = truth.flatMap((_, i) => [`p${i}`, `p${i}`, `p${i}`]);
    const images = tripled.truth.map((_, i) => `i${i}`);
    const a = clusterBootstrap(tripled, patients, 0.2, { resamples: 400, seed: 3 });
    const b = clusterBootstrap(tripled, patients, 0.2, { resamples: 400, seed: 3 });
    assert.deepEqual(a, b);
    const naive = clusterBootstrap(tripled, images, 0.2, { resamples: 400, seed: 3 });
    const width = (ci: readonly [number, number]): number => ci[1] - ci[0];
    assert.ok(width(a.auc) > 1.4 * width(naive.auc), `${width(a.auc)} vs ${width(naive.auc)}`);
    assert.ok(width(a.sensitivity) > 1.4 * width(naive.sensitivity));
    assert.ok(a.auc[0] < 0.731 && a.auc[1] > 0.731);
  });

  it('refuses what it cannot estimate, saying what to fix', () => {
    const truth: (0 | 1)[] = [1, 1, 0, 0];
    const scores = [0.9, 0.8, 0.2, 0.1];
    assert.throws(() => clusteredAuc({ truth, scores }, ['a', 'a', 'b', 'c']), /at least 2/);
    assert.throws(() => clusteredAuc({ truth, scores }, ['a', 'b', '', 'c']), /no patient id/);
    assert.throws(() => clusteredAuc({ truth, scores }, ['a', 'b']), /2 cluster ids for 4 images/);
  });
});
