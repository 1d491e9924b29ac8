/**
 * Spools an HTTP request body to a file with a size limit, telling a complete body apart
 * from one the client broke off: only a complete body may be stored (ADR 0109). The body
 * is never held whole in memory (issue #16, ADR 0132): each chunk is written before the
 * next is read, and the scanner notes multipart delimiters on the way.
 */
import type { IncomingMessage } from 'node:http';
import type { FileHandle } from 'node:fs/promises';
import { writeAllAt } from '../../../foundation/core/index.js';
import type { DelimiterScanner } from '../../spool/index.js';

export type RequestBody =
  | { readonly kind: 'complete'; readonly size: number }
  | { readonly kind: 'too-large'; readonly receivedBytes: number }
  | { readonly kind: 'aborted'; readonly receivedBytes: number };

export function spoolRequestBody(
  req: IncomingMessage,
  file: FileHandle,
  scanner: DelimiterScanner,
  maxBytes: number,
): Promise<RequestBody> {
  return new Promise((resolve, reject) => {
    let received = 0;
    let settled = false;
    /** Writes run one after the other; 'end' waits for the last. */
    let writing: Promise<void> = Promise.resolve();
    const settle = (result: RequestBody): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      // Keep an error listener: a reset after we settled must not crash the process.
      req.off('error', onClose);
      req.on('error', () => undefined);
      resolve(result);
    };
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      req.resume();
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > maxBytes) {
        // The rest of the upload is read and discarded while the caller answers 413.
        settle({ kind: 'too-large', receivedBytes: received });
        req.resume();
        return;
      }
      try {
        scanner.push(chunk);
      } catch (error) {
        fail(error);
        return;
      }
      const at = received - chunk.length;
      // Back-pressure: no more data until this chunk is on its way to the disk.
      req.pause();
      writing = writing
        .then(() => writeAllAt(file, chunk, at))
        .then(() => {
          if (!settled) req.resume();
        }, fail);
    };
    const onEnd = (): void => {
      void writing.then(() => settle({ kind: 'complete', size: received }), fail);
    };
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
