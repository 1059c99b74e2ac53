// The triggers that name a topic (TOPIC triggers: `config.topicName`) or a queue (QUEUE triggers:
// `config.queueName`). Their rows belong to the triggers module; a topic or queue only needs to know
// that they exist before it goes away.
import type { Db } from '../../platform/db/client.js';

/** The names of the triggers (enabled or not) of a topic or queue, oldest first. */
export async function triggerNamesOn(db: Db, sourceType: 'TOPIC' | 'QUEUE', name: string): Promise<string[]> {
  const key = sourceType === 'TOPIC' ? 'topicName' : 'queueName';
  const rows = await db<{ name: string }[]>`
    select name from triggers where source_type = ${sourceType} and config->>${key} = ${name}
    order by created_at, id`;
  return rows.map((r) => r.name);
}
