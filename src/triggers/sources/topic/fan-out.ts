// A publish to a topic queues a delivery for each enabled TOPIC trigger (a function's subscription)
// whose filter policy matches, in the publish's transaction: messaging calls this as the topic's
// function subscribers.
import type { Tx } from '../../../platform/db/client.js';
import { matchesFilterPolicy } from '../../../messaging/filter-policy.js';
import { snsEvent, type Notification, type TopicFunctionSubscribers } from '../../../messaging/topics.js';
import type { TriggerDeliveries } from '../../deliveries.js';
import { enabledTopicTriggersForShare } from '../../queries/triggers.js';
import type { TopicTriggerConfig } from './source.js';

export class TopicTriggerFanOut implements TopicFunctionSubscribers {
  constructor(private readonly deliveries: TriggerDeliveries) {}

  async deliver(tx: Tx, notification: Notification): Promise<number> {
    const byName = Object.fromEntries(notification.attributes.map((a) => [a.name, a]));
    let queued = 0;
    for (const trigger of await enabledTopicTriggersForShare(tx, notification.topic.name)) {
      const config = trigger.config as unknown as TopicTriggerConfig;
      if (!matchesFilterPolicy(config.filterPolicy, config.filterPolicyScope, { body: notification.message, attributes: byName })) continue;
      if (await this.deliveries.enqueue(tx, trigger, notification.messageId, snsEvent(notification, trigger.id))) queued++;
    }
    return queued;
  }
}
