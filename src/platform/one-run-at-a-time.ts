/**
 * Runs `work(key)` at most once at a time per key; a request that arrives while it runs schedules
 * exactly one more run afterwards. That makes NOTIFY bursts cheap and never loses the last one.
 */
export class OneRunPerKey {
  private running = new Map<string, Promise<void>>();
  private again = new Set<string>();

  constructor(
    private readonly work: (key: string) => Promise<void>,
    private readonly onError: (err: unknown, key: string) => void,
  ) {}

  request(key: string): void {
    if (this.running.has(key)) {
      this.again.add(key);
      return;
    }
    const run = this.work(key)
      .catch((err) => this.onError(err, key))
      .finally(() => {
        this.running.delete(key);
        if (this.again.delete(key)) this.request(key);
      });
    this.running.set(key, run);
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }
}

/** The single-key case: a controller's pass, never two at once, and exactly one more when asked meanwhile. */
export class OneRunAtATime {
  private readonly keyed: OneRunPerKey;

  constructor(work: () => Promise<void>, onError: (err: unknown) => void) {
    this.keyed = new OneRunPerKey(
      () => work(),
      (err) => onError(err),
    );
  }

  request(): void {
    this.keyed.request('');
  }

  /** Resolves once no pass runs and none is due. */
  idle(): Promise<void> {
    return this.keyed.idle();
  }
}
