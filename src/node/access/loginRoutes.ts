/**
 * POST /api/login, POST /api/logout, GET /api/session (ADR 0175). The listener has already
 * decided access (login is open; the other two need a session); these handlers do the rest:
 * parse the body at the edge, rate-limit failures, check the password, set or clear the
 * cookie, and record each outcome in the audit log.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { AuditTrail } from './auditTrail.js';
import type { LoginThrottlePort } from './loginThrottlePort.js';
import { MAX_PASSWORD_LENGTH } from './password.js';
import { principalOf } from './principal.js';
import type { SessionPort } from './sessionPort.js';
import type { UserPort } from './userPort.js';

export const loginRequestSchema = z
  .object({
    user: z.string().min(1).max(64),
    password: z.string().min(1).max(MAX_PASSWORD_LENGTH),
  })
  .strict();

/** `__Host-` over TLS: the browser then insists on Secure, Path=/ and no Domain. */
export function SESSION_COOKIE(tls: boolean): string {
  return tls ? '__Host-radiolens_session' : 'radiolens_session';
}

const MAX_LOGIN_BODY_BYTES = 4096;
/** Refused (throttled) logins are recorded at most this often per address, reason and user. */
const THROTTLED_RECORD_INTERVAL_MS = 60_000;

export interface LoginRouteOptions {
  readonly users: UserPort;
  readonly sessions: SessionPort;
  /** In memory on the embedded node, in PostgreSQL on a cluster (ADR 0194). */
  readonly throttle: LoginThrottlePort;
  readonly audit: AuditTrail;
  readonly tls: boolean;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** The session id in the request's cookie, or undefined. */
export function sessionCookie(req: IncomingMessage, tls: boolean): string | undefined {
  const name = SESSION_COOKIE(tls);
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function cookie(tls: boolean, value: string, maxAgeSeconds: number): string {
  return [
    `${SESSION_COOKIE(tls)}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${maxAgeSeconds}`,
    ...(tls ? ['Secure'] : []),
  ].join('; ');
}

async function readSmallBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > MAX_LOGIN_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export interface LoginRoutes {
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    operationId: string,
    address: string,
  ): Promise<void>;
}

export function createLoginRoutes(options: LoginRouteOptions): LoginRoutes {
  const { users, sessions, throttle, audit, tls } = options;
  const throttledRecords = new Map<string, { at: number; since: number }>();

  async function login(req: IncomingMessage, res: ServerResponse, address: string): Promise<void> {
    // JSON only: a cross-site form cannot send it without a CORS preflight the node refuses.
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      send(res, 415, { error: 'send {"user", "password"} as application/json' });
      return;
    }
    const body = await readSmallBody(req);
    if (body === undefined) {
      send(
        res,
        413,
        { error: `a login is at most ${MAX_LOGIN_BODY_BYTES} bytes` },
        { connection: 'close' },
      );
      return;
    }
    let parsed: z.infer<typeof loginRequestSchema>;
    try {
      parsed = loginRequestSchema.parse(JSON.parse(body.toString('utf8')));
    } catch {
      send(res, 400, { error: 'send {"user": "<name>", "password": "<password>"} as JSON' });
      return;
    }
    const name = parsed.user.trim().toLowerCase();
    // A name that is no user is not written down: it may be a password typed in the wrong box.
    const subject = (await users.find(name)) === undefined ? 'user:unknown' : `user:${name}`;
    // Counted now, before the password is hashed: concurrent guesses on any node of a cluster
    // cannot all pass a check that is counted only after they failed (ADR 0194).
    const gate = await throttle.admit(address, name);
    if (!gate.allowed) {
      // Once a minute per address and reason, with the count since: a flood of refused
      // attempts must not become a flood of fsynced records.
      const key = `${address}|${gate.by}|${subject}`;
      const last = throttledRecords.get(key);
      const now = Date.now();
      if (last === undefined || now - last.at >= THROTTLED_RECORD_INTERVAL_MS) {
        throttledRecords.delete(key);
        throttledRecords.set(key, { at: now, since: 0 });
        if (throttledRecords.size > 10_000) {
          throttledRecords.delete(throttledRecords.keys().next().value!);
        }
        await audit.record({
          actor: 'anonymous',
          action: 'auth.login-throttled',
          subject,
          details: { address, by: gate.by, refusedSinceLastRecord: last?.since ?? 0 },
        });
      } else {
        last.since += 1;
      }
      send(
        res,
        429,
        {
          error: `too many failed logins ${gate.by === 'user' ? 'for this user' : 'from this address'}; try again in ${gate.retryAfterSeconds} s`,
        },
        { 'retry-after': String(gate.retryAfterSeconds) },
      );
      return;
    }
    const user = await users.authenticate(name, parsed.password);
    if (user === undefined) {
      // Already counted when admitted.
      await audit.record({
        actor: 'anonymous',
        action: 'auth.login-failed',
        subject,
        details: { address },
      });
      send(res, 401, { error: 'wrong user name or password (or the user is disabled)' });
      return;
    }
    await throttle.succeeded(gate.attempt);
    // A new id at every login (no session fixation); an old session of this browser ends.
    const old = sessionCookie(req, tls);
    if (old !== undefined) await sessions.end(old);
    const session = await sessions.create(user.id);
    await audit.record({
      actor: user.name,
      action: 'auth.login',
      subject: `user:${user.name}`,
      details: { address, role: user.role },
    });
    send(
      res,
      200,
      {
        user: user.name,
        role: user.role,
        csrfToken: session.csrfToken,
        expiresAt: new Date(session.expiresAt).toISOString(),
      },
      { 'set-cookie': cookie(tls, session.id, Math.floor(sessions.limits.absoluteMs / 1000)) },
    );
  }

  return {
    async handle(req, res, operationId, address) {
      if (operationId === 'login') {
        await login(req, res, address);
        return;
      }
      const principal = principalOf(req);
      if (principal?.kind !== 'user') {
        send(res, 401, { error: 'no session' });
        return;
      }
      if (operationId === 'logout') {
        await sessions.end(principal.sessionId);
        await audit.record({
          actor: principal.session.userName,
          action: 'auth.logout',
          subject: `user:${principal.session.userName}`,
          details: { address },
        });
        send(res, 200, { loggedOut: true }, { 'set-cookie': cookie(tls, '', 0) });
        return;
      }
      send(res, 200, {
        user: principal.session.userName,
        role: principal.session.role,
        csrfToken: principal.session.csrfToken,
        expiresAt: new Date(principal.session.expiresAt).toISOString(),
      });
    },
  };
}
