/**
 * Reads an HTTP request body into memory with a size limit, telling a complete body apart
 * from one the client broke off: only a complete body may be stored (ADR 0109).
 */
import type { IncomingMessage } from 'node:http';

export type RequestBody =
  | { readonly kind: 'complete'; readonly body: Buffer }
  | { readonly kind: 'too-large'; readonly receivedBytes: number }
  | { readonly kind: 'aborted'; readonly receivedBytes: number };

export function readRequestBody(req: IncomingMessage, maxBytes: number): Promise<RequestBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const settle = (result: RequestBody): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      // Keep an error listener: a reset after we settled must not crash the process.
      req.off('error', onClose);
      req.on('error', () => undefined);
      if (result.kind !== 'complete') chunks.length = 0; // let the partial body be freed
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > maxBytes) {
        // The rest of the upload is read and discarded while the caller answers 413.
        settle({ kind: 'too-large', receivedBytes: received });
        req.resume();
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => settle({ kind: 'complete', body: Buffer.concat(chunks, received) });
    // 'close' before 'end' (or an 'error' such as ECONNRESET) means the client went away.
    const onClose = (): void => {
      if (!req.complete) settle({ kind: 'aborted', receivedBytes: received });
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', onClose);
  });
}
