import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Authorized, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
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
import { stepPageKey, type ClusterLoaders } from '../loaders.js';
import { nestedStepPage } from '../queries/nested.js';
import { nestedSelection, stepPageRead } from './look-ahead.js';
import { RawListsRead, withRawLists } from './spliced-lists.js';

@Resolver(() => Cluster)
export class ClusterResolver {
  constructor(
    private readonly service: ClusterService,
    private readonly loaders: (ctx: Context) => ClusterLoaders,
  ) {}

  @Authorized('clusters:DescribeCluster')
  @Query(() => Cluster, { nullable: true })
  async cluster(@Arg('id', () => ID) id: string, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Promise<ClusterObject | null> {
    const loaders = this.loaders(ctx);
    // the cluster (the columns shown) and the nested lists selected under it: one statement (shared with other requests')
    const nested = nestedSelection(info);
    const tree = await loaders.clusterTree.load({ id, nested });
    if (!tree) return null;
    if (nested.row === 'all') loaders.cluster.prime(id, tree.row);
    return toCluster(tree.row, tree.nested);
  }

  @Authorized('clusters:ListClusters')
  @Query(() => ClusterConnection, { description: 'Newest first' })
  async clusters(
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('filter', () => ClusterFilter, { nullable: true }) filter?: ClusterFilter,
  ) {
    const loaders = this.loaders(ctx);
    // the page (the columns shown) and the nested lists selected under its nodes: one statement (shared with other requests')
    const nested = nestedSelection(info, ['edges', 'node']);
    // the lists a rewritten document leaves to the page's JSON text (spliced-lists.ts)
    const raw = ctx.rewrite instanceof RawListsRead ? ctx.rewrite.listsOf(info.path.key) : undefined;
    const page = await this.service.list(first, after, filter, raw ? withRawLists(nested, raw) : nested);
    if (raw)
      (ctx.rewrite as RawListsRead).pages.set(
        String(info.path.key),
        page.nodes.map((tree) => tree.raw),
      );
    // rows with fewer columns answer this selection only: never another field's load
    if (nested.row === 'all') for (const { row } of page.nodes) loaders.cluster.prime(row.id, row);
    return connection(page, (tree) => toCluster(tree.row, tree.nested), Boolean(after));
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
    return { clusters: (await this.service.terminate(input.ids)).map((row) => toCluster(row)) };
  }

  @Authorized('clusters:SetTerminationProtection')
  @Mutation(() => SetTerminationProtectionPayload)
  async setTerminationProtection(@Arg('input', () => SetTerminationProtectionInput) input: SetTerminationProtectionInput) {
    return { clusters: (await this.service.setTerminationProtection(input.ids, input.terminationProtected)).map((row) => toCluster(row)) };
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
    return cluster.nested?.groups ?? this.loaders(ctx).groupsByCluster.load(cluster.id);
  }

  @FieldResolver(() => [Instance])
  instances(@Root() cluster: ClusterObject, @Ctx() ctx: Context) {
    return cluster.nested?.instances ?? this.loaders(ctx).instancesByCluster.load(cluster.id);
  }

  @FieldResolver(() => StepConnection, { description: 'Newest first, as EMR ListSteps' })
  async steps(
    @Root() cluster: ClusterObject,
    @Ctx() ctx: Context,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    const read = stepPageRead(first, after);
    const rows = nestedStepPage(cluster.nested, read) ?? (await this.loaders(ctx).stepPage.load(stepPageKey(cluster.id, read)));
    const limit = read.limit - 1;
    const page = {
      nodes: rows.slice(0, limit),
      hasNextPage: rows.length > limit,
      cursorOf: (s: { position: number }) => String(s.position),
    };
    return connection(page, toStep, Boolean(after));
  }
}
