import type { Logger } from 'pino';
import type { Sql } from '../db/client.js';
import { claimDue } from '../db/queries/invocations.js';
import type { InvocationService } from '../services/invocations.js';
import { Serializer } from './serial.js';

/**
 * Runs queued async invocations (EVENT): claims due ones with FOR UPDATE SKIP LOCKED, up to
 * `parallel` at a time on this server, and settles each (done, retry later, or failed with its
 * destination). Woken by the invocation NOTIFY and a periodic tick (NOTIFY is only a hint).
 */
export class FunctionInvoker {
  private timer: NodeJS.Timeout | null = null;
  private inFlight = new Set<Promise<void>>();
  private readonly claims: Serializer;
  private stopped = false;

  constructor(
    private readonly sql: Sql, private readonly invocations: InvocationService, private readonly serverId: string,
    private readonly log: Logger, private readonly options: { intervalMs: number; parallel: number; leaseSeconds: number },
  ) {
    this.claims = new Serializer(() => (this.stopped ? Promise.resolve() : this.claim()), (err) => this.log.error({ err }, 'claiming async invocations failed; the next tick retries'));
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
    const rows = await claimDue(this.sql, this.serverId, free, this.options.leaseSeconds);
    for (const row of rows) {
      const run: Promise<void> = this.invocations.runClaimed(row)
        .catch((err) => this.log.error({ err, invocationId: row.id }, 'async invocation failed to settle; its claim lapses and it runs again'))
        .finally(() => {
          this.inFlight.delete(run);
          // a slot is free: there may be more work waiting
          this.kick();
        });
      this.inFlight.add(run);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.claims.idle();
    await Promise.allSettled([...this.inFlight]);
  }
}
