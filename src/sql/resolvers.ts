import { Arg, Authorized, ID, Int, Query, Resolver, UseMiddleware } from 'type-graphql';
import { SqlPreview } from './graphql.js';
import { rateLimited } from '../platform/graphql/context.js';
import type { SqlService } from './service.js';

@Resolver()
export class SqlResolver {
  constructor(private readonly sqlQueries: SqlService) {}

  // a preview reads objects: the key needs that right too, not only the cluster's
  @Authorized('clusters:SqlPreview', 'buckets:GetObject')
  @UseMiddleware(rateLimited('sqlPreview'))
  @Query(() => SqlPreview, {
    description:
      'Runs one SELECT over the buckets (s3:// URIs in string literals) with DuckDB and returns up to `limit` rows (1 to 1000, default 100); interrupted after SQL_PREVIEW_TIMEOUT_MS; ' +
      'per API key at most SQL_PREVIEW_BURST at once (10), then SQL_PREVIEW_PER_MINUTE a minute (60), else THROTTLED',
  })
  sqlPreview(
    @Arg('clusterId', () => ID) clusterId: string,
    @Arg('query', () => String) query: string,
    @Arg('limit', () => Int, { nullable: true }) limit: number | null,
  ): Promise<SqlPreview> {
    return this.sqlQueries.preview(clusterId, query, limit);
  }
}
