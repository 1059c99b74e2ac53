import type { Logger } from 'pino';
import type { Sql } from '../../../platform/db/client.js';
import { enabledQueueTriggers } from '../../queries/triggers.js';
import { OneRunAtATime } from '../../../platform/one-run-at-a-time.js';
import type { TriggerRow } from '../../tables.js';
import type { QueueMessageRow, QueueRow } from '../../../messaging/tables.js';
import { AppError } from '../../../platform/errors.js';
import { PayloadLimits, type InvocationService, type InvokeResult } from '../../../functions/invocations.js';
import { QueueLimits, sqsRecord, type QueueService } from '../../../messaging/queues.js';
import type { QueueTriggerConfig } from './source.js';

/**
 * Batches in flight at once per mapping on one server. Lambda scales its pollers with the backlog;
 * here a mapping starts with one poller and adds one each time a batch comes back full, up to this.
 */
const MAX_BATCHES_PER_MAPPING = 5;
/** an idle poller's long poll: a new message starts a batch at once (the queue's NOTIFY wakes it) */
const LONG_POLL_MS = 20_000;
const SWEEP_EVERY_MS = 60_000;
const MAX_BACKOFF_MS = 30_000;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });

interface Deps {
  queues: QueueService;
  invocations: InvocationService;
  log: Logger;
}

/**
 * One event source mapping at work on this server: receive a batch (up to batchSize, gathering up to
 * the batching window), invoke the function synchronously with SQS's event, then delete what was
 * processed: everything on success, all but the reported `batchItemFailures`, nothing when the
 * function fails (the messages come back after the visibility timeout, and redrive to the
 * dead-letter queue once received maxReceiveCount times).
 */
class Mapping {
  private readonly abort = new AbortController();
  private readonly pollers = new Set<Promise<void>>();
  private backoffMs = 0;
  private readonly config: QueueTriggerConfig;

  constructor(
    readonly trigger: TriggerRow,
    private readonly queue: QueueRow,
    private readonly deps: Deps,
  ) {
    this.config = trigger.config as unknown as QueueTriggerConfig;
  }

  start(): void {
    this.spawn(true);
  }

  /** Stops polling; a batch being processed finishes. */
  stop(): Promise<void> {
    this.abort.abort();
    return Promise.allSettled([...this.pollers]).then(() => {});
  }

  private spawn(primary: boolean): void {
    const run: Promise<void> = this.poll(primary).finally(() => this.pollers.delete(run));
    this.pollers.add(run);
  }

  /** The primary poller runs until stopped; the extra ones end when the queue runs dry. */
  private async poll(primary: boolean): Promise<void> {
    const { signal } = this.abort;
    // a closing queue service answers at once: polling on would spin until the poller is stopped
    while (!signal.aborted && !this.deps.queues.closing) {
      try {
        const batch = await this.collect();
        if (batch.length === 0) {
          if (!primary) return;
          continue;
        }
        if (batch.length >= this.config.batchSize && this.pollers.size < MAX_BATCHES_PER_MAPPING) this.spawn(false);
        await this.process(batch);
      } catch (err) {
        // its messages come back after the visibility timeout
        this.deps.log.error({ err, trigger: this.trigger.name }, 'queue trigger batch failed; polling again shortly');
        await sleep(1_000, signal);
      }
      if (this.backoffMs > 0) await sleep(this.backoffMs, signal);
    }
  }

  /** A batch: up to batchSize messages, gathered for up to the batching window after the first arrives. */
  private async collect(): Promise<QueueMessageRow[]> {
    const { signal } = this.abort;
    const { batchSize, batchingWindowSeconds } = this.config;
    // gathered messages stay hidden for the whole window as well as the queue's visibility timeout
    const visibility = Math.min(QueueLimits.visibilityTimeout[1], this.queue.visibilityTimeoutSeconds + batchingWindowSeconds);
    const per = (n: number) => Math.min(QueueLimits.receiveBatch[1], n);
    const batch = await this.deps.queues.receiveFrom(this.queue, per(batchSize), visibility, LONG_POLL_MS, signal);
    if (batch.length === 0) return batch;
    const deadline = Date.now() + batchingWindowSeconds * 1_000;
    while (batch.length < batchSize && !signal.aborted && Date.now() < deadline) {
      batch.push(
        ...(await this.deps.queues.receiveFrom(this.queue, per(batchSize - batch.length), visibility, deadline - Date.now(), signal)),
      );
    }
    if (signal.aborted) {
      // disabled or deleted while gathering: hand the messages back rather than hide them
      await this.deps.queues.release(this.queue, batch);
      return [];
    }
    return batch;
  }

