import type { Logger } from 'pino';
import type { Sql } from '../../platform/db/client.js';
import { OneRunAtATime } from '../../platform/one-run-at-a-time.js';
import { type FunctionCodeStore, hashOf } from '../code-store.js';
import { packagesInUse } from '../queries/functions.js';

/**
 * Removes the code packages nothing refers to any more: code replaced by an update (unless a
 * version keeps it), deleted functions' and layer versions' code, and what a store cut short by a
 * crash left behind. Every deploy stores a package; without this the packages directory only grows.
 */
export class PackageSweeper {
  private timer: NodeJS.Timeout | null = null;
  private readonly passes: OneRunAtATime;

  constructor(
    private readonly sql: Sql,
    private readonly code: FunctionCodeStore,
    private readonly log: Logger,
    private readonly options: { intervalMs: number; graceSeconds: number },
  ) {
    this.passes = new OneRunAtATime(
      () => this.pass(),
      (err) => this.log.error({ err }, 'sweeping unused function packages failed; the next tick retries'),
    );
  }

  start(): void {
    this.timer = setInterval(() => this.passes.request(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.passes.idle();
  }

  private async pass(): Promise<void> {
    // the grace is measured before the rows are read: a package stored after this instant is never taken
    const unusedSince = Date.now() - this.options.graceSeconds * 1_000;
    const inUse = new Set((await packagesInUse(this.sql)).map(hashOf));
    const swept = await this.code.sweep(inUse, unusedSince);
    if (swept.files > 0) this.log.info(swept, 'removed function packages nothing refers to');
  }
}
