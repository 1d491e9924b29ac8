/**
 * FHIR destination (ADR 0104): the analysis writes a `collection` Bundle whose resources have
 * deterministic ids (ADR 0044). We send it as a `transaction` whose entries are
 * `PUT <ResourceType>/<id>`, with every urn:uuid reference rewritten to `<ResourceType>/<id>`,
 * so a resend updates the same resources instead of creating copies, and no server-side
 * urn:uuid resolution is needed. 200 with a transaction-response Bundle is delivered.
 */
import { RadiolensError, describeError } from '../../foundation/core/index.js';
import type { DeliveryPayload, Destination } from './destinations.js';
import {
  DELIVERED,
  networkReason,
  rejected,
  retry,
  type SendOutcome,
  type Sender,
  readResultFile,
} from './sender.js';

type FhirDestination = Extract<Destination, { kind: 'fhir' }>;
type Json = Record<string, unknown>;

export interface FhirSenderOptions {
  /** Whole-request limit; default 60 s. */
  readonly timeoutMs?: number;
}

const RETRY_HTTP: ReadonlySet<number> = new Set([401, 403, 404, 405, 407, 408, 425, 429]);

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function badBundle(why: string): RadiolensError {
  return new RadiolensError(
    'E_BAD_INPUT',
    `the FHIR Bundle ${why} — expected the collection Bundle written by the analysis (fhir-bundle.json)`,
  );
}

/** Replaces every `reference` that names a Bundle entry's fullUrl by its `Type/id`. */
function rewriteReferences(node: unknown, targets: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(node)) return node.map((n) => rewriteReferences(n, targets));
  if (!isObject(node)) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] =
      key === 'reference' && typeof value === 'string' && targets.has(value)
        ? targets.get(value)
        : rewriteReferences(value, targets);
  }
  return out;
}

/**
 * Turns a collection Bundle into an idempotent transaction Bundle. Throws E_BAD_INPUT when it
 * is not a Bundle or an entry lacks a resource type or id (a PUT needs both).
 */
export function toTransactionBundle(collection: unknown): Json {
  if (!isObject(collection) || collection['resourceType'] !== 'Bundle') {
    throw badBundle('is not a Bundle');
  }
  const entries = collection['entry'];
  if (!Array.isArray(entries) || entries.length === 0) throw badBundle('has no entries');
  const targets = new Map<string, string>();
  const resources: { resource: Json; target: string; fullUrl: string | undefined }[] = [];
  for (const [i, entry] of entries.entries()) {
    const resource = isObject(entry) ? entry['resource'] : undefined;
    if (!isObject(resource)) throw badBundle(`entry ${i} has no resource`);
    const type = resource['resourceType'];
    const id = resource['id'];
    if (typeof type !== 'string' || !/^[A-Z][A-Za-z]+$/.test(type)) {
      throw badBundle(`entry ${i} has no resourceType`);
    }
    if (typeof id !== 'string' || !/^[A-Za-z0-9\-.]{1,64}$/.test(id)) {
      throw badBundle(`entry ${i} (${type}) has no valid id`);
    }
    const target = `${type}/${id}`;
    const fullUrl =
      isObject(entry) && typeof entry['fullUrl'] === 'string' ? entry['fullUrl'] : undefined;
    if (fullUrl !== undefined) targets.set(fullUrl, target);
    resources.push({ resource, target, fullUrl });
  }
  return {
    resourceType: 'Bundle',
    ...(typeof collection['id'] === 'string' ? { id: collection['id'] } : {}),
    type: 'transaction',
    entry: resources.map(({ resource, target, fullUrl }) => ({
      ...(fullUrl === undefined ? {} : { fullUrl }),
      resource: rewriteReferences(resource, targets),
      request: { method: 'PUT', url: target },
    })),
  };
}

export class FhirSender implements Sender<FhirDestination> {
  constructor(private readonly options: FhirSenderOptions = {}) {}

  async send(
    destination: FhirDestination,
    payloads: readonly DeliveryPayload[],
  ): Promise<SendOutcome[]> {
    const outcomes: SendOutcome[] = [];
    for (const payload of payloads) outcomes.push(await this.sendOne(destination, payload));
    return outcomes;
  }

  private async sendOne(
    destination: FhirDestination,
    payload: DeliveryPayload,
  ): Promise<SendOutcome> {
    const bytes = await readResultFile(payload.file);
    if (!Buffer.isBuffer(bytes)) return bytes;
    let transaction: Json;
    try {
      transaction = toTransactionBundle(JSON.parse(bytes.toString('utf8')));
    } catch (error) {
      return rejected(`cannot use the FHIR bundle file: ${describeError(error)}`);
    }
    let response: Response;
    let text: string;
    try {
      response = await fetch(destination.baseUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/fhir+json', Accept: 'application/fhir+json' },
        body: JSON.stringify(transaction),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 60_000),
      });
      text = await response.text();
    } catch (error) {
      return retry(`FHIR transaction to ${destination.baseUrl} failed: ${networkReason(error)}`);
    }
    const what = `FHIR transaction to ${destination.baseUrl} answered HTTP ${response.status}`;
    if (response.status === 200) {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      if (
        isObject(body) &&
        body['resourceType'] === 'Bundle' &&
        body['type'] === 'transaction-response'
      ) {
        return DELIVERED;
      }
      // Probably not a FHIR base URL (a web page, a proxy): the configuration needs fixing.
      return retry(`${what} without a transaction-response Bundle`);
    }
    const reason = `${what}: ${outcomeText(text)}`;
    return response.status >= 500 || RETRY_HTTP.has(response.status)
      ? retry(reason)
      : rejected(reason);
  }
}

/** The diagnostics of an OperationOutcome, or the start of whatever the server sent. */
function outcomeText(text: string): string {
  try {
    const body = JSON.parse(text) as unknown;
    if (isObject(body) && Array.isArray(body['issue'])) {
      return body['issue']
        .map((issue) =>
          isObject(issue)
            ? String(
                issue['diagnostics'] ??
                  (isObject(issue['details']) ? issue['details']['text'] : '') ??
                  '',
              )
            : '',
        )
        .filter((t) => t !== '')
        .join('; ')
        .slice(0, 300);
    }
  } catch {
    // not JSON
  }
  return text.trim().slice(0, 200);
}
