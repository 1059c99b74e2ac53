import type { Logger } from 'pino';
import type { Sql } from '../platform/db/client.js';
import * as q from './queries/metrics.js';
import type { MetricStatistic } from './tables.js';
import { badInput } from '../platform/errors.js';
import { requireIntInRange, requireList } from '../platform/validate.js';

/**
 * The metrics a cluster has, named after EMR's CloudWatch ones where one exists. `node` metrics
 * are per instance (dimension = instance id); NodeCpuPercent also has a cluster-wide series, the
 * mean over running nodes.
 */
export const METRICS = {
  IsIdle: '1 when no step is pending or running and no Spark application runs or waits, else 0',
  StepsPending: 'steps waiting to run',
  StepsRunning: 'steps running (or being cancelled)',
  CoreNodesRequested: 'CORE nodes the groups ask for',
  CoreNodesRunning: 'CORE nodes running',
  TaskNodesRequested: 'TASK nodes the groups ask for',
  TaskNodesRunning: 'TASK nodes running',
  NodeCpuPercent: "CPU use of a node's processes, percent of one core as top shows it (cluster-wide: mean over running nodes)",
  NodeMemoryUsedMB: "resident memory of a node's processes, MB (per node)",
  AppsRunning: 'Spark applications running (from the Spark master)',
  AppsPending: 'Spark applications waiting for cores',
  AppsCompleted: 'Spark applications completed since the master started',
  CoresTotal: 'cores of the alive Spark workers',
  CoresUsed: 'cores in use by Spark applications',
  CoresFree: 'CoresTotal - CoresUsed',
  MemoryTotalMB: 'memory of the alive Spark workers, MB',
  MemoryAllocatedMB: 'memory given to Spark executors, MB',
  MemoryAvailableMB: 'MemoryTotalMB - MemoryAllocatedMB',
  SparkWorkersAlive: 'Spark workers registered and alive',
} as const;

export type MetricName = keyof typeof METRICS;
export const isMetricName = (name: string): name is MetricName => Object.hasOwn(METRICS, name);

/** Names of the Spark part of a master's report, and where each comes from. */
const SPARK_FIELDS: Array<[MetricName, (s: Record<string, number>) => number | undefined]> = [
  ['SparkWorkersAlive', (s) => s.aliveWorkers],
  ['CoresTotal', (s) => s.coresTotal],
  ['CoresUsed', (s) => s.coresUsed],
  ['CoresFree', (s) => (s.coresTotal === undefined || s.coresUsed === undefined ? undefined : Math.max(0, s.coresTotal - s.coresUsed))],
  ['MemoryTotalMB', (s) => s.memoryTotalMb],
  ['MemoryAllocatedMB', (s) => s.memoryUsedMb],
  [
    'MemoryAvailableMB',
    (s) => (s.memoryTotalMb === undefined || s.memoryUsedMb === undefined ? undefined : Math.max(0, s.memoryTotalMb - s.memoryUsedMb)),
  ],
  ['AppsRunning', (s) => s.appsRunning],
  ['AppsPending', (s) => s.appsWaiting],
  ['AppsCompleted', (s) => s.appsCompleted],
];

/** Only finite, non-negative numbers below 1e12 are kept from a report; anything else is dropped. */
function numbers(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (!value || typeof value !== 'object' || Array.isArray(value)) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v < 1e12) out[k] = v;
  return out;
}

export interface MetricsQuery {
  clusterId: string;
  names: string[];
  from: Date;
  to?: Date | null;
  periodSeconds: number;
  statistic?: MetricStatistic | null;
  instanceId?: string | null;
}

export interface MetricSeries {
  name: string;
  instanceId: string | null;
  datapoints: Array<{ at: Date; value: number }>;
}

const STAT_OF: Record<MetricStatistic, keyof q.Bucket> = {
  AVERAGE: 'average',
  MAXIMUM: 'maximum',
  MINIMUM: 'minimum',
  SUM: 'sum',
  SAMPLE_COUNT: 'sampleCount',
};
export const statisticOf = (b: q.Bucket, s: MetricStatistic): number => Number(b[STAT_OF[s]]);

/** CloudWatch's cap on datapoints per series and request. */
const MAX_DATAPOINTS = 1_440;
const MAX_NAMES = 20;

export interface MetricsOptions {
  /** agents report this often; a report older than 3 periods is no longer "the latest" */
  agentMetricsMs: number;
  retentionHours: number;
}

/**
 * The metrics store: agent reports (buffered, at most one per node per second, written together
 * once a second), Postgres-derived samples taken by the leader, retention, and the query.
 */
