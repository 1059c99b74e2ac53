import type { Db } from '../../platform/db/client.js';
import type { MessageAttribute, QueueMessageRow, QueueRow } from '../tables.js';
import { Channel } from '../../platform/notifications/channels.js';

export type NewQueue = Omit<QueueRow, 'createdAt' | 'updatedAt'>;

/** Inserts unless the name is taken (undefined then). */
export async function insertQueue(db: Db, q: NewQueue): Promise<QueueRow | undefined> {
  const [row] = await db<QueueRow[]>`
    insert into queues (id, name, visibility_timeout_seconds, message_retention_seconds, delay_seconds, receive_wait_seconds,
      dead_letter_queue_id, max_receive_count)
    values (${q.id}, ${q.name}, ${q.visibilityTimeoutSeconds}, ${q.messageRetentionSeconds}, ${q.delaySeconds},
      ${q.receiveWaitSeconds}, ${q.deadLetterQueueId}, ${q.maxReceiveCount})
    on conflict (name) do nothing
    returning *`;
  return row;
}

export async function queueByName(db: Db, name: string): Promise<QueueRow | undefined> {
  const [row] = await db<QueueRow[]>`select * from queues where name = ${name}`;
  return row;
}

export async function queuesByIds(db: Db, ids: readonly string[]): Promise<QueueRow[]> {
  return db<QueueRow[]>`select * from queues where id = any(${ids as string[]})`;
}

export async function lockQueueByName(db: Db, name: string): Promise<QueueRow | undefined> {
  const [row] = await db<QueueRow[]>`select * from queues where name = ${name} for update`;
  return row;
}

/** Newest first; optionally only names starting with a prefix (SQS ListQueues QueueNamePrefix). */
export async function listQueues(
  db: Db,
  limit: number,
  before: { at: Date; id: string } | null,
  namePrefix: string | null,
): Promise<QueueRow[]> {
  return db<QueueRow[]>`
    select * from queues
    where ${before ? db`(created_at, id) < (${before.at}, ${before.id})` : db`true`}
      and ${namePrefix ? db`starts_with(name, ${namePrefix})` : db`true`}
    order by created_at desc, id desc limit ${limit}`;
}

/** Names of the queues whose redrive policy targets this one. */
export async function deadLetterSources(db: Db, queueId: string): Promise<string[]> {
  const rows = await db<Array<{ name: string }>>`select name from queues where dead_letter_queue_id = ${queueId} order by name`;
  return rows.map((r) => r.name);
}

export async function deleteQueue(db: Db, id: string): Promise<void> {
  await db`delete from queues where id = ${id}`;
}

export interface QueueCounts {
  queueId: string;
  visible: number;
  inFlight: number;
  delayed: number;
}

/** SQS's approximate counts: visible now, received and not yet visible again, delayed (never received). */
export async function countsOf(db: Db, queueIds: readonly string[]): Promise<QueueCounts[]> {
  return db<QueueCounts[]>`
    select queue_id,
      count(*) filter (where visible_at <= now())::int as visible,
      count(*) filter (where visible_at > now() and receive_count > 0)::int as in_flight,
      count(*) filter (where visible_at > now() and receive_count = 0)::int as delayed
    from queue_messages where queue_id = any(${queueIds as string[]}) and expires_at > now()
    group by queue_id`;
}

export interface NewMessage {
  id: string;
  body: string;
  md5: string;
  attributes: MessageAttribute[];
  delaySeconds: number;
}

/** Stores messages (times by the database's clock) and wakes long-polling receivers on every server. */
export async function insertMessages(db: Db, queue: QueueRow, messages: NewMessage[]): Promise<QueueMessageRow[]> {
  const rows = await db<QueueMessageRow[]>`
    insert into queue_messages (id, queue_id, body, md5_of_body, message_attributes, visible_at, expires_at)
    select x.id, ${queue.id}, x.body, x.md5, x.attributes, now() + make_interval(secs => x.delay),
      now() + make_interval(secs => ${queue.messageRetentionSeconds})
    from jsonb_to_recordset(${db.json(messages.map((m) => ({ ...m, delay: m.delaySeconds })) as never)})
      as x(id text, body text, md5 text, attributes jsonb, delay int)
    returning *`;
  await notifyQueue(db, queue.id);
  return rows;
}

