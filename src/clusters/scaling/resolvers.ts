import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { DateTimeResolver } from 'graphql-scalars';
import type { AutoScalingPolicyRow, ManagedScalingPolicyRow, ScalingActivityRow } from '../tables.js';
import { notFound } from '../../platform/errors.js';
import { METRICS } from '../metrics.js';
import { ScalingService } from './service.js';
import {
  AutoScalingPolicy,
  ClusterUsage,
  ManagedScalingPolicy,
  MetricInfo,
  MetricSeries,
  MetricStatistic,
  PutAutoScalingPolicyInput,
  PutAutoScalingPolicyPayload,
  PutManagedScalingPolicyInput,
  PutManagedScalingPolicyPayload,
  RemoveAutoScalingPolicyInput,
  RemoveAutoScalingPolicyPayload,
  RemoveManagedScalingPolicyInput,
  RemoveManagedScalingPolicyPayload,
  ScalingActivityConnection,
  type ComputeLimitsUnitType,
  type ScalingActivity,
  type ScalingActivityTrigger,
} from './graphql.js';
import { Cluster, InstanceGroup } from '../graphql/types.js';
import type { Context } from '../../platform/graphql/context.js';
import { toCluster, type ClusterObject } from '../../clusters/graphql/mappers.js';
import { connection } from '../../platform/graphql/connection.js';
import type { ClusterService } from '../clusters.js';
import type { MetricsService } from '../metrics.js';
import type { ClusterLoaders } from '../loaders.js';

const toManaged = (p: ManagedScalingPolicyRow): ManagedScalingPolicy => ({
  computeLimits: {
    unitType: p.unitType as ComputeLimitsUnitType,
    minimumCapacityUnits: p.minimumCapacityUnits,
    maximumCapacityUnits: p.maximumCapacityUnits,
    maximumCoreCapacityUnits: p.maximumCoreCapacityUnits,
  },
  updatedAt: p.updatedAt,
});

const toAuto = (p: AutoScalingPolicyRow): AutoScalingPolicy => ({
  constraints: { minCapacity: p.minCapacity, maxCapacity: p.maxCapacity },
  rules: p.rules as AutoScalingPolicy['rules'],
  updatedAt: p.updatedAt,
});

const toActivity = (a: ScalingActivityRow): ScalingActivity => ({
  id: String(a.id),
  at: a.at,
  instanceGroupId: a.groupId,
  fromCount: a.fromCount,
  toCount: a.toCount,
  trigger: a.trigger as ScalingActivityTrigger,
  ruleName: a.ruleName,
  reason: a.reason,
});

@Resolver(() => Cluster)
export class ClusterScalingResolver {
  constructor(
    private readonly scaling: ScalingService,
    private readonly clusters: ClusterService,
    private readonly metrics: MetricsService,
    private readonly loaders: (ctx: Context) => ClusterLoaders,
  ) {}

  @Authorized('clusters:PutManagedScalingPolicy')
  @Mutation(() => PutManagedScalingPolicyPayload, { description: "Sets (or replaces) the cluster's managed scaling limits" })
  async putManagedScalingPolicy(@Arg('input', () => PutManagedScalingPolicyInput) input: PutManagedScalingPolicyInput) {
    const policy = await this.scaling.putManagedPolicy(input.clusterId, input.computeLimits);
    return { cluster: toCluster((await this.clusters.get(input.clusterId))!), managedScalingPolicy: toManaged(policy) };
  }

  @Authorized('clusters:RemoveManagedScalingPolicy')
  @Mutation(() => RemoveManagedScalingPolicyPayload, { description: 'The cluster keeps its current size' })
  async removeManagedScalingPolicy(@Arg('input', () => RemoveManagedScalingPolicyInput) input: RemoveManagedScalingPolicyInput) {
    await this.scaling.removeManagedPolicy(input.clusterId);
    return { cluster: toCluster((await this.clusters.get(input.clusterId))!) };
  }

