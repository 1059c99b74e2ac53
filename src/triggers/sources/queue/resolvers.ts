import { FieldResolver, Resolver, Root } from 'type-graphql';
import { QueueSource } from './graphql.js';
import { Trigger } from '../../graphql.js';
import { queueArn } from '../../../messaging/queues.js';
import type { QueueTriggerConfig } from './source.js';
import type { TriggerObject } from '../../resolvers.js';

@Resolver(() => Trigger)
export class TriggerQueueResolver {
  @FieldResolver(() => QueueSource, { nullable: true, description: 'set for QUEUE triggers: the event source mapping' })
  queue(@Root() trigger: TriggerObject): QueueSource | null {
    if (trigger.row.sourceType !== 'QUEUE') return null;
    const c = trigger.row.config as unknown as QueueTriggerConfig;
    return { ...c, queueArn: queueArn(c.queueName) };
  }
}
