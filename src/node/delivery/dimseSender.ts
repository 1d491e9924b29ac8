/**
 * C-STORE SCU over dcmjs-dimse's Client (ADR 0103). One association per batch to a
 * destination carries all its files. dcmjs-dimse proposes, for each file's SOP class, implicit
 * and explicit VR little endian and, in a separate context, the file's own transfer syntax
 * when it is another one — so the PACS can take the object as it is.
 *
 * Status 0x0000 and the warnings B000 (coercion), B006 (elements discarded) and B007 (data set
 * does not match SOP class) mean the PACS holds the object: delivered. Everything else — a
 * failure status, association rejected or aborted, connection refused, a timeout, no response
 * — is retried later with the reason recorded. C-STORE is idempotent on the receiving side: the
 * same SOP Instance UID replaces (or is ignored as) the object already held.
 */
import { access, constants as fsConstants } from 'node:fs/promises';
import type { Socket } from 'node:net';
import dcmjsDimse from 'dcmjs-dimse';
import { silenceDimseLog } from '../../foundation/dimse/index.js';
import { describeError } from '../../foundation/core/index.js';
import type { DeliveryPayload, Destination } from './destinations.js';
import { DELIVERED, rejected, retry, type SendOutcome, type Sender } from './sender.js';

const { Client, requests } = dcmjsDimse;
type DimseCStoreResponse = dcmjsDimse.responses.CStoreResponse;

type DicomDestination = Extract<Destination, { kind: 'dicom' }>;

/** Warning statuses that still mean "stored" (PS3.4 B.2.3). */
const STORED_WITH_WARNING: ReadonlySet<number> = new Set([0xb000, 0xb006, 0xb007]);

export interface DimseSenderOptions {
  /** Our AE title as the calling application. */
  readonly callingAeTitle: string;
  /** TCP connect and idle limit; default 15 s. */
  readonly connectTimeoutMs?: number;
  /** Wait for the association answer, and for each PDU after it; default 30 s. */
  readonly responseTimeoutMs?: number;
}

function hex(status: number): string {
  return `0x${status.toString(16).toUpperCase().padStart(4, '0')}`;
}

export class DimseSender implements Sender<DicomDestination> {
  constructor(private readonly options: DimseSenderOptions) {
    // dcmjs-dimse logs every PDU at info level; we report through events instead.
    silenceDimseLog();
  }

  async send(
    destination: DicomDestination,
    payloads: readonly DeliveryPayload[],
  ): Promise<SendOutcome[]> {
    const outcomes: (SendOutcome | undefined)[] = payloads.map(() => undefined);
    const client = new Client();
    const sent: { index: number; request: dcmjsDimse.requests.CStoreRequest }[] = [];
    for (const [index, payload] of payloads.entries()) {
      try {
        await access(payload.file, fsConstants.R_OK);
      } catch (error) {
        // Not readable here is not broken (sender.ts, readResultFile): another process may send it.
        outcomes[index] = retry(
          `cannot read the result file on this host: ${describeError(error)}`,
        );
        continue;
      }
      try {
        // Reads and parses the file now; a broken file fails here, not mid-association.
        const request = new requests.CStoreRequest(payload.file);
        request.on('response', (response: DimseCStoreResponse) => {
          const status = response.getStatus();
          outcomes[index] =
            status === 0 || STORED_WITH_WARNING.has(status)
              ? DELIVERED
              : retry(
                  `C-STORE answered status ${hex(status)}${commentOf(response)} by ${destination.aeTitle}`,
                );
        });
        client.addRequest(request);
        sent.push({ index, request });
      } catch (error) {
        outcomes[index] = rejected(`cannot read the result file as DICOM: ${describeError(error)}`);
      }
    }
    if (sent.length === 0) return outcomes.map((o) => o ?? rejected('not sent'));

    const problem = await new Promise<string | undefined>((resolve) => {
      let reason: string | undefined;
      client.on(
        'associationRejected',
        (reject: { result: number; source: number; reason: number }) => {
          reason = `association rejected by ${destination.aeTitle} (result ${reject.result}, source ${reject.source}, reason ${reject.reason})`;
        },
      );
      client.on('networkError', (error: Error) => {
        reason ??= `network error talking to ${destination.host}:${destination.port}: ${describeError(error)}`;
      });
      // dcmjs-dimse's own timers end a stuck association; this is the backstop if one does not.
      const backstopMs =
        (this.options.connectTimeoutMs ?? 15_000) +
        (this.options.responseTimeoutMs ?? 30_000) * (sent.length + 2);
      const backstop = setTimeout(() => {
        reason ??= `no end of association with ${destination.aeTitle} after ${backstopMs} ms`;
        try {
          client.abort();
        } catch {
          // no association to abort
        }
        resolve(reason);
      }, backstopMs);
      backstop.unref();
      client.on('closed', () => {
        clearTimeout(backstop);
        resolve(reason);
      });
      try {
        client.send(
          destination.host,
          destination.port,
          this.options.callingAeTitle,
          destination.aeTitle,
          {
            connectTimeout: this.options.connectTimeoutMs ?? 15_000,
            associationTimeout: this.options.responseTimeoutMs ?? 30_000,
            pduTimeout: this.options.responseTimeoutMs ?? 30_000,
          },
        );
        // dcmjs-dimse leaves Nagle's algorithm on: each request PDU would wait for the PACS's
        // delayed ACK (~40 ms a round trip). Its socket is reachable only through internals.
        (client as unknown as { network?: { socket?: Socket } }).network?.socket?.setNoDelay(true);
      } catch (error) {
        resolve(`cannot start the association: ${describeError(error)}`);
      }
    });
    const unanswered = retry(
      problem ??
        `association with ${destination.aeTitle} at ${destination.host}:${destination.port} ended without a C-STORE response (presentation context not accepted or association aborted)`,
    );
    for (const { index } of sent) outcomes[index] ??= unanswered;
    return outcomes.map((o) => o ?? unanswered);
  }
}

function commentOf(response: DimseCStoreResponse): string {
  const comment = response.getErrorComment();
  return typeof comment === 'string' && comment.trim() !== '' ? ` (${comment.trim()})` : '';
}
