/**
 * GET /api/audit (auditor only; ADR 0176): whether the chain is intact, and the latest
 * records, newest last. The records name studies by key and users by name: no patient data.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditTrail } from './auditTrail.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

export function createAuditReadRoutes(audit: AuditTrail): {
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
} {
  return {
    async handle(req, res, path) {
      if (path !== '/audit' || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
      const search = new URL(req.url ?? '/', 'http://node').searchParams;
      const asked = Number(search.get('limit') ?? DEFAULT_LIMIT);
      const limit =
        Number.isInteger(asked) && asked > 0 ? Math.min(asked, MAX_LIMIT) : DEFAULT_LIMIT;
      const verification = await audit.chain.verify();
      const entries = await audit.chain.latest(limit);
      const text = `${JSON.stringify({ verification, entries })}\n`;
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
      return true;
    },
  };
}
