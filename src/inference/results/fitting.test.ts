import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRadiolensError } from '../../foundation/core/index.js';
import { intact, modelName, shortened, withIntactSuffix } from './fitting.js';
import { resultSeriesDescription, resultSeriesNumber } from './resultSeries.js';
import type { AlgorithmIdentity } from './types.js';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

function algorithm(name: string, modelId = 'cxr-pneumonia', version = '1.2.0'): AlgorithmIdentity {
  return {
    modelId,
    version,
    name,
    manufacturer: 'Radiolens project',
    manifestSha256: 'a'.repeat(64),
  };
}

test("the shipped model's 67-character name becomes a 64-byte model name with id and version whole", () => {
  const name = modelName(
    algorithm('Radiolens CXR pneumonia (compact CNN), head adapted to cxr-site-nih'),
  );
  assert.ok(bytes(name) <= 64, name);
  assert.match(name, /^Radiolens CXR pneumonia .*\.\.\. \(cxr-pneumonia 1\.2\.0\)$/);
});

test('a short name is kept whole with the identity after it', () => {
  assert.equal(modelName(algorithm('CXR AI')), 'CXR AI (cxr-pneumonia 1.2.0)');
});

test('non-ASCII names are cut by UTF-8 bytes, never inside a character', () => {
  const name = modelName(algorithm('Modèle pulmonaire très élaboré — 肺炎検出 '.repeat(4)));
  assert.ok(bytes(name) <= 64, name);
  assert.ok(name.endsWith('... (cxr-pneumonia 1.2.0)'));
  assert.ok(!name.includes('\uFFFD'));
  const cjk = shortened('肺'.repeat(30), 64);
  assert.ok(bytes(cjk) <= 64);
  assert.equal(cjk, `${'肺'.repeat(20)}...`);
});

test('an identity that cannot fit whole is a coded error, never shortened', () => {
  const longId = 'x'.repeat(70);
  assert.throws(
    () => withIntactSuffix('ManufacturerModelName', 'name', `${longId} 1.0.0`),
    (e: unknown) => isRadiolensError(e) && e.code === 'E_VR_INVALID',
  );
  assert.throws(
    () => resultSeriesDescription(algorithm('n', 'y'.repeat(60)), 'sr'),
    (e: unknown) =>
      isRadiolensError(e) && e.code === 'E_VR_INVALID' && /SeriesDescription/.test(e.message),
  );
  assert.equal(intact('SoftwareVersions', '1.2.0'), '1.2.0');
  // When even "x... (identity)" leaves no room for 8 characters of name, the identity alone.
  const id = 'z'.repeat(52);
  assert.equal(withIntactSuffix('ManufacturerModelName', 'A long display name', id), id);
});

test('series numbers and descriptions are one per model id and version', () => {
  const versions = ['1.0.0', '1.1.0', '1.2.0', '2.0.0-rc.1'];
  const numbers = new Set<number>();
  for (const version of versions) {
    const a = algorithm('any', 'cxr-pneumonia', version);
    for (const kind of ['sr', 'sc', 'pm'] as const) {
      const n = resultSeriesNumber(a, kind);
      assert.ok(Number.isInteger(n) && n > 100000 && n < 1000000, String(n));
      numbers.add(n);
    }
    assert.equal(resultSeriesDescription(a, 'sr'), `AI cxr-pneumonia ${version} findings`);
    assert.equal(
      resultSeriesDescription(a, 'sc'),
      `AI cxr-pneumonia ${version} heatmap NOT FOR DIAGNOSIS`,
    );
    assert.equal(resultSeriesDescription(a, 'pm'), `AI cxr-pneumonia ${version} parametric map`);
  }
  assert.equal(numbers.size, versions.length * 3);
  const a = algorithm('any');
  // SR, SC and parametric map of one version are neighbours: 1, 2, 3 in one slot of ten.
  assert.equal(resultSeriesNumber(a, 'sc'), resultSeriesNumber(a, 'sr') + 1);
  assert.equal(resultSeriesNumber(a, 'pm'), resultSeriesNumber(a, 'sr') + 2);
  assert.equal(resultSeriesNumber(a, 'sr') % 10, 1);
});
