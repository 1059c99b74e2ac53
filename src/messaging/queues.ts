// Queues (the SQS standard-queue model), durable in Postgres: send, receive with a visibility timeout
// and long polling, delete by the latest receipt handle, redrive to a dead-letter queue after
// maxReceiveCount receives, retention. Receives claim rows with FOR UPDATE SKIP LOCKED, so servers
// sharing the database never hand one message out twice at the same time.
import crypto from 'node:crypto';
import type { Sql } from '../platform/db/client.js';
import { triggerNamesOn } from './queries/triggers.js';
import * as q from './queries/queues.js';
import { queueSubscriptionsOfQueue } from './queries/topics.js';
import type { MessageAttribute, QueueMessageRow, QueueRow } from './tables.js';
import { ACCOUNT, REGION } from '../platform/aws-account.js';
import { newId } from '../platform/ids.js';
import { AppError, WHOLE_ARGUMENT, badInput, conflict, fieldPath, notFound } from '../platform/errors.js';
import {
  MessageLimits,
  md5OfMessageAttributes,
  messageBytes,
  requireBody,
  requireMessageAttributes,
  type MessageAttributeInput,
} from './message-attributes.js';
import { encodeTimeIdCursor, pageSize, parseTimeIdCursor, type Page } from '../platform/paging.js';
import { requireIdentifier, requireIntInRange, requireList } from '../platform/validate.js';

export const queueArn = (name: string) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;

/** SQS's ranges and defaults. */
export const QueueLimits = {
  visibilityTimeout: [0, 43_200, 30],
  retention: [60, 1_209_600, 345_600],
  delay: [0, 900, 0],
  wait: [0, 20, 0],
  maxReceiveCount: [1, 1_000],
  receiveBatch: [1, 10],
  sendBatch: 10,
} as const;
const FOREIGN_KEY_VIOLATION = '23503';
/** a waiting receive re-reads the queue at least this often (NOTIFY is only a hint) */
const POLL_MS = 1_000;

export interface CreateQueueInput {
  name: string;
  visibilityTimeoutSeconds?: number | null;
  messageRetentionSeconds?: number | null;
  delaySeconds?: number | null;
  receiveMessageWaitTimeSeconds?: number | null;
  redrivePolicy?: { deadLetterQueueName: string; maxReceiveCount: number } | null;
}

export interface SendMessageInput {
  queueName: string;
  body: string;
  delaySeconds?: number | null;
  messageAttributes?: MessageAttributeInput[] | null;
}

export interface SendMessageBatchInput {
  queueName: string;
  entries: Array<{ id: string; body: string; delaySeconds?: number | null; messageAttributes?: MessageAttributeInput[] | null }>;
}

export interface ReceiveMessagesInput {
  queueName: string;
  maxNumberOfMessages?: number | null;
  visibilityTimeoutSeconds?: number | null;
  waitTimeSeconds?: number | null;
}

export interface SentMessage {
  id: string;
  messageId: string;
  md5OfBody: string;
}

const optionalInt = (value: number | null | undefined, field: string, [min, max, fallback]: readonly [number, number, number]) =>
  value === null || value === undefined ? fallback : requireIntInRange(value, field, min, max);

export const md5 = (text: string) => crypto.createHash('md5').update(text, 'utf8').digest('hex');

/** A receipt handle names the message and one receive of it (a new one per receive). */
function newReceiptHandle(messageId: string): string {
  return Buffer.from(`${messageId}:${crypto.randomBytes(12).toString('base64url')}`).toString('base64url');
}

function parseReceiptHandle(handle: string, field: string): { id: string; handle: string } {
  const [id, nonce] = Buffer.from(handle, 'base64url').toString().split(':');
  if (!id || !nonce || !/^[0-9a-f-]{36}$/.test(id) || handle.length > 1_024)
    throw badInput(field, 'is not a receipt handle returned by receiveMessages');
  return { id, handle };
}

