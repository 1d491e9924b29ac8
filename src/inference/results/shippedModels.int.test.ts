import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basename, dirname } from 'node:path';
import { dciodvfy } from '../../../test/support/dicomTools.js';
import {
  recordForPackage,
  shippedModelDirs,
  syntheticDisplay,
  syntheticHeatmap,
} from '../../../test/support/results.js';
import { writeMeasurementReport, writeParametricMap, writeSecondaryCapture } from './index.js';

/**
 * Every object written for every model package in models/ passes dciodvfy with no errors
 * (issue #12): the fixture models of the other tests have short names, the shipped ones not.
 * The one warning accepted is dciodvfy not knowing our private coding scheme (ADR 0041).
 */
const ACCEPTED_WARNINGS = [
  /^Warning - Unrecognized defined term <99RADIOLENS> for value 1 of attribute <Coding Scheme Designator>$/,
  // Parametric Map: Image Type / Frame Type value 3 (image flavor) has no defined term for a
  // class activation map; HEATMAP is ours (ADR 0142).
  /^Warning - Unrecognized defined term <HEATMAP> for value 3 of attribute <(Image|Frame) Type>$/,
];

const dirs = shippedModelDirs();
const lungs = dirs
  .filter((dir) => basename(dirname(dir)) === 'cxr-lungs')
  .map((dir) => recordForPackage(dir).algorithm);

test('models/ holds packages to check', () => {
  assert.ok(dirs.length >= 3, dirs.join(', '));
  assert.ok(lungs.length >= 1, 'the lung segmentation package');
});

for (const dir of dirs) {
  const name = `${basename(dirname(dir))}@${basename(dir)}`;

  test(`${name}: SR, SC and Parametric Map pass dciodvfy with no errors`, () => {
    // With the shipped lung model as contributor, as analyze names it (ADR 0145): its long
    // display name goes into the same fitted attributes.
    const record = {
      ...recordForPackage(dir),
      contributors: lungs.map((algorithm) => ({
        role: 'lung field segmentation (input region)',
        algorithm,
      })),
    };
    const pm = writeParametricMap({
      record,
      image: record.sources[0]!,
      heatmap: syntheticHeatmap(),
      finding: record.findings[0]!,
    });
    const sr = writeMeasurementReport(record);
    const sc = writeSecondaryCapture({
      record,
      image: record.sources[0]!,
      display: syntheticDisplay(),
      heatmap: syntheticHeatmap(),
      findings: record.findings,
    });
    for (const [kind, bytes] of [
      ['SR', sr.bytes],
      ['SC', sc.bytes],
      ['PM', pm.bytes],
    ] as const) {
      const result = dciodvfy(bytes);
      assert.deepEqual(result.errors, [], `${name} ${kind}:\n${result.text}`);
      for (const warning of result.warnings) {
        assert.ok(
          ACCEPTED_WARNINGS.some((w) => w.test(warning)),
          `${name} ${kind}: unexpected warning ${warning}`,
        );
      }
    }
    assert.match(
      String(sr.dataset['SeriesDescription']),
      new RegExp(` ${record.algorithm.version} findings$`),
    );
  });
}
