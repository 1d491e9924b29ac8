/**
 * GET /api/models and GET /api/models/{id}/{version} (ADR 0196). Paths are relative to the API
 * root; access (any logged-in role) is the listener's, from the route table.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../../foundation/core/index.js';
import type { ModelCatalog } from './modelCatalog.js';

const SEGMENT = /^[A-Za-z0-9][\w.+-]{0,127}$/;

export function createModelCatalogRoutes(catalog: ModelCatalog): {
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
} {
  return {
    async handle(req, res, path) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      if (path === '/models') {
        sendJson(res, 200, { models: await catalog.list() });
        return true;
      }
      const match = /^\/models\/([^/]+)\/([^/]+)$/.exec(path);
      if (match === null) return false;
      const [id, version] = [decodeURIComponent(match[1]!), decodeURIComponent(match[2]!)];
      const detail =
        SEGMENT.test(id) && SEGMENT.test(version) ? await catalog.detail(id, version) : undefined;
      if (detail === undefined) {
        sendJson(res, 404, {
          error: `no model ${id.slice(0, 128)}@${version.slice(0, 64)} is installed in this node's registry`,
          remedy: 'GET /api/models lists the installed versions',
        });
        return true;
      }
      sendJson(res, 200, detail);
      return true;
    },
  };
}
