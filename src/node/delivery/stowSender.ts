/**
 * STOW-RS (PS3.18 §10.5) to a DICOMweb server (ADR 0103): the batch's files in one
 * `multipart/related; type="application/dicom"` POST to `${baseUrl}/studies`.
 *
 * 200 means every instance was stored. 202 and 409 carry a Store Instances Response whose
 * Failed SOP Sequence (0008,1198) lists the instances that were not, each with a Failure
 * Reason (0008,1197): resource trouble is retried, a refusal of the content is `rejected`.
 * Other HTTP failures: server trouble and configuration problems that an operator can fix
 * (5xx, 401/403/404, 408, 429) are retried; other 4xx refuse the content. A resend is
 * harmless: the same SOP Instance UID replaces the same object on the server.
 */
import { buildMultipartRelated } from '../../foundation/dicomweb/index.js';
import type { DeliveryPayload, Destination } from './destinations.js';
import {
  DELIVERED,
  allOf,
  networkReason,
  rejected,
  retry,
  type SendOutcome,
  type Sender,
  readResultFile,
} from './sender.js';

type DicomWebDestination = Extract<Destination, { kind: 'dicomweb' }>;

export interface StowSenderOptions {
  /** Whole-request limit; default 120 s. */
  readonly timeoutMs?: number;
  /** Extra request headers: basic auth to the shared DICOM store (ADR 0187). Never logged. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** HTTP statuses worth retrying: the server, the network or the configuration may recover. */
const RETRY_HTTP: ReadonlySet<number> = new Set([401, 403, 404, 405, 407, 408, 425, 429]);

/** Failure reasons (PS3.4 B.2.3, PS3.18 table 10.5.3-1) that say "not now" rather than "never". */
export function isTransientFailureReason(reason: number): boolean {
  return (reason >= 0xa700 && reason <= 0xa7ff) || reason === 0x0110 || reason === 0x0213;
}

/** 0x0111 Duplicate SOP Instance: the server already holds this UID, and ours never changes content. */
const DUPLICATE_SOP_INSTANCE = 0x0111;

interface DicomJsonElement {
  vr?: string;
  Value?: unknown[];
}
type DicomJsonDataset = Record<string, DicomJsonElement | undefined>;

function firstValue(dataset: DicomJsonDataset, tag: string): unknown {
  return dataset[tag]?.Value?.[0];
}

/** SOP Instance UID → Failure Reason of every item of the Failed SOP Sequence. */
export function failedInstances(body: unknown): Map<string, number> {
  const failed = new Map<string, number>();
  const dataset = (Array.isArray(body) ? body[0] : body) as DicomJsonDataset | undefined;
  if (dataset === undefined || dataset === null || typeof dataset !== 'object') return failed;
  for (const item of (dataset['00081198']?.Value ?? []) as DicomJsonDataset[]) {
    const uid = firstValue(item, '00081155');
    const reason = firstValue(item, '00081197');
    if (typeof uid === 'string') failed.set(uid, typeof reason === 'number' ? reason : 0x0110);
  }
  return failed;
}

/** A one-line summary of an error body: the failure reasons of a Store Instances Response, or its text. */
function responseSummary(text: string): string {
  try {
    const body = JSON.parse(text) as unknown;
    const failed = failedInstances(body);
    if (failed.size > 0) {
      return `failure reasons ${[...new Set(failed.values())].map(hex).join(', ')}`;
    }
    if (typeof body === 'object' && body !== null) {
      return 'Store Instances Response without failed instances';
    }
  } catch {
    // not JSON
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 200);
}

/** SOP Instance UIDs of the Referenced SOP Sequence (0008,1199): the instances stored. */
export function referencedInstances(body: unknown): Set<string> {
  const stored = new Set<string>();
  const dataset = (Array.isArray(body) ? body[0] : body) as DicomJsonDataset | undefined;
  if (dataset === undefined || dataset === null || typeof dataset !== 'object') return stored;
  for (const item of (dataset['00081199']?.Value ?? []) as DicomJsonDataset[]) {
    const uid = firstValue(item, '00081155');
    if (typeof uid === 'string') stored.add(uid);
  }
  return stored;
}

function hex(value: number): string {
  return `0x${value.toString(16).toUpperCase().padStart(4, '0')}`;
}

export class StowSender implements Sender<DicomWebDestination> {
  constructor(private readonly options: StowSenderOptions = {}) {}

