import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InstanceRecord } from '../store/index.js';
import type { RouteRule } from './config.js';
import { AUTO_MODEL, routeStudy, routesUsingModel, ruleMatches, studyFacts } from './routing.js';

function instance(fields: Partial<InstanceRecord>): InstanceRecord {
  return {
    id: 1,
    patientId: 'P',
    studyInstanceUid: '1.2.3',
    seriesInstanceUid: '1.2.3.1',
    sopInstanceUid: '1.2.3.1.1',
    version: 1,
    sopClassUid: '1.2.840.10008.5.1.4.1.1.1',
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    modality: 'CR',
    bodyPartExamined: 'CHEST',
    viewPosition: 'PA',
    callingAeTitle: 'MODALITY',
    receivedAt: 0,
    lastReceivedAt: 0,
    sha256: '',
    size: 0,
    path: '',
    ...fields,
  };
}

const chest = studyFacts([
  instance({ viewPosition: 'PA' }),
  instance({ viewPosition: 'LL', sopInstanceUid: '1.2.3.1.2' }),
]);
const ct = studyFacts([
  instance({
    modality: 'CT',
    bodyPartExamined: 'HEAD',
    viewPosition: '',
    sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
  }),
]);

test('a criterion is met when any instance has one of its values; every criterion must be met', () => {
  assert.equal(ruleMatches({ match: { viewPosition: 'LL' }, models: ['m'] }, chest), true);
  assert.equal(
    ruleMatches(
      { match: { modality: ['DX', 'CR'], bodyPartExamined: 'chest' }, models: ['m'] },
      chest,
    ),
    true,
  );
  assert.equal(
    ruleMatches({ match: { modality: 'CR', callingAeTitle: 'OTHER' }, models: ['m'] }, chest),
    false,
  );
  assert.equal(
    ruleMatches({ match: {}, models: ['m'] }, ct),
    true,
    'an empty match is a catch-all',
  );
});

test('the first matching rule decides; no match falls back to the default, else auto or not routed', () => {
  const rules: RouteRule[] = [
    { match: { modality: 'CT' }, models: ['ct-model'] },
    {
      match: { modality: ['CR', 'DX'], viewPosition: ['PA', 'AP'] },
      models: ['cxr@1.2.0', 'cxr@1.2.0', 'other'],
    },
    { match: { bodyPartExamined: 'CHEST' }, models: ['never-reached'] },
  ];
  assert.deepEqual(routeStudy(chest, rules, []), {
    kind: 'models',
    models: ['cxr@1.2.0', 'other'],
    shadow: [],
    rule: 1,
  });
  assert.deepEqual(routeStudy(ct, rules.slice(1), ['fallback']), {
    kind: 'models',
    models: ['fallback'],
    shadow: [],
    rule: 'default',
  });
  assert.deepEqual(routeStudy(ct, [], []), { kind: 'auto', shadow: [] });
  assert.equal(AUTO_MODEL, 'auto');
  const excluded = routeStudy(
    chest,
    [{ match: { viewPosition: 'LL' }, models: [] }, ...rules],
    ['x'],
  );
  assert.deepEqual(excluded, {
    kind: 'not-routed',
    reason: 'routing rule 0 excludes it (no models)',
  });
  const none = routeStudy(ct, rules.slice(1), []);
  assert.equal(none.kind, 'not-routed');
  assert.match(
    none.kind === 'not-routed' ? none.reason : '',
    /modality CT, body part HEAD, view none/,
  );
});

test('shadow models run beside the live ones, alone in a pilot rule, and never twice', () => {
  const rules: RouteRule[] = [
    { match: { modality: 'CT' }, models: [], shadow: ['ct-model@0.9.0'] },
    { match: { modality: 'CR' }, models: ['cxr'], shadow: ['cxr@2.0.0', 'cxr@2.0.0', 'cxr'] },
  ];
  assert.deepEqual(routeStudy(ct, rules, []), {
    kind: 'models',
    models: [],
    shadow: ['ct-model@0.9.0'],
    rule: 0,
  });
  assert.deepEqual(routeStudy(chest, rules, []), {
    kind: 'models',
    models: ['cxr'],
    shadow: ['cxr@2.0.0'],
    rule: 1,
  });
  assert.deepEqual(routeStudy(ct, [], [], ['cxr@2.0.0']), { kind: 'auto', shadow: ['cxr@2.0.0'] });
  assert.deepEqual(routeStudy(ct, [], ['cxr'], ['cxr@2.0.0']), {
    kind: 'models',
    models: ['cxr'],
    shadow: ['cxr@2.0.0'],
    rule: 'default',
  });
});

test('the routes that run a model version, in words', () => {
  const rules = [
    { match: { modality: 'CT' }, models: [], shadow: ['cxr-pneumonia@2.0.0'] },
    { match: { modality: ['CR', 'DX'], bodyPartExamined: 'CHEST' }, models: ['cxr-pneumonia'] },
    { match: {}, models: ['cxr-pneumonia@1.0.0'] },
  ];
  assert.deepEqual(
    routesUsingModel(rules, [], [], { id: 'cxr-pneumonia', version: '1.2.0', active: true }),
    ['rule 1 (modality CR/DX, body part CHEST): live'],
  );
  assert.deepEqual(
    routesUsingModel(rules, [], [], { id: 'cxr-pneumonia', version: '2.0.0', active: false }),
    ['rule 0 (modality CT): shadow'],
  );
  assert.deepEqual(
    routesUsingModel(rules, [], [], { id: 'cxr-pneumonia', version: '1.0.0', active: false }),
    ['rule 2 (every study): live'],
  );
  assert.deepEqual(
    routesUsingModel([], ['cxr-pneumonia'], ['cxr-pneumonia@2.0.0'], {
      id: 'cxr-pneumonia',
      version: '2.0.0',
      active: false,
    }),
    ['default route: shadow'],
  );
  assert.deepEqual(
    routesUsingModel([], [], [], { id: 'cxr-lungs', version: '1.0.0', active: true }),
    ['automatic: the installed model whose intended use fits the study'],
  );
});
