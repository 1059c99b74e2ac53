import type { Logger } from 'pino';
import type { Sql } from '../../platform/db/client.js';
import { claimDue, releaseClaim } from '../queries/invocations.js';
import type { InvocationService } from '../invocations.js';
import { OneRunAtATime } from '../../platform/one-run-at-a-time.js';

/**
 * Runs queued async invocations (EVENT): claims due ones with FOR UPDATE SKIP LOCKED, up to
 * `parallel` at a time on this server, and settles each (done, retry later, or failed with its
 * destination). Woken by the invocation NOTIFY and a periodic tick (NOTIFY is only a hint).
 * Stopping waits `shutdownGraceMs` for the running ones, then cuts them short: their instances
 * are killed and the events go back to the queue, the cut run not counted as an attempt (a
 * function may run 900 s: a shutdown must not wait for that).
 */
export class AsyncInvoker {
  private timer: NodeJS.Timeout | null = null;
  /** running invocations, with what cuts them short */
  private inFlight = new Map<Promise<void>, AbortController>();
  /** invocations running here, per function */
  private busy = new Map<string, number>();
  private readonly claims: OneRunAtATime;
  private stopped = false;

  constructor(
    private readonly sql: Sql,
    private readonly invocations: InvocationService,
    private readonly serverId: string,
    private readonly log: Logger,
    private readonly options: { intervalMs: number; parallel: number; leaseSeconds: number; shutdownGraceMs: number },
  ) {
    this.claims = new OneRunAtATime(
      () => (this.stopped ? Promise.resolve() : this.claim()),
      (err) => this.log.error({ err }, 'claiming async invocations failed; the next tick retries'),
    );
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.options.intervalMs);
    this.timer.unref();
  }

  kick(): void {
    if (!this.stopped) this.claims.request();
  }

  private async claim(): Promise<void> {
    const free = this.options.parallel - this.inFlight.size;
    // one function may hold at most half the slots: a function whose events all hang until their
    // timeout (or fail slowly) cannot keep the others' events waiting behind its own
    const cap = Math.max(1, Math.ceil(this.options.parallel / 2));
    const full = [...this.busy].filter(([, n]) => n >= cap).map(([id]) => id);
    const rows = await claimDue(this.sql, this.serverId, free, this.options.leaseSeconds, full);
    for (const row of rows) {
      const held = this.busy.get(row.functionId) ?? 0;
      if (held >= cap) {
        // this batch brought more of one function than it may hold: the rest go back, and the
        // claim runs again without that function
        await releaseClaim(this.sql, row.id, this.serverId);
        this.claims.request();
        continue;
      }
      this.busy.set(row.functionId, held + 1);
      const abort = new AbortController();
      const run: Promise<void> = this.invocations
        .runClaimed(row, abort.signal)
        .catch((err) =>
          this.log.error({ err, invocationId: row.id }, 'async invocation failed to settle; its claim lapses and it runs again'),
        )
        .finally(() => {
          this.inFlight.delete(run);
          const n = (this.busy.get(row.functionId) ?? 1) - 1;
          if (n > 0) this.busy.set(row.functionId, n);
          else this.busy.delete(row.functionId);
          // a slot is free: there may be more work waiting
          this.kick();
        });
      this.inFlight.set(run, abort);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.claims.idle();
    const all = Promise.allSettled([...this.inFlight.keys()]).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.options.shutdownGraceMs);
    });
    const finished = await Promise.race([all, grace]);
    clearTimeout(timer);
    if (finished) return;
    this.log.warn({ running: this.inFlight.size }, 'async invocations still running at shutdown: cut short, they go back to the queue');
    for (const abort of this.inFlight.values()) abort.abort();
    await all;
  }
}
