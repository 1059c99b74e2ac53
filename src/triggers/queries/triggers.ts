import type { Db } from '../../platform/db/client.js';
import type { TriggerRow, TriggerSourceType } from '../tables.js';

export type NewTrigger = Omit<TriggerRow, 'createdAt' | 'updatedAt'>;

/** undefined when the name is taken */
export async function insertTrigger(db: Db, t: NewTrigger): Promise<TriggerRow | undefined> {
  const [row] = await db<TriggerRow[]>`
    insert into triggers (id, name, function_id, function_name, qualifier, source_type, config, enabled)
    values (${t.id}, ${t.name}, ${t.functionId}, ${t.functionName}, ${t.qualifier}, ${t.sourceType}, ${db.json(t.config as never)}, ${t.enabled})
    on conflict (name) do nothing returning *`;
  return row;
}

export async function triggerByName(db: Db, name: string): Promise<TriggerRow | undefined> {
  const [row] = await db<TriggerRow[]>`select * from triggers where name = ${name}`;
  return row;
}

export async function triggerSourceTypes(db: Db, ids: readonly string[]): Promise<Map<string, TriggerSourceType>> {
  const rows = await db<{ id: string; sourceType: TriggerSourceType }[]>`
    select id, source_type from triggers where id = any(${db.array(ids as string[])})`;
  return new Map(rows.map((r) => [r.id, r.sourceType]));
}

export async function lockTriggerByName(db: Db, name: string): Promise<TriggerRow | undefined> {
  const [row] = await db<TriggerRow[]>`select * from triggers where name = ${name} for update`;
  return row;
}

export async function updateTrigger(
  db: Db,
  id: string,
  patch: Partial<Pick<TriggerRow, 'functionId' | 'functionName' | 'qualifier' | 'config' | 'enabled'>>,
): Promise<TriggerRow> {
  const v: Record<string, unknown> = { updated_at: new Date() };
  if (patch.functionId !== undefined) v.function_id = patch.functionId;
  if (patch.functionName !== undefined) v.function_name = patch.functionName;
  if (patch.qualifier !== undefined) v.qualifier = patch.qualifier;
  if (patch.config !== undefined) v.config = db.json(patch.config as never);
  if (patch.enabled !== undefined) v.enabled = patch.enabled;
  const [row] = await db<TriggerRow[]>`update triggers set ${db(v)} where id = ${id} returning *`;
  return row!;
}

export async function deleteTrigger(db: Db, id: string): Promise<void> {
  await db`delete from triggers where id = ${id}`;
}

export interface TriggerFilter {
  sourceType?: TriggerSourceType | null;
  functionId?: string | null;
}

/** Newest first; the cursor is (created_at, id). */
export async function listTriggers(
  db: Db,
  f: TriggerFilter,
  limit: number,
  before: { at: Date; id: string } | null,
): Promise<TriggerRow[]> {
  return db<TriggerRow[]>`
    select * from triggers where true
      ${f.sourceType ? db`and source_type = ${f.sourceType}` : db``}
      ${f.functionId ? db`and function_id = ${f.functionId}` : db``}
      ${before ? db`and (created_at, id) < (${before.at}, ${before.id})` : db``}
    order by created_at desc, id desc limit ${limit}`;
}

/**
 * The enabled triggers of some source types, share-locked for the caller's transaction: a trigger
 * being disabled or deleted concurrently waits for the deliveries queued here (or is seen as such).
 */
export async function enabledTriggersForShare(db: Db, sourceTypes: TriggerSourceType[]): Promise<TriggerRow[]> {
  return db<TriggerRow[]>`
    select * from triggers where enabled and source_type = any(${db.array(sourceTypes)}) order by created_at, id for share`;
}

/** The triggers (enabled or not) of some topics or queues (their configs name them: `config.topicName`, `config.queueName`), oldest first. */
export async function triggersOfSource(db: Db, sourceType: 'TOPIC' | 'QUEUE', names: readonly string[]): Promise<TriggerRow[]> {
  const key = sourceType === 'TOPIC' ? 'topicName' : 'queueName';
  return db<TriggerRow[]>`
    select * from triggers where source_type = ${sourceType} and config->>${key} = any(${names as string[]})
    order by created_at, id`;
}

/** A topic's enabled subscriptions, share-locked for a publish: one being disabled or deleted waits for the fan-out. */
export async function enabledTopicTriggersForShare(db: Db, topicName: string): Promise<TriggerRow[]> {
  return db<TriggerRow[]>`
    select * from triggers where enabled and source_type = 'TOPIC' and config->>'topicName' = ${topicName}
    order by created_at, id for share`;
}

/** Every enabled QUEUE trigger (the pollers' work list). */
export async function enabledQueueTriggers(db: Db): Promise<TriggerRow[]> {
  return db<TriggerRow[]>`select * from triggers where enabled and source_type = 'QUEUE' order by created_at, id`;
}
