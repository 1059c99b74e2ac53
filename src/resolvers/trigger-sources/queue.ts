import { FieldResolver, Resolver, Root } from 'type-graphql';
import { QueueSource } from '../../schema/trigger-sources/queue.js';
import { Trigger } from '../../schema/triggers.js';
import { queueArn } from '../../services/queues.js';
import type { QueueTriggerConfig } from '../../services/trigger-sources/queue.js';
import type { TriggerObject } from '../triggers.js';

@Resolver(() => Trigger)
export class TriggerQueueResolver {
  @FieldResolver(() => QueueSource, { nullable: true, description: 'set for QUEUE triggers: the event source mapping' })
  queue(@Root() trigger: TriggerObject): QueueSource | null {
    if (trigger.row.sourceType !== 'QUEUE') return null;
    const c = trigger.row.config as unknown as QueueTriggerConfig;
    return { ...c, queueArn: queueArn(c.queueName) };
  }
}
