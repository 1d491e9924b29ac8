/**
 * A multipart/related response (RFC 2387, PS3.18 §8.7.1) written part by part: each part is
 * sent as soon as it is available and a stored file is piped from disk, so a study of any
 * size passes through a bounded amount of memory. The boundary is random (128 bits): it
 * cannot be chosen by scanning the parts, which have not been read when the headers go out.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { formatParameterValue } from '../../foundation/dicomweb/index.js';

export class MultipartWriter {
  readonly boundary = `radiolens-${randomBytes(16).toString('hex')}`;
  private parts = 0;

  constructor(private readonly res: ServerResponse) {}

  /** Sends the status and the Content-Type `multipart/related; type=…; boundary=…`. */
  start(type: string, extraParameters: Readonly<Record<string, string>> = {}): void {
    const parameters = Object.entries({ type, ...extraParameters })
      .map(
        ([name, value]) =>
          `; ${name}=${name === 'type' ? `"${type}"` : formatParameterValue(value)}`,
      )
      .join('');
    this.res.writeHead(200, {
      'content-type': `multipart/related${parameters}; boundary=${this.boundary}`,
      // Retrieved instances hold patient data: never kept by shared caches.
      'cache-control': 'no-store',
    });
  }

  private async write(chunk: string | Uint8Array): Promise<void> {
    if (!this.res.write(chunk)) await once(this.res, 'drain');
  }

  private head(contentType: string, length: number): string {
    return `${this.parts++ === 0 ? '' : '\r\n'}--${this.boundary}\r\nContent-Type: ${contentType}\r\nContent-Length: ${length}\r\n\r\n`;
  }

  async part(contentType: string, body: Uint8Array): Promise<void> {
    await this.write(this.head(contentType, body.byteLength));
    await this.write(body);
  }

  /** A part whose body is a file on disk, streamed rather than read whole. */
  async filePart(contentType: string, path: string, size: number): Promise<void> {
    await this.write(this.head(contentType, size));
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
      if (this.res.destroyed) throw new Error('the client closed the connection');
      await this.write(chunk as Buffer);
    }
  }

  async end(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.res.end(`${this.parts === 0 ? '' : '\r\n'}--${this.boundary}--\r\n`, () => resolve()),
    );
  }
}
