// Topics (the SNS model): publish fans a message out to the topic's subscriptions (TOPIC triggers)
// whose filter policy matches, queueing each delivery in the publish's own transaction: a published
// message reaches every matching subscription at least once, or the publish fails as a whole.
import crypto from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Sql, Tx } from '../platform/db/client.js';
import { triggerNamesOn } from './queries/triggers.js';
import { insertMessages, queueByName, queuesByIds } from './queries/queues.js';
import * as q from './queries/topics.js';
import type { MessageAttribute, TopicRow } from './tables.js';
import { newId } from '../platform/ids.js';
import { ACCOUNT, REGION } from '../platform/aws-account.js';
import { AppError, WHOLE_ARGUMENT, badInput, conflict, notFound } from '../platform/errors.js';
import { matchesFilterPolicy, parseFilterPolicy, type FilterPolicyScope } from './filter-policy.js';
import { MessageLimits, messageBytes, requireBody, requireMessageAttributes, type MessageAttributeInput } from './message-attributes.js';
import { encodeTimeIdCursor, pageSize, parseTimeIdCursor, type Page } from '../platform/paging.js';
import { md5 } from './queues.js';
import { requireIdentifier } from '../platform/validate.js';

export const topicArn = (name: string) => `arn:aws:sns:${REGION}:${ACCOUNT}:${name}`;
/** A subscription's ARN: the topic's and the subscription's (trigger's) id, as SNS's. */
export const subscriptionArn = (topicName: string, triggerId: string) => `${topicArn(topicName)}:${triggerId}`;

export interface PublishInput {
  topicName: string;
  message: string;
  subject?: string | null;
  messageAttributes?: MessageAttributeInput[] | null;
}

export function requireTopicName(name: string, field: string): string {
  return requireIdentifier(name, field, 256);
}

/** A published message on its way to the topic's subscribers. */
export interface Notification {
  messageId: string;
  topic: TopicRow;
  subject: string | null;
  message: string;
  timestamp: Date;
  attributes: MessageAttribute[];
  /** where this server answers (PUBLIC_URL): the base of the notification's URLs */
  serverUrl: string;
}

/** SNS's string to sign, hashed: messages here are not signed with a key (integrity, not authenticity). */
function digest(n: Notification): string {
  const toSign = `${[
    'Message',
    n.message,
    'MessageId',
    n.messageId,
    ...(n.subject !== null ? ['Subject', n.subject] : []),
    'Timestamp',
    n.timestamp.toISOString(),
    'TopicArn',
    topicArn(n.topic.name),
    'Type',
    'Notification',
  ].join('\n')}\n`;
  return crypto.createHash('sha256').update(toSign).digest('base64');
}

const snsAttributes = (attributes: MessageAttribute[]) =>
  Object.fromEntries(attributes.map((a) => [a.name, { Type: a.dataType, Value: a.binaryValue ?? a.stringValue }]));

/**
 * A notification's SigningCertURL and UnsubscribeURL, in SNS's form but on this server: SNS
 * parsers require URLs there. Neither serves anything: messages are not signed with a key, and
 * unsubscribing is deleteTrigger or unsubscribeQueue.
 */
function snsUrls(n: Notification, subscription: string) {
  return {
    signingCertUrl: `${n.serverUrl}/SimpleNotificationService.pem`,
    unsubscribeUrl: `${n.serverUrl}/?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(subscription)}`,
  };
}

/** The event SNS hands a subscribed function. `Signature` is the base64 SHA-256 of SNS's string to sign. */
export function snsEvent(n: Notification, triggerId: string) {
  const subscription = subscriptionArn(n.topic.name, triggerId);
  const urls = snsUrls(n, subscription);
  return {
    Records: [
      {
        EventVersion: '1.0',
        EventSubscriptionArn: subscription,
        EventSource: 'aws:sns',
        Sns: {
          Type: 'Notification',
          MessageId: n.messageId,
          TopicArn: topicArn(n.topic.name),
          Subject: n.subject,
          Message: n.message,
          Timestamp: n.timestamp.toISOString(),
          SignatureVersion: '2',
          Signature: digest(n),
          SigningCertUrl: urls.signingCertUrl,
          UnsubscribeUrl: urls.unsubscribeUrl,
          MessageAttributes: snsAttributes(n.attributes),
        },
      },
    ],
  };
}

