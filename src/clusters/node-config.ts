import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../platform/config.js';
import type { Sql } from '../platform/db/client.js';
import * as clustersQ from './queries/clusters.js';
import type { InstanceRow } from './tables.js';
import type { SparkRuntime } from '../engine/spark-runtime.js';
import type { NodeConfig, NodeS3 } from '../engine/types.js';
import { instanceType } from './instance-types.js';
import type { MetastoreService } from './spark/metastore.js';
import type { WorkloadCredentials } from '../access/workload-credentials.js';
import { objectFilePath, parseS3Uri } from '../storage/s3-uri.js';

// s3a for pyspark's Hadoop (3.3.4): what `npm run spark:install` puts in SPARK_JARS_DIR
const S3A_JARS = [/^hadoop-aws-\d+\.\d+\.\d+\.jar$/, /^aws-java-sdk-bundle-\d+\.\d+\.\d+\.jar$/];

/** hadoop-aws and the AWS SDK bundle in `dir`, both or none ([] when either is missing). */
function findS3aJars(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const found = S3A_JARS.map((pattern) => files.filter((f) => pattern.test(f)).at(-1));
  return found.every((f) => f !== undefined) ? found.map((f) => path.join(dir, f!)) : [];
}

/** The S3 endpoint at the address agents dial this server at: the same host and port, over HTTP(S). */
function s3EndpointOf(agentUrl: string): string {
  const url = new URL(agentUrl);
  return `${url.protocol === 'wss:' ? 'https:' : 'http:'}//${url.host}`;
}

/** What a joining node is told to be: its size, bootstrap actions, part in the cluster's Spark and S3 credential. */
export class NodeConfigService {
  constructor(
    private readonly sql: Sql,
    private readonly spark: SparkRuntime,
    private readonly config: Pick<
      Config,
      'bucketsDir' | 'sparkDecommissionTimeoutSeconds' | 'agentMetricsMs' | 'objectPathMapping' | 'sparkJarsDir' | 's3Region'
    >,
    private readonly metastore: MetastoreService,
    private readonly credentials: WorkloadCredentials,
    /** the URL agents dial this server at (the S3 endpoint is on the same port) */
    private readonly agentUrl: () => string,
  ) {}

  async forInstance(instance: InstanceRow): Promise<NodeConfig> {
    const cluster = (await clustersQ.clusterById(this.sql, instance.clusterId))!;
    const type = instanceType(instance.instanceType)!;
    const { bucketsDir, objectPathMapping } = this.config;
    const spark = cluster.applications.includes('SPARK') && this.spark.available;
    // the warehouse and event log buckets are made for the first SPARK node that needs them
    const catalog = spark ? await this.metastore.forNodes() : null;
    const credential = await this.credentials.current({ kind: 'CLUSTER', id: cluster.id });
    const s3: NodeS3 | null = credential && { endpoint: s3EndpointOf(this.agentUrl()), region: this.config.s3Region, ...credential };
    return {
      role: instance.role,
      applications: cluster.applications,
      vcpu: type.vcpu,
      memoryMb: type.memoryMb,
      python: this.spark.python,
      // with the path mapping nodes share this host's filesystem: a script's object is read where it
      // is stored; without it (a joined host), the node fetches the object over the S3 endpoint
      bootstrapActions: cluster.bootstrapActions.map((a) => {
        const { bucket, key } = parseS3Uri(a.path, 'path');
        return { name: a.name, uri: a.path, path: objectPathMapping ? objectFilePath(bucketsDir, bucket, key) : null, args: a.args };
      }),
      spark: spark
        ? {
            home: this.spark.sparkHome!,
            python: this.spark.python!,
            masterUrl: cluster.sparkMasterUrl,
            masterWebUrl: cluster.sparkMasterWebUrl,
            decommissionTimeoutMs: this.config.sparkDecommissionTimeoutSeconds * 1_000,
            bucketsDir: objectPathMapping ? bucketsDir : null,
            s3aJars: findS3aJars(this.config.sparkJarsDir),
            catalog,
          }
        : null,
      metricsMs: this.config.agentMetricsMs,
      s3,
    };
  }
}