export function requireQueueName(name: string, field: string): string {
  if (name.endsWith('.fifo')) throw badInput(field, 'FIFO queues are not supported: only standard queues');
  return requireIdentifier(name, field, 80);
}

/** The message as Lambda's SQS event source hands it to a function (one of `Records`). */
export function sqsRecord(queue: QueueRow, m: QueueMessageRow) {
  return {
    messageId: m.id,
    receiptHandle: m.receiptHandle,
    body: m.body,
    attributes: {
      ApproximateReceiveCount: String(m.receiveCount),
      SentTimestamp: String(m.sentAt.getTime()),
      SenderId: ACCOUNT,
      ApproximateFirstReceiveTimestamp: String((m.firstReceivedAt ?? m.sentAt).getTime()),
    },
    messageAttributes: Object.fromEntries(
      m.messageAttributes.map((a: MessageAttribute) => [
        a.name,
        {
          stringValue: a.stringValue ?? undefined,
          binaryValue: a.binaryValue ?? undefined,
          stringListValues: [],
          binaryListValues: [],
          dataType: a.dataType,
        },
      ]),
    ),
    md5OfMessageAttributes: md5OfMessageAttributes(m.messageAttributes),
    md5OfBody: m.md5OfBody,
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn(queue.name),
    awsRegion: REGION,
  };
}

export class QueueService {
  private waiters = new Map<string, Set<() => void>>();
  /** receives in progress by queue, and the NOTIFYs that arrived meanwhile */
  private receiving = new Map<string, { count: number; wakeups: number }>();
  private closed = false;

  constructor(private readonly sql: Sql) {}

  get(name: string): Promise<QueueRow | undefined> {
    return q.queueByName(this.sql, name);
  }

  async require(name: string, field: string): Promise<QueueRow> {
    const row = await q.queueByName(this.sql, name);
    if (!row) throw notFound('queue', name, field);
    return row;
  }

  byIds(ids: readonly string[]): Promise<QueueRow[]> {
    return q.queuesByIds(this.sql, ids);
  }

  counts(ids: readonly string[]): Promise<q.QueueCounts[]> {
    return q.countsOf(this.sql, ids);
  }

  async list(
    first: number | null | undefined,
    after: string | null | undefined,
    namePrefix: string | null | undefined,
  ): Promise<Page<QueueRow>> {
    const limit = pageSize(first);
    const rows = await q.listQueues(this.sql, limit + 1, parseTimeIdCursor(after), namePrefix || null);
    return { nodes: rows.slice(0, limit), hasNextPage: rows.length > limit, cursorOf: (r) => encodeTimeIdCursor(r.createdAt, r.id) };
  }

  /** Creates a queue; creating one that exists with the same settings returns it (as SQS CreateQueue). */
  async create(input: CreateQueueInput): Promise<QueueRow> {
    const name = requireQueueName(input.name, 'name');
    const settings = {
      visibilityTimeoutSeconds: optionalInt(input.visibilityTimeoutSeconds, 'visibilityTimeoutSeconds', QueueLimits.visibilityTimeout),
      messageRetentionSeconds: optionalInt(input.messageRetentionSeconds, 'messageRetentionSeconds', QueueLimits.retention),
      delaySeconds: optionalInt(input.delaySeconds, 'delaySeconds', QueueLimits.delay),
      receiveWaitSeconds: optionalInt(input.receiveMessageWaitTimeSeconds, 'receiveMessageWaitTimeSeconds', QueueLimits.wait),
      deadLetterQueueId: null as string | null,
      maxReceiveCount: null as number | null,
    };
    if (input.redrivePolicy) {
      const { deadLetterQueueName, maxReceiveCount } = input.redrivePolicy;
      settings.maxReceiveCount = requireIntInRange(maxReceiveCount, 'redrivePolicy.maxReceiveCount', ...QueueLimits.maxReceiveCount);
      if (deadLetterQueueName === name) throw badInput('redrivePolicy.deadLetterQueueName', 'must be another queue');
      settings.deadLetterQueueId = (await this.require(deadLetterQueueName, 'redrivePolicy.deadLetterQueueName')).id;
    }
    const created = await q.insertQueue(this.sql, { id: newId('q'), name, ...settings }).catch((err: { code?: string }) => {
      throw err.code === FOREIGN_KEY_VIOLATION
        ? notFound('queue', input.redrivePolicy!.deadLetterQueueName, 'redrivePolicy.deadLetterQueueName')
        : err;
    });
    if (created) return created;
    const existing = await this.require(name, 'name');
    const same = (Object.keys(settings) as Array<keyof typeof settings>).every((k) => existing[k] === settings[k]);
    if (!same) throw conflict(`queue ${name} already exists with different settings`, 'name');
    return existing;
  }

