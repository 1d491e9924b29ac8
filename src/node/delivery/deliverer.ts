/**
 * OutboxDeliverer: takes due entries from the outbox, sends them in batches per destination
 * with the sender for its kind, and records each outcome (ADR 0101). It polls (every pollMs,
 * sooner when an entry becomes due) and can be kicked when something was enqueued.
 *
 * A batch whose every payload must be retried means the destination is down: the rest of its
 * entries are postponed to the same time instead of each trying (and timing out) in turn.
 * Events carry the destination label and a short hash of the entry key, never patient data
 * or UIDs.
 */
import { createHash } from 'node:crypto';
import { describeError } from '../../foundation/core/index.js';
import type { DeliveryPayload, Destination } from './destinations.js';
import { DimseSender } from './dimseSender.js';
import { FhirSender } from './fhirSender.js';
import { FolderSender } from './folderSender.js';
import { Outbox, type ClaimedEntry, type OutboxState } from './outbox.js';
import { sqliteOutboxPort, type OutboxPort } from './outboxPort.js';
import { ResultStaging, type ResultFilesPort } from './resultFiles.js';
import { retry, type SendOutcome, type Sender } from './sender.js';
import { StowSender } from './stowSender.js';

export type DeliveryEvent =
  | { type: 'delivered'; destination: string; entry: string; attempts: number }
  | {
      type: 'retry';
      destination: string;
      entry: string;
      attempts: number;
      error: string;
      nextAttemptAt: number;
    }
  | { type: 'failed'; destination: string; entry: string; attempts: number; error: string }
  /** The claim expired before the outcome was recorded; another sender has the entry. */
  | { type: 'claim-lost'; destination: string; entry: string }
  | { type: 'destination-down'; destination: string; postponed: number; until: number }
  | { type: 'error'; error: string };

export type SenderRegistry = {
  [K in Destination['kind']]: Sender<Extract<Destination, { kind: K }>>;
};

export interface OutboxDelivererOptions {
  /** Our AE title when we call a PACS. */
  readonly callingAeTitle: string;
  /** Batches sent at the same time; default 4. */
  readonly concurrency?: number;
  /** Longest wait between looks at the outbox; default 1 s. */
  readonly pollMs?: number;
  /** Most payloads per batch (one association, one STOW-RS request); default 20. */
  readonly batchSize?: number;
  readonly onEvent?: (event: DeliveryEvent) => void;
  /** False while this process may not claim entries (its node lease is not fresh). */
  readonly mayClaim?: () => boolean;
  /** Replace the sender of a kind (another transport, or a test double of a real peer). */
  readonly senders?: Partial<SenderRegistry>;
  /**
   * Where entries that name a result file by (job id, name) are read (the shared database,
   * ADR 0193). Absent: such an entry is retried, for a process that can read it.
   */
  readonly resultFiles?: Pick<ResultFilesPort, 'read'>;
}

/** How often an outcome whose record failed is recorded again, a second apart. */
const SETTLE_RETRIES = 30;

