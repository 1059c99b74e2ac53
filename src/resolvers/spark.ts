import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { InstanceRow } from '../db/rows.js';
import { BootstrapAction, InstanceEndpoints, SparkInfo } from '../schema/spark.js';
import { Cluster, Instance } from '../schema/types.js';
import type { Context } from './context.js';
import type { ClusterObject } from './mappers.js';

@Resolver(() => Cluster)
export class ClusterSparkResolver {
  @FieldResolver(() => SparkInfo, { nullable: true, description: 'the Spark master and its workers (SPARK clusters)' })
  spark(@Root() cluster: ClusterObject, @Ctx() ctx: Context): Promise<SparkInfo | null> {
    return ctx.loaders.sparkStatus.load(cluster.row);
  }

  @FieldResolver(() => [BootstrapAction])
  bootstrapActions(@Root() cluster: ClusterObject): BootstrapAction[] {
    return cluster.row.bootstrapActions;
  }
}

@Resolver(() => Instance)
export class InstanceEndpointsResolver {
  @FieldResolver(() => InstanceEndpoints, { nullable: true })
  endpoints(@Root() instance: InstanceRow): InstanceEndpoints | null {
    const e = instance.endpoints;
    return e ? { sparkMasterUrl: e.sparkMasterUrl ?? null, sparkMasterWebUrl: e.sparkMasterWebUrl ?? null, sparkWorkerWebUrl: e.sparkWorkerWebUrl ?? null } : null;
  }
}
