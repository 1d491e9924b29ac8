/**
 * What every destination kind implements (ADR 0102): send a batch of payloads to one
 * destination and say, per payload, whether it was delivered, is worth retrying, or was
 * refused for its content. A sender never throws for a delivery problem; it returns it.
 */
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
