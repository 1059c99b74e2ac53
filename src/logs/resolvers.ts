import { FieldResolver, Int, Resolver, Root } from 'type-graphql';
import type { LogService } from './service.js';
import type { LogPageArgs } from './graphql.js';
import { LogLineConnection, toLogLine } from './graphql.js';
import { connection } from '../platform/graphql/connection.js';
import type { LogLineRow } from './tables.js';

/** A page of a log as GraphQL returns it; the stream id stays underneath for `totalCount`. */
export async function logConnection(logs: LogService, streamId: string, args: LogPageArgs) {
  const page = await logs.page(streamId, args);
  return { ...connection<LogLineRow, ReturnType<typeof toLogLine>>(page, toLogLine, Boolean(args.after)), streamId };
}

@Resolver(() => LogLineConnection)
export class LogLineConnectionResolver {
  constructor(private readonly logs: LogService) {}

  @FieldResolver(() => Int)
  totalCount(@Root() page: { streamId: string }): Promise<number> {
    return this.logs.count(page.streamId);
  }
}
