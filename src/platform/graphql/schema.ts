import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema, type AuthChecker } from 'type-graphql';
import { ApiKeyResolver } from '../../access/resolvers.js';
import { BucketResolver } from '../../storage/resolvers.js';
import { CatalogResolver } from '../../clusters/spark/catalog-resolver.js';
import { ClusterResolver } from '../../clusters/graphql/cluster-resolver.js';
import { FunctionResolver } from '../../functions/resolvers.js';
import { FunctionUrlResolver, HttpTriggerResolver } from '../../triggers/sources/http/resolvers.js';
import { InstanceResolver } from '../../clusters/graphql/instance-resolver.js';
import { LogLineConnectionResolver } from '../../logs/resolvers.js';
import { QueueResolver } from '../../messaging/graphql/queue-resolver.js';
import { TopicResolver } from '../../messaging/graphql/topic-resolver.js';
import { ClusterScalingResolver, InstanceGroupScalingResolver } from '../../clusters/scaling/resolvers.js';
import { reportPathsFromArguments } from './argument-paths.js';
import type { Context } from './context.js';
import { CatalogTablesResolver, ClusterSparkResolver, InstanceEndpointsResolver, SparkStepAppResolver } from '../../clusters/spark/resolvers.js';
import { SqlResolver } from '../../sql/resolvers.js';
import { StepResolver } from '../../clusters/graphql/step-resolver.js';
import { SubscriptionResolver } from '../../clusters/graphql/subscription-resolver.js';
import { TriggerBucketResolver } from '../../triggers/sources/bucket/resolvers.js';
import { TriggerClusterEventsResolver } from '../../triggers/sources/cluster-events/resolvers.js';
import { TriggerScheduleResolver, ScheduleSourceTimesResolver } from '../../triggers/sources/schedule/resolvers.js';
import { TriggerQueueResolver } from '../../triggers/sources/queue/resolvers.js';
import { TriggerTopicResolver } from '../../triggers/sources/topic/resolvers.js';
import { TriggerResolver } from '../../triggers/resolvers.js';
import { authorize } from '../../access/service.js';

// Every @Authorized('service:Action') field goes through here: the one place policies are checked.
const authChecker: AuthChecker<Context> = ({ context }, actions) => {
  for (const action of actions) authorize(context.principal, action);
  return true;
};

export async function buildApiSchema(): Promise<GraphQLSchema> {
  // the services' error paths are relative to what they were given: the API names the GraphQL argument
  return reportPathsFromArguments(await buildSchema({
    resolvers: [CatalogResolver, ClusterResolver, InstanceResolver, StepResolver, SubscriptionResolver, ApiKeyResolver, BucketResolver,
      ClusterSparkResolver, InstanceEndpointsResolver, SparkStepAppResolver, CatalogTablesResolver, SqlResolver, ClusterScalingResolver, InstanceGroupScalingResolver,
      FunctionResolver, TriggerResolver, TriggerBucketResolver, TriggerClusterEventsResolver, TriggerScheduleResolver, ScheduleSourceTimesResolver,
      HttpTriggerResolver, FunctionUrlResolver, QueueResolver, TriggerQueueResolver, TopicResolver, TriggerTopicResolver,
      LogLineConnectionResolver],
    authChecker,
    // input rules live in the services (one place, with field paths); class-validator is not used
    validate: false,
    // Subscriptions here all use explicit `subscribe` functions over the Postgres-backed feeds
    // (src/platform/notifications/live-feed.ts); type-graphql still insists on a pubSub, which nothing may use.
    pubSub: {
      publish: () => { throw new Error('topic-based pubSub is not used: subscriptions read the event feeds'); },
      subscribe: () => { throw new Error('topic-based pubSub is not used: subscriptions read the event feeds'); },
    },
  }));
}
