import path from 'node:path';
import type { Sql } from '../platform/db/client.js';
import { clusterById } from '../clusters/queries/clusters.js';
import { SqlQueryError, type SqlEngine, type SqlPreviewResult } from '../engine/sql/duckdb.js';
import { AppError, badInput, conflict, notFound } from '../platform/errors.js';
import { localPathsToUris } from '../engine/sql/lockdown.js';
import { prepareQuery, requireBuckets } from './preview-query.js';
import type { CatalogLookup } from '../clusters/spark/metastore.js';
import { requireSqlApplication } from './step-kind.js';
import type { StorageService } from '../storage/service.js';
import { requireIntInRange } from '../platform/validate.js';

export const PREVIEW_MAX_ROWS = 1000;
export const PREVIEW_DEFAULT_ROWS = 100;

/** sqlPreview: a query over a cluster's buckets for interactive use, run by the control plane's DuckDB. */
export class SqlService {
  constructor(
    private readonly sql: Sql,
    private readonly storage: StorageService,
    private readonly engine: SqlEngine | null,
    private readonly bucketsDir: string,
    private readonly timeoutMs: number,
    private readonly catalog: CatalogLookup,
  ) {}

  async preview(clusterId: string, query: string, limit: number | null | undefined): Promise<SqlPreviewResult> {
    const rows = requireIntInRange(limit ?? PREVIEW_DEFAULT_ROWS, 'limit', 1, PREVIEW_MAX_ROWS);
    const cluster = await clusterById(this.sql, clusterId);
    if (!cluster) throw notFound('cluster', clusterId, 'clusterId');
    requireSqlApplication(cluster.applications, 'clusterId');
    if (cluster.state !== 'RUNNING' && cluster.state !== 'WAITING') {
      throw conflict(`a SQL preview needs a RUNNING or WAITING cluster; cluster ${clusterId} is ${cluster.state}`, 'clusterId');
    }
    if (!this.engine) throw new AppError('INTERNAL', 'DuckDB is not available on this server');
    const mapped = await prepareQuery(query, 'query', this.bucketsDir, this.catalog);
    await requireBuckets(this.storage, mapped.inputs, 'query');
    try {
      const directories = [...new Set(mapped.inputs.map((l) => path.join(this.bucketsDir, l.bucket)))];
      return await this.engine.preview(mapped.sql, directories, rows, this.timeoutMs);
    } catch (err) {
      if (!(err instanceof SqlQueryError)) throw err;
      if (err.reason === 'TIMEOUT') {
        throw badInput(
          'query',
          `query timed out: it did not finish within ${this.timeoutMs} ms (SQL_PREVIEW_TIMEOUT_MS) and was interrupted; run it as a SQL step instead`,
        );
      }
      throw badInput('query', localPathsToUris(err.message, path.resolve(this.bucketsDir)));
    }
  }
}
