import { FieldResolver, Resolver, Root } from 'type-graphql';
import { TopicSource, type FilterPolicyScope } from '../../schema/trigger-sources/topic.js';
import { Trigger } from '../../schema/triggers.js';
import { subscriptionArn, topicArn, type TopicTriggerConfig } from '../../services/topics.js';
import type { TriggerObject } from '../triggers.js';

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
