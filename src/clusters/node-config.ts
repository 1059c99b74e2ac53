import type { Config } from '../platform/config.js';
import type { Sql } from '../platform/db/client.js';
import * as clustersQ from './queries/clusters.js';
import type { InstanceRow } from './tables.js';
import { findS3aJars, type SparkRuntime } from '../engine/spark-runtime.js';
import type { NodeConfig, NodeS3 } from '../engine/types.js';
import type { HostInstallation } from '../engine/host/protocol.js';
import type { HostService } from '../hosts/service.js';
import { instanceType } from './instance-types.js';
import type { MetastoreService } from './spark/metastore.js';
import type { WorkloadCredentials } from '../access/workload-credentials.js';
import { objectFilePath, parseS3Uri } from '../storage/s3-uri.js';

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
    private readonly hosts: HostService,
    /** this server's advertised base URL (PUBLIC_URL): what nodes on other machines reach the S3 endpoint at */
    private readonly publicUrl: () => string,
  ) {}

  /** A joined host's install (null: the node shares this server's machine and install). */
  private async joinedHost(instance: InstanceRow): Promise<HostInstallation | null> {
    if (!instance.hostId) return null;
    const host = await this.hosts.get(instance.hostId);
    return host && !host.embedded ? host.installation : null;
  }

  async forInstance(instance: InstanceRow): Promise<NodeConfig> {
    const cluster = (await clustersQ.clusterById(this.sql, instance.clusterId))!;
    const type = instanceType(instance.instanceType)!;
    const { bucketsDir, objectPathMapping } = this.config;
    // a node on a joined host uses that host's install, shares no disk with this server, and can't
    // reach the metastore's Postgres: no path mapping, no catalog, S3 at the advertised URL
    const remote = await this.joinedHost(instance);
    const sparkHome = remote ? remote.sparkHome : this.spark.sparkHome;
    const python = remote ? remote.python : this.spark.python;
    const spark = cluster.applications.includes('SPARK') && this.spark.available && sparkHome !== null && python !== null;
    // the warehouse and event log buckets are made for the first SPARK node that needs them
    const catalog = spark && !remote ? await this.metastore.forNodes() : null;
    const credential = await this.credentials.current({ kind: 'CLUSTER', id: cluster.id });
    const endpoint = remote ? this.publicUrl() : s3EndpointOf(this.agentUrl());
    const s3: NodeS3 | null = credential && { endpoint, region: this.config.s3Region, ...credential };
    return {
      role: instance.role,
      applications: cluster.applications,
      vcpu: type.vcpu,
      memoryMb: type.memoryMb,
      python,
      // with the path mapping (this machine's nodes only) a script's object is read where it is
      // stored; without it, or on a joined host, the node fetches the object over the S3 endpoint
      bootstrapActions: cluster.bootstrapActions.map((a) => {
        const { bucket, key } = parseS3Uri(a.path, 'path');
        const local = objectPathMapping && !remote;
        return { name: a.name, uri: a.path, path: local ? objectFilePath(bucketsDir, bucket, key) : null, args: a.args };
      }),
      spark: spark
        ? {
            home: sparkHome!,
            python: python!,
            masterUrl: cluster.sparkMasterUrl,
            masterWebUrl: cluster.sparkMasterWebUrl,
            decommissionTimeoutMs: this.config.sparkDecommissionTimeoutSeconds * 1_000,
            bucketsDir: objectPathMapping && !remote ? bucketsDir : null,
            s3aJars: remote ? remote.s3aJars : findS3aJars(this.config.sparkJarsDir),
            catalog,
          }
        : null,
      metricsMs: this.config.agentMetricsMs,
      s3,
    };
  }
}