export class MetricsService {
  private pending = new Map<string, q.MetricSample[]>();
  private lastAccepted = new Map<string, number>();
  private timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly sql: Sql,
    private readonly log: Logger,
    readonly options: MetricsOptions,
  ) {
    this.timer = setInterval(() => void this.flush(), 1_000);
    this.timer.unref();
  }

  /** Reports older than this are stale: the node (or its Spark master) stopped reporting. */
  freshSince(now = Date.now()): Date {
    return new Date(now - 3 * Math.max(this.options.agentMetricsMs, 1_000));
  }

  /** A node agent's `metrics` report (docs/agent-protocol.md); the Spark part only counts from the MASTER. */
  recordAgentReport(clusterId: string, instanceId: string, role: string, report: { node?: unknown; spark?: unknown }): void {
    const now = Date.now();
    // bound the write rate whatever an agent sends: one report per node per second
    if (now - (this.lastAccepted.get(instanceId) ?? 0) < 1_000) return;
    this.lastAccepted.set(instanceId, now);
    const at = new Date(now);
    const samples: q.MetricSample[] = [];
    const node = numbers(report.node);
    if (node.cpuPercent !== undefined)
      samples.push({ clusterId, at, name: 'NodeCpuPercent', dimension: instanceId, value: node.cpuPercent });
    if (node.rssMb !== undefined) samples.push({ clusterId, at, name: 'NodeMemoryUsedMB', dimension: instanceId, value: node.rssMb });
    if (role === 'MASTER' && report.spark) {
      const spark = numbers(report.spark);
      for (const [name, pick] of SPARK_FIELDS) {
        const value = pick(spark);
        if (value !== undefined) samples.push({ clusterId, at, name, dimension: '', value });
      }
    }
    if (samples.length) this.pending.set(instanceId, samples);
  }

  forget(instanceId: string): void {
    this.lastAccepted.delete(instanceId);
  }

  /** Writes the buffered reports in one statement (samples are not state: a crash loses ≤ 1 s of them). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const samples = [...this.pending.values()].flat();
      this.pending.clear();
      await q.insertSamples(this.sql, samples).catch((err) => this.log.warn({ err, samples: samples.length }, 'metric samples not stored'));
    });
    return this.flushing;
  }

  /** One sample of every Postgres-derived metric of every active cluster (the leader calls it). */
  collect(now = Date.now()): Promise<number> {
    return q.collectClusterMetrics(this.sql, this.freshSince(now));
  }

  prune(now = Date.now()): Promise<number> {
    return q.deleteOlderThan(this.sql, new Date(now - this.options.retentionHours * 3_600_000));
  }

  latest(clusterId: string, names: MetricName[]): Promise<Map<string, number>> {
    return q.latestValues(this.sql, clusterId, names, this.freshSince());
  }

  lastSamples(clusterId: string, name: MetricName, n: number) {
    return q.lastSamples(this.sql, clusterId, name, n);
  }

  aggregate(clusterId: string, name: MetricName, from: Date, to: Date, periodSeconds: number) {
    return q.aggregate(this.sql, { clusterId, names: [name], dimension: '', from, to, periodSeconds });
  }

  /** The last time Spark applications were seen running or waiting since `since` (null: not since then). */
  lastAppActivity(clusterId: string, since: Date): Promise<Date | null> {
    return q.lastPositiveAt(this.sql, clusterId, ['AppsRunning', 'AppsPending'], since);
  }

  async query(input: MetricsQuery): Promise<MetricSeries[]> {
    requireList(input.names, 'names', 1, MAX_NAMES);
    input.names.forEach((n, i) => {
      if (!isMetricName(n)) throw badInput(`names.${i}`, `unknown metric "${n.slice(0, 64)}"; known: ${Object.keys(METRICS).join(', ')}`);
    });
    const period = requireIntInRange(input.periodSeconds, 'periodSeconds', 1, 86_400);
    const to = input.to ?? new Date();
    if (Number.isNaN(input.from.getTime()) || Number.isNaN(to.getTime())) throw badInput('from', 'must be a valid time');
    if (to <= input.from) throw badInput('to', 'must be after from');
    if ((to.getTime() - input.from.getTime()) / 1000 / period > MAX_DATAPOINTS) {
      throw badInput('periodSeconds', `the range holds more than ${MAX_DATAPOINTS} periods; use a longer period or a shorter range`);
    }
    const names = [...new Set(input.names)];
    const statistic = input.statistic ?? 'AVERAGE';
    const buckets = await q.aggregate(this.sql, {
      clusterId: input.clusterId,
      names,
      dimension: input.instanceId ?? '',
      from: input.from,
      to,
      periodSeconds: period,
    });
    return names.map((name) => ({
      name,
      instanceId: input.instanceId ?? null,
      datapoints: buckets.filter((b) => b.name === name).map((b) => ({ at: b.at, value: statisticOf(b, statistic) })),
    }));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
