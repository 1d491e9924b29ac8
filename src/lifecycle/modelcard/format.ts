/**
 * The only ways a number gets into the model card. Keeping them few and named lets the test
 * check that every number in the Markdown is one of the input files' numbers so formatted.
 */
export const fixed3 = (value: number): string => value.toFixed(3);
export const percent = (fraction: number): string => `${(100 * fraction).toFixed(1)}%`;
export const count = (value: number): string => String(value);
/** A confidence level (0.95) as the percentage people write (95). */
export const levelPercent = (level: number): string => String(Math.round(level * 100));
export const interval = (
  ci: readonly [number, number],
  f: (v: number) => string = fixed3,
): string => `${f(ci[0])}–${f(ci[1])}`;

/** Three significant digits, for values of any magnitude (p-values, weights). */
export const significant = (value: number): string => String(Number(value.toPrecision(3)));

export const FORMATTERS: ReadonlyArray<(value: number) => string> = [
  fixed3,
  percent,
  count,
  levelPercent,
  significant,
  (v) => (100 * v).toFixed(1),
];
