/**
 * The one AE title rule (PS3.5 6.2, VR AE; ADR 0124): at most 16 characters of the default
 * character repertoire, no backslash (the value separator) and no control characters, and
 * not only spaces (leading and trailing spaces are not significant, so all spaces is empty).
 * The SCP's own title, the allow-list, delivery destinations, pull sources and the config
 * file all check titles with it.
 */
import { RadiolensError } from '../core/index.js';

/** How the rule reads in an error message. */
export const AE_TITLE_RULE =
  'an AE title is 1 to 16 printable ASCII characters without a backslash, not all spaces';

export function isAeTitle(value: string): boolean {
  return /^[\x20-\x5b\x5d-\x7e]{1,16}$/.test(value) && value.trim() !== '';
}

/** Throws E_DIMSE_CONFIG naming `what` when `aeTitle` breaks the rule. */
export function assertAeTitle(aeTitle: string, what: string): void {
  if (!isAeTitle(aeTitle)) {
    throw new RadiolensError(
      'E_DIMSE_CONFIG',
      `${what} "${aeTitle}" is not a valid AE title: ${AE_TITLE_RULE}`,
    );
  }
}
