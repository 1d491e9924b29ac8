/**
 * The node's HTTP listener (node:http or node:https, no framework; ADRs 0113, 0172, 0173).
 * Every route is one row of the route table (routeTable.ts): the listener matches a request
 * to its row, sets the security headers, decides access from the row (a logged-in user's
 * role, or a machine client's bearer token or allowed address; ADRs 0131, 0174), appends the
 * audit record the row asks for, and hands the request to the part that answers it: /health,
 * STOW-RS, the DICOMweb reads (ADR 0170), login/logout, the JSON API (ADR 0171) or the
 * OpenAPI document generated from the same table, the OHIF Viewer, or the reading room's pages
 * (ADR 0190). Only /health, login (API and page) and the pages' static assets are open; a
 * refused page answers HTML that sends the browser to the login page (ADR 0191).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Socket } from 'node:net';
import { RadiolensError, describeError, outcomeOf } from '../../foundation/core/index.js';
import type { DicomWebReadRoutes } from '../dicomweb/index.js';
import { VIEWER_ROOT, type OhifRoutes } from '../viewer/index.js';
import { matchStowRsPath, type StowRsHandler } from '../ingest/stow/index.js';
import {
  actorOf,
  decideAccess,
  rememberPrincipal,
  securityHeaders,
  sessionCookie,
  type AuditTrail,
  type LoginRoutes,
  type Principal,
  type SessionPort,
} from '../access/index.js';
import { refusalPage, type WebRoutes } from '../web/index.js';
import { decideHttpAccess, normalizeAddress, type HttpAccessPolicy } from './httpAccess.js';
import { RateLimitedLog, scrub, type NodeLogger } from './log.js';
import { openApiDocument } from './openapi.js';
import { ROUTES, matchRoute, type RouteSpec } from './routeTable.js';

export type StowHandler = StowRsHandler;

/** The DICOMweb root of the node; STOW-RS is `${DICOMWEB_ROOT}/studies`. */
export const DICOMWEB_ROOT = '/dicomweb';

export interface HealthReport {
  /**
   * 'unavailable' (503): ingest cannot accept (disk nearly full, database unusable);
   * 'degraded' (200): it can, but something needs a look (a stuck job); 'ok' (200).
   */
  readonly status: 'ok' | 'degraded' | 'unavailable';
  readonly [field: string]: unknown;
}

export interface NodeHttpOptions {
  readonly host: string;
  readonly port: number;
  readonly health: () => HealthReport;
  readonly stow?: StowHandler;
  /** QIDO-RS and WADO-RS below DICOMWEB_ROOT; absent: the node serves no reads. */
  readonly dicomWebRead?: DicomWebReadRoutes;
  /** The OHIF Viewer below VIEWER_ROOT (ADR 0195); absent: /ohif answers 404. */
  readonly viewer?: OhifRoutes;
  /** The reading room's JSON API below API_ROOT (feedback); absent: none. */
  readonly api?: ApiRoutes;
  /** The reading room's pages and their assets (ADR 0190); absent: none. */
  readonly web?: WebRoutes;
  /** Which machine clients are admitted: allowed addresses (STOW-RS only) and the token (ADR 0131). */
  readonly access: HttpAccessPolicy;
  /** Users' sessions and the login routes; absent: nobody can log in (machine clients only). */
  readonly readingRoom?: { readonly sessions: SessionPort; readonly login: LoginRoutes };
  /** Where the records of routes marked `audit: 'before'` go; absent only in tests. */
  readonly audit?: AuditTrail;
  /** Serve HTTPS with this certificate and key (PEM; ADR 0177). */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** Reported in the OpenAPI document. */
  readonly version?: string;
  readonly logger: NodeLogger;
}

/** Refusals are logged once a minute per client address at most (ADR 0133). */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

/** The root of the node's own JSON API. */
export const API_ROOT = '/api';

