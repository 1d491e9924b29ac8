/**
 * Semantic Versioning 2.0.0 (semver.org): the pattern and precedence rules, in a few lines
 * rather than a dependency — the registry only needs "is this a version" and "which is later".
 */
export const SEMVER_PATTERN =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export function isSemver(version: string): boolean {
  return SEMVER_PATTERN.test(version);
}

/** Negative when a precedes b, positive when it follows, 0 when equal precedence (semver §11). */
export function compareSemver(a: string, b: string): number {
  const pa = SEMVER_PATTERN.exec(a);
  const pb = SEMVER_PATTERN.exec(b);
  if (pa === null || pb === null) throw new Error(`not semver: ${pa === null ? a : b}`);
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return d;
  }
  const preA = pa[4];
  const preB = pb[4];
  // A version without a pre-release has higher precedence than one with (1.0.0-rc.1 < 1.0.0).
  if (preA === undefined || preB === undefined) {
    return preA === preB ? 0 : preA === undefined ? 1 : -1;
  }
  const idsA = preA.split('.');
  const idsB = preB.split('.');
  for (let i = 0; i < Math.min(idsA.length, idsB.length); i++) {
    const x = idsA[i]!;
    const y = idsB[i]!;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
    } else if (nx !== ny) {
      return nx ? -1 : 1; // numeric identifiers sort before alphanumeric ones
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return idsA.length - idsB.length;
}

/** 1.0.0-rc.1 is a pre-release; 1.0.0+build-7 is not (build metadata). */
export function isPrerelease(version: string): boolean {
  return SEMVER_PATTERN.exec(version)?.[4] !== undefined;
}
