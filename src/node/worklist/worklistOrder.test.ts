import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isActionable, orderWorklist, type WorklistEntry } from './worklistOrder.js';

const NOW = Date.UTC(2026, 11, 3, 12);
const HOUR = 3_600_000;

function entry(over: Partial<WorklistEntry> & { key: string }): WorklistEntry {
  const { key, ...rest } = over;
  return {
    studyKey: key,
    studyInstanceUid: `1.2.3.${key.length}`,
    model: 'cxr-pneumonia@1.2.0',
    arrivedAt: NOW - HOUR,
    status: 'analysed',
    finding: { label: 'pneumonia', meaning: 'Pneumonia', probability: 0.81, threshold: 0.62 },
    outOfDistribution: false,
    intendedUseCaveat: false,
    caveats: [],
    ...rest,
  };
}

const finding = (probability: number, threshold = 0.62) => ({
  label: 'pneumonia',
  meaning: 'Pneumonia',
  probability,
  threshold,
});

const arbitraryEntry: fc.Arbitrary<WorklistEntry> = fc
  .record({
    key: fc.constantFrom('studyAAAA', 'studyBBBB', 'studyCCCC', 'studyDDDD', 'studyEEEE'),
    model: fc.constantFrom('m@1', 'm@2'),
    arrivedAt: fc.integer({ min: NOW - 48 * HOUR, max: NOW }),
    status: fc.constantFrom('analysed', 'analysed', 'failed', 'answered'),
    probability: fc.double({ min: 0, max: 1, noNaN: true }),
    threshold: fc.double({ min: 0.05, max: 0.95, noNaN: true }),
    ood: fc.boolean(),
    caveat: fc.boolean(),
  })
  .map((r) =>
    entry({
      key: r.key,
      model: r.model,
      arrivedAt: r.arrivedAt,
      status: r.status as WorklistEntry['status'],
      finding: r.status === 'failed' ? null : finding(r.probability, r.threshold),
      outOfDistribution: r.ood,
      intendedUseCaveat: r.caveat,
    }),
  );
const arbitraryBudget = fc.record({
  maxUrgent: fc.integer({ min: 0, max: 6 }),
  windowHours: fc.integer({ min: 1, max: 72 }),
});