/** A group of routes that answers the paths it knows and returns false for the rest. */
export interface ApiRoutes {
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export class NodeHttpServer {
  private constructor(
    private readonly server: Server,
    /** Requests being handled, so that stop() can let them finish. */
    private readonly inFlight: Set<Promise<void>>,
    private readonly sockets: Set<Socket>,
    readonly port: number,
  ) {}

  static async start(options: NodeHttpOptions): Promise<NodeHttpServer> {
    const sockets = new Set<Socket>();
    const inFlight = new Set<Promise<void>>();
    const refusals = new RateLimitedLog(options.logger, REFUSAL_LOG_INTERVAL_MS);
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      const handling = handle(req, res, options, refusals);
      inFlight.add(handling);
      void handling.finally(() => inFlight.delete(handling));
    };
    let server: Server;
    try {
      server =
        options.tls === undefined
          ? createServer(onRequest)
          : createTlsServer(
              { cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' },
              onRequest,
            );
    } catch (cause) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `the TLS certificate or key cannot be used: ${(cause as Error).message} — give a PEM certificate and its matching private key (--tls-cert, --tls-key)`,
        { cause },
      );
    }
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (cause) =>
        reject(
          new RadiolensError(
            'E_IO',
            `cannot listen for HTTP${options.tls === undefined ? '' : 'S'} on ${options.host}:${options.port}: ${cause.message} — choose another --http-port or stop the program using it`,
            { cause },
          ),
        ),
      );
      server.listen(options.port, options.host, () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : options.port;
    return new NodeHttpServer(server, inFlight, sockets, port);
  }

  /** Stops accepting; requests in progress (a STOW-RS upload being stored) finish first. */
  async stop(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((r) => setTimeout(r, graceMs).unref()),
    ]);
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}

