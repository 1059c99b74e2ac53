import type { Logger } from 'pino';
import type { FunctionRuntime } from '../../engine/functions/types.js';
import { PackageError } from '../../engine/functions/sandbox.js';
import type { FunctionService } from '../functions.js';
import { hashOf } from '../code-store.js';
import type { ProvisionedConcurrencyService } from '../provisioned-concurrency.js';
import { OneRunAtATime } from '../../platform/one-run-at-a-time.js';

/**
 * Brings functions' code to their instances: unpacks the packages of Pending functions (and of
 * code updates) and records Active or Failed. Keeps provisioned concurrency initialised and stops
 * instances idle for too long. Runs on
 * every server (claims are row-locked); woken by the services and by a periodic tick.
 */
export class FunctionInstanceController {
  private timer: NodeJS.Timeout | null = null;
  private readonly passes: OneRunAtATime;

  constructor(
    private readonly functions: FunctionService,
    private readonly provisioned: ProvisionedConcurrencyService,
    private readonly runtime: FunctionRuntime,
    private readonly log: Logger,
    private readonly options: { intervalMs: number; idleMs: number },
  ) {
    this.passes = new OneRunAtATime(
      () => this.pass(),
      (err) => this.log.error({ err }, 'function controller pass failed; the next tick retries'),
    );
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.options.intervalMs);
    this.timer.unref();
  }

  kick(): void {
    this.passes.request();
  }

  private async pass(): Promise<void> {
    while (await this.functions.settlePending((fn) => this.prepare(fn.id, fn.codeSha256))) {
      /* until none is left */
    }
    await this.provisioned.reconcile(this.runtime);
    await this.runtime.reap(this.options.idleMs);
  }

  /** null when the code is ready; the reason otherwise (a package that can't be unpacked). */
  private async prepare(functionId: string, codeSha256: string): Promise<string | null> {
    const hash = hashOf(codeSha256);
    try {
      await this.runtime.prepareCode(functionId, hash, this.functions.code.packagePath(hash));
      return null;
    } catch (err) {
      if (err instanceof PackageError) return `Could not unpack the deployment package: ${err.message}`;
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.passes.idle();
  }
}
