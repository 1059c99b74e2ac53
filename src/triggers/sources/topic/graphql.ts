// GraphQL input of TOPIC triggers (SNS subscriptions of a function).
import { FilterPolicyScope } from '../../../messaging/graphql/topics.js';
import { Field, InputType, ObjectType } from 'type-graphql';
import { JSONResolver } from 'graphql-scalars';

@InputType({ description: 'A subscription of the function to a topic (SNS model)' })
export class TopicSourceInput {
  @Field(() => String) topicName!: string;
  @Field(() => JSONResolver, { nullable: true, description: 'SNS filter policy (an object or its JSON text); none: every message' })
  filterPolicy?: unknown;
  @Field(() => FilterPolicyScope, { nullable: true, description: 'default MessageAttributes' })
  filterPolicyScope?: FilterPolicyScope | null;
}

@ObjectType({ description: "A TOPIC trigger's source: the function's subscription to a topic" })
export class TopicSource {
  @Field(() => String) topicName!: string;
  @Field(() => String) topicArn!: string;
  @Field(() => String) subscriptionArn!: string;
  @Field(() => JSONResolver, { nullable: true }) filterPolicy!: unknown;
  @Field(() => FilterPolicyScope) filterPolicyScope!: FilterPolicyScope;
}