  async send(
    destination: DicomWebDestination,
    payloads: readonly DeliveryPayload[],
  ): Promise<SendOutcome[]> {
    const outcomes: (SendOutcome | undefined)[] = payloads.map(() => undefined);
    const parts: { contentType: string; body: Uint8Array }[] = [];
    const included: number[] = [];
    for (const [index, payload] of payloads.entries()) {
      const body = await readResultFile(payload.file);
      if (Buffer.isBuffer(body)) {
        parts.push({ contentType: 'application/dicom', body });
        included.push(index);
      } else {
        outcomes[index] = body;
      }
    }
    if (parts.length > 0) {
      const sent = await this.post(
        destination,
        included.map((i) => payloads[i]!),
        parts,
      );
      for (const [n, index] of included.entries()) outcomes[index] = sent[n];
    }
    return outcomes.map((o) => o ?? retry('not sent'));
  }

  private async post(
    destination: DicomWebDestination,
    payloads: readonly DeliveryPayload[],
    parts: readonly { contentType: string; body: Uint8Array }[],
  ): Promise<SendOutcome[]> {
    const url = `${destination.baseUrl}/studies`;
    const { body, contentType } = buildMultipartRelated(parts, { type: 'application/dicom' });
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          ...this.options.headers,
          'Content-Type': contentType,
          Accept: 'application/dicom+json',
        },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 120_000),
      });
      text = await response.text();
    } catch (error) {
      return allOf(
        payloads,
        retry(`STOW-RS to ${destination.baseUrl} failed: ${networkReason(error)}`),
      );
    }
    const status = response.status;
    const what = `STOW-RS to ${destination.baseUrl} answered HTTP ${status}`;
    let parsed: unknown;
    try {
      parsed = text.trim() === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const failed = failedInstances(parsed);
    const referenced = referencedInstances(parsed);
    const success = status === 200 || status === 202;
    const outcomes: (SendOutcome | undefined)[] = payloads.map((payload) => {
      const uid = payload.kind === 'dicom' ? payload.sopInstanceUid : '';
      const reason = failed.get(uid);
      if (reason !== undefined) {
        if (reason === DUPLICATE_SOP_INSTANCE) return DELIVERED;
        const message = `${what}: instance failed with reason ${hex(reason)}`;
        return isTransientFailureReason(reason) ? retry(message) : rejected(message);
      }
      // Listed as stored: delivered, whatever the overall status (Orthanc answers 400 for a
      // batch in which one part was bad, yet lists and keeps the good ones).
      if (referenced.has(uid)) return DELIVERED;
      if (success) {
        return referenced.size > 0
          ? retry(`${what} without listing this instance as stored`)
          : DELIVERED;
      }
      return undefined;
    });
    const open = outcomes.flatMap((o, i) => (o === undefined ? [i] : []));
    if (open.length === 0) return outcomes as SendOutcome[];
    const transient = status >= 500 || RETRY_HTTP.has(status);
    if (!transient && payloads.length > 1) {
      // The batch was refused as a whole (one bad part, too large…): find out which by sending
      // the unresolved ones alone.
      for (const i of open) {
        outcomes[i] = (await this.post(destination, [payloads[i]!], [parts[i]!]))[0];
      }
      return outcomes.map((o) => o ?? retry('not sent'));
    }
    const detail = responseSummary(text);
    const reason = detail === '' ? what : `${what}: ${detail}`;
    for (const i of open) outcomes[i] = transient ? retry(reason) : rejected(reason);
    return outcomes as SendOutcome[];
  }
}
