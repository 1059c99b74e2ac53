import DataLoader from 'dataloader';
import type { QueueCounts } from './queries/queues.js';
import type { QueueSubscription } from './queries/topics.js';
import type { QueueService } from './queues.js';
import type { TopicService } from './topics.js';
import type { QueueRow } from './tables.js';

/** Batching for the nested fields of queues and topics (one query per field and page). */
export function createMessagingLoaders(queues: QueueService, topics: TopicService) {
  return {
    queueCounts: new DataLoader<string, QueueCounts | undefined>(async (ids) => {
      const rows = new Map((await queues.counts(ids)).map((c) => [c.queueId, c]));
      return ids.map((id) => rows.get(id));
    }),
    queue: new DataLoader<string, QueueRow | undefined>(async (ids) => {
      const rows = new Map((await queues.byIds(ids)).map((r) => [r.id, r]));
      return ids.map((id) => rows.get(id));
    }),
    /** a topic's queue subscriptions, by topic id */
    topicQueues: new DataLoader<string, QueueSubscription[]>(async (ids) => {
      const rows = await topics.queueSubscriptionsOf(ids);
      return ids.map((id) => rows.filter((r) => r.topicId === id));
    }),
  };
}

export type MessagingLoaders = ReturnType<typeof createMessagingLoaders>;
