// Queues (the SQS model) and topics (the SNS model).
import { type AnyPgColumn, bigserial, boolean, index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { ts } from '../platform/db/columns.js';

/** A message attribute of a queue message or a topic publish (SQS/SNS MessageAttributeValue). */
export interface MessageAttribute {
  name: string;
  dataType: string;
  stringValue: string | null;
  binaryValue: string | null;
}

// Queues (the SQS model): messages live in Postgres until deleted, expired or moved to a dead-letter queue.
export const queues = pgTable(
  'queues',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    visibilityTimeoutSeconds: integer('visibility_timeout_seconds').notNull(),
    messageRetentionSeconds: integer('message_retention_seconds').notNull(),
    delaySeconds: integer('delay_seconds').notNull(),
    receiveWaitSeconds: integer('receive_wait_seconds').notNull(),
    // redrive policy: after maxReceiveCount receives a message moves to this queue (deleting it is refused meanwhile)
    deadLetterQueueId: text('dead_letter_queue_id').references((): AnyPgColumn => queues.id),
    maxReceiveCount: integer('max_receive_count'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('queues_name_idx').on(t.name), index('queues_created_idx').on(t.createdAt, t.id)],
);

export const queueMessages = pgTable(
  'queue_messages',
  {
    id: text('id').primaryKey(),
    queueId: text('queue_id')
      .notNull()
      .references(() => queues.id, { onDelete: 'cascade' }),
    // receive order among messages visible at the same time (a standard queue promises no order: this is best effort)
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    body: text('body').notNull(),
    md5OfBody: text('md5_of_body').notNull(),
    // [{name, dataType, stringValue, binaryValue}]
    messageAttributes: jsonb('message_attributes').$type<MessageAttribute[]>().notNull().default([]),
    sentAt: ts('sent_at').notNull().defaultNow(),
    // delayed (never received) or in flight (received) until then
    visibleAt: ts('visible_at').notNull(),
    expiresAt: ts('expires_at').notNull(),
    receiveCount: integer('receive_count').notNull().default(0),
    firstReceivedAt: ts('first_received_at'),
    // the handle of the latest receive: only it deletes the message or changes its visibility
    receiptHandle: text('receipt_handle'),
  },
  (t) => [index('queue_messages_visible_idx').on(t.queueId, t.visibleAt, t.seq), index('queue_messages_expires_idx').on(t.expiresAt)],
);

// Topics (the SNS model): a publish fans out to the TOPIC triggers (subscriptions) in its transaction.
export const topics = pgTable(
  'topics',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('topics_name_idx').on(t.name), index('topics_created_idx').on(t.createdAt, t.id)],
);

// A queue subscribed to a topic (SNS → SQS fan-out): a publish puts the message in the queue, in its transaction.
export const topicQueueSubscriptions = pgTable(
  'topic_queue_subscriptions',
  {
    id: text('id').primaryKey(),
    // deleting the topic or the queue is refused while it has subscriptions
    topicId: text('topic_id')
      .notNull()
      .references(() => topics.id),
    queueId: text('queue_id')
      .notNull()
      .references(() => queues.id),
    filterPolicy: jsonb('filter_policy').$type<Record<string, unknown>>(),
    filterPolicyScope: text('filter_policy_scope').$type<'MessageAttributes' | 'MessageBody'>().notNull(),
    // the message itself as the body (and its attributes as the message's), not SNS's JSON envelope
    rawMessageDelivery: boolean('raw_message_delivery').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('topic_queue_subscriptions_idx').on(t.topicId, t.queueId),
    index('topic_queue_subscriptions_queue_idx').on(t.queueId),
  ],
);

export type QueueRow = typeof queues.$inferSelect;
export type QueueMessageRow = typeof queueMessages.$inferSelect;
export type TopicRow = typeof topics.$inferSelect;
export type TopicQueueSubscriptionRow = typeof topicQueueSubscriptions.$inferSelect;
