/**
 * The allow-list of calling applications (ADR 0097). A hospital network is not trusted by
 * default: an association is accepted only from a listed calling AE title, and, when the
 * entry names addresses, only from one of them.
 */
import { isIP } from 'node:net';
import { RadiolensError } from '../core/index.js';
import { assertAeTitle } from './aeTitle.js';

export interface AllowedCaller {
  /**
   * Calling AE title, compared after trimming trailing spaces (PS3.8 9.3.2). `*` matches
   * any title; with addresses it admits every application on those hosts (ADR 0110).
   */
  readonly aeTitle: string;
  /** IP addresses this AE may call from; any address when absent or empty. */
  readonly addresses?: readonly string[];
}

/** An allow-list entry with this AE title matches every calling AE title. */
export const ANY_AE_TITLE = '*';

/** 'any' accepts every caller; meant for tests and closed networks, never the default. */
export type CallerPolicy = 'any' | readonly AllowedCaller[];

export function validateCallerPolicy(policy: CallerPolicy): void {
  if (policy === 'any') return;
  for (const caller of policy) {
    assertAeTitle(caller.aeTitle, 'allowed calling AE title');
    for (const address of caller.addresses ?? []) {
      if (isIP(address) === 0) {
        throw new RadiolensError(
          'E_DIMSE_CONFIG',
          `allowed address "${address}" for calling AE ${caller.aeTitle} is not an IP address: list the IPv4 or IPv6 addresses it calls from`,
        );
      }
    }
  }
}

/** IPv4 peers on a dual-stack socket appear as ::ffff:a.b.c.d. */
function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

export function isCallerAllowed(
  policy: CallerPolicy,
  callingAeTitle: string,
  remoteAddress: string | undefined,
): boolean {
  if (policy === 'any') return true;
  const title = callingAeTitle.trim();
  const address = remoteAddress === undefined ? undefined : normalizeAddress(remoteAddress);
  return policy.some(
    (caller) =>
      (caller.aeTitle === ANY_AE_TITLE || caller.aeTitle.trim() === title) &&
      (caller.addresses === undefined ||
        caller.addresses.length === 0 ||
        (address !== undefined && caller.addresses.map(normalizeAddress).includes(address))),
  );
}
