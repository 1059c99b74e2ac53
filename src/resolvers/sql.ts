import { Arg, Authorized, Ctx, ID, Int, Query, Resolver, UseMiddleware } from 'type-graphql';
import { SqlPreview } from '../schema/sql.js';
import type { Context } from './context.js';
import { FIELD_RATES, rateLimited } from './rate-limits.js';

@Resolver()
export class SqlResolver {
  // a preview reads objects: the key needs that right too, not only the cluster's
  @Authorized('clusters:SqlPreview', 'buckets:GetObject')
  @UseMiddleware(rateLimited('sqlPreview'))
  @Query(() => SqlPreview, {
    description: 'Runs one SELECT over the buckets (s3:// URIs in string literals) with DuckDB and returns up to `limit` rows (1 to 1000, default 100); interrupted after SQL_PREVIEW_TIMEOUT_MS; '
      + `per API key at most ${FIELD_RATES.sqlPreview.burst} at once, then ${FIELD_RATES.sqlPreview.perMinute} a minute (THROTTLED)`,
  })
  sqlPreview(
    @Arg('clusterId', () => ID) clusterId: string,
    @Arg('query', () => String) query: string,
    @Arg('limit', () => Int, { nullable: true }) limit: number | null,
    @Ctx() ctx: Context,
  ): Promise<SqlPreview> {
    return ctx.services.sqlQueries.preview(clusterId, query, limit);
  }
}
