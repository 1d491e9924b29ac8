import type { ServerResponse } from 'node:http';

/**
 * Answers with a JSON body (one line and a line end) that no cache may keep: the node's API
 * answers carry patient-related data or state that changes with every result.
 */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}
