/**
 * GET /api/worklist (the rows in priority order, filtered and paged) and GET
 * /api/worklist/events (Server-Sent Events: a change notice, no patient data). Paths are
 * relative to the API root; access and the audit record of a read are the listener's, from
 * the route table (ADR 0173).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../../foundation/core/index.js';
import type { WorklistChanges } from './worklistChanges.js';
import {
  orderWorklist,
  type AlertBudget,
  type WorklistEntry,
  type WorklistRow,
} from './worklistOrder.js';
import { WORKLIST_DEFAULT_LIMIT, filterRows, parseWorklistQuery } from './worklistQuery.js';

/** A comment line this often keeps proxies from closing an idle stream. */
export const WORKLIST_KEEPALIVE_MS = 25_000;

export interface WorklistRouteOptions {
  /** The entries, read at each request (from the node database, answers perhaps from PostgreSQL). */
  readonly entries: () => WorklistEntry[] | Promise<WorklistEntry[]>;
  readonly budget: AlertBudget;
  readonly changes: WorklistChanges;
  readonly now?: () => number;
  readonly keepAliveMs?: number;
  /**
   * Whether the stream's caller may still hear notices (its session not ended or expired);
   * asked before each notice and keep-alive — a false ends the stream.
   */
  readonly stillAdmitted?: (req: IncomingMessage) => boolean | Promise<boolean>;
}

/** A row as the API answers it (times as ISO 8601). */
function rowJson(row: WorklistRow): object {
  return {
    rank: row.rank,
    urgent: row.urgent,
    actionable: row.actionable,
    reason: row.reason,
    status: row.status,
    studyKey: row.studyKey,
    studyInstanceUid: row.studyInstanceUid,
    model: row.model,
    finding:
      row.finding === null ? null : { label: row.finding.label, meaning: row.finding.meaning },
    probability: row.finding?.probability ?? null,
    threshold: row.finding?.threshold ?? null,
    outOfDistribution: row.outOfDistribution,
    intendedUseCaveat: row.intendedUseCaveat,
    caveats: row.caveats,
    arrivedAt: new Date(row.arrivedAt).toISOString(),
  };
}

export function createWorklistRoutes(options: WorklistRouteOptions): {
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
} {
  const now = options.now ?? Date.now;
  return {
    async handle(req, res, path) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      if (path === '/worklist') {
        const parsed = parseWorklistQuery(new URL(req.url ?? '/', 'http://node').searchParams);
        if (!parsed.ok) {
          sendJson(res, 400, { error: 'the worklist query is not valid', issues: parsed.issues });
          return true;
        }
        const at = now();
        const all = orderWorklist(await options.entries(), options.budget, at);
        const selected = filterRows(all, parsed.query);
        const offset = parsed.query.offset ?? 0;
        const limit = parsed.query.limit ?? WORKLIST_DEFAULT_LIMIT;
        sendJson(res, 200, {
          generatedAt: new Date(at).toISOString(),
          alertBudget: { ...options.budget, urgent: all.filter((r) => r.urgent).length },
          total: selected.length,
          offset,
          limit,
          rows: selected.slice(offset, offset + limit).map(rowJson),
        });
        return true;
      }
      if (path === '/worklist/events') {
        openStream(req, res, options);
        return true;
      }
      return false;
    },
  };
}

function openStream(
  req: IncomingMessage,
  res: ServerResponse,
  options: WorklistRouteOptions,
): void {
  if (req.method === 'HEAD') {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' }).end();
    return;
  }
  // Set below; close() may run before (a notice to a session that just ended).
  const held: { keepAlive?: NodeJS.Timeout; unsubscribe?: () => void } = {};
  const close = (): void => {
    clearInterval(held.keepAlive);
    held.unsubscribe?.();
  };
  // Notices go out in the order they came, each after the check before it: on a shared
  // database the session check is a query (ADR 0188). A check that fails ends the stream.
  let sending: Promise<void> = Promise.resolve();
  const write = (text: string): void => {
    sending = sending
      .then(async () => {
        if (res.writableEnded) return;
        if ((await options.stillAdmitted?.(req)) === false) {
          // A logged-out or expired session hears nothing more: the stream ends.
          close();
          res.end();
          return;
        }
        if (!res.writableEnded) res.write(text);
      })
      .catch(() => {
        close();
        res.end();
      });
  };
  const unsubscribe = options.changes.subscribe((change) => {
    write(`event: worklist-changed\nid: ${change.seq}\ndata: ${JSON.stringify(change)}\n\n`);
  });
  if (unsubscribe === undefined) {
    sendJson(res, 503, {
      error: `${options.changes.maxListeners} worklist streams are open already — close one, or poll GET /api/worklist`,
    });
    return;
  }
  held.unsubscribe = unsubscribe;
  req.socket.once('close', close);
  res.once('close', close);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    // Proxies such as nginx would otherwise hold the notices back.
    'x-accel-buffering': 'no',
  });
  held.keepAlive = setInterval(
    () => write(': keep-alive\n\n'),
    options.keepAliveMs ?? WORKLIST_KEEPALIVE_MS,
  );
  held.keepAlive.unref();
  // A reconnecting client waits 5 s; the first event says the stream is live.
  write(`retry: 5000\nevent: ready\ndata: {}\n\n`);
}