  /** Deletes a queue and its messages; refused while it is another queue's dead-letter queue, subscribed to a topic or feeds triggers. */
  async delete(name: string): Promise<QueueRow> {
    return this.sql.begin(async (tx) => {
      const queue = await q.lockQueueByName(tx, name);
      if (!queue) throw notFound('queue', name, 'name');
      const sources = await q.deadLetterSources(tx, queue.id);
      if (sources.length > 0)
        throw conflict(`queue ${name} is the dead-letter queue of ${sources.join(', ')}: change or delete those first`, 'name');
      const topics = await queueSubscriptionsOfQueue(tx, queue.id);
      if (topics.length > 0)
        throw conflict(`queue ${name} is subscribed to topics ${topics.map((t) => t.topicName).join(', ')}: unsubscribe it first`, 'name');
      const mappings = await triggerNamesOn(tx, 'QUEUE', name);
      if (mappings.length > 0) throw conflict(`queue ${name} feeds triggers ${mappings.join(', ')}: delete them first`, 'name');
      await q.deleteQueue(tx, queue.id);
      return queue;
    });
  }

  async send(input: SendMessageInput): Promise<SentMessage> {
    const queue = await this.require(input.queueName, 'queueName');
    const [sent] = await this.store(queue, [this.checkMessage(queue, { ...input, id: '0' }, WHOLE_ARGUMENT)]);
    return sent!;
  }

  /** All entries are checked first: one bad entry stores nothing (its field names it). */
  async sendBatch(input: SendMessageBatchInput): Promise<SentMessage[]> {
    const queue = await this.require(input.queueName, 'queueName');
    requireList(input.entries, 'entries', 1, QueueLimits.sendBatch);
    const ids = new Set<string>();
    const messages = input.entries.map((e, i) => {
      requireIdentifier(e.id, `entries.${i}.id`, 80);
      if (ids.has(e.id)) throw badInput(`entries.${i}.id`, `repeats the entry id ${e.id}`);
      ids.add(e.id);
      return this.checkMessage(queue, e, `entries.${i}`);
    });
    const total = messages.reduce((sum, m) => sum + messageBytes(m.body, m.attributes), 0);
    if (total > MessageLimits.bodyBytes) {
      throw new AppError(
        'PAYLOAD_TOO_LARGE',
        `the batch is ${total} bytes; a batch may carry at most ${MessageLimits.bodyBytes}`,
        'entries',
      );
    }
    return this.store(queue, messages);
  }

  private checkMessage(queue: QueueRow, m: SendMessageBatchInput['entries'][number], field: string) {
    const body = requireBody(m.body, fieldPath(field, 'body'));
    const attributes = requireMessageAttributes(m.messageAttributes, fieldPath(field, 'messageAttributes'), 'sqs');
    const bytes = messageBytes(body, attributes);
    if (bytes > MessageLimits.bodyBytes) {
      throw new AppError(
        'PAYLOAD_TOO_LARGE',
        `the message is ${bytes} bytes with its attributes; at most ${MessageLimits.bodyBytes}`,
        fieldPath(field, 'body'),
      );
    }
    const delaySeconds = optionalInt(m.delaySeconds, fieldPath(field, 'delaySeconds'), [
      QueueLimits.delay[0],
      QueueLimits.delay[1],
      queue.delaySeconds,
    ]);
    return { entryId: m.id, id: crypto.randomUUID(), body, md5: md5(body), attributes, delaySeconds };
  }

