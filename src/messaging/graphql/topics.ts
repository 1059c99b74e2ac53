// GraphQL shapes of topics (the SNS model). Shape only.
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { MessageAttributeInput } from './messages.js';
import { Connection } from '../../platform/graphql/connection.js';

export enum FilterPolicyScope {
  MessageAttributes = 'MessageAttributes',
  MessageBody = 'MessageBody',
}
registerEnumType(FilterPolicyScope, { name: 'FilterPolicyScope', description: 'What a filter policy looks at (SNS FilterPolicyScope)' });

@ObjectType({ description: 'A topic (SNS model): a publish reaches every subscription (TOPIC trigger) whose filter policy matches' })
export class Topic {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => String) arn!: string;
  @Field(() => DateTimeResolver) createdAt!: Date;
}

@ObjectType()
export class TopicConnection extends Connection(Topic, 'Topic') {}

@ObjectType({ description: 'A queue subscribed to a topic (SNS → SQS fan-out)' })
export class TopicQueueSubscription {
  @Field(() => ID) id!: string;
  @Field(() => String) subscriptionArn!: string;
  @Field(() => String) topicName!: string;
  @Field(() => String) queueName!: string;
  @Field(() => JSONResolver, { nullable: true }) filterPolicy!: unknown;
  @Field(() => FilterPolicyScope) filterPolicyScope!: FilterPolicyScope;
  @Field(() => Boolean, { description: "the message itself as the body, its attributes as the message's (else SNS's JSON notification)" })
  rawMessageDelivery!: boolean;
  @Field(() => DateTimeResolver) createdAt!: Date;
}

@InputType()
export class SubscribeQueueInput {
  @Field(() => String) topicName!: string;
  @Field(() => String) queueName!: string;
  @Field(() => JSONResolver, { nullable: true, description: 'SNS filter policy; none: every message' }) filterPolicy?: unknown;
  @Field(() => FilterPolicyScope, { nullable: true, description: 'default MessageAttributes' })
  filterPolicyScope?: FilterPolicyScope | null;
  @Field(() => Boolean, { nullable: true, description: "default false: the queue gets SNS's JSON notification" }) rawMessageDelivery?:
    | boolean
    | null;
}

@InputType()
export class UnsubscribeQueueInput {
  @Field(() => String) subscriptionArn!: string;
}

@InputType()
export class CreateTopicInput {
  @Field(() => String, { description: '1-256 characters of A-Z a-z 0-9 - _' }) name!: string;
}

@InputType()
export class DeleteTopicInput {
  @Field(() => String) name!: string;
}

@InputType()
export class PublishInput {
  @Field(() => String) topicName!: string;
  @Field(() => String, { description: 'up to 256 KiB with the attributes' }) message!: string;
  @Field(() => String, { nullable: true, description: '1-100 printable ASCII characters' }) subject?: string | null;
  @Field(() => [MessageAttributeInput], { nullable: true, description: 'at most 10; String, String.Array, Number or Binary' })
  messageAttributes?: MessageAttributeInput[] | null;
}

@ObjectType()
export class SubscribeQueuePayload {
  @Field(() => TopicQueueSubscription) subscription!: TopicQueueSubscription;
}
@ObjectType()
export class UnsubscribeQueuePayload {
  @Field(() => TopicQueueSubscription, { description: 'the ended subscription' }) subscription!: TopicQueueSubscription;
}
@ObjectType()
export class CreateTopicPayload {
  @Field(() => Topic) topic!: Topic;
}
@ObjectType()
export class DeleteTopicPayload {
  @Field(() => Topic, { description: 'the deleted topic' }) topic!: Topic;
}

@ObjectType()
export class PublishPayload {
  @Field(() => ID) messageId!: string;
  @Field(() => Int, { description: 'subscriptions (functions and queues) the message was queued for: enabled, filter policy matched' })
  deliveries!: number;
}
