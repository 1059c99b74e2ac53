import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema, type AuthChecker, type ClassType, type NonEmptyArray } from 'type-graphql';
import { authorize } from '../authorization.js';
import { reportPathsFromArguments } from './argument-paths.js';
import type { Context, ResolverInstances } from './context.js';

// Every @Authorized('service:Action') field goes through here: the one place policies are checked.
const authChecker: AuthChecker<Context> = ({ context }, actions) => {
  for (const action of actions) authorize(context.principal, action);
  return true;
};

/**
 * The API's schema from the modules' resolver classes. With `instances` (a running server) each
 * class resolves through its module's object; without (writing the SDL) nothing is executed.
 */
export async function buildApiSchema(
  classes: ReadonlyArray<abstract new (...args: never[]) => object>,
  instances?: ResolverInstances,
): Promise<GraphQLSchema> {
  if (classes.length === 0) throw new Error('a schema needs at least one resolver class');
  // the services' error paths are relative to what they were given: the API names the GraphQL argument
  return reportPathsFromArguments(
    await buildSchema({
      resolvers: classes as unknown as NonEmptyArray<ClassType>,
      ...(instances ? { container: { get: (cls) => instances.get(cls as abstract new (...args: never[]) => object) } } : {}),
      authChecker,
      // input rules live in the services (one place, with field paths); class-validator is not used
      validate: false,
      // Subscriptions here all use explicit `subscribe` functions over the Postgres-backed feeds
      // (platform/notifications/live-feed.ts); type-graphql still insists on a pubSub, which nothing may use.
      pubSub: {
        publish: () => {
          throw new Error('topic-based pubSub is not used: subscriptions read the event feeds');
        },
        subscribe: () => {
          throw new Error('topic-based pubSub is not used: subscriptions read the event feeds');
        },
      },
    }),
  );
}
