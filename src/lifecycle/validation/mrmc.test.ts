import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { sharedDir } from '../../../test/support/index.js';
import { aucWithDelong, type MrmcReading, mrmcAnalysis } from './index.js';
import { readCsvFile } from '../../foundation/csv/index.js';

function vanDyke(): MrmcReading[] {
  const table = readCsvFile(join(sharedDir, 'data', 'reference-stats', 'VanDyke.csv'));
  return table.rows.map((row) => ({
    reader: row.reader!,
    caseId: row.case!,
    modality: row.treatment!,
    truth: row.truth === '1' ? 1 : 0,
    score: Number(row.rating),
  }));
}

/** Agreement with a published number to half a unit in its last printed decimal. */
function printed(actual: number, expected: string): void {
  const decimals = expected.split('.')[1]?.length ?? 0;
  const tolerance = 0.5 * 10 ** -decimals * (1 + 1e-9);
  assert.ok(
    Math.abs(actual - Number(expected)) <= tolerance,
    `${actual} does not round to ${expected}`,
  );
}

describe('MRMC Obuchowski–Rockette — OR-DBM MRMC 2.51 VanDyke results', () => {
  const readings = vanDyke();
  const result = mrmcAnalysis(readings);

  it('reader AUCs and their means', () => {
    const t1 = ['0.91964573', '0.85877617', '0.90386473', '0.97310789', '0.82979066'];
    const t2 = ['0.94782609', '0.90531401', '0.92173913', '0.99935588', '0.92995169'];
    assert.deepEqual(result.readers, ['1', '2', '3', '4', '5']);
    result.readers.forEach((reader, j) => {
      printed(result.readerAuc['1']![reader]!, t1[j]!);
      printed(result.readerAuc['2']![reader]!, t2[j]!);
    });
    printed(result.meanAuc['1']!, '0.89703704');
    printed(result.meanAuc['2']!, '0.94083736');
    printed(result.difference, '-0.04380032');
  });

  it('jackknife variance components and mean squares', () => {
    const v = result.varianceComponents;
    printed(v.varError, '0.00080229');
    printed(v.cov1, '0.00034661');
    printed(v.cov2, '0.00034407');
    printed(v.cov3, '0.00023903');
    printed(v.msT, '0.00479617');
    printed(v.msTR, '0.00055103');
  });

  it('random readers, random cases: F, Hillis df, p, CI', () => {
    printed(result.rrrc.statistic, '4.456319');
    assert.equal(result.rrrc.df[0], 1);
    printed(result.rrrc.df[1], '15.25967');
    printed(result.rrrc.p, '0.05166569');
    printed(result.rrrc.ci[0], '-0.0879595');
    printed(result.rrrc.ci[1], '0.0003589');
    // MRMCaov prints the standard error and the single-modality CIs too.
    printed(result.rrrc.standardError, '0.02074862');
    printed(result.modalityCi[0]!.ci[0], '0.8252236');
    printed(result.modalityCi[0]!.ci[1], '0.9688505');
    printed(result.modalityCi[1]!.df, '12.71019');
  });

  it('fixed readers and fixed cases follow their formulas', () => {
    const v = result.varianceComponents;
    const den = v.varError - v.cov1 + 4 * Math.max(v.cov2 - v.cov3, 0);
    assert.ok(Math.abs(result.frrc.statistic - v.msT / den) < 1e-15);
    assert.equal(result.frrc.df[1], Infinity);
    assert.ok(result.frrc.p < result.rrrc.p); // fixed readers: less uncertainty
    assert.ok(Math.abs(result.rrfc.statistic - v.msT / v.msTR) < 1e-12);
    assert.deepEqual(result.rrfc.df, [1, 4]);
    printed(result.rrfc.statistic, '8.704');
  });

  it('DeLong covariance gives similar components', () => {
    const delong = mrmcAnalysis(readings, { covariance: 'delong' });
    assert.equal(delong.covarianceMethod, 'delong');
    assert.equal(delong.difference, result.difference);
    assert.ok(
      Math.abs(delong.varianceComponents.varError - result.varianceComponents.varError) < 5e-5,
    );
    assert.ok(Math.abs(delong.rrrc.p - result.rrrc.p) < 0.005);
    // Var(error) is the mean of each reader × modality's own DeLong variance.
    const own = delong.modalities.flatMap((m) =>
      delong.readers.map(
        (reader) =>
          aucWithDelong({
            truth: readings
              .filter((r) => r.modality === m && r.reader === reader)
              .map((r) => r.truth),
            scores: readings
              .filter((r) => r.modality === m && r.reader === reader)
              .map((r) => r.score),
          }).variance,
      ),
    );
    const meanOwn = own.reduce((s, v) => s + v, 0) / own.length;
    assert.ok(Math.abs(delong.varianceComponents.varError - meanOwn) < 1e-15);
  });

  it('summarises time to diagnosis when times are given', () => {
    const timed = readings.map((r) => ({
      ...r,
      time: (r.modality === '1' ? 60 : 50) + Number(r.reader),
    }));
    const t = mrmcAnalysis(timed).timeToDiagnosis!;
    assert.equal(t.byModality[0]!.mean, 63);
    assert.equal(t.byModality[1]!.median, 53);
    assert.equal(t.meanDifference, 10);
    assert.ok(Math.abs(t.differenceCi[0] - 10) < 1e-9 && Math.abs(t.differenceCi[1] - 10) < 1e-9);
  });

  it('rejects incomplete designs and impossible data with E_BAD_INPUT', () => {
    assert.throws(
      () => mrmcAnalysis(readings.slice(1)),
      /reader 1 has no reading of case 1 in modality 1 — this analysis needs every reader/,
    );
    assert.throws(
      () => mrmcAnalysis(readings.filter((r) => r.modality === '1')),
      /only one modality/,
    );
    assert.throws(() => mrmcAnalysis(readings.filter((r) => r.reader === '1')), /only one reader/);
    assert.throws(
      () => mrmcAnalysis([...readings, readings[0]!]),
      /read case 1 in modality 1 twice/,
    );
    assert.throws(
      () => mrmcAnalysis(readings.map((r, i) => (i === 3 ? { ...r, score: Number.NaN } : r))),
      /has score NaN, not a finite number/,
    );
    assert.throws(
      () => mrmcAnalysis(readings.map((r, i) => (i === 0 ? { ...r, truth: 1 } : r))),
      /case 1 has truth .* in one row and .* in another/,
    );
    assert.throws(() => mrmcAnalysis([]), /no readings/);
  });
});
