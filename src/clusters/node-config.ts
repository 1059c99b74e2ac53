import type { Config } from '../platform/config.js';
import type { Sql } from '../platform/db/client.js';
import * as clustersQ from './queries/clusters.js';
import type { InstanceRow } from './tables.js';
import { findS3aJars, type SparkRuntime } from '../engine/spark-runtime.js';
import type { NodeConfig, NodeS3 } from '../engine/types.js';
import type { HostService } from '../hosts/service.js';
import type { HostRow } from '../hosts/tables.js';
import { instanceType } from './instance-types.js';
import type { MetastoreService } from './spark/metastore.js';
import type { WorkloadCredentials } from '../access/workload-credentials.js';
import { objectFilePath, parseS3Uri } from '../storage/s3-uri.js';

/** Wildcards a server may listen on: no address anyone can dial. */
const WILDCARDS = new Set(['', '0.0.0.0', '::', '[::]']);

/**
 * The address a node's Spark binds and advertises: its host's (a joined host's --address, the
 * embedded host's HOST), loopback for a node of no host or an embedded host listening on a wildcard
 * (its nodes then reach each other on this machine only, as before hosts).
 */
function advertisedAddress(host: Pick<HostRow, 'address'> | undefined): string {
  return host && !WILDCARDS.has(host.address) ? host.address : '127.0.0.1';
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
    /** the S3 endpoint at the address agents dial this server at (platform address agentS3Url) */
    private readonly s3Url: () => string,
    private readonly hosts: HostService,
  ) {}

  /** The host the node was placed on (undefined: placed before hosts existed, on this machine). */
  private async hostOf(instance: InstanceRow): Promise<HostRow | undefined> {
    return instance.hostId ? this.hosts.get(instance.hostId) : undefined;
  }

  async forInstance(instance: InstanceRow): Promise<NodeConfig> {
    const cluster = (await clustersQ.clusterById(this.sql, instance.clusterId))!;
    const type = instanceType(instance.instanceType)!;
    const { bucketsDir, objectPathMapping } = this.config;
    // a node on a joined host uses that host's install, shares no disk with this server, and can't
    // reach the metastore's Postgres: no path mapping, no catalog
    const host = await this.hostOf(instance);
    const remote = host && !host.embedded ? host.installation : null;
    const sparkHome = remote ? remote.sparkHome : this.spark.sparkHome;
    const python = remote ? remote.python : this.spark.python;
    const spark =
      cluster.applications.includes('SPARK') && (remote !== null || this.spark.available) && sparkHome !== null && python !== null;
    // the warehouse and event log buckets are made for the first SPARK node that needs them
    const catalog = spark && !remote ? await this.metastore.forNodes() : null;
    const credential = await this.credentials.current({ kind: 'CLUSTER', id: cluster.id });
    // the agent dials this server at agentUrl, whichever host it is on: the S3 endpoint is there too
    const s3: NodeS3 | null = credential && { endpoint: this.s3Url(), region: this.config.s3Region, ...credential };
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
            address: advertisedAddress(host),
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
