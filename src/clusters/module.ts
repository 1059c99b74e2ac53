// Clusters (the EMR model): clusters, instance groups and their nodes (node agents, through the agent
// gateway), steps and their kinds, Spark (metastore, history), scaling, metrics and usage.
import { detectSpark, type SparkRuntime } from '../engine/spark-runtime.js';
import type { LogService } from '../logs/service.js';
import type { WorkloadCredentials } from '../access/workload-credentials.js';
import type { HostsModule } from '../hosts/module.js';
import { perRequest } from '../platform/graphql/context.js';
import type { HttpSurface, Module, StopOptions } from '../platform/module.js';
import { Channel } from '../platform/notifications/channels.js';
import { splitNotification } from '../platform/notifications/live-feed.js';
import type { Platform } from '../platform/platform.js';
import type { StorageService } from '../storage/service.js';
import { AgentGateway } from './agent-gateway.js';
import { ClusterService } from './clusters.js';
import { EventService } from './events.js';
import { ClusterResolver } from './graphql/cluster-resolver.js';
import { HostInstancesResolver, InstanceResolver } from './graphql/instance-resolver.js';
import { rewriteClusterLists } from './graphql/spliced-lists.js';
import { StepResolver } from './graphql/step-resolver.js';
import { SubscriptionResolver } from './graphql/subscription-resolver.js';
import { applicationsWith, type ApplicationInfo } from './instance-types.js';
import { InstanceService } from './instances.js';
import { createClusterLoaders, createSharedClusterReads } from './loaders.js';
import { ClusterController, handleOf } from './loops/cluster-controller.js';
import type { PlacementRequest } from '../hosts/placement.js';
import { StepDispatcher } from './loops/step-dispatcher.js';
import { MetricsService } from './metrics.js';
import { NodeConfigService } from './node-config.js';
import { loadPriceTable } from './pricing.js';
import { liveInstancesOnHost } from './queries/instances.js';
import { ScalingController } from './scaling/loop.js';
import { ClusterScalingResolver, InstanceGroupScalingResolver } from './scaling/resolvers.js';
import { ScalingService } from './scaling/service.js';
import { CatalogResolver } from './spark/catalog-resolver.js';
import { MetastoreService } from './spark/metastore.js';
import { CatalogTablesResolver, ClusterSparkResolver, InstanceEndpointsResolver, SparkStepAppResolver } from './spark/resolvers.js';
import { stepKinds, type StepKind } from './step-kinds/index.js';
import { StepService } from './steps.js';
import { wakesOf } from './queries/events.js';
import { UsageService } from './usage.js';

export const clustersResolvers = [
  ClusterResolver,
  StepResolver,
  InstanceResolver,
  HostInstancesResolver,
  SubscriptionResolver,
  ClusterScalingResolver,
  InstanceGroupScalingResolver,
  ClusterSparkResolver,
  InstanceEndpointsResolver,
  SparkStepAppResolver,
  CatalogTablesResolver,
  CatalogResolver,
];

export class ClustersModule implements Module {
  readonly name = 'clusters';
  /** Spark on this host (pyspark, Java), found once at start-up */
  readonly spark: SparkRuntime;
  /** what a cluster may ask for, and why not */
  readonly applications: readonly ApplicationInfo[];
  /** the install's Hive metastore (Postgres schema hive_metastore) that SPARK nodes and SQL share */
  readonly metastore: MetastoreService;
  readonly clusters: ClusterService;
  readonly steps: StepService;
  readonly instances: InstanceService;
  readonly events: EventService;
  readonly metrics: MetricsService;
  readonly scaling: ScalingService;
  readonly resolvers: object[];
  readonly http: HttpSurface;
  private readonly gateway: AgentGateway;
  private readonly dispatcher: StepDispatcher;
  private readonly controller: ClusterController;

