// The triggers of topics (subscriptions) and queues (event source mappings): their configs name the
// topic (`config.topicName`) or queue (`config.queueName`).
import type { Db } from '../../platform/db/client.js';
import type { TriggerRow } from '../../triggers/tables.js';

/** The triggers (enabled or not) of some topics or queues, oldest first. */
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
