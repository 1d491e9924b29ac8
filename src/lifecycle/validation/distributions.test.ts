import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chiSquareSurvival,
  fCdf,
  fQuantile,
  fSurvival,
  logGamma,
  normalCdf,
  normalQuantile,
  regularizedIncompleteBeta,
  studentTCdf,
  studentTQuantile,
} from './index.js';

function close(actual: number, expected: number, relative = 1e-12): void {
  const tolerance = relative * Math.max(1, Math.abs(expected));
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${actual} is not within ${tolerance} of ${expected}`,
  );
}

describe('special functions', () => {
  it('logGamma matches factorials and Γ(1/2) = √π', () => {
    close(logGamma(1), 0);
    close(logGamma(5), Math.log(24));
    close(logGamma(0.5), 0.5 * Math.log(Math.PI));
    close(logGamma(100), 359.1342053695754, 1e-13);
  });

  it('incomplete beta matches closed forms', () => {
    for (const x of [0.01, 0.3, 0.5, 0.77, 0.999]) {
      close(regularizedIncompleteBeta(x, 1, 1), x); // uniform
      close(regularizedIncompleteBeta(x, 3, 1), x ** 3); // I_x(a, 1) = x^a
      close(regularizedIncompleteBeta(x, 1, 2.5), 1 - (1 - x) ** 2.5); // I_x(1, b) = 1 − (1−x)^b
      close(regularizedIncompleteBeta(x, 2.5, 4.5) + regularizedIncompleteBeta(1 - x, 4.5, 2.5), 1);
    }
    // scipy.special.betainc(2.5, 4.5, 0.3)
    close(regularizedIncompleteBeta(0.3, 2.5, 4.5), 0.40653901668245934, 1e-13);
  });
});

describe('normal distribution', () => {
  it('matches R to machine precision', () => {
    close(normalQuantile(0.975), 1.959963984540054, 1e-15); // qnorm(0.975)
    close(normalQuantile(0.025), -1.959963984540054, 1e-15);
    close(normalQuantile(1e-10), -6.361340902404056, 1e-14);
    close(normalCdf(-1.96), 0.024997895148220435, 1e-13);
    close(normalCdf(0.5), 0.6914624612740131, 1e-14);
    // Far tail keeps relative accuracy: pnorm(-10) = 7.61985302416047e-24
    assert.ok(Math.abs(normalCdf(-10) / 7.61985302416047e-24 - 1) < 1e-12);
  });
  it('quantile inverts the CDF', () => {
    for (const p of [1e-6, 0.01, 0.3, 0.5, 0.9, 0.999])
      close(normalCdf(normalQuantile(p)), p, 1e-13);
  });
});

describe('Student t distribution', () => {
  it('matches closed forms for 1 and 2 df', () => {
    for (const t of [-3, -0.4, 0, 1.2, 7]) {
      close(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI); // Cauchy
      close(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)));
    }
  });
  it('matches R qt/pt, including non-integer df', () => {
    close(studentTQuantile(0.975, 10), 2.228138851986274, 1e-13); // qt(0.975, 10)
    close(studentTQuantile(0.975, 1), 12.70620473617471, 1e-13);
    close(studentTQuantile(0.025, 4), -2.776445105197793, 1e-13);
    close(studentTQuantile(0.975, 15.25967), 2.128294850018532, 1e-12);
    close(studentTCdf(2, 5), 0.9490302605850709, 1e-13); // pt(2, 5)
  });
  it('quantile inverts the CDF', () => {
    for (const df of [1.5, 3, 30]) {
      for (const p of [0.001, 0.2, 0.5, 0.8, 0.999])
        close(studentTCdf(studentTQuantile(p, df), df), p, 1e-12);
    }
  });
});

describe('F and chi-square distributions', () => {
  it('matches closed forms', () => {
    for (const f of [0.1, 1, 4.5]) {
      close(fCdf(f, 2, 2), f / (1 + f)); // F(2, 2)
      close(fSurvival(f * f, 1, 7), 2 * (1 - studentTCdf(f, 7))); // F(1, ν) = t²
      close(chiSquareSurvival(f, 2), Math.exp(-f / 2)); // χ²₂ is exponential
    }
  });
  it('matches R pf/qf/pchisq', () => {
    // pf(4.456319, 1, 15.25967, lower.tail = FALSE): the VanDyke RRRC p-value
    close(fSurvival(4.456319, 1, 15.25967), 0.051665683957296094, 1e-12);
    close(fCdf(3, 2, 7), 0.885437783660932, 1e-13);
    close(fQuantile(0.95, 3, 12), 3.490294819497605, 1e-12);
    close(chiSquareSurvival(3.84, 1), 0.05004352124870519, 1e-12);
  });
  it('rejects impossible degrees of freedom with E_BAD_INPUT', () => {
    assert.throws(() => studentTCdf(1, 0), /E_BAD_INPUT/);
    assert.throws(() => fSurvival(1, 1, -2), /E_BAD_INPUT/);
  });
});
