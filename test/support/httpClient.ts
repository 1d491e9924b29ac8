/**
 * A small HTTP(S) client for tests of the node's listener: any method, headers (cookies
 * included, which fetch's callers tend to forget), a body, a trusted CA for HTTPS. Test support.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export interface HttpCall {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** PEM of the certificate to trust (HTTPS with a self-signed certificate). */
  readonly ca?: Buffer;
  /**
   * Answer as soon as the status and headers arrive, then close: for a stream that does not
   * end (Server-Sent Events); a short answer's body (a refusal) is still read whole.
   */
  readonly headersOnly?: boolean;
}

export function httpCall(url: string, call: HttpCall = {}): Promise<HttpAnswer> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: call.method ?? 'GET',
        headers: call.headers ?? {},
        ...(call.ca === undefined ? {} : { ca: call.ca }),
      },
      (res) => {
        if (call.headersOnly === true && res.statusCode === 200) {
          resolve({ status: res.statusCode, headers: res.headers, body: '' });
          res.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(call.body);
  });
}

/** The `name=value` part of a Set-Cookie header, for sending back as Cookie. */
export function cookieOf(answer: HttpAnswer): string {
  const header = answer.headers['set-cookie'];
  const first = Array.isArray(header) ? header[0] : header;
  if (first === undefined) throw new Error(`no Set-Cookie in the answer (status ${answer.status})`);
  return first.split(';')[0]!;
}
