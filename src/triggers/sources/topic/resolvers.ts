import { Authorized, Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import DataLoader from 'dataloader';
import { TopicSource } from './graphql.js';
import { Trigger } from '../../graphql.js';
import { subscriptionArn, topicArn } from '../../../messaging/topics.js';
import { Topic, type FilterPolicyScope } from '../../../messaging/graphql/topics.js';
import type { Sql } from '../../../platform/db/client.js';
import { perRequest, type Context } from '../../../platform/graphql/context.js';
import { triggersOfSource } from '../../queries/triggers.js';
import type { TriggerRow } from '../../tables.js';
import type { TopicTriggerConfig } from './source.js';
import { toTrigger, type TriggerObject } from '../../resolvers.js';

@Resolver(() => Trigger)
export class TriggerTopicResolver {
  @FieldResolver(() => TopicSource, { nullable: true, description: 'set for TOPIC triggers: the subscription' })
  topic(@Root() trigger: TriggerObject): TopicSource | null {
    if (trigger.row.sourceType !== 'TOPIC') return null;
    const c = trigger.row.config as unknown as TopicTriggerConfig;
    return {
      topicName: c.topicName,
      topicArn: topicArn(c.topicName),
      subscriptionArn: subscriptionArn(c.topicName, trigger.id),
      filterPolicy: c.filterPolicy,
      filterPolicyScope: c.filterPolicyScope as FilterPolicyScope,
    };
  }
}

/** Topic.subscriptions: a topic's function subscriptions are its TOPIC triggers. */
@Resolver(() => Topic)
export class TopicSubscriptionsResolver {
  /** a page of topics' TOPIC triggers, one query per request */
  private readonly byTopicName: (ctx: Context) => DataLoader<string, TriggerRow[]>;

  constructor(sql: Sql) {
    this.byTopicName = perRequest(
      () =>
        new DataLoader<string, TriggerRow[]>(async (names) => {
          const rows = await triggersOfSource(sql, 'TOPIC', names);
          return names.map((n) => rows.filter((r) => (r.config as unknown as TopicTriggerConfig).topicName === n));
        }),
    );
  }

  @Authorized('triggers:ListTriggers')
  @FieldResolver(() => [Trigger], { description: 'The TOPIC triggers subscribed to it (enabled or not), oldest first' })
  async subscriptions(@Root() topic: Topic, @Ctx() ctx: Context): Promise<TriggerObject[]> {
    return (await this.byTopicName(ctx).load(topic.name)).map(toTrigger);
  }
}
