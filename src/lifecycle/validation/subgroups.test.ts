import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ageBand, aucWithDelong, normalDraw, seededRandom, subgroupAnalysis } from './index.js';

/** A study where the score works well for site A and barely at all for site B. */
function study() {
  const random = seededRandom(11);
  const truth: (0 | 1)[] = [];
  const scores: number[] = [];
  const site: string[] = [];
  const sex: string[] = [];
  for (let i = 0; i < 150; i++) {
    for (const [name, shift] of [
      ['A', 3],
      ['B', 0.1],
    ] as const) {
      const y = i % 2 === 0 ? 1 : 0;
      truth.push(y);
      scores.push(1 / (1 + Math.exp(-(normalDraw(random) + (y === 1 ? shift : 0) - shift / 2))));
      site.push(name);
      sex.push(i % 4 < 2 ? 'F' : 'M');
    }
  }
  // A tiny subgroup: two cases, both negative.
  truth.push(0, 0);
  scores.push(0.2, 0.3);
  site.push('C', 'C');
  sex.push('F', '');
  return { data: { truth, scores }, groups: { site, sex } };
}

describe('subgroup analysis', () => {
  const { data, groups } = study();
  const analysis = subgroupAnalysis(data, groups, { threshold: 0.5 });

  it('reports the overall metrics with CIs', () => {
    const overall = aucWithDelong(data);
    assert.equal(analysis.overall.cases, 302);
    assert.equal(analysis.overall.auc.estimate, overall.auc);
    assert.deepEqual(analysis.overall.auc.ci, overall.ci);
    assert.ok(analysis.overall.brier !== null && analysis.overall.brier > 0);
  });

  it('flags a subgroup whose CI excludes the overall AUC', () => {
    const site = analysis.columns.find((c) => c.column === 'site')!;
    assert.deepEqual(
      site.groups.map((g) => g.value),
      ['A', 'B', 'C'],
    );
    const [a, b] = site.groups as [(typeof site.groups)[0], (typeof site.groups)[0]];
    assert.ok(a.auc.estimate! > 0.9);
    assert.ok(b.auc.estimate! < 0.7);
    assert.ok(a.flags.some((f) => f.startsWith('AUC CI excludes the overall AUC')));
    assert.ok(b.flags.some((f) => f.startsWith('AUC CI excludes the overall AUC')));
  });

  it('does not flag a balanced split', () => {
    const sex = analysis.columns.find((c) => c.column === 'sex')!;
    const female = sex.groups.find((g) => g.value === 'F')!;
    assert.deepEqual(female.flags, []);
  });

  it('says "too few cases" or "only negative cases" instead of NaN, and names missing values', () => {
    const site = analysis.columns.find((c) => c.column === 'site')!;
    const c = site.groups.find((g) => g.value === 'C')!;
    assert.equal(c.auc.estimate, null);
    assert.equal(c.auc.ci, null);
    assert.match(c.auc.note!, /only negative cases/);
    assert.equal(c.sensitivity.estimate, null);
    const sex = analysis.columns.find((col) => col.column === 'sex')!;
    assert.ok(sex.groups.some((g) => g.value === '(missing)' && g.cases === 1));
    const small = subgroupAnalysis(
      { truth: [1, 1, 0, 0, 0, 1], scores: [0.9, 0.8, 0.1, 0.2, 0.3, 0.7] },
      { g: ['x', 'x', 'x', 'x', 'x', 'y'] },
      { threshold: 0.5 },
    );
    const x = small.columns[0]!.groups[0]!;
    assert.equal(x.auc.estimate, 1);
    assert.equal(x.auc.ci, null);
    assert.match(x.auc.note!, /too few cases for a CI \(2 positive, 3 negative; need 5 of each\)/);
    assert.ok(!JSON.stringify(small).includes('NaN'));
  });

  it('rejects a subgroup column of the wrong length', () => {
    assert.throws(
      () => subgroupAnalysis(data, { site: ['A'] }, { threshold: 0.5 }),
      /has 1 values for 302 cases/,
    );
  });
});

describe('age bands', () => {
  it('bins ages with the default and custom edges', () => {
    assert.deepEqual(
      [5, 18, 39, 40, 64.5, 65, 79, 80, 101].map((age) => ageBand(age)),
      ['<18', '18–39', '18–39', '40–64', '40–64', '65–79', '65–79', '≥80', '≥80'],
    );
    assert.equal(ageBand(50, [50]), '≥50');
    assert.throws(() => ageBand(Number.NaN), /not a valid age/);
    assert.throws(() => ageBand(30, [40, 20]), /must be increasing/);
  });
});