  @Authorized('clusters:PutAutoScalingPolicy')
  @Mutation(() => PutAutoScalingPolicyPayload, { description: 'Sets (or replaces) the automatic scaling rules of a CORE or TASK group' })
  async putAutoScalingPolicy(@Arg('input', () => PutAutoScalingPolicyInput) input: PutAutoScalingPolicyInput, @Ctx() ctx: Context) {
    const policy = await this.scaling.putAutoPolicy(input.clusterId, input.instanceGroupId, input.autoScalingPolicy);
    const [group] = (await this.loaders(ctx).groupsByCluster.load(input.clusterId)).filter((g) => g.id === input.instanceGroupId);
    return { instanceGroup: group, autoScalingPolicy: toAuto(policy) };
  }

  @Authorized('clusters:RemoveAutoScalingPolicy')
  @Mutation(() => RemoveAutoScalingPolicyPayload)
  async removeAutoScalingPolicy(@Arg('input', () => RemoveAutoScalingPolicyInput) input: RemoveAutoScalingPolicyInput) {
    return { instanceGroup: await this.scaling.removeAutoPolicy(input.clusterId, input.instanceGroupId) };
  }

  @Authorized('clusters:GetClusterMetrics')
  @Query(() => [MetricSeries], { description: 'Metric series of a cluster over [from, to), one datapoint per period that has samples' })
  async clusterMetrics(
    @Arg('clusterId', () => ID) clusterId: string,
    @Arg('names', () => [String]) names: string[],
    @Arg('from', () => DateTimeResolver) from: Date,
    @Arg('periodSeconds', () => Int) periodSeconds: number,
    @Ctx() ctx: Context,
    @Arg('to', () => DateTimeResolver, { nullable: true, description: 'default: now' }) to?: Date,
    @Arg('statistic', () => MetricStatistic, { nullable: true, defaultValue: MetricStatistic.AVERAGE }) statistic?: MetricStatistic,
    @Arg('instanceId', () => ID, { nullable: true, description: "a node's own series (NodeCpuPercent, NodeMemoryUsedMB)" })
    instanceId?: string,
  ): Promise<MetricSeries[]> {
    if (!(await this.loaders(ctx).cluster.load(clusterId))) throw notFound('cluster', clusterId, 'clusterId');
    return this.metrics.query({ clusterId, names, from, to, periodSeconds, statistic, instanceId });
  }

  @Authorized('clusters:GetClusterMetrics')
  @Query(() => [MetricInfo], { description: 'The metrics clusterMetrics and scaling rules can read' })
  clusterMetricNames(): MetricInfo[] {
    return Object.entries(METRICS).map(([name, description]) => ({ name, description }));
  }

  @FieldResolver(() => ManagedScalingPolicy, { nullable: true })
  async managedScalingPolicy(@Root() cluster: ClusterObject, @Ctx() ctx: Context): Promise<ManagedScalingPolicy | null> {
    const row = await this.loaders(ctx).managedPolicy.load(cluster.id);
    return row ? toManaged(row) : null;
  }

  @FieldResolver(() => ScalingActivityConnection, { description: 'Resizes decided by scaling policies, newest first' })
  async scalingActivities(
    @Root() cluster: ClusterObject,
    @Ctx() ctx: Context,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    const { limit, before } = ScalingService.pageArgs(first, after);
    const rows = await this.loaders(ctx).activityPage.load(`${cluster.id}|${limit + 1}|${before ?? ''}`);
    return connection(ScalingService.page(rows, limit), toActivity, Boolean(after));
  }

  @FieldResolver(() => ClusterUsage)
  usage(@Root() cluster: ClusterObject, @Ctx() ctx: Context) {
    return this.loaders(ctx).usage.load(cluster.id);
  }
}

@Resolver(() => InstanceGroup)
export class InstanceGroupScalingResolver {
  constructor(private readonly loaders: (ctx: Context) => ClusterLoaders) {}

  @FieldResolver(() => AutoScalingPolicy, { nullable: true })
  async autoScalingPolicy(@Root() group: { id: string }, @Ctx() ctx: Context): Promise<AutoScalingPolicy | null> {
    const row = await this.loaders(ctx).autoPolicy.load(group.id);
    return row ? toAuto(row) : null;
  }
}