describe('orderWorklist', () => {
  it('puts actionable findings first, then the rest by arrival, with the reason in words', () => {
    const rows = orderWorklist(
      [
        entry({ key: 'belowkey', arrivedAt: NOW - 3 * HOUR, finding: finding(0.3) }),
        entry({ key: 'oodstudy', arrivedAt: NOW - 4 * HOUR, outOfDistribution: true }),
        entry({ key: 'urgentkey', arrivedAt: NOW - 1 * HOUR }),
        entry({ key: 'failedkey', arrivedAt: NOW - 5 * HOUR, status: 'failed', finding: null }),
      ],
      { maxUrgent: 5, windowHours: 24 },
      NOW,
    );
    assert.deepEqual(
      rows.map((r) => [r.studyKey, r.reason.code, r.rank]),
      [
        ['urgentkey', 'urgent', 1],
        ['failedkey', 'analysis-failed', 2],
        ['oodstudy', 'out-of-distribution', 3],
        ['belowkey', 'below-operating-point', 4],
      ],
    );
    assert.equal(rows[0]!.reason.text, 'urgent: Pneumonia 0.81 ≥ 0.62 operating point');
    assert.equal(
      rows[2]!.reason.text,
      'out of distribution: not prioritised (Pneumonia 0.81 ≥ 0.62 operating point)',
    );
    assert.equal(
      rows[3]!.reason.text,
      'below operating point: Pneumonia 0.30 < 0.62 operating point',
    );
  });

  it('marks the largest margins within the budget; overflow stays actionable, unmarked, and says so', () => {
    const rows = orderWorklist(
      [
        entry({ key: 'small', arrivedAt: NOW - 3 * HOUR, finding: finding(0.63) }),
        entry({ key: 'large', arrivedAt: NOW - 1 * HOUR, finding: finding(0.95) }),
        entry({ key: 'tiedlate', arrivedAt: NOW - 1 * HOUR + 1, finding: finding(0.8) }),
        entry({ key: 'tiedearly', arrivedAt: NOW - 2 * HOUR, finding: finding(0.8) }),
        entry({ key: 'below', arrivedAt: NOW - 9 * HOUR, finding: finding(0.1) }),
      ],
      { maxUrgent: 2, windowHours: 24 },
      NOW,
    );
    // Urgent: the largest margin and, of the tie, the earlier arrival; each tier by arrival.
    assert.deepEqual(
      rows.map((r) => [r.studyKey, r.reason.code]),
      [
        ['tiedearly', 'urgent'],
        ['large', 'urgent'],
        ['small', 'actionable-budget-reached'],
        ['tiedlate', 'actionable-budget-reached'],
        ['below', 'below-operating-point'],
      ],
    );
    assert.match(rows[2]!.reason.text, /^alert budget reached \(2 urgent\): Pneumonia 0\.63/);
  });

  it('answering frees a slot; an old study is actionable but not urgent; one mark per study', () => {
    const rows = orderWorklist(
      [
        entry({ key: 'answered', status: 'answered' }),
        entry({ key: 'old', arrivedAt: NOW - 30 * HOUR }),
        entry({ key: 'twice', model: 'a@1', finding: finding(0.9) }),
        entry({ key: 'twice', model: 'b@1', finding: finding(0.7) }),
      ],
      { maxUrgent: 2, windowHours: 24 },
      NOW,
    );
    const code = (key: string, model = 'cxr-pneumonia@1.2.0') =>
      rows.find((r) => r.studyKey === key && r.model === model)!.reason.code;
    assert.equal(code('twice', 'a@1'), 'urgent');
    assert.equal(code('twice', 'b@1'), 'actionable-study-already-urgent');
    assert.equal(code('old'), 'actionable-outside-alert-window');
    assert.equal(code('answered'), 'answered');
    assert.equal(rows.at(-1)!.studyKey, 'answered');
  });

  it('never marks more than the budget, nor a study twice; marks exactly what fits', () => {
    fc.assert(
      fc.property(
        fc.array(arbitraryEntry, { maxLength: 25 }),
        arbitraryBudget,
        (entries, budget) => {
          const rows = orderWorklist(entries, budget, NOW);
          const urgent = rows.filter((r) => r.urgent);
          assert.ok(urgent.length <= budget.maxUrgent);
          assert.equal(new Set(urgent.map((r) => r.studyKey)).size, urgent.length);
          const eligibleStudies = new Set(
            entries
              .filter((e) => isActionable(e) && e.arrivedAt >= NOW - budget.windowHours * HOUR)
              .map((e) => e.studyKey),
          );
          assert.equal(urgent.length, Math.min(budget.maxUrgent, eligibleStudies.size));
          for (const row of urgent) assert.ok(row.actionable && row.status === 'analysed');
        },
      ),
    );
  });

  it('every urgent mark has at least the margin of every budget-reached row (ties: earlier arrival)', () => {
    fc.assert(
      fc.property(
        fc.array(arbitraryEntry, { maxLength: 25 }),
        arbitraryBudget,
        (entries, budget) => {
          const rows = orderWorklist(entries, budget, NOW);
          const m = (r: WorklistEntry) => r.finding!.probability - r.finding!.threshold;
          for (const u of rows.filter((r) => r.urgent)) {
            for (const o of rows.filter((r) => r.reason.code === 'actionable-budget-reached')) {
              assert.ok(m(u) > m(o) || (m(u) === m(o) && u.arrivedAt <= o.arrivedAt));
            }
          }
        },
      ),
    );
  });

  it('orders by tier, then arrival; keeps every entry once; ranks 1..n', () => {
    fc.assert(
      fc.property(
        fc.array(arbitraryEntry, { maxLength: 25 }),
        arbitraryBudget,
        (entries, budget) => {
          const rows = orderWorklist(entries, budget, NOW);
          assert.equal(rows.length, entries.length);
          assert.deepEqual(
            rows.map((r) => r.rank),
            rows.map((_, i) => i + 1),
          );
          const tier = (r: (typeof rows)[number]) =>
            r.urgent ? 0 : r.actionable ? 1 : r.status === 'answered' ? 3 : 2;
          for (let i = 1; i < rows.length; i++) {
            const a = rows[i - 1]!;
            const b = rows[i]!;
            assert.ok(tier(a) < tier(b) || (tier(a) === tier(b) && a.arrivedAt <= b.arrivedAt));
          }
          // Out-of-distribution or caveated findings are never actionable, whatever the score.
          for (const r of rows) {
            if (r.outOfDistribution || r.intendedUseCaveat) assert.equal(r.actionable, false);
          }
        },
      ),
    );
  });

  it('does not depend on the order the entries come in', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(arbitraryEntry, {
          maxLength: 15,
          selector: (e) => `${e.studyKey}|${e.model}`,
        }),
        arbitraryBudget,
        (entries, budget) => {
          const key = (r: WorklistEntry) => `${r.studyKey}|${r.model}`;
          const forward = orderWorklist(entries, budget, NOW).map((r) => [key(r), r.reason.code]);
          const backward = orderWorklist([...entries].reverse(), budget, NOW).map((r) => [
            key(r),
            r.reason.code,
          ]);
          assert.deepEqual(backward, forward);
        },
      ),
    );
  });
});
