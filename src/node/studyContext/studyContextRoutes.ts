/**
 * GET /api/studies/{studyKey}/context (ADR 0197). The path is relative to the API root; access
 * (radiologist) and the audit record (before serving, the study by its key) are the
 * listener's, from the route table.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../../foundation/core/index.js';
import type { StudyContextSource } from './studyContext.js';

export function createStudyContextRoutes(source: StudyContextSource): {
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
} {
  return {
    async handle(req, res, path) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const match = /^\/studies\/([^/]+)\/context$/.exec(path);
      if (match === null) return false;
      const key = match[1]!;
      const context = /^[A-Za-z0-9_-]{8,128}$/.test(key) ? await source.context(key) : undefined;
      if (context === undefined) {
        sendJson(res, 404, {
          error: 'no study with this key on this node',
          remedy: 'take the study key from GET /api/worklist',
        });
        return true;
      }
      sendJson(res, 200, context);
      return true;
    },
  };
}