  private async process(received: QueueMessageRow[]): Promise<void> {
    // the event must fit a synchronous payload: what does not goes back to the queue for the next batch
    const records: Array<ReturnType<typeof sqsRecord>> = [];
    const batch: QueueMessageRow[] = [];
    let bytes = 16;
    for (const m of received) {
      const record = sqsRecord(this.queue, m);
      const size = Buffer.byteLength(JSON.stringify(record)) + 1;
      if (batch.length > 0 && bytes + size > PayloadLimits.syncBytes) break;
      records.push(record);
      batch.push(m);
      bytes += size;
    }
    if (batch.length < received.length) await this.deps.queues.release(this.queue, received.slice(batch.length));

    let result: InvokeResult;
    try {
      result = await this.deps.invocations.invoke({
        functionName: this.trigger.functionName,
        qualifier: this.trigger.qualifier,
        payload: { Records: records },
        trigger: { id: this.trigger.id, eventId: batch[0]!.id },
        recordPayload: true,
      });
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      // throttled, or the function cannot run now: the batch comes back after its visibility timeout
      this.backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(1_000, this.backoffMs * 2));
      this.deps.log.warn(
        { trigger: this.trigger.name, code: err.code, reason: err.message },
        'queue trigger could not invoke its function; backing off',
      );
      return;
    }
    this.backoffMs = 0;
    if (result.functionError) return;
    const failed = this.reportedFailures(result.payload, batch);
    if (failed === null) return;
    await this.deps.queues.deleteReceived(
      this.queue,
      batch.filter((m) => !failed.has(m.id)),
    );
  }

  /**
   * The message ids a result reports as failed (ReportBatchItemFailures); an empty set for success,
   * null for a malformed report, which fails the whole batch (as Lambda).
   */
  private reportedFailures(payload: unknown, batch: QueueMessageRow[]): Set<string> | null {
    if (!this.config.reportBatchItemFailures || payload === null || typeof payload !== 'object' || !('batchItemFailures' in payload))
      return new Set();
    const list = (payload as { batchItemFailures: unknown }).batchItemFailures;
    if (list === null) return new Set();
    if (!Array.isArray(list)) return null;
    const ids = new Set(batch.map((m) => m.id));
    const failed = new Set<string>();
    for (const item of list) {
      const id = (item as { itemIdentifier?: unknown } | null)?.itemIdentifier;
      if (typeof id !== 'string' || !ids.has(id)) return null;
      failed.add(id);
    }
    return failed;
  }
}

/**
 * Runs every enabled QUEUE trigger (event source mapping) on this server. Several servers poll the
 * same queue safely: receives claim messages with FOR UPDATE SKIP LOCKED. Reloads the mappings on a
 * trigger NOTIFY and periodically; apart from that, deletes messages past their retention period.
 */
export class QueuePoller {
  private readonly mappings = new Map<string, Mapping>();
  private readonly stopping = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private sweeper: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> = Promise.resolve();
  private readonly reloads: OneRunAtATime;
  private stopped = false;

  constructor(
    private readonly sql: Sql,
    private readonly deps: Deps,
    private readonly intervalMs: number,
  ) {
    this.reloads = new OneRunAtATime(
      () => (this.stopped ? Promise.resolve() : this.refresh()),
      (err) => this.deps.log.error({ err }, 'reloading queue triggers failed; the next tick retries'),
    );
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.intervalMs);
    this.timer.unref();
    // reads already skip expired messages: the sweep only reclaims space, apart from the reloads
    const sweep = () => {
      this.sweeping = this.sweeping
        .then(() => this.deps.queues.sweepExpired())
        .then(
          () => {},
          (err) => this.deps.log.warn({ err }, 'sweeping expired queue messages failed; the next sweep retries'),
        );
    };
    this.sweeper = setInterval(sweep, SWEEP_EVERY_MS);
    this.sweeper.unref();
    sweep();
    this.kick();
  }

  kick(): void {
    if (!this.stopped) this.reloads.request();
  }

  private retire(id: string, mapping: Mapping): void {
    this.mappings.delete(id);
    const done: Promise<void> = mapping.stop().finally(() => this.stopping.delete(done));
    this.stopping.add(done);
  }

  private async refresh(): Promise<void> {
    const triggers = await enabledQueueTriggers(this.sql);
    const wanted = new Map(triggers.map((t) => [t.id, t]));
    for (const [id, mapping] of this.mappings) {
      const now = wanted.get(id);
      // disabled, deleted or changed (a changed one starts again with its new settings)
      if (!now || now.updatedAt.getTime() !== mapping.trigger.updatedAt.getTime()) this.retire(id, mapping);
    }
    for (const trigger of triggers) {
      if (this.mappings.has(trigger.id) || this.stopped) continue;
      const queue = await this.deps.queues.get((trigger.config as unknown as QueueTriggerConfig).queueName);
      if (!queue) continue;
      const mapping = new Mapping(trigger, queue, this.deps);
      this.mappings.set(trigger.id, mapping);
      mapping.start();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.sweeper) clearInterval(this.sweeper);
    // a reload in progress may still start mappings: let it finish before they are retired
    await Promise.all([this.reloads.idle(), this.sweeping]);
    for (const [id, mapping] of this.mappings) this.retire(id, mapping);
    await Promise.allSettled([...this.stopping]);
  }
}
