import type { Logger } from 'pino';
import type { Tx } from '../../platform/db/client.js';
import { objectEventsBySeq, stateChanges, takeOutbox } from '../queries/outbox.js';
import { enabledTriggersForShare } from '../queries/triggers.js';
import type { TriggerOutboxRow, TriggerRow } from '../tables.js';
import { bucketMatches, s3Event, sequencerOf, type BucketTriggerConfig } from '../sources/bucket/source.js';
import { clusterEventId, clusterEventMatches, emrEvent, type ClusterEventsTriggerConfig } from '../sources/cluster-events/source.js';
import type { TriggerDeliveries } from '../deliveries.js';
import { OneRunAtATime } from '../../platform/one-run-at-a-time.js';

const BATCH = 100;

/**
 * Turns source events (object changes, cluster and step state changes, queued in trigger_outbox
 * by the transactions that made them) into deliveries. Any replica may run it: each pass takes a
 * batch with FOR UPDATE SKIP LOCKED, reads the enabled triggers (share-locked, so a trigger being
 * disabled waits or is seen disabled), queues a delivery per matching trigger and deletes the
 * batch, in one transaction. An event reaches each matching trigger exactly once, and a crash
 * anywhere before the commit leaves it in the outbox. Woken by NOTIFY and a periodic tick.
 *
 * A delivery that cannot be queued (a trigger whose stored config the code no longer reads, a row
 * the database refuses) fails its batch; the batch is then taken again with each delivery in a
 * savepoint, and that one is recorded as a FAILED delivery, so it cannot hold up the outbox.
 */
export class OutboxDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly serial: OneRunAtATime;

  constructor(
    private readonly deliveries: TriggerDeliveries,
    private readonly log: Logger,
    private readonly options: { intervalMs: number },
  ) {
    this.serial = new OneRunAtATime(
      () => this.drain(),
      (err) => this.log.error({ err }, 'dispatching trigger events failed; the next tick retries'),
    );
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.options.intervalMs);
    this.timer.unref();
  }

  kick(): void {
    if (!this.stopped) this.serial.request();
  }

  private async drain(): Promise<void> {
    while (!this.stopped && (await this.pass()) === BATCH) {
      /* a full batch: there may be more */
    }
  }

  /** One batch, one transaction; returns how many source events it consumed. */
  private pass(): Promise<number> {
    return this.deliveries.deliverBatch('a trigger outbox batch', (tx, isolated) => this.dispatch(tx, isolated));
  }

  private async dispatch(tx: Tx, isolated: boolean): Promise<number> {
    const rows = await takeOutbox(tx, BATCH);
    if (rows.length === 0) return 0;
    // no wait for the WAL flush: a Postgres crash can only lose the whole pass (consumption and
    // deliveries together), which puts its events back in the outbox: delivered again, not lost
    await tx`set local synchronous_commit = off`;
    const triggers = await enabledTriggersForShare(tx, [...new Set(rows.map((r) => r.sourceType))]);
    const bucket = triggers.filter((t) => t.sourceType === 'BUCKET');
    const cluster = triggers.filter((t) => t.sourceType === 'CLUSTER_EVENTS');
    if (bucket.length > 0) await this.deliverObjectChanges(tx, rows, bucket, isolated);
    if (cluster.length > 0) await this.deliverStateChanges(tx, rows, cluster, isolated);
    return rows.length;
  }

  // A trigger sees the events that happened after it was made (S3 and EventBridge configurations
  // apply from then on); the ones that happened while it was disabled are consumed without it.

  private async deliverObjectChanges(tx: Tx, rows: TriggerOutboxRow[], triggers: TriggerRow[], isolated: boolean): Promise<void> {
    const seqs = rows.filter((r) => r.sourceType === 'BUCKET').map((r) => r.objectEventSeq!);
    for (const change of await objectEventsBySeq(tx, seqs)) {
      for (const t of triggers) {
        if (t.createdAt > change.at) continue;
        await this.deliveries.deliver(tx, isolated, t, sequencerOf(change.seq), () =>
          bucketMatches(t.config as unknown as BucketTriggerConfig, change) ? s3Event(t.name, change) : null,
        );
      }
    }
  }

  private async deliverStateChanges(tx: Tx, rows: TriggerOutboxRow[], triggers: TriggerRow[], isolated: boolean): Promise<void> {
    const keys = rows.filter((r) => r.sourceType === 'CLUSTER_EVENTS').map((r) => ({ clusterId: r.clusterId!, seq: r.eventSeq! }));
    for (const change of await stateChanges(tx, keys)) {
      for (const t of triggers) {
        if (t.createdAt > change.at) continue;
        await this.deliveries.deliver(tx, isolated, t, clusterEventId(change.clusterId, change.seq), () =>
          clusterEventMatches(t.config as unknown as ClusterEventsTriggerConfig, change) ? emrEvent(change) : null,
        );
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.serial.idle();
  }
}
