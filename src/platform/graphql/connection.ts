import { Field, ObjectType, type ClassType } from 'type-graphql';
import type { Page } from '../paging.js';

@ObjectType()
export class PageInfo {
  @Field(() => Boolean) hasNextPage!: boolean;
  @Field(() => Boolean) hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true }) startCursor!: string | null;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

/**
 * The fields of a Relay connection of `node`, with its `<name>Edge` type (cursor and node). A
 * connection type extends it: `@ObjectType() export class XConnection extends Connection(X, 'X') {}`.
 */
export function Connection<T extends object>(node: ClassType<T>, name: string) {
  // plain properties, no middleware: graphql-jit reads them inline (no wrapper call per edge)
  @ObjectType(`${name}Edge`, { simpleResolvers: true })
  class Edge {
    @Field(() => String) cursor!: string;
    @Field(() => node) node!: T;
  }
  // only the connection types extending it reach the schema
  @ObjectType(`${name}ConnectionFields`)
  abstract class ConnectionFields {
    @Field(() => [Edge]) edges!: Edge[];
    @Field(() => PageInfo) pageInfo!: PageInfo;
  }
  return ConnectionFields;
}

/** Relay connection from a page (`after` paging: hasPreviousPage is whether a cursor was given). */
export function connection<T, N>(page: Page<T>, map: (row: T) => N, hadCursor: boolean) {
  const edges = page.nodes.map((row) => ({ cursor: page.cursorOf(row), node: map(row) }));
  return {
    edges,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage ?? hadCursor,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}