  private async store(queue: QueueRow, messages: Array<q.NewMessage & { entryId: string }>): Promise<SentMessage[]> {
    await q
      .insertMessages(
        this.sql,
        queue,
        messages.map(({ entryId: _, ...m }) => m),
      )
      .catch((err: { code?: string }) => {
        // the queue was deleted since it was read
        throw err.code === FOREIGN_KEY_VIOLATION ? notFound('queue', queue.name, 'queueName') : err;
      });
    return messages.map((m) => ({ id: m.entryId, messageId: m.id, md5OfBody: m.md5 }));
  }

  async receive(input: ReceiveMessagesInput): Promise<{ queue: QueueRow; messages: QueueMessageRow[] }> {
    const queue = await this.require(input.queueName, 'queueName');
    const max = optionalInt(input.maxNumberOfMessages, 'maxNumberOfMessages', [...QueueLimits.receiveBatch, 1]);
    const visibility = optionalInt(input.visibilityTimeoutSeconds, 'visibilityTimeoutSeconds', [
      QueueLimits.visibilityTimeout[0],
      QueueLimits.visibilityTimeout[1],
      queue.visibilityTimeoutSeconds,
    ]);
    const waitSeconds = optionalInt(input.waitTimeSeconds, 'waitTimeSeconds', [
      QueueLimits.wait[0],
      QueueLimits.wait[1],
      queue.receiveWaitSeconds,
    ]);
    return { queue, messages: await this.receiveFrom(queue, max, visibility, waitSeconds * 1_000) };
  }

