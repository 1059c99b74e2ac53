import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema, type AuthChecker } from 'type-graphql';
import { ApiKeyResolver } from '../resolvers/api-keys.js';
import { BucketResolver } from '../resolvers/buckets.js';
import { CatalogResolver } from '../resolvers/catalog.js';
import { ClusterResolver } from '../resolvers/clusters.js';
import { FunctionResolver } from '../resolvers/functions.js';
import { FunctionUrlResolver, HttpTriggerResolver } from '../resolvers/http-triggers.js';
import { InstanceResolver } from '../resolvers/instances.js';
import { LogLineConnectionResolver } from '../resolvers/logs.js';
import { QueueResolver } from '../resolvers/queues.js';
import { TopicResolver } from '../resolvers/topics.js';
import { ClusterScalingResolver, InstanceGroupScalingResolver } from '../resolvers/scaling.js';
import type { Context } from '../resolvers/context.js';
import { CatalogTablesResolver, ClusterSparkResolver, InstanceEndpointsResolver, SparkStepAppResolver } from '../resolvers/spark.js';
import { SqlResolver } from '../resolvers/sql.js';
import { StepResolver } from '../resolvers/steps.js';
import { SubscriptionResolver } from '../resolvers/subscriptions.js';
import { TriggerBucketResolver } from '../resolvers/trigger-sources/bucket.js';
import { TriggerClusterEventsResolver } from '../resolvers/trigger-sources/cluster-events.js';
import { TriggerScheduleResolver, ScheduleSourceTimesResolver } from '../resolvers/trigger-sources/schedule.js';
import { TriggerQueueResolver } from '../resolvers/trigger-sources/queue.js';
import { TriggerTopicResolver } from '../resolvers/trigger-sources/topic.js';
import { TriggerResolver } from '../resolvers/triggers.js';
import { authorize } from '../services/auth.js';

// Every @Authorized('service:Action') field goes through here: the one place policies are checked.
const authChecker: AuthChecker<Context> = ({ context }, actions) => {
  for (const action of actions) authorize(context.principal, action);
  return true;
};

export function buildApiSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [CatalogResolver, ClusterResolver, InstanceResolver, StepResolver, SubscriptionResolver, ApiKeyResolver, BucketResolver,
      ClusterSparkResolver, InstanceEndpointsResolver, SparkStepAppResolver, CatalogTablesResolver, SqlResolver, ClusterScalingResolver, InstanceGroupScalingResolver,
      FunctionResolver, TriggerResolver, TriggerBucketResolver, TriggerClusterEventsResolver, TriggerScheduleResolver, ScheduleSourceTimesResolver,
      HttpTriggerResolver, FunctionUrlResolver, QueueResolver, TriggerQueueResolver, TopicResolver, TriggerTopicResolver,
      LogLineConnectionResolver],
    authChecker,
    // input rules live in the services (one place, with field paths); class-validator is not used
    validate: false,
    // Subscriptions here all use explicit `subscribe` functions over the Postgres-backed feeds
    // (src/events/seq-feed.ts); type-graphql still insists on a pubSub, which nothing may use.
    pubSub: {
      publish: () => { throw new Error('topic-based pubSub is not used: subscriptions read the event feeds'); },
      subscribe: () => { throw new Error('topic-based pubSub is not used: subscriptions read the event feeds'); },
    },
  });
}
