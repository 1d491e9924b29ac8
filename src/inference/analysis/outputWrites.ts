/**
 * Output files being written while the pipeline goes on. Each write is atomic and fsynced
 * (writeFileAtomic); waiting for the disk inline left the model idle for the length of four
 * fsyncs per study, so writes run in the background and the run waits for all of them before
 * it returns. A failed write fails the run, as before, once the others have settled.
 */
export class OutputWrites {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | null = null;

  /** Track a write; the returned promise settles with it and never rejects. */
  add(write: Promise<void>): Promise<void> {
    const tracked: Promise<void> = write.then(
      () => undefined,
      (error: unknown) => {
        this.failure ??= { error };
      },
    );
    this.inFlight.add(tracked);
    void tracked.then(() => this.inFlight.delete(tracked));
    return tracked;
  }

  /** Wait until at most `max` writes are in flight, so finished SCs do not pile up in memory. */
  async throttle(max: number): Promise<void> {
    while (this.inFlight.size > max) await Promise.race(this.inFlight);
  }

  /** Wait for every write, including ones added meanwhile; never throws. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Wait for every write, then throw the first failure if any. */
  async drain(): Promise<void> {
    await this.settle();
    if (this.failure) throw this.failure.error;
  }
}
