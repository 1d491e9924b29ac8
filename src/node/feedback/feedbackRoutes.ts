/**
 * The reading room's answer API (ADR 0171): POST /api/feedback records one answer (JSON,
 * validated with zod; 400 naming the field when invalid), GET /api/feedback lists answers,
 * filtered by studyKey, model, version or label. Paths are relative to the API root.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../../foundation/core/index.js';
import { feedbackAnswerSchema } from './feedbackSchema.js';
import type { FeedbackPort } from './feedbackPort.js';
import { ANONYMOUS_LOCAL_USER, type FeedbackRecord } from './feedbackStore.js';

/** The largest answer body accepted; an answer with its comment is well under 4 KiB. */
export const MAX_FEEDBACK_BODY_BYTES = 64 * 1024;

export interface FeedbackRouteOptions {
  /**
   * Who is answering: the logged-in user (issue #13 Deliver 6); 'anonymous-local' only
   * where no identity is given (tests of this module alone).
   */
  readonly identify?: (req: IncomingMessage) => string | undefined;
  /** Called after an answer is stored (audit, live updates); awaited before the answer. */
  readonly onRecorded?: (record: FeedbackRecord) => void | Promise<void>;
}

export interface FeedbackRoutes {
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > MAX_FEEDBACK_BODY_BYTES) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function createFeedbackRoutes(
  store: FeedbackPort,
  options: FeedbackRouteOptions = {},
): FeedbackRoutes {
  return {
    async handle(req, res, path) {
      if (path !== '/feedback') return false;
      if (req.method === 'GET' || req.method === 'HEAD') {
        const search = new URL(req.url ?? '/', 'http://node').searchParams;
        const filter = {
          ...(search.get('studyKey') === null ? {} : { studyKey: search.get('studyKey')! }),
          ...(search.get('model') === null ? {} : { modelId: search.get('model')! }),
          ...(search.get('version') === null ? {} : { modelVersion: search.get('version')! }),
          ...(search.get('label') === null ? {} : { labelId: search.get('label')! }),
        };
        sendJson(res, 200, { answers: await store.list(filter) });
        return true;
      }
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'GET, POST' }).end();
        return true;
      }
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json') {
        sendJson(res, 415, { error: 'send the answer as application/json' });
        return true;
      }
      let body: Buffer;
      try {
        body = await readBody(req);
      } catch (error) {
        if (!(error instanceof BodyTooLarge)) throw error;
        sendJson(
          res,
          413,
          { error: `an answer is at most ${MAX_FEEDBACK_BODY_BYTES} bytes` },
          { connection: 'close' },
        );
        return true;
      }
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        sendJson(res, 400, { error: 'the body is not JSON' });
        return true;
      }
      const parsed = feedbackAnswerSchema.safeParse(json);
      if (!parsed.success) {
        sendJson(res, 400, {
          error: 'the answer is not valid',
          issues: parsed.error.issues.map((issue) => ({
            path: issue.path.join('.'),
            message: issue.message,
          })),
        });
        return true;
      }
      const userId = options.identify?.(req) ?? ANONYMOUS_LOCAL_USER;
      const record = await store.record(parsed.data, userId);
      await options.onRecorded?.(record);
      sendJson(res, 201, record, { location: `/api/feedback?studyKey=${record.studyKey}` });
      return true;
    },
  };
}
