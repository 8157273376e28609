/**
 * Collapses concurrent work for one key into a single run: the first caller starts it, later
 * callers join it until it settles. A failure reaches every caller that joined and is then
 * forgotten, so the next call starts afresh; nothing here caches a result.
 */
export class SingleFlight<T> {
  private readonly running = new Map<string, Promise<T>>();

  /** Number of keys with work in progress. */
  get size(): number {
    return this.running.size;
  }

  /**
   * Runs `work` for `key`, or joins the run already in progress for it.
   *
   * @returns the run's promise, and whether this call joined another caller's run.
   */
  run(key: string, work: () => Promise<T>): { readonly promise: Promise<T>; readonly joined: boolean } {
    const current = this.running.get(key);
    if (current) return { promise: current, joined: true };
    // Started from a resolved promise so a synchronous throw becomes a rejection for everyone.
    const promise = Promise.resolve()
      .then(work)
      .finally(() => this.running.delete(key));
    this.running.set(key, promise);
    return { promise, joined: false };
  }
}
