import { FieldResolver, Resolver, Root } from 'type-graphql';
import { TopicSource, type FilterPolicyScope } from './graphql.js';
import { Trigger } from '../../graphql.js';
import { subscriptionArn, topicArn, type TopicTriggerConfig } from '../../../messaging/topics.js';
import type { TriggerObject } from '../../resolvers.js';

@Resolver(() => Trigger)
export class TriggerTopicResolver {
  @FieldResolver(() => TopicSource, { nullable: true, description: 'set for TOPIC triggers: the subscription' })
  topic(@Root() trigger: TriggerObject): TopicSource | null {
    if (trigger.row.sourceType !== 'TOPIC') return null;
    const c = trigger.row.config as unknown as TopicTriggerConfig;
    return {
      topicName: c.topicName, topicArn: topicArn(c.topicName), subscriptionArn: subscriptionArn(c.topicName, trigger.id),
      filterPolicy: c.filterPolicy, filterPolicyScope: c.filterPolicyScope as FilterPolicyScope,
    };
  }
}