  constructor(
    private readonly platform: Platform,
    private readonly deps: {
      logs: LogService;
      storage: StorageService;
      sqlSteps: StepKind;
      workloads: WorkloadCredentials;
      hosts: HostsModule;
    },
  ) {
    const { sql, config, log, secrets, serverId } = platform;
    const { storage, logs } = deps;
    this.spark = detectSpark({
      python: config.python,
      sparkHome: config.sparkHome,
      javaHome: config.javaHome,
      forOthers: config.sandbox && process.getuid?.() === 0,
    });
    this.applications = applicationsWith(this.spark);
    this.metastore = new MetastoreService(sql, storage, config, secrets.metastorePassword, log);
    this.steps = new StepService(
      sql,
      storage,
      secrets,
      this.metastore.lookup,
      stepKinds(deps.sqlSteps),
      {
        serverId,
        localMaster: (clusterId) => this.dispatcher.localMaster(clusterId),
        deliver: (instanceId, steps) => this.dispatcher.deliver(instanceId, steps),
        kick: (clusterId) => this.dispatcher.kick(clusterId),
        claimedThrough: (clusterId, events) => this.dispatcher.claimedThrough(clusterId, events),
      },
      { pathMapping: config.objectPathMapping, duckdbExtensionsDir: config.duckdbExtensionsDir },
    );
    this.metrics = new MetricsService(sql, log, { agentMetricsMs: config.agentMetricsMs, retentionHours: config.metricsRetentionHours });
    const sharedReads = createSharedClusterReads(sql, platform.sqlPlannedOnce);
    this.clusters = new ClusterService(
      sql,
      this.steps,
      this.applications,
      storage,
      (id, since) => this.metrics.lastAppActivity(id, since),
      secrets,
      deps.workloads,
      config.minIdleTimeoutSeconds,
      (query) => sharedReads.clusterPage.load(query),
    );
    this.instances = new InstanceService(sql, this.steps, deps.workloads);
    this.events = new EventService(sql, log);
    this.scaling = new ScalingService(sql, this.metrics, {
      cooldownSeconds: config.scalingCooldownSeconds,
      idlePeriods: config.scalingIdlePeriods,
    });
    const usage = new UsageService(sql, loadPriceTable(config.priceTable));
    const nodes = new NodeConfigService(
      sql,
      this.spark,
      config,
      this.metastore,
      deps.workloads,
      () => platform.address.agentS3Url,
      deps.hosts.hosts,
    );

    this.gateway = new AgentGateway(
      { instances: this.instances, steps: this.steps, logs, metrics: this.metrics, nodes, secrets },
      serverId,
      log,
      (clusterId) => this.dispatcher.kick(clusterId),
    );
    this.dispatcher = new StepDispatcher({ steps: this.steps }, this.gateway, serverId, log);
    const scalingLoop = new ScalingController({ metrics: this.metrics, scaling: this.scaling }, log, config.metricsIntervalMs);
    const { hosts } = deps;
    const controllerHosts = {
      beforePass: (since: Date) => hosts.beforePass(since),
      choose: (request: PlacementRequest) => hosts.placement.choose(request),
      goneReason: (hostId: string | null) => hosts.goneReason(hostId),
      draining: (hostId: string | null) => hosts.draining(hostId),
    };
    this.controller = new ClusterController(
      { sql, clusters: this.clusters, instances: this.instances },
      hosts.driver,
      controllerHosts,
      log,
      {
        leaderDb: platform.leaderDb,
        intervalMs: config.reconcileIntervalMs,
        heartbeatTimeoutMs: config.heartbeatTimeoutMs,
        joinTimeoutMs: 60_000,
        startupTimeoutMs: config.startupTimeoutSeconds * 1_000,
        // longer than the agent's own shutdown (2 s for its steps, then a last flush)
        stopGraceMs: 5_000,
        controlPlaneUrls: () => platform.registry.agentUrls(),
        decommissionTimeoutMs: config.sparkDecommissionTimeoutSeconds * 1_000,
        afterPass: (active) => scalingLoop.pass(active),
        embeddedOnly: config.objectPathMapping,
      },
    );

    const loaders = perRequest(() => createClusterLoaders(sharedReads, this.scaling, usage));
    this.resolvers = [
      new ClusterResolver(this.clusters, loaders),
      new StepResolver(this.steps, logs, loaders),
      new InstanceResolver(deps.hosts.hosts),
      new HostInstancesResolver(this.instances),
      new SubscriptionResolver(this.clusters, this.events, this.steps, logs),
      new ClusterScalingResolver(this.scaling, this.clusters, this.metrics, loaders),
      new InstanceGroupScalingResolver(loaders),
      new ClusterSparkResolver(loaders),
      new InstanceEndpointsResolver(),
      new SparkStepAppResolver(loaders),
      new CatalogTablesResolver(this.metastore),
      new CatalogResolver(this.applications),
    ];
    this.http = {
      queryRewriter: rewriteClusterLists,
      sockets: [
        { path: '/agent', maxPayloadBytes: 16 * 1024 * 1024, accept: (ws, remoteAddress) => this.gateway.accept(ws, remoteAddress) },
      ],
    };
  }

  readonly channels = {
    // every state change appends a cluster event: subscribers follow it, and it may mean work
    [Channel.clusterEvent]: (payload: string) => {
      const { key, seq, mark } = splitNotification(payload);
      this.events.feed.notify(key, seq);
      const wakes = wakesOf(mark);
      if (wakes === 'none') return;
      this.dispatcher.eventCommitted(key, seq);
      if (wakes === 'loops') this.controller.hint();
    },
    // a host joined, came back, drained or was lost: nodes may now be placed, moved or replaced
    [Channel.hostEvent]: () => this.controller.hint(),
  };

  caughtUp(): void {
    this.events.feed.pokeAll();
    this.dispatcher.tick();
    this.controller.kick();
  }

  async prepare(): Promise<void> {
    if (this.spark.available) await this.metastore.start(this.platform.databaseUrl);
  }

  // the controller launches agents with the addresses of the servers: this one's is known now
  start(): void {
    this.dispatcher.start(this.platform.config.reconcileIntervalMs);
    this.controller.start();
  }

  async stop(options: StopOptions): Promise<void> {
    await this.controller.stop();
    await this.dispatcher.stop();
    const local = this.deps.hosts.local;
    if (options.stopAgents && local) {
      const mine = await liveInstancesOnHost(this.platform.sql, local.host);
      await Promise.allSettled(mine.map((i) => local.stop(handleOf(i), 2_000)));
    }
    await this.gateway.close();
    await this.metrics.close();
    this.events.feed.close();
  }
}
