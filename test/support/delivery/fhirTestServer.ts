/**
 * A small FHIR R4 endpoint for delivery tests (test support only): there is no FHIR server in
 * Debian. It accepts `POST /` with a transaction Bundle, validates the Bundle and every
 * resource with the project's real R4 validator (medplum, src/testing/fhirValidation.ts),
 * checks that each entry is `PUT Type/id` matching its resource and that every reference
 * resolves inside the Bundle or to a resource it already holds, stores the resources by
 * Type/id and answers a transaction-response. Invalid content gets 400 with an
 * OperationOutcome; `failNext(n)` makes the next n requests answer 500.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { validateFhirR4 } from '../index.js';
import { freeLoopbackPort } from '../orthanc.js';

type Json = Record<string, unknown>;

export class FhirTestServer {
  /** Resources held, by `Type/id`. */
  readonly resources = new Map<string, Json>();
  /** Every request received: status answered. */
  readonly requests: { status: number; entries: number }[] = [];
  /** Transactions received, whatever the answer. */
  received = 0;
  private failures = 0;
  private stalls = 0;
  private readonly stalled = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
  ) {}

  static async start(): Promise<FhirTestServer> {
    const port = await freeLoopbackPort();
    const holder: { fhir?: FhirTestServer } = {};
    const server = createServer((req, res) => {
      void holder.fhir!.handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    holder.fhir = new FhirTestServer(server, `http://127.0.0.1:${port}/fhir`);
    return holder.fhir;
  }

  /** The next n transactions answer 500 (a server having trouble). */
  failNext(n: number): void {
    this.failures = n;
  }

  /**
   * The next n transactions are applied but never answered: the server committed, and the
   * sender never learns it (it crashes or times out waiting).
   */
  stallNext(n: number): void {
    this.stalls = n;
  }

  async stop(): Promise<void> {
    for (const res of this.stalled) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    this.received += 1;
    const reply = (status: number, body: Json, entries = 0): void => {
      this.requests.push({ status, entries });
      res.writeHead(status, { 'Content-Type': 'application/fhir+json' });
      res.end(JSON.stringify(body));
    };
    const outcome = (status: number, text: string): void =>
      reply(status, {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'invalid', diagnostics: text }],
      });
    if (req.method !== 'POST' || (req.url ?? '').replace(/\/$/, '') !== '/fhir') {
      outcome(404, `no ${req.method} ${req.url}`);
      return;
    }
    if (this.failures > 0) {
      this.failures -= 1;
      outcome(500, 'simulated server failure');
      return;
    }
    if (!/^application\/fhir\+json/.test(req.headers['content-type'] ?? '')) {
      outcome(415, 'Content-Type must be application/fhir+json');
      return;
    }
    let bundle: Json;
    try {
      bundle = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
    } catch {
      outcome(400, 'body is not JSON');
      return;
    }
    const problem = this.check(bundle);
    if (problem !== undefined) {
      outcome(problem.status, problem.text);
      return;
    }
    const entries = bundle['entry'] as { resource: Json; request: { url: string } }[];
    const responses = entries.map(({ resource, request }) => {
      const existed = this.resources.has(request.url);
      this.resources.set(request.url, resource);
      return {
        response: {
          status: existed ? '200 OK' : '201 Created',
          location: `${request.url}/_history/1`,
        },
      };
    });
    if (this.stalls > 0) {
      this.stalls -= 1;
      this.stalled.add(res);
      return;
    }
    reply(
      200,
      { resourceType: 'Bundle', type: 'transaction-response', entry: responses },
      entries.length,
    );
  }

  private check(bundle: Json): { status: number; text: string } | undefined {
    if (bundle['resourceType'] !== 'Bundle' || bundle['type'] !== 'transaction') {
      return { status: 400, text: 'expected a transaction Bundle' };
    }
    try {
      validateFhirR4(bundle);
      const entries = (bundle['entry'] ?? []) as Json[];
      const targets = new Set<string>(this.resources.keys());
      for (const entry of entries) {
        const resource = entry['resource'] as Json;
        const request = entry['request'] as { method?: string; url?: string };
        const expected = `${String(resource['resourceType'])}/${String(resource['id'])}`;
        if (request.method !== 'PUT' || request.url !== expected) {
          return { status: 400, text: `entry for ${expected} is not PUT ${expected}` };
        }
        const issues = validateFhirR4(resource);
        const errors = issues.filter((i) => i.severity === 'error');
        if (errors.length > 0) return { status: 422, text: JSON.stringify(errors) };
        targets.add(expected);
      }
      const unresolved: string[] = [];
      const walk = (node: unknown, key: string): void => {
        if (Array.isArray(node)) node.forEach((n) => walk(n, key));
        else if (node !== null && typeof node === 'object') {
          for (const [k, v] of Object.entries(node as Json)) walk(v, k);
        } else if (key === 'reference' && typeof node === 'string' && !targets.has(node)) {
          unresolved.push(node);
        }
      };
      for (const entry of entries) walk(entry['resource'], '');
      if (unresolved.length > 0)
        return { status: 422, text: `unresolved references: ${unresolved.join(', ')}` };
    } catch (error) {
      // medplum throws an OperationOutcomeError for structural errors.
      return { status: 422, text: `invalid FHIR R4: ${(error as Error).message}` };
    }
    return undefined;
  }
}
