/** commander option parsers shared by the commands. */

/** A repeatable option: each use adds one value. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Keep what was typed when it is not a number: the config schema names the problem. */
export const toNumber = (value: string): number =>
  value.trim() === '' ? Number.NaN : Number(value);
