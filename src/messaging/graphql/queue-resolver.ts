import { Arg, Authorized, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { QueueMessageRow, QueueRow } from '../tables.js';
import { queueArn } from '../queues.js';
import {
  ChangeMessageVisibilityInput,
  ChangeMessageVisibilityPayload,
  CreateQueueInput,
  CreateQueuePayload,
  DeleteMessageInput,
  DeleteMessagePayload,
  DeleteQueueInput,
  DeleteQueuePayload,
  PurgeQueueInput,
  PurgeQueuePayload,
  Queue,
  QueueConnection,
  type QueueMessage,
  ReceiveMessagesInput,
  ReceiveMessagesPayload,
  RedrivePolicy,
  SendMessageBatchInput,
  SendMessageBatchPayload,
  SendMessageInput,
  SendMessagePayload,
} from './queues.js';
import type { Context } from '../../platform/graphql/context.js';
import { connection } from '../../platform/graphql/connection.js';
import type { QueueService } from '../queues.js';
import type { MessagingLoaders } from '../loaders.js';

type QueueObject = Queue & { row: QueueRow };

function toQueue(row: QueueRow): QueueObject {
  return {
    row,
    id: row.id,
    name: row.name,
    arn: queueArn(row.name),
    visibilityTimeoutSeconds: row.visibilityTimeoutSeconds,
    messageRetentionSeconds: row.messageRetentionSeconds,
    delaySeconds: row.delaySeconds,
    receiveMessageWaitTimeSeconds: row.receiveWaitSeconds,
    redrivePolicy: null,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function toMessage(row: QueueMessageRow): QueueMessage {
  return {
    messageId: row.id,
    receiptHandle: row.receiptHandle!,
    body: row.body,
    md5OfBody: row.md5OfBody,
    attributes: {
      approximateReceiveCount: row.receiveCount,
      sentTimestamp: row.sentAt,
      approximateFirstReceiveTimestamp: row.firstReceivedAt ?? row.sentAt,
    },
    messageAttributes: row.messageAttributes,
  };
}

@Resolver(() => Queue)
export class QueueResolver {
  constructor(
    private readonly service: QueueService,
    private readonly loaders: (ctx: Context) => MessagingLoaders,
  ) {}

  @Authorized('queues:ListQueues')
  @Query(() => Queue, { nullable: true })
  async queue(@Arg('name', () => String) name: string): Promise<QueueObject | null> {
    const row = await this.service.get(name);
    return row ? toQueue(row) : null;
  }

  @Authorized('queues:ListQueues')
  @Query(() => QueueConnection, { description: 'Newest first' })
  async queues(
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('namePrefix', () => String, { nullable: true }) namePrefix?: string,
  ) {
    return connection(await this.service.list(first, after, namePrefix), toQueue, Boolean(after));
  }

  @FieldResolver(() => RedrivePolicy, { nullable: true })
  async redrivePolicy(@Root() queue: QueueObject, @Ctx() ctx: Context): Promise<RedrivePolicy | null> {
    if (!queue.row.deadLetterQueueId) return null;
    const dlq = await this.loaders(ctx).queue.load(queue.row.deadLetterQueueId);
    return dlq ? { deadLetterQueueName: dlq.name, maxReceiveCount: queue.row.maxReceiveCount! } : null;
  }

  @FieldResolver(() => Int, { description: 'messages visible now (SQS ApproximateNumberOfMessages)' })
  async approximateNumberOfMessages(@Root() queue: QueueObject, @Ctx() ctx: Context): Promise<number> {
    return (await this.loaders(ctx).queueCounts.load(queue.id))?.visible ?? 0;
  }

  @FieldResolver(() => Int, { description: 'received and not yet deleted or visible again (in flight)' })
  async approximateNumberOfMessagesNotVisible(@Root() queue: QueueObject, @Ctx() ctx: Context): Promise<number> {
    return (await this.loaders(ctx).queueCounts.load(queue.id))?.inFlight ?? 0;
  }

  @FieldResolver(() => Int, { description: 'sent with a delay that has not passed yet' })
  async approximateNumberOfMessagesDelayed(@Root() queue: QueueObject, @Ctx() ctx: Context): Promise<number> {
    return (await this.loaders(ctx).queueCounts.load(queue.id))?.delayed ?? 0;
  }

  @Authorized('queues:CreateQueue')
  @Mutation(() => CreateQueuePayload, {
    description: 'Creating a queue that exists with the same settings returns it; other settings: CONFLICT',
  })
  async createQueue(@Arg('input', () => CreateQueueInput) input: CreateQueueInput) {
    return { queue: toQueue(await this.service.create(input)) };
  }

  @Authorized('queues:DeleteQueue')
  @Mutation(() => DeleteQueuePayload, { description: 'Deletes the queue and its messages' })
  async deleteQueue(@Arg('input', () => DeleteQueueInput) input: DeleteQueueInput) {
    return { queue: toQueue(await this.service.delete(input.name)) };
  }

  @Authorized('queues:PurgeQueue')
  @Mutation(() => PurgeQueuePayload, { description: 'Deletes every message of the queue, in flight ones too' })
  async purgeQueue(@Arg('input', () => PurgeQueueInput) input: PurgeQueueInput) {
    return { purged: await this.service.purge(input.name) };
  }

  @Authorized('queues:SendMessage')
  @Mutation(() => SendMessagePayload)
  async sendMessage(@Arg('input', () => SendMessageInput) input: SendMessageInput) {
    return this.service.send(input);
  }

  @Authorized('queues:SendMessage')
  @Mutation(() => SendMessageBatchPayload)
  async sendMessageBatch(@Arg('input', () => SendMessageBatchInput) input: SendMessageBatchInput) {
    return { successful: await this.service.sendBatch(input) };
  }

  @Authorized('queues:ReceiveMessage')
  @Mutation(() => ReceiveMessagesPayload, { description: 'A mutation: receiving hides the messages for the visibility timeout' })
  async receiveMessages(@Arg('input', () => ReceiveMessagesInput) input: ReceiveMessagesInput) {
    return { messages: (await this.service.receive(input)).messages.map(toMessage) };
  }

  @Authorized('queues:DeleteMessage')
  @Mutation(() => DeleteMessagePayload)
  async deleteMessage(@Arg('input', () => DeleteMessageInput) input: DeleteMessageInput) {
    return { deleted: await this.service.deleteMessage(input.queueName, input.receiptHandle) };
  }

  @Authorized('queues:ChangeMessageVisibility')
  @Mutation(() => ChangeMessageVisibilityPayload)
  async changeMessageVisibility(@Arg('input', () => ChangeMessageVisibilityInput) input: ChangeMessageVisibilityInput) {
    await this.service.changeVisibility(input.queueName, input.receiptHandle, input.visibilityTimeoutSeconds);
    return { ok: true };
  }
}
