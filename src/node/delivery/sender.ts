/**
 * What every destination kind implements (ADR 0102): send a batch of payloads to one
 * destination and say, per payload, whether it was delivered, is worth retrying, or was
 * refused for its content. A sender never throws for a delivery problem; it returns it.
 */
import { readFile } from 'node:fs/promises';
import { describeError } from '../../foundation/core/index.js';
import type { DeliveryPayload, Destination } from './destinations.js';
import type { SettleOutcome } from './outbox.js';

export type SendOutcome = SettleOutcome;

export interface Sender<D extends Destination = Destination> {
  /** One outcome per payload, in the same order. */
  send(destination: D, payloads: readonly DeliveryPayload[]): Promise<SendOutcome[]>;
}

export const DELIVERED: SendOutcome = { status: 'delivered' };

export function retry(reason: string): SendOutcome {
  return { status: 'retry', reason };
}

export function rejected(reason: string): SendOutcome {
  return { status: 'rejected', reason };
}

/** The same outcome for every payload of a batch (the destination was not reachable). */
export function allOf(payloads: readonly unknown[], outcome: SendOutcome): SendOutcome[] {
  return payloads.map(() => outcome);
}

/** Network error text; node's fetch hides the useful part (ECONNREFUSED…) in `cause`. */
export function networkReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error && cause.message !== '' && cause.message !== error.message) {
    return `${error.message}: ${cause.message}`;
  }
  return error.name === 'TimeoutError' ? `timed out: ${error.message}` : error.message;
}

/**
 * The bytes of a payload's result file, or the outcome when this process cannot read it. Not
 * being able to read the file says nothing about its content: on a shared outbox the file may
 * lie on another host's disk or on shared storage that is away for a moment (ADRs 0183,
 * 0187), so it is retried — by whichever process can read it — and never refused, which
 * would drop a result nobody had looked at.
 */
export async function readResultFile(file: string): Promise<Buffer | SendOutcome> {
  try {
    return await readFile(file);
  } catch (error) {
    return retry(`cannot read the result file on this host: ${describeError(error)}`);
  }
}
