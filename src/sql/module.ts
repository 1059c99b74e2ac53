// SQL: DuckDB over the buckets, as SQL steps on a cluster's master node (the step kind the clusters
// module runs) and as interactive previews run by the control plane (sqlPreview).
import os from 'node:os';
import type { ClustersModule } from '../clusters/module.js';
import { createSqlEngine } from '../engine/sql/duckdb.js';
import type { Module } from '../platform/module.js';
import type { Platform } from '../platform/platform.js';
import type { StorageService } from '../storage/service.js';
import { SqlResolver } from './resolvers.js';
import { SqlService } from './service.js';

export const sqlResolvers = [SqlResolver];

export class SqlModule implements Module {
  readonly name = 'sql';
  readonly previews: SqlService;
  readonly resolvers: object[];

  constructor(platform: Platform, deps: { storage: StorageService; clusters: ClustersModule }) {
    const { config } = platform;
    const engine = createSqlEngine({ memoryLimitMb: config.sqlPreviewMemoryMb, threads: Math.min(4, os.availableParallelism()) });
    this.previews = new SqlService(
      platform.sql,
      deps.storage,
      engine,
      config.bucketsDir,
      config.sqlPreviewTimeoutMs,
      deps.clusters.metastore.lookup,
    );
    this.resolvers = [new SqlResolver(this.previews)];
  }
}
