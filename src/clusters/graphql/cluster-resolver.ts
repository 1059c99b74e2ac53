import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { pageSize, parseSeqCursor } from '../../platform/paging.js';
import {
  ClusterFilter,
  CreateClusterInput,
  ModifyInstanceGroupInput,
  SetTerminationProtectionInput,
  TerminateClustersInput,
} from './inputs.js';
import { CreateClusterPayload, ModifyInstanceGroupPayload, SetTerminationProtectionPayload, TerminateClustersPayload } from './payloads.js';
import { Cluster, ClusterConnection, Instance, InstanceGroup, StateChangeReason, StepConnection } from './types.js';
import { authorizeBucketUse } from './bucket-access.js';
import type { Context } from '../../platform/graphql/context.js';
import { toCluster, toStep, type ClusterObject } from '../../clusters/graphql/mappers.js';
import { connection } from '../../platform/graphql/connection.js';
import type { ClusterService } from '../clusters.js';
import type { ClusterLoaders } from '../loaders.js';

@Resolver(() => Cluster)
export class ClusterResolver {
  constructor(
    private readonly service: ClusterService,
    private readonly loaders: (ctx: Context) => ClusterLoaders,
  ) {}

  @Authorized('clusters:DescribeCluster')
  @Query(() => Cluster, { nullable: true })
  async cluster(@Arg('id', () => ID) id: string, @Ctx() ctx: Context): Promise<ClusterObject | null> {
    const row = await this.loaders(ctx).cluster.load(id);
    return row ? toCluster(row) : null;
  }

  @Authorized('clusters:ListClusters')
  @Query(() => ClusterConnection, { description: 'Newest first' })
  async clusters(
    @Ctx() ctx: Context,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('filter', () => ClusterFilter, { nullable: true }) filter?: ClusterFilter,
  ) {
    const page = await this.service.list(first, after, filter);
    for (const row of page.nodes) this.loaders(ctx).cluster.prime(row.id, row);
    return connection(page, toCluster, Boolean(after));
  }

  @Authorized('clusters:CreateCluster')
  @Mutation(() => CreateClusterPayload)
  async createCluster(@Arg('input', () => CreateClusterInput) input: CreateClusterInput, @Ctx() ctx: Context) {
    authorizeBucketUse(ctx.principal, input.steps, input.bootstrapActions?.length ?? 0);
    return { cluster: toCluster(await this.service.create(input, ctx.principal!)) };
  }

  @Authorized('clusters:TerminateClusters')
  @Mutation(() => TerminateClustersPayload, { description: 'All or nothing; terminating an ended cluster is a no-op' })
  async terminateClusters(@Arg('input', () => TerminateClustersInput) input: TerminateClustersInput) {
    return { clusters: (await this.service.terminate(input.ids)).map(toCluster) };
  }

  @Authorized('clusters:SetTerminationProtection')
  @Mutation(() => SetTerminationProtectionPayload)
  async setTerminationProtection(@Arg('input', () => SetTerminationProtectionInput) input: SetTerminationProtectionInput) {
    return { clusters: (await this.service.setTerminationProtection(input.ids, input.terminationProtected)).map(toCluster) };
  }

  @Authorized('clusters:ModifyInstanceGroup')
  @Mutation(() => ModifyInstanceGroupPayload, { description: 'Sets the wanted size of a CORE or TASK group; nodes start or stop to match' })
  async modifyInstanceGroup(@Arg('input', () => ModifyInstanceGroupInput) input: ModifyInstanceGroupInput) {
    return { instanceGroup: await this.service.modifyInstanceGroup(input) };
  }

  @FieldResolver(() => StateChangeReason, { nullable: true })
  stateChangeReason(@Root() cluster: ClusterObject): StateChangeReason | null {
    const { stateReasonCode: code, stateReasonMessage: message } = cluster.row;
    return code || message ? { code, message } : null;
  }

  @FieldResolver(() => [InstanceGroup])
  instanceGroups(@Root() cluster: ClusterObject, @Ctx() ctx: Context) {
    return this.loaders(ctx).groupsByCluster.load(cluster.id);
  }

  @FieldResolver(() => [Instance])
  instances(@Root() cluster: ClusterObject, @Ctx() ctx: Context) {
    return this.loaders(ctx).instancesByCluster.load(cluster.id);
  }

  @FieldResolver(() => StepConnection, { description: 'Newest first, as EMR ListSteps' })
  async steps(
    @Root() cluster: ClusterObject,
    @Ctx() ctx: Context,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    const limit = pageSize(first);
    const before = after ? parseSeqCursor(after) : null;
    const rows = await this.loaders(ctx).stepPage.load(`${cluster.id}|${limit + 1}|${before ?? ''}`);
    const page = {
      nodes: rows.slice(0, limit),
      hasNextPage: rows.length > limit,
      cursorOf: (s: { position: number }) => String(s.position),
    };
    return connection(page, toStep, Boolean(after));
  }
}