  /**
   * Receives up to `max` messages, waiting up to `waitMs` for the first (long polling: woken by the
   * queue's NOTIFY, by the next delayed or in-flight message's time, and a periodic re-read). An
   * aborted `signal` ends the wait (the receive returns what it has: nothing).
   */
  async receiveFrom(
    queue: QueueRow,
    max: number,
    visibilitySeconds: number,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<QueueMessageRow[]> {
    const deadline = Date.now() + waitMs;
    const receiving = this.receiving.get(queue.id) ?? { count: 0, wakeups: 0 };
    this.receiving.set(queue.id, receiving);
    receiving.count++;
    try {
      for (;;) {
        // a NOTIFY that lands while the queue is read, before this receive waits, must still wake it
        const seen = receiving.wakeups;
        const got = await this.receiveOnce(queue, max, visibilitySeconds);
        const left = deadline - Date.now();
        if (got.length > 0 || left <= 0 || this.closed || signal?.aborted) return got;
        const next = await q.nextVisibleAt(this.sql, queue.id);
        if (receiving.wakeups !== seen) continue;
        const untilNext = next ? next.getTime() - Date.now() : Infinity;
        await this.waitFor(queue.id, Math.max(10, Math.min(left, untilNext, POLL_MS)), signal);
      }
    } finally {
      if (--receiving.count === 0) this.receiving.delete(queue.id);
    }
  }

  /**
   * One receive, in one transaction: messages received maxReceiveCount times already move to the
   * dead-letter queue instead (SQS's redrive), and the receive takes the next ones in their place.
   */
  private receiveOnce(queue: QueueRow, max: number, visibilitySeconds: number): Promise<QueueMessageRow[]> {
    return this.sql.begin(async (tx) => {
      const out: QueueMessageRow[] = [];
      const { deadLetterQueueId, maxReceiveCount } = queue;
      let dlq: QueueRow | undefined;
      for (;;) {
        const rows = await q.lockVisible(tx, queue.id, max - out.length);
        const dead = maxReceiveCount === null || deadLetterQueueId === null ? [] : rows.filter((r) => r.receiveCount >= maxReceiveCount);
        if (dead.length > 0) {
          dlq ??= (await q.queuesByIds(tx, [deadLetterQueueId!]))[0];
          await q.moveToDeadLetterQueue(
            tx,
            dead.map((r) => r.id),
            dlq!,
          );
        }
        const live = rows.filter((r) => !dead.includes(r));
        out.push(
          ...(await q.markReceived(
            tx,
            live.map((r) => ({ id: r.id, handle: newReceiptHandle(r.id) })),
            visibilitySeconds,
          )),
        );
        // moved messages made room: look again (those just received are invisible now, unless visibility is 0)
        if (dead.length === 0 || out.length >= max || visibilitySeconds === 0) break;
      }
      return out.sort((a, b) => a.seq - b.seq);
    });
  }

  /**
   * Deletes a received message. As SQS: only the latest receipt handle deletes it; an older one (the
   * message was received again since) or one of a message already deleted succeeds and deletes nothing.
   */
  async deleteMessage(queueName: string, receiptHandle: string): Promise<boolean> {
    const handle = parseReceiptHandle(receiptHandle, 'receiptHandle');
    const queue = await this.require(queueName, 'queueName');
    return (await q.deleteByHandles(this.sql, queue.id, [handle])).length > 0;
  }

  /** Deletes the messages of a processed batch (the event source mapping); returns how many went. */
  async deleteReceived(queue: QueueRow, messages: readonly QueueMessageRow[]): Promise<number> {
    const handles = messages.map((m) => ({ id: m.id, handle: m.receiptHandle! }));
    return (await q.deleteByHandles(this.sql, queue.id, handles)).length;
  }

  async changeVisibility(queueName: string, receiptHandle: string, seconds: number): Promise<void> {
    const handle = parseReceiptHandle(receiptHandle, 'receiptHandle');
    const queue = await this.require(queueName, 'queueName');
    requireIntInRange(seconds, 'visibilityTimeoutSeconds', QueueLimits.visibilityTimeout[0], QueueLimits.visibilityTimeout[1]);
    if (!(await q.changeVisibility(this.sql, queue.id, handle.id, handle.handle, seconds))) {
      throw badInput(
        'receiptHandle',
        'is not the latest receipt handle of a message in the queue (it was received again, deleted or expired)',
      );
    }
  }

  async purge(queueName: string): Promise<number> {
    const queue = await this.require(queueName, 'queueName');
    return q.purge(this.sql, queue.id);
  }

  /** Deletes messages past their retention period. */
  async sweepExpired(): Promise<number> {
    let total = 0;
    for (let n = -1; n !== 0; total += n) n = await q.deleteExpired(this.sql, 1_000);
    return total;
  }

  // ---- long polling ----

  /** A queue NOTIFY arrived: wake the receives waiting on it. */
  signal(queueId: string): void {
    const receiving = this.receiving.get(queueId);
    if (receiving) receiving.wakeups++;
    for (const wake of this.waiters.get(queueId) ?? []) wake();
  }

  /** Wakes every waiting receive (on reconnect of the LISTEN connection: notifications may be lost). */
  signalAll(): void {
    for (const receiving of this.receiving.values()) receiving.wakeups++;
    for (const set of this.waiters.values()) for (const wake of set) wake();
  }

  private waitFor(queueId: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(queueId);
      if (!set) this.waiters.set(queueId, (set = new Set()));
      const wake = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', wake);
        set!.delete(wake);
        if (set!.size === 0 && this.waiters.get(queueId) === set) this.waiters.delete(queueId);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      signal?.addEventListener('abort', wake);
      set.add(wake);
    });
  }

  /** Makes received messages visible again at once (a batch that could not be handed over). */
  async release(queue: QueueRow, messages: readonly QueueMessageRow[]): Promise<void> {
    for (const m of messages) await q.changeVisibility(this.sql, queue.id, m.id, m.receiptHandle!, 0);
  }

  /** true once the server is shutting down: receives no longer wait */
  get closing(): boolean {
    return this.closed;
  }

  /** Ends waiting receives now (they return what they have: nothing); for shutdown. */
  close(): void {
    this.closed = true;
    this.signalAll();
  }
}
