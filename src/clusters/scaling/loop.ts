import type { Logger } from 'pino';
import type { ClusterRow } from '../tables.js';
import type { MetricsService } from '../metrics.js';
import type { ScalingService } from './service.js';

const PRUNE_EVERY_MS = 10 * 60_000;

/** The services it uses. */
export interface ScalingLoopServices {
  metrics: MetricsService;
  scaling: ScalingService;
}

/**
 * Runs inside the cluster controller's leader pass (so it is a singleton too): every metrics
 * interval it samples the Postgres-derived metrics of all active clusters, then evaluates the
 * scaling policies of the ready ones on them. Old samples are pruned now and then.
 */
export class ScalingController {
  private lastCollect = 0;
  private lastPrune = 0;

  constructor(
    private readonly services: ScalingLoopServices,
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {}

  async pass(active: ClusterRow[]): Promise<void> {
    const now = Date.now();
    if (now - this.lastCollect < this.intervalMs) return;
    this.lastCollect = now;
    const { metrics, scaling } = this.services;
    await metrics.collect(now);
    const ready = active.filter((c) => c.state === 'RUNNING' || c.state === 'WAITING').map((c) => c.id);
    if (ready.length) {
      for (const id of await scaling.clustersWithPolicies(ready)) {
        try {
          const done = await scaling.evaluate(id, now);
          for (const a of done)
            this.log.info({ clusterId: id, groupId: a.groupId, from: a.fromCount, to: a.toCount, reason: a.reason }, 'scaling decision');
        } catch (err) {
          this.log.error({ err, clusterId: id }, 'scaling evaluation failed; the next pass retries');
        }
      }
    }
    if (now - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = now;
      const dropped = await metrics.prune(now);
      if (dropped) this.log.info({ dropped }, 'old metric samples dropped');
    }
  }
}
