import { Arg, Authorized, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import { SqlPreview } from '../schema/sql.js';
import type { Context } from './context.js';

@Resolver()
export class SqlResolver {
  @Authorized('clusters:SqlPreview')
  @Query(() => SqlPreview, {
    description: 'Runs one SELECT over the buckets (s3:// URIs in string literals) with DuckDB and returns up to `limit` rows (1 to 1000, default 100); interrupted after SQL_PREVIEW_TIMEOUT_MS',
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
