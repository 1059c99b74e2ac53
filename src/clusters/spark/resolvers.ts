import { Arg, Authorized, Ctx, FieldResolver, Query, Resolver, Root } from 'type-graphql';
import type { InstanceRow, StepRow } from '../tables.js';
import { BootstrapAction, Catalog, type CatalogDatabase, InstanceEndpoints, SparkInfo } from './graphql.js';
import { Cluster, Instance, SparkStep } from '../graphql/types.js';
import type { Context } from '../../platform/graphql/context.js';
import type { ClusterObject } from '../../clusters/graphql/mappers.js';
import type { ClusterLoaders } from '../loaders.js';
import type { MetastoreService } from './metastore.js';

@Resolver(() => Cluster)
export class ClusterSparkResolver {
  constructor(private readonly loaders: (ctx: Context) => ClusterLoaders) {}

  @FieldResolver(() => SparkInfo, { nullable: true, description: 'the Spark master and its workers (SPARK clusters)' })
  spark(@Root() cluster: ClusterObject, @Ctx() ctx: Context): Promise<SparkInfo | null> {
    return this.loaders(ctx).sparkStatus.load(cluster.row);
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
    return e
      ? {
          sparkMasterUrl: e.sparkMasterUrl ?? null,
          sparkMasterWebUrl: e.sparkMasterWebUrl ?? null,
          sparkWorkerWebUrl: e.sparkWorkerWebUrl ?? null,
          sparkHistoryUrl: e.sparkHistoryUrl ?? null,
        }
      : null;
  }
}

/** Step.spark as StepResolver gives it: the step's spec with its row (for the app's outcome). */
export type SparkStepObject = SparkStep & { row: StepRow };

/** The step's app as its `::result` tells it (spark-step.js: applicationId, uiUrl). */
function appOf(row: StepRow): { applicationId: string | null; uiUrl: string | null; running: boolean } {
  const result = row.result ?? {};
  return {
    applicationId: typeof result.applicationId === 'string' ? result.applicationId : null,
    uiUrl: typeof result.uiUrl === 'string' ? result.uiUrl : null,
    running: row.state === 'RUNNING' || row.state === 'CANCEL_PENDING',
  };
}

@Resolver(() => SparkStep)
export class SparkStepAppResolver {
  constructor(private readonly loaders: (ctx: Context) => ClusterLoaders) {}

  @FieldResolver(() => String, { nullable: true, description: "Spark's application id, once the driver is up" })
  applicationId(@Root() spark: SparkStepObject): string | null {
    return appOf(spark.row).applicationId;
  }

  @FieldResolver(() => String, { nullable: true, description: "the driver's live web UI while the step runs (null after: see historyUrl)" })
  uiUrl(@Root() spark: SparkStepObject): string | null {
    const app = appOf(spark.row);
    return app.running ? app.uiUrl : null;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description:
      "the app's page in its cluster's Spark History Server once the step has ended (while that cluster runs; the event logs stay in their bucket)",
  })
  async historyUrl(@Root() spark: SparkStepObject, @Ctx() ctx: Context): Promise<string | null> {
    const { applicationId, running } = appOf(spark.row);
    if (!applicationId || running) return null;
    const master = (await this.loaders(ctx).instancesByCluster.load(spark.row.clusterId)).find(
      (i) => i.role === 'MASTER' && i.state === 'RUNNING' && i.endpoints?.sparkHistoryUrl,
    );
    return master ? `${master.endpoints!.sparkHistoryUrl}/history/${encodeURIComponent(applicationId)}/` : null;
  }
}

@Resolver(() => Catalog)
export class CatalogTablesResolver {
  constructor(private readonly metastore: MetastoreService) {}

  @Authorized('catalog:GetTables')
  @Query(() => Catalog, {
    description: "The install's Hive metastore: databases, tables, columns and locations (SPARK steps' CREATE TABLE / saveAsTable)",
  })
  async catalog(@Arg('database', () => String, { nullable: true }) database: string | null): Promise<Catalog> {
    const { metastore } = this;
    const tables = await metastore.tables({ database });
    const databases = new Map<string, CatalogDatabase>();
    for (const t of tables) {
      const db = databases.get(t.database) ?? { name: t.database, tables: [] };
      db.tables.push(t);
      databases.set(t.database, db);
    }
    return {
      available: metastore.problem === null,
      reason: metastore.problem,
      warehouseUri: metastore.warehouseUri,
      databases: [...databases.values()],
    };
  }
}