/** A short, stable reference to an entry for logs: its key may contain UIDs. */
export function entryRef(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/** Error text for events: anything that looks like a DICOM UID is masked (paths and bodies carry them). */
export function scrubUids(text: string): string {
  return text.replace(/\b\d+(?:\.\d+){3,}\b/g, '<uid>');
}

export class OutboxDeliverer {
  private readonly senders: SenderRegistry;
  private readonly concurrency: number;
  private readonly pollMs: number;
  private readonly batchSize: number;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private kicked = false;
  private readonly runs = new Set<Promise<number>>();
  private readonly outbox: OutboxPort;

  /** The embedded outbox, or any outbox behind the port (PostgreSQL, ADR 0180). */
  constructor(
    outbox: Outbox | OutboxPort,
    private readonly options: OutboxDelivererOptions,
  ) {
    this.outbox = outbox instanceof Outbox ? sqliteOutboxPort(outbox) : outbox;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.pollMs = options.pollMs ?? 1000;
    this.batchSize = Math.max(1, options.batchSize ?? 20);
    this.senders = {
      dicom: options.senders?.dicom ?? new DimseSender({ callingAeTitle: options.callingAeTitle }),
      dicomweb: options.senders?.dicomweb ?? new StowSender(),
      fhir: options.senders?.fhir ?? new FhirSender(),
      folder: options.senders?.folder ?? new FolderSender(),
    };
  }

  start(): void {
    if (this.loop !== undefined) return;
    this.stopping = false;
    this.loop = this.pollLoop();
  }

  /** Something was enqueued: look now rather than at the next poll. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  /** Delivers everything due now; returns how many entries were delivered. */
  runOnce(): Promise<number> {
    const run = this.deliverDue();
    this.runs.add(run);
    void run.finally(() => this.runs.delete(run)).catch(() => undefined);
    return run;
  }

  /** Stops claiming and waits for the sends in flight; unclaimed entries stay pending. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    await Promise.allSettled([...this.runs]);
  }

  private async pollLoop(): Promise<void> {
    while (!this.stopping) {
      this.kicked = false;
      try {
        await this.runOnce();
      } catch (error) {
        this.emit({ type: 'error', error: scrubUids(describeError(error)) });
      }
      if (this.stopping) break;
      if (this.kicked) continue;
      let wait = this.pollMs;
      try {
        const next = await this.outbox.nextDueAt();
        if (next !== undefined) {
          wait = Math.min(this.pollMs, Math.max(0, next - (await this.outbox.now())));
        }
      } catch (error) {
        // The database is unreachable: look again at the next poll.
        this.emit({ type: 'error', error: scrubUids(describeError(error)) });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async deliverDue(): Promise<number> {
    const seen = new Set<number>();
    const down = new Map<string, number>();
    let delivered = 0;
    const worker = async (): Promise<void> => {
      while (!this.stopping && this.options.mayClaim?.() !== false) {
        const claimed = await this.outbox.claimDue(this.batchSize, {
          ids: seen,
          labels: [...down.keys()],
        });
        if (claimed.length === 0) return;
        for (const c of claimed) seen.add(c.entry.id);
        const byLabel = new Map<string, ClaimedEntry[]>();
        for (const c of claimed) {
          const group = byLabel.get(c.entry.label) ?? [];
          group.push(c);
          byLabel.set(c.entry.label, group);
        }
        for (const [label, group] of byLabel) {
          delivered += await this.sendGroup(label, group, down);
        }
      }
    };
    await Promise.all(Array.from({ length: this.concurrency }, worker));
    return delivered;
  }

  private async sendGroup(
    label: string,
    group: readonly ClaimedEntry[],
    down: Map<string, number>,
  ): Promise<number> {
    const destination = group[0]!.entry.destination;
    const sender = this.senders[destination.kind] as Sender;
    const downUntil = down.get(label);
    if (downUntil !== undefined) {
      // A parallel batch just found it down: give these back untried, due when it is probed again.
      for (const claimed of group) await this.outbox.release(claimed, downUntil);
      return 0;
    }
    let outcomes: SendOutcome[];
    // Entries naming a result file in the database are sent from a private copy (ADR 0193); one
    // that cannot be read is retried without a send and says nothing about the destination:
    // only the outcomes of what was sent (`tried`) can mark the destination down.
    const tried: SendOutcome[] = [];
    const staged = await this.stage(group.map((c) => c.entry.payload));
    try {
      const sendable = staged.payloads.flatMap((p) => ('outcome' in p ? [] : [p.payload]));
      let sent: SendOutcome[] = [];
      if (sendable.length > 0) {
        try {
          sent = await sender.send(destination, sendable);
        } catch (error) {
          // A sender bug must not lose the entries: record and retry.
          sent = sendable.map(() => retry(`sender failed: ${describeError(error)}`));
        }
      }
      let next = 0;
      outcomes = staged.payloads.map((p) => {
        if ('outcome' in p) return p.outcome;
        const outcome = sent[next++] ?? retry('sender returned no outcome');
        tried.push(outcome);
        return outcome;
      });
    } finally {
      await staged.remove();
    }
    let delivered = 0;
    let nextAttemptAt: number | undefined;
    for (const [i, claimed] of group.entries()) {
      const outcome = outcomes[i] ?? retry('sender returned no outcome');
      const state: OutboxState | undefined = await this.settle(claimed, outcome);
      const ref = entryRef(claimed.entry.key);
      if (state === undefined) {
        this.emit({ type: 'claim-lost', destination: label, entry: ref });
        continue;
      }
      const after = await this.outbox.get(claimed.entry.key);
      const attempts = after?.attempts ?? claimed.entry.attempts;
      if (state === 'delivered') {
        delivered += 1;
        this.emit({ type: 'delivered', destination: label, entry: ref, attempts });
      } else if (outcome.status !== 'delivered') {
        const error = scrubUids(outcome.reason);
        if (state === 'failed') {
          this.emit({ type: 'failed', destination: label, entry: ref, attempts, error });
        } else {
          nextAttemptAt = after?.availableAt;
          this.emit({
            type: 'retry',
            destination: label,
            entry: ref,
            attempts,
            error,
            nextAttemptAt: after?.availableAt ?? 0,
          });
        }
      }
    }
    if (
      tried.length > 0 &&
      tried.every((o) => o.status === 'retry') &&
      nextAttemptAt !== undefined
    ) {
      down.set(label, nextAttemptAt);
      const postponed = await this.outbox.postponeDestination(label, nextAttemptAt);
      this.emit({ type: 'destination-down', destination: label, postponed, until: nextAttemptAt });
    }
    return delivered;
  }

  /**
   * The payloads as the senders read them: a result file named in the database is read and put
   * into a private folder of this process, removed after the send; one that cannot be read
   * gets its outcome here (retry: another process, or a later look, may read it).
   */
  private async stage(payloads: readonly DeliveryPayload[]): Promise<{
    payloads: ({ payload: DeliveryPayload } | { outcome: SendOutcome })[];
    remove(): Promise<void>;
  }> {
    const staging = new ResultStaging();
    const staged: ({ payload: DeliveryPayload } | { outcome: SendOutcome })[] = [];
    for (const payload of payloads) {
      const ref = payload.result;
      if (ref === undefined) {
        staged.push({ payload });
        continue;
      }
      const { resultFiles } = this.options;
      if (resultFiles === undefined) {
        staged.push({
          outcome: retry('this process does not read result files from the database'),
        });
        continue;
      }
      let bytes: Buffer | undefined;
      try {
        bytes = await resultFiles.read(ref);
      } catch (error) {
        staged.push({ outcome: retry(`cannot read the result file: ${describeError(error)}`) });
        continue;
      }
      if (bytes === undefined) {
        staged.push({
          outcome: retry(
            `result file ${ref.name} of job ${ref.jobId} is not in the database (its job was not completed, or retention removed it)`,
          ),
        });
        continue;
      }
      try {
        staged.push({ payload: { ...payload, file: await staging.put(ref, bytes) } });
      } catch (error) {
        // No room in this host's temporary folder: a later send, or another process, goes on.
        staged.push({
          outcome: retry(
            `cannot put the result file where it is sent from: ${describeError(error)}`,
          ),
        });
      }
    }
    return { payloads: staged, remove: () => staging.remove() };
  }

  /**
   * Records an outcome. The send has happened: if the database cannot be reached now, losing
   * the record would send the entry again once its claim runs out, so try again each second
   * (SETTLE_RETRIES times, ~30 s) before giving up.
   */
  private async settle(
    claimed: ClaimedEntry,
    outcome: SendOutcome,
  ): Promise<OutboxState | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.outbox.settle(claimed, outcome);
      } catch (error) {
        if (attempt >= SETTLE_RETRIES) throw error;
        this.emit({ type: 'error', error: scrubUids(describeError(error)) });
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  private emit(event: DeliveryEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A faulty listener must not stop delivery.
    }
  }
}
