import { Arg, Authorized, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { QueueSubscription } from '../queries/topics.js';
import type { TopicRow } from '../tables.js';
import { subscriptionArn, topicArn } from '../topics.js';
import {
  CreateTopicInput, CreateTopicPayload, DeleteTopicInput, DeleteTopicPayload, PublishInput, PublishPayload, SubscribeQueueInput,
  SubscribeQueuePayload, Topic, TopicConnection, TopicQueueSubscription, UnsubscribeQueueInput, UnsubscribeQueuePayload,
} from './topics.js';
import type { FilterPolicyScope } from '../../triggers/sources/topic/graphql.js';
import { Trigger } from '../../triggers/graphql.js';
import type { Context } from '../../platform/graphql/context.js';
import { connection } from '../../platform/graphql/mappers.js';
import { toTrigger, type TriggerObject } from '../../triggers/resolvers.js';

const toTopic = (row: TopicRow): Topic => ({ id: row.id, name: row.name, arn: topicArn(row.name), createdAt: row.createdAt });

const toQueueSubscription = (row: QueueSubscription): TopicQueueSubscription => ({
  id: row.id, subscriptionArn: subscriptionArn(row.topicName, row.id), topicName: row.topicName, queueName: row.queueName,
  filterPolicy: row.filterPolicy, filterPolicyScope: row.filterPolicyScope as FilterPolicyScope, rawMessageDelivery: row.rawMessageDelivery,
  createdAt: row.createdAt,
});

@Resolver(() => Topic)
export class TopicResolver {
  @Authorized('topics:ListTopics')
  @Query(() => Topic, { nullable: true })
  async topic(@Arg('name', () => String) name: string, @Ctx() ctx: Context): Promise<Topic | null> {
    const row = await ctx.services.topics.get(name);
    return row ? toTopic(row) : null;
  }

  @Authorized('topics:ListTopics')
  @Query(() => TopicConnection, { description: 'Newest first' })
  async topics(
    @Ctx() ctx: Context,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('namePrefix', () => String, { nullable: true }) namePrefix?: string,
  ) {
    return connection(await ctx.services.topics.list(first, after, namePrefix), toTopic, Boolean(after));
  }

  @Authorized('triggers:ListTriggers')
  @FieldResolver(() => [Trigger], { description: 'The TOPIC triggers subscribed to it (enabled or not), oldest first' })
  async subscriptions(@Root() topic: Topic, @Ctx() ctx: Context): Promise<TriggerObject[]> {
    return (await ctx.loaders.topicTriggers.load(topic.name)).map(toTrigger);
  }

  @FieldResolver(() => [TopicQueueSubscription], { description: 'The queues subscribed to it, oldest first' })
  async queueSubscriptions(@Root() topic: Topic, @Ctx() ctx: Context): Promise<TopicQueueSubscription[]> {
    return (await ctx.loaders.topicQueues.load(topic.id)).map(toQueueSubscription);
  }

  @Authorized('topics:Subscribe')
  @Mutation(() => SubscribeQueuePayload, { description: 'Subscribes a queue: each matching publish puts the message in it (functions subscribe with a TOPIC trigger)' })
  async subscribeQueue(@Arg('input', () => SubscribeQueueInput) input: SubscribeQueueInput, @Ctx() ctx: Context) {
    return { subscription: toQueueSubscription(await ctx.services.topics.subscribeQueue(input)) };
  }

  @Authorized('topics:Unsubscribe')
  @Mutation(() => UnsubscribeQueuePayload)
  async unsubscribeQueue(@Arg('input', () => UnsubscribeQueueInput) input: UnsubscribeQueueInput, @Ctx() ctx: Context) {
    return { subscription: toQueueSubscription(await ctx.services.topics.unsubscribeQueue(input.subscriptionArn)) };
  }

  @Authorized('topics:CreateTopic')
  @Mutation(() => CreateTopicPayload, { description: 'Creating a topic that exists returns it (as SNS)' })
  async createTopic(@Arg('input', () => CreateTopicInput) input: CreateTopicInput, @Ctx() ctx: Context) {
    return { topic: toTopic(await ctx.services.topics.create(input.name)) };
  }

  @Authorized('topics:DeleteTopic')
  @Mutation(() => DeleteTopicPayload, { description: 'Refused (CONFLICT) while triggers subscribe to it' })
  async deleteTopic(@Arg('input', () => DeleteTopicInput) input: DeleteTopicInput, @Ctx() ctx: Context) {
    return { topic: toTopic(await ctx.services.topics.delete(input.name)) };
  }

  @Authorized('topics:Publish')
  @Mutation(() => PublishPayload, { description: 'Queues a delivery to every enabled subscription whose filter policy matches, in one transaction' })
  async publish(@Arg('input', () => PublishInput) input: PublishInput, @Ctx() ctx: Context): Promise<PublishPayload> {
    return ctx.services.topics.publish(input);
  }
}
