import type { Db } from '../client.js';
import type { TopicRow } from '../rows.js';

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

export async function listTopics(db: Db, limit: number, before: { at: Date; id: string } | null, namePrefix: string | null): Promise<TopicRow[]> {
  return db<TopicRow[]>`
    select * from topics
    where ${before ? db`(created_at, id) < (${before.at}, ${before.id})` : db`true`}
      and ${namePrefix ? db`starts_with(name, ${namePrefix})` : db`true`}
    order by created_at desc, id desc limit ${limit}`;
}

export async function deleteTopic(db: Db, id: string): Promise<void> {
  await db`delete from topics where id = ${id}`;
}
