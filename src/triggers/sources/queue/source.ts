// QUEUE triggers = event source mappings (Lambda's SQS poller): batches of messages are received
// and handed to the function synchronously (src/triggers/sources/queue/loop.ts).
import { functionById } from '../../../functions/queries/functions.js';
import { queueByName, shareQueue } from '../../../messaging/queries/queues.js';
import { badInput, notFound } from '../../../platform/errors.js';
import { requireQueueName } from '../../../messaging/queues.js';
import { requireIntInRange } from '../../../platform/validate.js';
import type { TriggerSourceKind } from '../types.js';

/** What a QUEUE trigger stores. */
export interface QueueTriggerConfig {
  queueName: string;
  /** messages per invocation, at most (Lambda: 1-10,000, default 10) */
  batchSize: number;
  /** how long to gather a batch before invoking (Lambda MaximumBatchingWindowInSeconds: 0-300) */
  batchingWindowSeconds: number;
  /** honour `{batchItemFailures: [{itemIdentifier}]}` results (Lambda FunctionResponseTypes ReportBatchItemFailures) */
  reportBatchItemFailures: boolean;
}

interface QueueSourceInput {
  queueName?: unknown;
  batchSize?: unknown;
  batchingWindowSeconds?: unknown;
  reportBatchItemFailures?: unknown;
}

export const queueSource: TriggerSourceKind<QueueTriggerConfig> = {
  type: 'QUEUE',
  field: 'queue',
  readAction: 'queues:ReceiveMessage',
  async parse(raw, field, { sql }) {
    const input = (raw ?? {}) as QueueSourceInput;
    if (typeof input.queueName !== 'string') throw badInput(`${field}.queueName`, 'is required');
    const queueName = requireQueueName(input.queueName, `${field}.queueName`);
    const batchSize = input.batchSize == null ? 10 : requireIntInRange(input.batchSize as number, `${field}.batchSize`, 1, 10_000);
    const batchingWindowSeconds =
      input.batchingWindowSeconds == null
        ? 0
        : requireIntInRange(input.batchingWindowSeconds as number, `${field}.batchingWindowSeconds`, 0, 300);
    // as Lambda: a receive returns at most 10 messages, so larger batches need time to gather
    if (batchSize > 10 && batchingWindowSeconds < 1)
      throw badInput(`${field}.batchingWindowSeconds`, 'must be at least 1 when batchSize is above 10');
    const reportBatchItemFailures = input.reportBatchItemFailures == null ? true : Boolean(input.reportBatchItemFailures);
    if (!(await queueByName(sql, queueName))) throw notFound('queue', queueName, `${field}.queueName`);
    return { queueName, batchSize, batchingWindowSeconds, reportBatchItemFailures };
  },
  async saved(tx, trigger) {
    // the queue may have been deleted since parse: hold it until this transaction commits
    const { queueName } = trigger.config as unknown as QueueTriggerConfig;
    const queue = await shareQueue(tx, queueName);
    if (!queue) throw notFound('queue', queueName, 'queue.queueName');
    // as Lambda: a batch still running when its messages become visible again would be handed out twice
    const fn = await functionById(tx, trigger.functionId);
    if (fn && fn.timeoutSeconds > queue.visibilityTimeoutSeconds) {
      throw badInput(
        'queue.queueName',
        `the queue's visibility timeout (${queue.visibilityTimeoutSeconds} s) is less than the function's timeout (${fn.timeoutSeconds} s)`,
      );
    }
  },
};
