// GraphQL shapes of queues (the SQS standard-queue model). Shape only.
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { MessageAttribute, MessageAttributeInput } from './messages.js';
import { Connection } from '../../platform/graphql/connection.js';

@ObjectType()
export class RedrivePolicy {
  @Field(() => String) deadLetterQueueName!: string;
  @Field(() => Int, { description: 'receives after which a message moves to the dead-letter queue' }) maxReceiveCount!: number;
}

@ObjectType({ description: 'A standard queue (SQS model): at-least-once, best-effort order' })
export class Queue {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => String) arn!: string;
  @Field(() => Int) visibilityTimeoutSeconds!: number;
  @Field(() => Int) messageRetentionSeconds!: number;
  @Field(() => Int) delaySeconds!: number;
  @Field(() => Int, { description: 'default long-polling wait of receiveMessages' }) receiveMessageWaitTimeSeconds!: number;
  @Field(() => RedrivePolicy, { nullable: true }) redrivePolicy!: RedrivePolicy | null;
  @Field(() => DateTimeResolver) createdAt!: Date;
  @Field(() => DateTimeResolver) updatedAt!: Date;
}

@ObjectType()
export class QueueConnection extends Connection(Queue, 'Queue') {}

@ObjectType({ description: 'SQS message system attributes' })
export class QueueMessageAttributes {
  @Field(() => Int) approximateReceiveCount!: number;
  @Field(() => DateTimeResolver) sentTimestamp!: Date;
  @Field(() => DateTimeResolver) approximateFirstReceiveTimestamp!: Date;
}

@ObjectType()
export class QueueMessage {
  @Field(() => ID) messageId!: string;
  @Field(() => String, { description: 'new on every receive; only the latest deletes the message or changes its visibility' })
  receiptHandle!: string;
  @Field(() => String) body!: string;
  @Field(() => String, { description: 'hex MD5 of the body (UTF-8)' }) md5OfBody!: string;
  @Field(() => QueueMessageAttributes) attributes!: QueueMessageAttributes;
  @Field(() => [MessageAttribute]) messageAttributes!: MessageAttribute[];
}

@InputType()
export class RedrivePolicyInput {
  @Field(() => String, { description: 'an existing queue' }) deadLetterQueueName!: string;
  @Field(() => Int, { description: '1-1000' }) maxReceiveCount!: number;
}

@InputType()
export class CreateQueueInput {
  @Field(() => String, { description: '1-80 characters of A-Z a-z 0-9 - _' }) name!: string;
  @Field(() => Int, { nullable: true, description: '0-43200, default 30' }) visibilityTimeoutSeconds?: number | null;
  @Field(() => Int, { nullable: true, description: '60-1209600 (14 days), default 345600 (4 days)' }) messageRetentionSeconds?:
    | number
    | null;
  @Field(() => Int, { nullable: true, description: '0-900, default 0' }) delaySeconds?: number | null;
  @Field(() => Int, { nullable: true, description: '0-20, default 0 (short polling)' }) receiveMessageWaitTimeSeconds?: number | null;
  @Field(() => RedrivePolicyInput, { nullable: true }) redrivePolicy?: RedrivePolicyInput | null;
}

@InputType()
export class DeleteQueueInput {
  @Field(() => String) name!: string;
}

@InputType()
export class PurgeQueueInput {
  @Field(() => String) name!: string;
}

@InputType()
export class SendMessageInput {
  @Field(() => String) queueName!: string;
  @Field(() => String, { description: 'up to 256 KiB with the attributes' }) body!: string;
  @Field(() => Int, { nullable: true, description: "0-900, default the queue's" }) delaySeconds?: number | null;
  @Field(() => [MessageAttributeInput], { nullable: true, description: 'at most 10' }) messageAttributes?: MessageAttributeInput[] | null;
}

@InputType()
export class SendMessageBatchEntry {
  @Field(() => String, { description: "the entry's id in the result: 1-80 characters of A-Z a-z 0-9 - _, unique in the batch" })
  id!: string;
  @Field(() => String) body!: string;
  @Field(() => Int, { nullable: true }) delaySeconds?: number | null;
  @Field(() => [MessageAttributeInput], { nullable: true }) messageAttributes?: MessageAttributeInput[] | null;
}

@InputType()
export class SendMessageBatchInput {
  @Field(() => String) queueName!: string;
  @Field(() => [SendMessageBatchEntry], { description: '1-10 entries, 256 KiB in all; one bad entry sends nothing' })
  entries!: SendMessageBatchEntry[];
}

@InputType()
export class ReceiveMessagesInput {
  @Field(() => String) queueName!: string;
  @Field(() => Int, { nullable: true, description: '1-10, default 1' }) maxNumberOfMessages?: number | null;
  @Field(() => Int, { nullable: true, description: "0-43200, default the queue's" }) visibilityTimeoutSeconds?: number | null;
  @Field(() => Int, {
    nullable: true,
    description: "long polling: wait up to 0-20 s for a message; default the queue's receiveMessageWaitTimeSeconds",
  })
  waitTimeSeconds?: number | null;
}

@InputType()
export class DeleteMessageInput {
  @Field(() => String) queueName!: string;
  @Field(() => String) receiptHandle!: string;
}

@InputType()
export class ChangeMessageVisibilityInput {
  @Field(() => String) queueName!: string;
  @Field(() => String) receiptHandle!: string;
  @Field(() => Int, { description: '0-43200: from now; 0 makes the message visible at once' }) visibilityTimeoutSeconds!: number;
}

@ObjectType()
export class CreateQueuePayload {
  @Field(() => Queue) queue!: Queue;
}
@ObjectType()
export class DeleteQueuePayload {
  @Field(() => Queue, { description: 'the deleted queue' }) queue!: Queue;
}
@ObjectType()
export class PurgeQueuePayload {
  @Field(() => Int, { description: 'messages deleted' }) purged!: number;
}

@ObjectType()
export class SendMessagePayload {
  @Field(() => ID) messageId!: string;
  @Field(() => String) md5OfBody!: string;
}

@ObjectType()
export class SendMessageBatchResult {
  @Field(() => String, { description: "the entry's id" }) id!: string;
  @Field(() => ID) messageId!: string;
  @Field(() => String) md5OfBody!: string;
}

@ObjectType()
export class SendMessageBatchPayload {
  @Field(() => [SendMessageBatchResult]) successful!: SendMessageBatchResult[];
}
@ObjectType()
export class ReceiveMessagesPayload {
  @Field(() => [QueueMessage]) messages!: QueueMessage[];
}

@ObjectType()
export class DeleteMessagePayload {
  @Field(() => Boolean, {
    description:
      'false when the handle is not the latest (the message was received again) or the message is gone already; as SQS, that is no error',
  })
  deleted!: boolean;
}

@ObjectType()
export class ChangeMessageVisibilityPayload {
  @Field(() => Boolean) ok!: boolean;
}
