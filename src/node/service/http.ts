/**
 * The node's HTTP listener (node:http, no framework; ADRs 0113, 0172): GET /health, the
 * DICOMweb STOW-RS ingest endpoint POST /dicomweb/studies[/{StudyInstanceUID}], and — when
 * given — the DICOMweb read routes (QIDO-RS/WADO-RS over the node's store, ADR 0170) and
 * the reading room's API (the radiologist's answers, ADR 0171). Every DICOMweb and API
 * request must pass the access policy first (allowed address or bearer token, ADR 0131);
 * /health is open.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { RadiolensError, describeError } from '../../foundation/core/index.js';
import type { DicomWebReadRoutes } from '../dicomweb/index.js';
import { matchStowRsPath, type StowRsHandler } from '../ingest/stow/index.js';
import { decideHttpAccess, type HttpAccessPolicy } from './httpAccess.js';
import { RateLimitedLog, scrub, type NodeLogger } from './log.js';

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
  /** The reading room's JSON API below API_ROOT (feedback); absent: none. */
  readonly api?: ApiRoutes;
  /** Who may use the DICOMweb routes and the API (ADR 0131). */
  readonly access: HttpAccessPolicy;
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
    const server = createServer((req, res) => {
      const handling = handle(req, res, options, refusals);
      inFlight.add(handling);
      void handling.finally(() => inFlight.delete(handling));
    });
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (cause) =>
        reject(
          new RadiolensError(
            'E_IO',
            `cannot listen for HTTP on ${options.host}:${options.port}: ${cause.message} — choose another --http-port or stop the program using it`,
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

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: NodeHttpOptions,
  refusals: RateLimitedLog,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://node');
  const path = url.pathname;
  try {
    const guarded =
      path === DICOMWEB_ROOT ||
      path.startsWith(`${DICOMWEB_ROOT}/`) ||
      path === API_ROOT ||
      path.startsWith(`${API_ROOT}/`);
    if (guarded) {
      const decision = decideHttpAccess(
        options.access,
        req.socket.remoteAddress,
        req.headers.authorization,
      );
      if (!decision.allowed) {
        const address = req.socket.remoteAddress ?? '';
        refusals.log(
          'warn',
          'http-refused',
          { address, status: decision.status, method: req.method ?? '' },
          address,
        );
        const text = `${JSON.stringify({ error: decision.message }, null, 2)}\n`;
        res.writeHead(decision.status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
          // The upload that may follow is not wanted: no keep-alive reading of it.
          connection: 'close',
          ...(decision.status === 401 ? { 'www-authenticate': 'Bearer realm="radiolens"' } : {}),
        });
        res.end(text);
        return;
      }
    }
    if (path === '/health') {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET' }).end();
        return;
      }
      const report = options.health();
      sendJson(res, report.status === 'unavailable' ? 503 : 200, report);
      return;
    }
    // Reads of patient data (DICOMweb QIDO/WADO) and the reading room's API, behind the
    // access policy above: each group is one call, so that the reading room's login and
    // audit can wrap exactly these (issue #13).
    const readRoute =
      options.dicomWebRead !== undefined &&
      path.startsWith(`${DICOMWEB_ROOT}/`) &&
      (req.method === 'GET' || req.method === 'HEAD');
    const apiRoute = options.api !== undefined && path.startsWith(`${API_ROOT}/`);
    if (readRoute) {
      const below = path.slice(DICOMWEB_ROOT.length);
      if (await options.dicomWebRead!.handle(req, res, below, url.searchParams)) return;
    }
    if (apiRoute) {
      if (await options.api!.handle(req, res, path.slice(API_ROOT.length))) return;
    }
    const stow = path.startsWith(`${DICOMWEB_ROOT}/`)
      ? matchStowRsPath(path.slice(DICOMWEB_ROOT.length))
      : undefined;
    if (stow !== undefined && options.stow !== undefined) {
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'POST' }).end();
        return;
      }
      await options.stow(req, res, stow.studyInstanceUid);
      return;
    }
    sendJson(res, 404, {
      error:
        'not found: this node serves GET /health, POST /dicomweb/studies (STOW-RS), GET /dicomweb/… (QIDO-RS, WADO-RS) and /api/feedback',
    });
  } catch (error) {
    options.logger.error('http-error', {
      code: error instanceof RadiolensError ? error.code : 'E_UNEXPECTED',
      path: scrub(path),
      error: scrub(describeError(error)),
    });
    if (error instanceof Error && error.stack !== undefined) {
      options.logger.log('debug', 'http-error-stack', { stack: scrub(error.stack) });
    }
    if (!res.headersSent) sendJson(res, 500, { error: 'internal error; see the node log' });
    else res.destroy();
  }
}