/** The body SNS puts in a subscribed queue (its JSON notification; without `Subject` when there is none). */
function snsEnvelope(n: Notification, subscription: string): string {
  const urls = snsUrls(n, subscription);
  return JSON.stringify({
    Type: 'Notification',
    MessageId: n.messageId,
    TopicArn: topicArn(n.topic.name),
    ...(n.subject !== null ? { Subject: n.subject } : {}),
    Message: n.message,
    Timestamp: n.timestamp.toISOString(),
    SignatureVersion: '2',
    Signature: digest(n),
    SigningCertURL: urls.signingCertUrl,
    UnsubscribeURL: urls.unsubscribeUrl,
    ...(n.attributes.length > 0 ? { MessageAttributes: snsAttributes(n.attributes) } : {}),
  });
}

export interface SubscribeQueueInput {
  topicName: string;
  queueName: string;
  filterPolicy?: unknown;
  filterPolicyScope?: FilterPolicyScope | null;
  rawMessageDelivery?: boolean | null;
}

/**
 * The functions subscribed to topics (TOPIC triggers, which the triggers module keeps): a publish
 * queues a delivery to each whose filter policy matches, in the publish's transaction.
 */
export interface TopicFunctionSubscribers {
  /** returns how many deliveries it queued */
  deliver(tx: Tx, notification: Notification): Promise<number>;
}

export class TopicService {
  constructor(
    private readonly sql: Sql,
    private readonly functionSubscribers: TopicFunctionSubscribers,
    private readonly address: { readonly publicUrl: string },
  ) {}

  get(name: string): Promise<TopicRow | undefined> {
    return q.topicByName(this.sql, name);
  }

  async require(name: string, field: string): Promise<TopicRow> {
    const row = await q.topicByName(this.sql, name);
    if (!row) throw notFound('topic', name, field);
    return row;
  }

  async list(
    first: number | null | undefined,
    after: string | null | undefined,
    namePrefix: string | null | undefined,
  ): Promise<Page<TopicRow>> {
    const limit = pageSize(first);
    const rows = await q.listTopics(this.sql, limit + 1, parseTimeIdCursor(after), namePrefix || null);
    return { nodes: rows.slice(0, limit), hasNextPage: rows.length > limit, cursorOf: (r) => encodeTimeIdCursor(r.createdAt, r.id) };
  }

  /** Creates a topic; creating one that exists returns it (as SNS CreateTopic). */
  async create(name: string): Promise<TopicRow> {
    requireTopicName(name, 'name');
    return (await q.insertTopic(this.sql, newId('tp'), name)) ?? this.require(name, 'name');
  }

  /** Deletes a topic; refused while triggers or queues subscribe to it (delete those first). */
  async delete(name: string): Promise<TopicRow> {
    return this.sql.begin(async (tx) => {
      const topic = await q.lockTopic(tx, name);
      if (!topic) throw notFound('topic', name, 'name');
      const subs = await triggerNamesOn(tx, 'TOPIC', name);
      if (subs.length > 0) throw conflict(`topic ${name} has subscriptions (triggers ${subs.join(', ')}): delete them first`, 'name');
      const queueSubs = await q.queueSubscriptionsOfTopics(tx, [topic.id]);
      if (queueSubs.length > 0)
        throw conflict(
          `topic ${name} has subscriptions (queues ${queueSubs.map((x) => x.queueName).join(', ')}): unsubscribe them first`,
          'name',
        );
      await q.deleteTopic(tx, topic.id);
      return topic;
    });
  }

  /** The queue subscriptions of some topics, oldest first. */
  queueSubscriptionsOf(topicIds: readonly string[]): Promise<q.QueueSubscription[]> {
    return q.queueSubscriptionsOfTopics(this.sql, topicIds);
  }

