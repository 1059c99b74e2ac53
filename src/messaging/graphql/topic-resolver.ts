import { Arg, Authorized, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { QueueSubscription } from '../queries/topics.js';
import type { TopicRow } from '../tables.js';
import { subscriptionArn, topicArn } from '../topics.js';
import {
  CreateTopicInput,
  CreateTopicPayload,
  DeleteTopicInput,
  DeleteTopicPayload,
  PublishInput,
  PublishPayload,
  SubscribeQueueInput,
  SubscribeQueuePayload,
  Topic,
  TopicConnection,
  TopicQueueSubscription,
  UnsubscribeQueueInput,
  UnsubscribeQueuePayload,
} from './topics.js';
import type { FilterPolicyScope } from './topics.js';
import type { Context } from '../../platform/graphql/context.js';
import { connection } from '../../platform/graphql/connection.js';
import type { TopicService } from '../topics.js';
import type { MessagingLoaders } from '../loaders.js';

const toTopic = (row: TopicRow): Topic => ({ id: row.id, name: row.name, arn: topicArn(row.name), createdAt: row.createdAt });

const toQueueSubscription = (row: QueueSubscription): TopicQueueSubscription => ({
  id: row.id,
  subscriptionArn: subscriptionArn(row.topicName, row.id),
  topicName: row.topicName,
  queueName: row.queueName,
  filterPolicy: row.filterPolicy,
  filterPolicyScope: row.filterPolicyScope as FilterPolicyScope,
  rawMessageDelivery: row.rawMessageDelivery,
  createdAt: row.createdAt,
});

@Resolver(() => Topic)
export class TopicResolver {
  constructor(
    private readonly service: TopicService,
    private readonly loaders: (ctx: Context) => MessagingLoaders,
  ) {}

  @Authorized('topics:ListTopics')
  @Query(() => Topic, { nullable: true })
  async topic(@Arg('name', () => String) name: string): Promise<Topic | null> {
    const row = await this.service.get(name);
    return row ? toTopic(row) : null;
  }

  @Authorized('topics:ListTopics')
  @Query(() => TopicConnection, { description: 'Newest first' })
  async topics(
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('namePrefix', () => String, { nullable: true }) namePrefix?: string,
  ) {
    return connection(await this.service.list(first, after, namePrefix), toTopic, Boolean(after));
  }

  @FieldResolver(() => [TopicQueueSubscription], { description: 'The queues subscribed to it, oldest first' })
  async queueSubscriptions(@Root() topic: Topic, @Ctx() ctx: Context): Promise<TopicQueueSubscription[]> {
    return (await this.loaders(ctx).topicQueues.load(topic.id)).map(toQueueSubscription);
  }

  @Authorized('topics:Subscribe')
  @Mutation(() => SubscribeQueuePayload, {
    description: 'Subscribes a queue: each matching publish puts the message in it (functions subscribe with a TOPIC trigger)',
  })
  async subscribeQueue(@Arg('input', () => SubscribeQueueInput) input: SubscribeQueueInput) {
    return { subscription: toQueueSubscription(await this.service.subscribeQueue(input)) };
  }

  @Authorized('topics:Unsubscribe')
  @Mutation(() => UnsubscribeQueuePayload)
  async unsubscribeQueue(@Arg('input', () => UnsubscribeQueueInput) input: UnsubscribeQueueInput) {
    return { subscription: toQueueSubscription(await this.service.unsubscribeQueue(input.subscriptionArn)) };
  }

  @Authorized('topics:CreateTopic')
  @Mutation(() => CreateTopicPayload, { description: 'Creating a topic that exists returns it (as SNS)' })
  async createTopic(@Arg('input', () => CreateTopicInput) input: CreateTopicInput) {
    return { topic: toTopic(await this.service.create(input.name)) };
  }

  @Authorized('topics:DeleteTopic')
  @Mutation(() => DeleteTopicPayload, { description: 'Refused (CONFLICT) while triggers subscribe to it' })
  async deleteTopic(@Arg('input', () => DeleteTopicInput) input: DeleteTopicInput) {
    return { topic: toTopic(await this.service.delete(input.name)) };
  }

  @Authorized('topics:Publish')
  @Mutation(() => PublishPayload, {
    description: 'Queues a delivery to every enabled subscription whose filter policy matches, in one transaction',
  })
  async publish(@Arg('input', () => PublishInput) input: PublishInput): Promise<PublishPayload> {
    return this.service.publish(input);
  }
}
