import DataLoader from 'dataloader';
import type { QueueCounts } from '../messaging/queries/queues.js';
import type { QueueSubscription } from '../messaging/queries/topics.js';
import type { FunctionAliasRow, FunctionVersionRow, ProvisionedConcurrencyRow } from './tables.js';
import type { TriggerRow } from '../triggers/tables.js';
import type { QueueRow } from '../messaging/tables.js';
import type { Services } from '../platform/services-bag.js';
import type { TopicTriggerConfig } from '../messaging/topics.js';

/** Batching for the nested fields of functions, queues and topics (one query per field and page). */
export function createFunctionLoaders(services: Services) {
  const byFunction = <T extends { functionId: string }>(ids: readonly string[], rows: T[]) => ids.map((id) => rows.filter((r) => r.functionId === id));
  return {
    functionVersions: new DataLoader<string, FunctionVersionRow[]>(async (ids) => byFunction(ids, await services.functions.versionsOf(ids))),
    functionAliases: new DataLoader<string, FunctionAliasRow[]>(async (ids) => byFunction(ids, await services.functions.aliasesOf(ids))),
    provisioned: new DataLoader<string, ProvisionedConcurrencyRow[]>(async (ids) => byFunction(ids, await services.provisioned.of(ids))),
    queueCounts: new DataLoader<string, QueueCounts | undefined>(async (ids) => {
      const rows = new Map((await services.queues.counts(ids)).map((c) => [c.queueId, c]));
      return ids.map((id) => rows.get(id));
    }),
    queue: new DataLoader<string, QueueRow | undefined>(async (ids) => {
      const rows = new Map((await services.queues.byIds(ids)).map((r) => [r.id, r]));
      return ids.map((id) => rows.get(id));
    }),
    /** a topic's function subscriptions (TOPIC triggers), by topic name */
    topicTriggers: new DataLoader<string, TriggerRow[]>(async (names) => {
      const rows = await services.topics.subscriptionsOf(names);
      return names.map((n) => rows.filter((r) => (r.config as unknown as TopicTriggerConfig).topicName === n));
    }),
    /** a topic's queue subscriptions, by topic id */
    topicQueues: new DataLoader<string, QueueSubscription[]>(async (ids) => {
      const rows = await services.topics.queueSubscriptionsOf(ids);
      return ids.map((id) => rows.filter((r) => r.topicId === id));
    }),
  };
}