async function notifyQueue(db: Db, queueId: string): Promise<void> {
  await db`select pg_notify(${Channel.queue}, ${queueId})`;
}

/** Visible, unexpired messages, locked for this transaction; ones another receiver holds are skipped. */
export async function lockVisible(db: Db, queueId: string, limit: number): Promise<QueueMessageRow[]> {
  return db<QueueMessageRow[]>`
    select * from queue_messages
    where queue_id = ${queueId} and visible_at <= now() and expires_at > now()
    order by visible_at, seq limit ${limit}
    for update skip locked`;
}

/** Hands messages out: a new receipt handle each, invisible for `visibilitySeconds`. */
export async function markReceived(
  db: Db,
  handles: Array<{ id: string; handle: string }>,
  visibilitySeconds: number,
): Promise<QueueMessageRow[]> {
  if (handles.length === 0) return [];
  return db<QueueMessageRow[]>`
    update queue_messages m set receive_count = m.receive_count + 1, first_received_at = coalesce(m.first_received_at, now()),
      visible_at = now() + make_interval(secs => ${visibilitySeconds}), receipt_handle = h.handle
    from (select unnest(${handles.map((h) => h.id)}::text[]) as id, unnest(${handles.map((h) => h.handle)}::text[]) as handle) h
    where m.id = h.id
    returning m.*`;
}

/**
 * Moves messages to a dead-letter queue: visible there at once, received there afresh; they expire by
 * their original send time and the dead-letter queue's retention (as SQS).
 */
export async function moveToDeadLetterQueue(db: Db, ids: string[], dlq: QueueRow): Promise<void> {
  if (ids.length === 0) return;
  await db`
    update queue_messages set queue_id = ${dlq.id}, visible_at = now(), receive_count = 0, first_received_at = null, receipt_handle = null,
      expires_at = sent_at + make_interval(secs => ${dlq.messageRetentionSeconds})
    where id = any(${ids})`;
  await notifyQueue(db, dlq.id);
}

/** Deletes the messages whose latest receipt handle is given; returns the ids deleted. */
export async function deleteByHandles(db: Db, queueId: string, handles: Array<{ id: string; handle: string }>): Promise<string[]> {
  if (handles.length === 0) return [];
  const rows = await db<Array<{ id: string }>>`
    delete from queue_messages m
    using (select unnest(${handles.map((h) => h.id)}::text[]) as id, unnest(${handles.map((h) => h.handle)}::text[]) as handle) h
    where m.id = h.id and m.receipt_handle = h.handle and m.queue_id = ${queueId}
    returning m.id`;
  return rows.map((r) => r.id);
}

/** Sets when a received message becomes visible again; false when the handle is not the latest. */
export async function changeVisibility(db: Db, queueId: string, id: string, handle: string, seconds: number): Promise<boolean> {
  const rows = await db`
    update queue_messages set visible_at = now() + make_interval(secs => ${seconds})
    where id = ${id} and receipt_handle = ${handle} and queue_id = ${queueId} and expires_at > now()
    returning id`;
  if (rows.length > 0 && seconds === 0) await notifyQueue(db, queueId);
  return rows.length > 0;
}

export async function purge(db: Db, queueId: string): Promise<number> {
  const rows = await db`delete from queue_messages where queue_id = ${queueId} returning id`;
  return rows.length;
}

/** When the queue's next message becomes visible (delayed or in flight), if it has one. */
export async function nextVisibleAt(db: Db, queueId: string): Promise<Date | null> {
  const [row] = await db<Array<{ at: Date | null }>>`
    select min(visible_at) as at from queue_messages where queue_id = ${queueId} and expires_at > now()`;
  return row?.at ?? null;
}

/** Deletes messages past their retention period (a bounded batch per call). */
export async function deleteExpired(db: Db, limit: number): Promise<number> {
  const rows = await db`
    delete from queue_messages where id in (
      select id from queue_messages where expires_at <= now() limit ${limit} for update skip locked)
    returning id`;
  return rows.length;
}

/** Share-locks the queue: deleting it waits for (or is refused after) the caller's transaction. */
export async function shareQueue(db: Db, name: string): Promise<QueueRow | undefined> {
  const [row] = await db<QueueRow[]>`select * from queues where name = ${name} for share`;
  return row;
}
