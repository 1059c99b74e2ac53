// GraphQL shapes of triggers: a source of events bound to a function. Each source's input lives in
// sources/<source>/graphql.ts and has one field line in CreateTriggerInput and UpdateTriggerInput.
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { Invocation, InvocationStatus } from '../functions/graphql.js';
import { BucketSourceInput } from './sources/bucket/graphql.js';
import { ClusterEventsSourceInput } from './sources/cluster-events/graphql.js';
import { ScheduleSourceInput } from './sources/schedule/graphql.js';
import { HttpSourceInput } from './sources/http/graphql.js';
import { QueueSourceInput } from './sources/queue/graphql.js';
import { TopicSourceInput } from './sources/topic/graphql.js';
import { Connection } from '../platform/graphql/connection.js';

export enum TriggerSourceType {
  HTTP = 'HTTP',
  SCHEDULE = 'SCHEDULE',
  BUCKET = 'BUCKET',
  TOPIC = 'TOPIC',
  QUEUE = 'QUEUE',
  CLUSTER_EVENTS = 'CLUSTER_EVENTS',
}
registerEnumType(TriggerSourceType, { name: 'TriggerSourceType' });

@ObjectType({ description: "A delivery: the invocation a trigger made for one event (its outcome is the invocation's)" })
export class TriggerDelivery {
  @Field(() => DateTimeResolver) at!: Date;
  @Field(() => String, { nullable: true, description: "the source event's id" }) eventId!: string | null;
  @Field(() => InvocationStatus) status!: InvocationStatus;
  @Field(() => Int) attempts!: number;
  @Field(() => Invocation) invocation!: Invocation;
}

@ObjectType()
export class TriggerDeliveryConnection extends Connection(TriggerDelivery, 'TriggerDelivery') {}

@ObjectType({ description: 'A source of events (HTTP route, schedule, bucket, topic, queue, cluster events) bound to a function' })
export class Trigger {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => String) functionName!: string;
  @Field(() => String, { description: '$LATEST, a version or an alias' }) qualifier!: string;
  @Field(() => TriggerSourceType) sourceType!: TriggerSourceType;
  @Field(() => Boolean) enabled!: boolean;
  @Field(() => JSONResolver, { description: "the source's settings, as stored" }) config!: unknown;
  @Field(() => DateTimeResolver) createdAt!: Date;
  @Field(() => DateTimeResolver) updatedAt!: Date;
}

@ObjectType()
export class TriggerConnection extends Connection(Trigger, 'Trigger') {}

@InputType()
export class TriggerFilter {
  @Field(() => TriggerSourceType, { nullable: true }) sourceType?: TriggerSourceType | null;
  @Field(() => String, { nullable: true }) functionName?: string | null;
}

/** The source fields, shared by create and update: one of them is set. */
@InputType()
abstract class TriggerSourceFields {
  @Field(() => BucketSourceInput, { nullable: true }) bucket?: BucketSourceInput | null;
  @Field(() => ClusterEventsSourceInput, { nullable: true }) clusterEvents?: ClusterEventsSourceInput | null;
  @Field(() => ScheduleSourceInput, { nullable: true }) schedule?: ScheduleSourceInput | null;
  @Field(() => HttpSourceInput, { nullable: true }) http?: HttpSourceInput | null;
  @Field(() => TopicSourceInput, { nullable: true }) topic?: TopicSourceInput | null;
  @Field(() => QueueSourceInput, { nullable: true }) queue?: QueueSourceInput | null;
}

@InputType({ description: 'name, function and qualifier, and exactly one source' })
export class CreateTriggerInput extends TriggerSourceFields {
  @Field(() => String, { description: '1 to 64 letters, digits, hyphens or underscores; unique' }) name!: string;
  @Field(() => String) functionName!: string;
  @Field(() => String, { nullable: true, description: '$LATEST (default), a version or an alias' }) qualifier?: string | null;
}

@InputType({ description: "The trigger's source settings can change, its source type cannot" })
export class UpdateTriggerInput extends TriggerSourceFields {
  @Field(() => String) name!: string;
  @Field(() => String, { nullable: true }) functionName?: string | null;
  @Field(() => String, { nullable: true }) qualifier?: string | null;
}

@InputType()
export class SetTriggerEnabledInput {
  @Field(() => String) name!: string;
  @Field(() => Boolean) enabled!: boolean;
}

@InputType()
export class DeleteTriggerInput {
  @Field(() => String) name!: string;
}

@ObjectType()
export class CreateTriggerPayload {
  @Field(() => Trigger) trigger!: Trigger;
}

@ObjectType()
export class UpdateTriggerPayload {
  @Field(() => Trigger) trigger!: Trigger;
}

@ObjectType()
export class SetTriggerEnabledPayload {
  @Field(() => Trigger) trigger!: Trigger;
}

@ObjectType()
export class DeleteTriggerPayload {
  @Field(() => Trigger, { description: 'the trigger as it was' }) trigger!: Trigger;
}

// createFunctionUrl's (sources/http): here beside Trigger, as the sources' GraphQL files are imported by this one
@ObjectType()
export class CreateFunctionUrlPayload {
  @Field(() => String, { description: 'e.g. http://127.0.0.1:4000/http/fn/my-function/' }) url!: string;
  @Field(() => Trigger) trigger!: Trigger;
}
