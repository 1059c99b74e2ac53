import type { Db } from '../../platform/db/client.js';
import type { TopicQueueSubscriptionRow, TopicRow } from '../tables.js';

/** Inserts unless the name is taken (undefined then). */
export async function insertTopic(db: Db, id: string, name: string): Promise<TopicRow | undefined> {
  const [row] = await db<TopicRow[]>`insert into topics (id, name) values (${id}, ${name}) on conflict (name) do nothing returning *`;
  return row;
}

export async function topicByName(db: Db, name: string): Promise<TopicRow | undefined> {
  const [row] = await db<TopicRow[]>`select * from topics where name = ${name}`;
  return row;
}

/** Share-locks the topic: deleting it waits for (or is refused after) the caller's transaction. */
export async function shareTopic(db: Db, name: string): Promise<TopicRow | undefined> {
  const [row] = await db<TopicRow[]>`select * from topics where name = ${name} for share`;
  return row;
}

export async function lockTopic(db: Db, name: string): Promise<TopicRow | undefined> {
  const [row] = await db<TopicRow[]>`select * from topics where name = ${name} for update`;
  return row;
}

export async function listTopics(
  db: Db,
  limit: number,
  before: { at: Date; id: string } | null,
  namePrefix: string | null,
): Promise<TopicRow[]> {
  return db<TopicRow[]>`
    select * from topics
    where ${before ? db`(created_at, id) < (${before.at}, ${before.id})` : db`true`}
      and ${namePrefix ? db`starts_with(name, ${namePrefix})` : db`true`}
    order by created_at desc, id desc limit ${limit}`;
}

export async function deleteTopic(db: Db, id: string): Promise<void> {
  await db`delete from topics where id = ${id}`;
}

export type QueueSubscription = TopicQueueSubscriptionRow & { topicName: string; queueName: string };

/** Subscribes a queue; an existing subscription of the queue to the topic is returned as it is. */
export async function insertQueueSubscription(
  db: Db,
  s: Omit<TopicQueueSubscriptionRow, 'createdAt'>,
): Promise<TopicQueueSubscriptionRow | undefined> {
  const [row] = await db<TopicQueueSubscriptionRow[]>`
    insert into topic_queue_subscriptions (id, topic_id, queue_id, filter_policy, filter_policy_scope, raw_message_delivery)
    values (${s.id}, ${s.topicId}, ${s.queueId}, ${s.filterPolicy === null ? null : db.json(s.filterPolicy as never)}, ${s.filterPolicyScope}, ${s.rawMessageDelivery})
    on conflict (topic_id, queue_id) do nothing
    returning *`;
  return row;
}

const subscriptions = (db: Db) => db`select s.*, t.name as topic_name, q.name as queue_name
  from topic_queue_subscriptions s join topics t on t.id = s.topic_id join queues q on q.id = s.queue_id`;

export async function queueSubscription(db: Db, topicId: string, queueId: string): Promise<QueueSubscription | undefined> {
  const [row] = await db<QueueSubscription[]>`${subscriptions(db)} where s.topic_id = ${topicId} and s.queue_id = ${queueId}`;
  return row;
}

export async function queueSubscriptionById(db: Db, id: string): Promise<QueueSubscription | undefined> {
  const [row] = await db<QueueSubscription[]>`${subscriptions(db)} where s.id = ${id}`;
  return row;
}

/** The queue subscriptions of some topics, oldest first. */
export async function queueSubscriptionsOfTopics(db: Db, topicIds: readonly string[]): Promise<QueueSubscription[]> {
  return db<QueueSubscription[]>`${subscriptions(db)} where s.topic_id = any(${topicIds as string[]}) order by s.created_at, s.id`;
}

export async function queueSubscriptionsOfQueue(db: Db, queueId: string): Promise<QueueSubscription[]> {
  return db<QueueSubscription[]>`${subscriptions(db)} where s.queue_id = ${queueId} order by s.created_at, s.id`;
}

export async function deleteQueueSubscription(db: Db, id: string): Promise<void> {
  await db`delete from topic_queue_subscriptions where id = ${id}`;
}
