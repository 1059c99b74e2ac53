import type { Config } from '../platform/config.js';
import type { Sql } from '../platform/db/client.js';
import * as clustersQ from './queries/clusters.js';
import type { InstanceRow } from './tables.js';
import type { SparkRuntime } from '../engine/spark-runtime.js';
import type { NodeConfig } from '../engine/types.js';
import { instanceType } from './instance-types.js';
import type { MetastoreService } from './spark/metastore.js';
import { objectFilePath, parseS3Uri } from '../storage/s3-uri.js';

/** What a joining node is told to be: its size, bootstrap actions and part in the cluster's Spark. */
export class NodeConfigService {
  constructor(
    private readonly sql: Sql,
    private readonly spark: SparkRuntime,
    private readonly config: Pick<Config, 'bucketsDir' | 'sparkDecommissionTimeoutSeconds' | 'agentMetricsMs'>,
    private readonly metastore: MetastoreService,
  ) {}

  async forInstance(instance: InstanceRow): Promise<NodeConfig> {
    const cluster = (await clustersQ.clusterById(this.sql, instance.clusterId))!;
    const type = instanceType(instance.instanceType)!;
    const { bucketsDir } = this.config;
    const spark = cluster.applications.includes('SPARK') && this.spark.available;
    // the warehouse and event log buckets are made for the first SPARK node that needs them
    const catalog = spark ? await this.metastore.forNodes() : null;
    return {
      role: instance.role,
      applications: cluster.applications,
      vcpu: type.vcpu,
      memoryMb: type.memoryMb,
      python: this.spark.python,
      // nodes share this host's filesystem: a script's object is read where it is stored
      bootstrapActions: cluster.bootstrapActions.map((a) => {
        const { bucket, key } = parseS3Uri(a.path, 'path');
        return { name: a.name, path: objectFilePath(bucketsDir, bucket, key), args: a.args };
      }),
      spark: spark
        ? {
            home: this.spark.sparkHome!,
            python: this.spark.python!,
            masterUrl: cluster.sparkMasterUrl,
            masterWebUrl: cluster.sparkMasterWebUrl,
            decommissionTimeoutMs: this.config.sparkDecommissionTimeoutSeconds * 1_000,
            bucketsDir,
            catalog,
          }
        : null,
      metricsMs: this.config.agentMetricsMs,
    };
  }
}
