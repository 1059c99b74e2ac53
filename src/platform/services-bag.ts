import os from 'node:os';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Sql } from './db/client.js';
import { WorkHints } from '../clusters/work-signal.js';
import { detectSpark, type SparkRuntime } from '../engine/spark-runtime.js';
import { createSqlEngine } from '../engine/sql/duckdb.js';
import { AuthService } from '../access/service.js';
import { applicationsWith, type ApplicationInfo } from '../clusters/instance-types.js';
import { ClusterService } from '../clusters/clusters.js';
import { EventService } from '../clusters/events.js';
import { FunctionCodeStore } from '../functions/code-store.js';
import { FunctionService } from '../functions/functions.js';
import { HttpRouteService } from '../triggers/sources/http/route-table.js';
import { InvocationService } from '../functions/invocations.js';
import { ProvisionedConcurrencyService } from '../functions/provisioned-concurrency.js';
import { QueueService } from '../messaging/queues.js';
import { TopicService } from '../messaging/topics.js';
import { InstanceService } from '../clusters/instances.js';
import { LogService } from '../logs/service.js';
import { MetricsService } from '../clusters/metrics.js';
import { loadPriceTable } from '../clusters/pricing.js';
import { ScalingService } from '../clusters/scaling/service.js';
import { UsageService } from '../clusters/usage.js';
import { MetastoreService } from '../clusters/spark/metastore.js';
import { NodeConfigService } from '../clusters/node-config.js';
import { SqlService } from '../sql/service.js';
import { StepService } from '../clusters/steps.js';
import { StorageService } from '../storage/service.js';
import { ScheduleService } from '../triggers/sources/schedule/service.js';
import { TriggerService } from '../triggers/service.js';
import type { Secrets } from './secrets.js';

/** The services bag shared by resolvers, controllers and the agent gateway. */
export interface Services {
  sql: Sql;
  /** hashes API keys and encrypts environments (secrets at rest) */
  secrets: Secrets;
  auth: AuthService;
  clusters: ClusterService;
  steps: StepService;
  instances: InstanceService;
  logs: LogService;
  events: EventService;
  hints: WorkHints;
  storage: StorageService;
  /** Spark on this host (pyspark, Java), found once at start-up */
  spark: SparkRuntime;
  /** the applications query: what this engine can run, and why not */
  applications: readonly ApplicationInfo[];
  nodes: NodeConfigService;
  /** the install's Hive metastore (Postgres schema hive_metastore) that SPARK nodes share */
  metastore: MetastoreService;
  sqlQueries: SqlService;
  metrics: MetricsService;
  scaling: ScalingService;
  usage: UsageService;
  functions: FunctionService;
  invocations: InvocationService;
  provisioned: ProvisionedConcurrencyService;
  triggers: TriggerService;
  schedules: ScheduleService;
  /** HTTP trigger routes of this server (in memory) and function URLs */
  httpRoutes: HttpRouteService;
  queues: QueueService;
  topics: TopicService;
}

export function createServices(sql: Sql, log: Logger, config: Config, secrets: Secrets): Services {
  const hints = new WorkHints();
  const spark = detectSpark({ python: config.python, sparkHome: config.sparkHome, forOthers: config.sandbox && process.getuid?.() === 0 });
  const storage = new StorageService(sql, config, log);
  const metastore = new MetastoreService(sql, storage, config, secrets.metastorePassword, log);
  const steps = new StepService(sql, hints, storage, spark.python, secrets, metastore.lookup);
  const applications = applicationsWith(spark);
  const metrics = new MetricsService(sql, log, { agentMetricsMs: config.agentMetricsMs, retentionHours: config.metricsRetentionHours });
  const functions = new FunctionService(sql, new FunctionCodeStore(config.dataDir, storage), config.functionConcurrencyLimit, secrets);
  const triggers = new TriggerService(sql, functions, log);
  return {
    sql,
    secrets,
    auth: new AuthService(sql, secrets, log),
    clusters: new ClusterService(sql, steps, applications, storage, (id, since) => metrics.lastAppActivity(id, since), secrets),
    steps,
    instances: new InstanceService(sql, steps),
    logs: new LogService(sql, log),
    events: new EventService(sql, log),
    hints,
    storage,
    spark,
    applications,
    nodes: new NodeConfigService(sql, spark, config, metastore),
    metastore,
    sqlQueries: new SqlService(sql, storage, createSqlEngine({
      memoryLimitMb: config.sqlPreviewMemoryMb, threads: Math.min(4, os.availableParallelism()),
    }), config.bucketsDir, config.sqlPreviewTimeoutMs, metastore.lookup),
    metrics,
    scaling: new ScalingService(sql, metrics, { cooldownSeconds: config.scalingCooldownSeconds, idlePeriods: config.scalingIdlePeriods }),
    usage: new UsageService(sql, loadPriceTable(config.priceTable)),
    functions,
    provisioned: new ProvisionedConcurrencyService(sql, functions, config.functionConcurrencyLimit),
    invocations: new InvocationService(sql, functions, config.functionConcurrencyLimit, { retryDelayMs: (attempt) => config.functionRetryDelayMs * attempt }, log),
    triggers,
    schedules: new ScheduleService(sql, triggers, config.scheduleMissedTickGraceSeconds * 1_000, log),
    httpRoutes: new HttpRouteService(sql, triggers, log),
    queues: new QueueService(sql),
    topics: new TopicService(sql, triggers),
  };
}
