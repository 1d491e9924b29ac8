import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorklistChanges } from './worklistChanges.js';
import { parseWorklistQuery } from './worklistQuery.js';
import { decide } from './worklistSource.js';

const parse = (text: string) => parseWorklistQuery(new URLSearchParams(text));

describe('worklist query', () => {
  it('takes the known parameters, typed', () => {
    assert.deepEqual(
      parse('status=answered&model=cxr-pneumonia@1.2.0&limit=10&offset=20&from=2026-12-01'),
      {
        ok: true,
        query: {
          status: 'answered',
          model: 'cxr-pneumonia@1.2.0',
          limit: 10,
          offset: 20,
          from: '2026-12-01',
        },
      },
    );
    assert.equal(parse('to=2026-12-03T10:00:00Z').ok, true);
  });

  it('refuses unknown, repeated, malformed and contradictory parameters by name', () => {
    for (const [text, path] of [
      ['patientName=DOE', 'patientName'],
      ['status=analysed&status=failed', 'status'],
      ['limit=501', 'limit'],
      ['limit=-1', 'limit'],
      ['offset=1e3', 'offset'],
      ['finding=a b', 'finding'],
      ['from=2026-02-30', 'from'],
      ['to=2026-12-03T10:00:00', 'to'],
      ['from=2026-12-04&to=2026-12-03', 'from'],
    ] as const) {
      const parsed = parse(text);
      assert.equal(parsed.ok, false, text);
      if (!parsed.ok)
        assert.ok(
          parsed.issues.some((i) => i.path.includes(path)),
          `${text}: ${JSON.stringify(parsed.issues)}`,
        );
    }
  });
});

describe('decide (an analysis.json to its worklist facts)', () => {
  const finding = (
    sop: string,
    label: string,
    probability: number,
    threshold: number,
    ood = false,
  ) => ({
    sopInstanceUid: sop,
    label,
    code: { meaning: label.toUpperCase() },
    probability,
    threshold,
    ood: { flagged: ood },
  });

  it('takes the largest margin; OOD and (before coded caveats) every other warning of that image', () => {
    const decided = decide({
      findings: [finding('1.1', 'effusion', 0.9, 0.95), finding('1.1', 'pneumonia', 0.5, 0.3)],
      warnings: [],
    });
    assert.deepEqual(decided.finding, {
      label: 'pneumonia',
      meaning: 'PNEUMONIA',
      probability: 0.5,
      threshold: 0.3,
    });
    assert.equal(decided.outOfDistribution, false);
    assert.equal(decided.intendedUseCaveat, false);
    const ood = decide({
      findings: [finding('1.2', 'pneumonia', 0.5, 0.3, true)],
      warnings: ['image 1.2: out of distribution …'],
    });
    assert.deepEqual([ood.outOfDistribution, ood.intendedUseCaveat], [true, false]);
    const caveat = decide({
      findings: [finding('1.3', 'pneumonia', 0.5, 0.3)],
      warnings: [
        'image 1.3: ViewPosition missing — accepted, check the view',
        'image 9.9: other image',
      ],
    });
    assert.deepEqual([caveat.outOfDistribution, caveat.intendedUseCaveat], [false, true]);
    assert.equal(decide({ findings: [] }).finding, null);
  });

  it('coded caveats: only demoting ones (the analysis rule or the site list) keep it down', () => {
    const viewMissing = {
      code: 'missing-view-position',
      image: '1.4',
      text: 'the image has no View Position … — accepted, check the view',
      demotes: false,
    };
    const summary = {
      findings: [finding('1.4', 'pneumonia', 0.5, 0.3)],
      warnings: ['image 1.4: the image has no View Position … — accepted, check the view'],
      caveats: [
        viewMissing,
        { code: 'missing-body-part', image: '9.9', text: 'another image', demotes: false },
        { code: 'lungs-not-placed', image: null, text: 'heatmaps not placed', demotes: false },
      ],
    };
    const accepted = decide(summary);
    // The site's modalities may leave View Position out: the finding stays actionable, and
    // the row still carries what the reader should check.
    assert.equal(accepted.intendedUseCaveat, false);
    assert.deepEqual(
      accepted.caveats.map((c) => [c.code, c.demotes]),
      [
        ['missing-view-position', false],
        ['lungs-not-placed', false],
      ],
    );
    const strictSite = decide(summary, new Set(['missing-view-position']));
    assert.equal(strictSite.intendedUseCaveat, true);
    const ood = decide({
      findings: [finding('1.5', 'pneumonia', 0.5, 0.3, true)],
      caveats: [{ code: 'out-of-distribution', image: '1.5', text: 'unlike', demotes: true }],
    });
    assert.deepEqual([ood.outOfDistribution, ood.intendedUseCaveat], [true, false]);
  });
});

describe('WorklistChanges', () => {
  it('numbers notices and refuses listeners beyond its limit', () => {
    const changes = new WorklistChanges(2);
    const heard: string[] = [];
    const stop = changes.subscribe((c) => heard.push(`${c.kind}${c.seq}`))!;
    assert.ok(changes.subscribe(() => undefined));
    assert.equal(
      changes.subscribe(() => undefined),
      undefined,
    );
    changes.notify('result');
    stop();
    changes.notify('answer');
    assert.deepEqual(heard, ['result1']);
    assert.equal(changes.size, 1);
  });
});
