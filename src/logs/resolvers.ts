import { Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import type { LogLineRow } from './tables.js';
import type { LogPageArgs } from './service.js';
import { LogLineConnection } from '../clusters/graphql/types.js';
import type { Context } from '../platform/graphql/context.js';
import { connection, toLogLine } from '../platform/graphql/mappers.js';

/** A page of a log as GraphQL returns it; the stream id stays underneath for `totalCount`. */
export async function logConnection(ctx: Context, streamId: string, args: LogPageArgs) {
  const page = await ctx.services.logs.page(streamId, args);
  return { ...connection<LogLineRow, ReturnType<typeof toLogLine>>(page, toLogLine, Boolean(args.after)), streamId };
}

@Resolver(() => LogLineConnection)
export class LogLineConnectionResolver {
  @FieldResolver(() => Int)
  totalCount(@Root() page: { streamId: string }, @Ctx() ctx: Context): Promise<number> {
    return ctx.services.logs.count(page.streamId);
  }
}
