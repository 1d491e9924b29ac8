/**
 * Change notices for the worklist's live updates: the node calls `notify` when a result
 * arrives (an analysis completed or failed) or an answer is recorded; each Server-Sent Events
 * stream hears it. A notice names only what kind of change happened and a sequence number:
 * no study, no patient — the client re-fetches the worklist (which is audited).
 */
export type WorklistChangeKind = 'result' | 'answer';

export interface WorklistChange {
  readonly kind: WorklistChangeKind;
  /** Increases by one per notice since the node started, so a client can see it missed none. */
  readonly seq: number;
}

export class WorklistChanges {
  private readonly listeners = new Set<(change: WorklistChange) => void>();
  private seq = 0;

  constructor(
    /** The most streams open at once: each holds a socket (ADR 0178). */
    readonly maxListeners = 100,
  ) {}

  get size(): number {
    return this.listeners.size;
  }

  /** undefined when maxListeners streams are already open. */
  subscribe(listener: (change: WorklistChange) => void): (() => void) | undefined {
    if (this.listeners.size >= this.maxListeners) return undefined;
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(kind: WorklistChangeKind): void {
    const change = { kind, seq: ++this.seq };
    for (const listener of this.listeners) listener(change);
  }
}
