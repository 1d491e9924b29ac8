import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pixelmedSrValidator } from '../../../test/support/dicomTools.js';
import {
  recordForPackage,
  shippedModelDirs,
  syntheticHeatmap,
} from '../../../test/support/results.js';
import { heatmapRegion } from './findingRegion.js';
import { writeMeasurementReport } from './measurementReport.js';
import { PARAMETRIC_MAP_STORAGE } from './parametricMap.js';
import { SECONDARY_CAPTURE_IMAGE_STORAGE } from './secondaryCapture.js';
import type { AnalysisRecord } from './types.js';

/**
 * PixelMed's DicomSRValidator checks the report against the SR IOD and the TID 1500 family of
 * templates. It reports no errors; the only messages left are the ones ADR 0143 explains,
 * asserted here as the complete list so a new one fails the test.
 */
const EXPLAINED_WARNINGS = [
  // The finding's presence, "(Pneumonia) = (Present)", coded as the finding's own concept
  // name with Present/Absent: a qualitative evaluation PixelMed's TID 1410/1501 rows do not
  // list by that concept name (ADR 0143).
  /^Warning: [\d.]+: \/CONTAINER \(126000,DCM,"Imaging Measurement Report"\)\/CONTAINER \(126010,DCM,"Imaging Measurements"\)\/CONTAINER \(125007,DCM,"Measurement Group"\)\/CODE \([^)]*\): Content Item not in template$/,
];

function assertOnlyExplained(record: AnalysisRecord): void {
  const result = pixelmedSrValidator(writeMeasurementReport(record).bytes);
  assert.match(result.text, /Found ComprehensiveSR IOD/);
  assert.match(result.text, /Found Root Template TID_1500/);
  assert.deepEqual(result.errors, [], result.text);
  for (const warning of result.warnings) {
    assert.ok(
      EXPLAINED_WARNINGS.some((w) => w.test(warning)),
      `unexplained PixelMed warning: ${warning}`,
    );
  }
  // One presence item per finding: exactly that many warnings, nothing else.
  assert.equal(result.warnings.length, record.findings.length, result.text);
}

test("the shipped model's report passes PixelMed's DicomSRValidator: a region, a hottest point and the whole image", () => {
  // The newest shipped package, with a second finding so every kind of region is present.
  const record = recordForPackage(shippedModelDirs().at(-1)!);
  const first = record.findings[0]!;
  const second = { ...first, labelId: 'second', explanation: undefined };
  first.explanation = {
    region: heatmapRegion(syntheticHeatmap(), first.image),
    secondaryCapture: { sopClassUid: SECONDARY_CAPTURE_IMAGE_STORAGE, sopInstanceUid: '2.25.1' },
    parametricMap: { sopClassUid: PARAMETRIC_MAP_STORAGE, sopInstanceUid: '2.25.2' },
  };
  const third = {
    ...first,
    labelId: 'third',
    explanation: {
      region: {
        graphicType: 'POINT' as const,
        points: [100, 120],
        basis: 'hottest-point' as const,
      },
    },
  };
  assertOnlyExplained({ ...record, findings: [first, second, third] });
});
