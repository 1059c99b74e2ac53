// TOPIC triggers = SNS subscriptions of a function: every message published to the topic that
// passes the filter policy is delivered asynchronously (src/messaging/topics.ts fans out).
import { shareTopic, topicByName } from '../../../messaging/queries/topics.js';
import { badInput, notFound } from '../../../platform/errors.js';
import { parseFilterPolicy, type FilterPolicy, type FilterPolicyScope } from '../../../messaging/filter-policy.js';
import { requireTopicName } from '../../../messaging/topics.js';
import type { TriggerSourceKind } from '../types.js';

interface TopicSourceInput {
  topicName?: unknown;
  filterPolicy?: unknown;
  filterPolicyScope?: unknown;
}

const SCOPES: FilterPolicyScope[] = ['MessageAttributes', 'MessageBody'];

/** What a TOPIC trigger stores (checked here). */
export interface TopicTriggerConfig {
  topicName: string;
  filterPolicy: FilterPolicy | null;
  filterPolicyScope: FilterPolicyScope;
}

export const topicSource: TriggerSourceKind<TopicTriggerConfig> = {
  type: 'TOPIC',
  field: 'topic',
  readAction: 'topics:Subscribe',
  async parse(raw, field, { sql }) {
    const input = (raw ?? {}) as TopicSourceInput;
    if (typeof input.topicName !== 'string') throw badInput(`${field}.topicName`, 'is required');
    const topicName = requireTopicName(input.topicName, `${field}.topicName`);
    const scope = (input.filterPolicyScope ?? 'MessageAttributes') as FilterPolicyScope;
    if (!SCOPES.includes(scope)) throw badInput(`${field}.filterPolicyScope`, `must be ${SCOPES.join(' or ')}`);
    const filterPolicy = input.filterPolicy == null ? null : parseFilterPolicy(input.filterPolicy, scope, `${field}.filterPolicy`);
    if (!(await topicByName(sql, topicName))) throw notFound('topic', topicName, `${field}.topicName`);
    return { topicName, filterPolicy, filterPolicyScope: scope };
  },
  async saved(tx, trigger) {
    // the topic may have been deleted since parse: hold it until this transaction commits
    const { topicName } = trigger.config as unknown as TopicTriggerConfig;
    if (!(await shareTopic(tx, topicName))) throw notFound('topic', topicName, 'topic.topicName');
  },
};