function sendRefusal(
  res: ServerResponse,
  status: number,
  message: string,
  extra: Record<string, string> = {},
): void {
  const text = `${JSON.stringify({ error: message }, null, 2)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    // A body that may follow (an upload) is not wanted: no keep-alive reading of it.
    connection: 'close',
    ...extra,
  });
  res.end(text);
}

/**
 * Who is asking: the bearer token first (a wrong one is refused, not ignored), then a live
 * session cookie, then an allowed address. Undefined: nobody the node knows.
 */
async function authenticate(
  req: IncomingMessage,
  options: NodeHttpOptions,
): Promise<Principal | 'wrong-token' | undefined> {
  if (/^\s*Bearer\s/i.test(req.headers.authorization ?? '')) {
    const decision = decideHttpAccess(options.access, undefined, req.headers.authorization);
    return decision.allowed ? { kind: 'machine', by: 'token' } : 'wrong-token';
  }
  const sessionId = sessionCookie(req, options.tls !== undefined);
  if (sessionId !== undefined && options.readingRoom !== undefined) {
    const session = await options.readingRoom.sessions.touch(sessionId);
    if (session !== undefined) return { kind: 'user', session, sessionId };
  }
  // A browser is never a machine client: a request with Origin (which browsers send on
  // every POST) is not admitted by address, so a page on an allowed machine — or one that
  // re-binds its DNS name to it — cannot send STOW-RS with the machine's address.
  if (req.headers.origin !== undefined) return undefined;
  const byAddress = decideHttpAccess(options.access, req.socket.remoteAddress, undefined);
  return byAddress.allowed ? { kind: 'machine', by: 'address' } : undefined;
}

/** A study key as StudyKeys makes it; anything else in its place is not written to the log. */
const STUDY_KEY = /^[A-Za-z0-9_-]{22}$/;

/** The audit record of a route marked 'before': which route, which study (by key), no values. */
function auditBefore(
  audit: AuditTrail,
  route: RouteSpec,
  params: Record<string, string>,
  search: URLSearchParams,
  principal: Principal,
  address: string,
): Promise<unknown> {
  // A DICOMweb path names the study by its UID, the reading room's API by its key.
  const study = params['study'];
  const given = params['studyKey'];
  const key =
    given !== undefined
      ? STUDY_KEY.test(given)
        ? given
        : undefined
      : study === undefined
        ? undefined
        : audit.studyKeys.of(study);
  return audit.record({
    actor: actorOf(principal),
    action: `http.${route.operationId}`,
    subject: key === undefined ? route.path : `study:${key}`,
    details: {
      address,
      // Which attributes a search matched on, never their values (they can be names).
      ...(search.size > 0 ? { queryKeys: [...new Set(search.keys())].sort() } : {}),
    },
  });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: NodeHttpOptions,
  refusals: RateLimitedLog,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://node');
  const path = url.pathname;
  const tls = options.tls !== undefined;
  const address = normalizeAddress(req.socket.remoteAddress ?? '');
  for (const [name, value] of Object.entries(securityHeaders(tls))) res.setHeader(name, value);
  try {
    const match = matchRoute(ROUTES, req.method ?? 'GET', path);
    if (match.kind === 'not-found') {
      sendJson(res, 404, {
        error: 'no such route on this node; GET /api/openapi.json lists every route',
      });
      return;
    }
    if (match.kind === 'method-not-allowed') {
      res.writeHead(405, { allow: match.allow }).end();
      return;
    }
    const { route, params } = match;
    if (route.access !== 'public') {
      let principal: Awaited<ReturnType<typeof authenticate>>;
      try {
        principal = await authenticate(req, options);
      } catch (error) {
        // On a shared database the session lives there (ADR 0188): unreachable, nobody can
        // be recognised, and nothing is served to someone unrecognised.
        options.logger.error('session-lookup-failed', { error: scrub(describeError(error)) });
        sendRefusal(
          res,
          503,
          'sessions cannot be checked now (the database does not answer) — try again shortly',
        );
        return;
      }
      const decision =
        principal === 'wrong-token'
          ? ({
              allowed: false,
              status: 401,
              code: 'unauthenticated',
              message: 'the bearer token is not the one this node is configured with',
            } as const)
          : decideAccess(route.access, principal, req);
      if (!decision.allowed) {
        refusals.log(
          'warn',
          'http-refused',
          { address, status: decision.status, reason: decision.code, operation: route.operationId },
          `${address} ${decision.code}`,
        );
        const challenge: Record<string, string> =
          decision.status === 401 ? { 'www-authenticate': 'Bearer realm="radiolens"' } : {};
        if (route.produces === 'text/html') {
          // A person's browser: the same status, and a page that sends them to log in.
          const text = refusalPage(decision.status, decision.message, path);
          res.writeHead(decision.status, {
            'content-type': 'text/html; charset=utf-8',
            'content-length': Buffer.byteLength(text),
            ...challenge,
          });
          res.end(text);
          return;
        }
        sendRefusal(res, decision.status, decision.message, challenge);
        return;
      }
      const admitted = principal as Principal;
      rememberPrincipal(req, admitted);
      if (route.audit === 'before' && options.audit !== undefined) {
        try {
          await auditBefore(options.audit, route, params, url.searchParams, admitted, address);
        } catch (error) {
          options.logger.error('audit-failed', {
            operation: route.operationId,
            error: scrub(describeError(error)),
          });
          sendRefusal(
            res,
            503,
            'the audit log cannot be written, and nothing is served without its record — see the node log',
          );
          return;
        }
      }
    }
    if (await dispatch(req, res, route, params, url, address, options)) return;
    sendJson(res, 404, { error: 'not found' });
  } catch (error) {
    options.logger.error('http-error', {
      code: error instanceof RadiolensError ? error.code : 'E_UNEXPECTED',
      path: scrub(path),
      error: scrub(describeError(error)),
    });
    if (error instanceof Error && error.stack !== undefined) {
      options.logger.log('debug', 'http-error-stack', { stack: scrub(error.stack) });
    }
    if (!res.headersSent) {
      // A store that does not answer now (the shared database, ADR 0188; a full disk) is
      // 503, try again; anything else is our fault.
      if (error instanceof RadiolensError && outcomeOf(error).httpStatus === 503) {
        sendJson(res, 503, {
          error: 'the node cannot reach its store just now; try again shortly',
        });
      } else sendJson(res, 500, { error: 'internal error; see the node log' });
    } else res.destroy();
  }
}

/** Hands an admitted request to the part that answers its route; false when none did. */
async function dispatch(
  req: IncomingMessage,
  res: ServerResponse,
  route: RouteSpec,
  params: Record<string, string>,
  url: URL,
  address: string,
  options: NodeHttpOptions,
): Promise<boolean> {
  switch (route.handler) {
    case 'health': {
      const report = options.health();
      sendJson(res, report.status === 'unavailable' ? 503 : 200, report);
      return true;
    }
    case 'openapi':
      sendJson(
        res,
        200,
        openApiDocument(ROUTES, {
          version: options.version ?? '0.0.0',
          tls: options.tls !== undefined,
        }),
      );
      return true;
    case 'login':
      if (options.readingRoom === undefined) return false;
      await options.readingRoom.login.handle(req, res, route.operationId, address);
      return true;
    case 'stow': {
      const stow = matchStowRsPath(url.pathname.slice(DICOMWEB_ROOT.length));
      if (stow === undefined || options.stow === undefined) return false;
      await options.stow(req, res, stow.studyInstanceUid);
      return true;
    }
    case 'dicomweb-read':
      if (options.dicomWebRead === undefined) return false;
      return options.dicomWebRead.handle(
        req,
        res,
        url.pathname.slice(DICOMWEB_ROOT.length),
        url.searchParams,
      );
    case 'web':
      return options.web?.handle(req, res, route.operationId, params) ?? false;
    case 'viewer':
      if (options.viewer === undefined) return false;
      return options.viewer.handle(req, res, url.pathname.slice(VIEWER_ROOT.length));
    case 'api':
      if (options.api === undefined) return false;
      return options.api.handle(req, res, url.pathname.slice(API_ROOT.length));
  }
}
