/**
 * Who is asking, and whether a route admits them (ADR 0174). Two kinds of client share the
 * HTTP port: people, who log in and hold a cookie session with a role; and machines (a
 * modality or PACS sending STOW-RS, a viewer or PACS reading DICOMweb), which present the
 * node's bearer token or — for STOW-RS only — come from an allowed address (ADR 0131).
 */
import type { IncomingMessage } from 'node:http';
import type { Role } from './roles.js';
import { csrfTokenMatches, isStateChanging, type Session } from './sessions.js';

export type Principal =
  | { readonly kind: 'user'; readonly session: Session; readonly sessionId: string }
  | { readonly kind: 'machine'; readonly by: 'token' | 'address' };

/** Which clients a route admits. */
export interface RouteAccess {
  /** Roles of logged-in users admitted (empty: no person). */
  readonly roles: readonly Role[];
  /**
   * Machine clients admitted: with the bearer token, also from an allowed address, or none.
   */
  readonly machines: 'none' | 'token' | 'token-or-address';
}

export type AccessDecision =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      readonly status: 401 | 403;
      readonly code: 'unauthenticated' | 'forbidden' | 'csrf';
      readonly message: string;
    };

const principals = new WeakMap<IncomingMessage, Principal>();

/** Set by the listener once a request is admitted; read by handlers (who answered, audit). */
export function rememberPrincipal(req: IncomingMessage, principal: Principal): void {
  principals.set(req, principal);
}

export function principalOf(req: IncomingMessage): Principal | undefined {
  return principals.get(req);
}

/** The audit log's `actor`: a user name, or the kind of machine client. */
export function actorOf(principal: Principal | undefined): string {
  if (principal === undefined) return 'anonymous';
  return principal.kind === 'user' ? principal.session.userName : `machine:${principal.by}`;
}

export function describeAccess(access: RouteAccess): string {
  const people = access.roles.length > 0 ? `users with role ${access.roles.join(' or ')}` : '';
  const machines =
    access.machines === 'token'
      ? 'machine clients with the bearer token'
      : access.machines === 'token-or-address'
        ? 'machine clients with the bearer token or from an allowed address'
        : '';
  return [people, machines].filter((p) => p !== '').join('; ');
}

/**
 * 401 when nobody the route admits is asking (no session, no token, an address that only
 * STOW-RS accepts); 403 when someone is known but lacks the role, or a cookie session
 * changes state without its CSRF token.
 */
export function decideAccess(
  access: RouteAccess,
  principal: Principal | undefined,
  req: Pick<IncomingMessage, 'method' | 'headers'>,
): AccessDecision {
  const unauthenticated: AccessDecision = {
    allowed: false,
    status: 401,
    code: 'unauthenticated',
    message: `log in (POST /api/login) or authenticate: this route admits ${describeAccess(access)}`,
  };
  if (principal === undefined) return unauthenticated;
  if (principal.kind === 'machine') {
    if (principal.by === 'address') {
      return access.machines === 'token-or-address' ? { allowed: true } : unauthenticated;
    }
    if (access.machines !== 'none') return { allowed: true };
    return {
      allowed: false,
      status: 403,
      code: 'forbidden',
      message: `the bearer token is for machine clients; this route admits ${describeAccess(access)}`,
    };
  }
  if (!access.roles.includes(principal.session.role)) {
    return {
      allowed: false,
      status: 403,
      code: 'forbidden',
      message: `your role (${principal.session.role}) may not use this route; it admits ${describeAccess(access)}`,
    };
  }
  if (
    isStateChanging(req.method) &&
    !csrfTokenMatches(principal.session, req.headers['x-csrf-token'])
  ) {
    return {
      allowed: false,
      status: 403,
      code: 'csrf',
      message:
        'a change made with a session cookie needs the X-CSRF-Token header (the csrfToken that POST /api/login and GET /api/session return)',
    };
  }
  return { allowed: true };
}