  /**
   * Subscribes a queue to a topic (SNS → SQS fan-out). Subscribing it again with the same settings
   * returns the subscription; with other settings: CONFLICT (as SNS Subscribe).
   */
  async subscribeQueue(input: SubscribeQueueInput): Promise<q.QueueSubscription> {
    const topic = await this.require(requireTopicName(input.topicName, 'topicName'), 'topicName');
    const queue = await queueByName(this.sql, input.queueName);
    if (!queue) throw notFound('queue', input.queueName, 'queueName');
    const filterPolicyScope = input.filterPolicyScope ?? 'MessageAttributes';
    const filterPolicy = input.filterPolicy == null ? null : parseFilterPolicy(input.filterPolicy, filterPolicyScope, 'filterPolicy');
    const settings = { filterPolicy, filterPolicyScope, rawMessageDelivery: input.rawMessageDelivery ?? false };
    await q
      .insertQueueSubscription(this.sql, { id: newId('sub'), topicId: topic.id, queueId: queue.id, ...settings })
      .catch((err: { code?: string }) => {
        // the topic or the queue was deleted meanwhile
        throw err.code === '23503' ? notFound('topic or queue', `${input.topicName} → ${input.queueName}`, WHOLE_ARGUMENT) : err;
      });
    const sub = await q.queueSubscription(this.sql, topic.id, queue.id);
    if (!sub) throw notFound('topic or queue', `${input.topicName} → ${input.queueName}`, WHOLE_ARGUMENT);
    // the stored policy comes back from jsonb with its keys reordered: compare structure, not text
    const same =
      isDeepStrictEqual(sub.filterPolicy, filterPolicy) &&
      sub.filterPolicyScope === filterPolicyScope &&
      sub.rawMessageDelivery === settings.rawMessageDelivery;
    if (!same)
      throw conflict(
        `queue ${queue.name} is subscribed to topic ${topic.name} already, with other settings: unsubscribe it first`,
        'queueName',
      );
    return sub;
  }

  /** Ends a queue's subscription, named by its ARN (`<topic ARN>:<subscription id>`); returns it. */
  async unsubscribeQueue(arn: string): Promise<q.QueueSubscription> {
    const id = arn.slice(arn.lastIndexOf(':') + 1);
    const sub = /^sub-[A-Z0-9]{13}$/.test(id) ? await q.queueSubscriptionById(this.sql, id) : undefined;
    if (!sub || subscriptionArn(sub.topicName, sub.id) !== arn) throw notFound('subscription', arn, 'subscriptionArn');
    await q.deleteQueueSubscription(this.sql, sub.id);
    return sub;
  }

  /** Publishes a message: returns its id and how many subscriptions (functions and queues) it was queued for. */
  async publish(input: PublishInput): Promise<{ messageId: string; deliveries: number }> {
    requireTopicName(input.topicName, 'topicName');
    const message = requireBody(input.message, 'message');
    if (input.subject != null && (input.subject.length === 0 || input.subject.length > 100 || !/^[\x20-\x7e]+$/.test(input.subject))) {
      throw badInput('subject', 'must be 1-100 printable ASCII characters, no line breaks');
    }
    const attributes = requireMessageAttributes(input.messageAttributes, 'messageAttributes', 'sns');
    const bytes = messageBytes(message, attributes);
    if (bytes > MessageLimits.bodyBytes) {
      throw new AppError(
        'PAYLOAD_TOO_LARGE',
        `the message is ${bytes} bytes with its attributes; at most ${MessageLimits.bodyBytes}`,
        'message',
      );
    }
    const messageId = crypto.randomUUID();
    return this.sql.begin(async (tx) => {
      const topic = await q.shareTopic(tx, input.topicName);
      if (!topic) throw notFound('topic', input.topicName, 'topicName');
      const notification: Notification = {
        messageId,
        topic,
        subject: input.subject ?? null,
        message,
        timestamp: new Date(),
        attributes,
        serverUrl: this.address.publicUrl,
      };
      const byName = Object.fromEntries(attributes.map((a) => [a.name, a]));
      let deliveries = await this.functionSubscribers.deliver(tx, notification);
      const subs = (await q.queueSubscriptionsOfTopics(tx, [topic.id])).filter((sub) =>
        matchesFilterPolicy(sub.filterPolicy, sub.filterPolicyScope, { body: message, attributes: byName }),
      );
      const queues = new Map(
        (
          await queuesByIds(
            tx,
            subs.map((sub) => sub.queueId),
          )
        ).map((row) => [row.id, row]),
      );
      for (const sub of subs) {
        const queue = queues.get(sub.queueId)!;
        const body = sub.rawMessageDelivery ? message : snsEnvelope(notification, subscriptionArn(topic.name, sub.id));
        // raw delivery carries the attributes as the queue message's (SQS has no String.Array: it becomes a String)
        const queued = sub.rawMessageDelivery
          ? attributes.map((a) => ({ ...a, dataType: a.dataType === 'String.Array' ? 'String' : a.dataType }))
          : [];
        await insertMessages(tx, queue, [
          { id: crypto.randomUUID(), body, md5: md5(body), attributes: queued, delaySeconds: queue.delaySeconds },
        ]);
        deliveries++;
      }
      return { messageId, deliveries };
    });
  }
}
