/**
 * Who may write to the node over HTTP (issue #16, ADR 0131). Until the reading room's login
 * exists, a DICOMweb request (STOW-RS today; any later route that reads or writes patient
 * data) is accepted only from a client address on the HTTP allow-list — by default the
 * addresses the DICOM allow-list names — or with the configured bearer token. The token is
 * kept only as its sha256 and compared in constant time. `/health` carries no patient data
 * and stays open.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

export interface HttpAccessPolicy {
  /** Client addresses admitted without a token (IPv4 or IPv6). */
  readonly allowAddresses: readonly string[];
  /** sha256 (hex) of the bearer token, or null when none is configured. */
  readonly tokenSha256: string | null;
}

export type HttpAccessDecision =
  | { readonly allowed: true; readonly by: 'address' | 'token' }
  | { readonly allowed: false; readonly status: 401 | 403; readonly message: string };

/** IPv4 peers on a dual-stack socket appear as ::ffff:a.b.c.d. */
export function normalizeAddress(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower;
}

export function sha256OfToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The bearer token of an Authorization header, or undefined. */
function bearerToken(header: string | undefined): string | undefined {
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

export function decideHttpAccess(
  policy: HttpAccessPolicy,
  remoteAddress: string | undefined,
  authorization: string | undefined,
): HttpAccessDecision {
  const token = bearerToken(authorization);
  if (token !== undefined && policy.tokenSha256 !== null) {
    // Both sides are 32-byte digests: equal lengths, so timingSafeEqual never throws and
    // the comparison time says nothing about the token.
    const given = createHash('sha256').update(token, 'utf8').digest();
    if (timingSafeEqual(given, Buffer.from(policy.tokenSha256, 'hex'))) {
      return { allowed: true, by: 'token' };
    }
    return {
      allowed: false,
      status: 401,
      message: 'the bearer token is not the one this node is configured with',
    };
  }
  const address = remoteAddress === undefined ? undefined : normalizeAddress(remoteAddress);
  if (address !== undefined && policy.allowAddresses.map(normalizeAddress).includes(address)) {
    return { allowed: true, by: 'address' };
  }
  if (policy.tokenSha256 !== null) {
    return {
      allowed: false,
      status: 401,
      message:
        'DICOMweb on this node needs "Authorization: Bearer <token>" from this address — ask the node\'s operator for the token',
    };
  }
  return {
    allowed: false,
    status: 403,
    message:
      `this node accepts DICOMweb requests only from ${policy.allowAddresses.join(', ') || 'no address'}; ` +
      "the operator can add this client's address to http.allowAddresses or configure a token (RADIOLENS_HTTP_TOKEN)",
  };
}

/** One line for the start-up log: who may write over HTTP. */
export function describeHttpAccess(policy: HttpAccessPolicy): string {
  const addresses =
    policy.allowAddresses.length > 0 ? `clients ${policy.allowAddresses.join(', ')}` : '';
  const token = policy.tokenSha256 !== null ? 'a bearer token' : '';
  const ways = [addresses, token].filter((w) => w !== '');
  return ways.length === 0 ? 'nobody (no allowed address, no token)' : ways.join(' or ');
}
