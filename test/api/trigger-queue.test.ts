// QUEUE triggers (event source mappings, Lambda's SQS poller): batches up to batchSize gathered for
// the batching window, SQS's event shape, deletion of processed messages, partial batch failure
// (batchItemFailures), failing messages redriven to the dead-letter queue, disabled mappings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../support/api.js';
import { deploy, UPDATE_CONFIG } from '../support/functions.js';
import { createQueue, DELETE_QUEUE, getQueue, md5, receive, send, SEND_BATCH } from '../support/messaging.js';
import { checkAwsEvent } from '../support/aws-events.js';
import { waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { CREATE_TRIGGER, createTrigger, deliveriesOf, SET_TRIGGER_ENABLED, TRIGGER_FIELDS } from '../support/triggers.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const node = (name: string, body: string, extra: Record<string, unknown> = {}) =>
  deploy(server, { name, runtime: 'NODEJS20', handler: 'index.handler', code: { files: [{ path: 'index.js', content: body }] }, ...extra });
// (synchronous invocations keep their response, not their event: the functions echo the records)
const RECORDER = `exports.handler = async (event) => ({ count: event.Records.length, records: event.Records });`;
/** reports every message whose body starts with "bad" as failed */
const PARTIAL = `exports.handler = async (event) => ({
  batchItemFailures: event.Records.filter((r) => r.body.startsWith('bad')).map((r) => ({ itemIdentifier: r.messageId })),
  records: event.Records,
});`;
/** logs the message ids of its batch, then fails */
const THROWER = `exports.handler = async (event) => { console.log('IDS ' + event.Records.map((r) => r.messageId).join(',')); throw new Error('cannot'); };`;
const recordsOf = (delivery: any) => delivery.invocation.response.records;

/** the queue is empty: nothing visible, in flight or delayed */
const drained = async (name: string) => {
  const q = await getQueue(server, name);
  return q.approximateNumberOfMessages + q.approximateNumberOfMessagesNotVisible + q.approximateNumberOfMessagesDelayed === 0;
};
/** the batches a trigger handed its function so far, oldest first (each an SQS event) */
const batchesOf = async (name: string) => (await deliveriesOf(server, name)).reverse();

describe('event source mapping', () => {
  it("delivers the queue's messages in batches of at most batchSize with SQS's record shape, then deletes them", async () => {
    await createQueue(server, { name: 'jobs' });
    await node('consumer', RECORDER);
    const t = await createTrigger(server, {
      name: 'jobs-map',
      functionName: 'consumer',
      queue: { queueName: 'jobs', batchSize: 4, batchingWindowSeconds: 1 },
    });
    expect(t.config).toEqual({ queueName: 'jobs', batchSize: 4, batchingWindowSeconds: 1, reportBatchItemFailures: true });
    const read = (
      await server.data(
        `query { trigger(name: "jobs-map") { ${TRIGGER_FIELDS} queue { queueName queueArn batchSize batchingWindowSeconds reportBatchItemFailures } topic { topicName } } }`,
      )
    ).trigger;
    expect(read.queue).toEqual({
      queueName: 'jobs',
      queueArn: 'arn:aws:sqs:local:000000000000:jobs',
      batchSize: 4,
      batchingWindowSeconds: 1,
      reportBatchItemFailures: true,
    });
    expect(read.topic).toBeNull();

    const entries = Array.from({ length: 10 }, (_, i) => ({
      id: `e${i}`,
      body: `job ${i}`,
      messageAttributes: [{ name: 'n', dataType: 'Number', stringValue: String(i) }],
    }));
    const sent = (await server.data(SEND_BATCH, { input: { queueName: 'jobs', entries } })).sendMessageBatch.successful.map(
      (s: any) => s.messageId,
    );
    await waitUntil(() => drained('jobs'), 'the queue to be drained by the trigger');
    const batches = await batchesOf('jobs-map');
    const records = batches.flatMap(recordsOf);
    expect(records.map((r: any) => r.messageId).sort()).toEqual([...sent].sort());
    for (const b of batches) {
      expect(b.status).toBe('SUCCEEDED');
      expect(b.invocation.invocationType).toBe('REQUEST_RESPONSE');
      const n = b.invocation.response.count;
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(4);
      expect(b.eventId).toBe(recordsOf(b)[0].messageId);
      // the delivery keeps the batch it handed over: exactly what the function received
      expect(b.invocation.payload).toEqual({ Records: recordsOf(b) });
    }
    const r = records.find((x: any) => x.body === 'job 3');
    expect(r).toEqual({
      messageId: sent[3],
      receiptHandle: expect.any(String),
      body: 'job 3',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: expect.stringMatching(/^\d{13}$/),
        SenderId: '000000000000',
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
      },
      messageAttributes: { n: { stringValue: '3', stringListValues: [], binaryListValues: [], dataType: 'Number' } },
      md5OfMessageAttributes: expect.stringMatching(/^[0-9a-f]{32}$/),
      md5OfBody: md5('job 3'),
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:local:000000000000:jobs',
      awsRegion: 'local',
    });
    // SQS's event as AWS's published model has it: every field but the FIFO, tracing and redrive ones
    expect(await checkAwsEvent('SqsModel', { Records: recordsOf(batches[0]) })).toEqual({
      error: null,
      missing: [
        'Records[].attributes.AWSTraceHeader',
        'Records[].attributes.DeadLetterQueueSourceArn',
        'Records[].attributes.MessageDeduplicationId',
        'Records[].attributes.MessageGroupId',
        'Records[].attributes.SequenceNumber',
        'Records[].messageAttributes.*.binaryValue',
      ],
    });
  });

  it('partial batch failure: exactly the reported messages stay, come back, and land in the dead-letter queue after maxReceiveCount', async () => {
    await createQueue(server, { name: 'pbf-dlq' });
    await createQueue(server, {
      name: 'pbf',
      visibilityTimeoutSeconds: 2,
      redrivePolicy: { deadLetterQueueName: 'pbf-dlq', maxReceiveCount: 2 },
    });
    await node('partial', PARTIAL, { timeoutSeconds: 2 });
    // gathered for a second: the three messages go as one batch
    await createTrigger(server, {
      name: 'pbf-map',
      functionName: 'partial',
      queue: { queueName: 'pbf', batchSize: 10, batchingWindowSeconds: 1 },
    });
    const ok1 = await send(server, 'pbf', 'ok 1');
    const bad = await send(server, 'pbf', 'bad 1');
    const ok2 = await send(server, 'pbf', 'ok 2');
    await waitUntil(() => drained('pbf'), 'the source queue to be empty');
    const [dead] = await receive(server, 'pbf-dlq');
    expect(dead).toMatchObject({ messageId: bad.messageId, body: 'bad 1' });
    expect(await receive(server, 'pbf-dlq')).toEqual([]);

    const batches = await batchesOf('pbf-map');
    const seen = batches.flatMap((b: any) => recordsOf(b).map((r: any) => [r.messageId, r.attributes.ApproximateReceiveCount]));
    // the good ones once, the bad one twice (receive counts 1 and 2), then it was redriven
    expect(seen.filter(([id]: string[]) => id === ok1.messageId)).toEqual([[ok1.messageId, '1']]);
    expect(seen.filter(([id]: string[]) => id === ok2.messageId)).toEqual([[ok2.messageId, '1']]);
    expect(seen.filter(([id]: string[]) => id === bad.messageId)).toEqual([
      [bad.messageId, '1'],
      [bad.messageId, '2'],
    ]);
    expect(batches.every((b: any) => b.status === 'SUCCEEDED')).toBe(true);
  });

  it('a failing function deletes nothing: the batch comes back and its messages go to the dead-letter queue after maxReceiveCount', async () => {
    await createQueue(server, { name: 'err-dlq' });
    await createQueue(server, {
      name: 'err',
      visibilityTimeoutSeconds: 1,
      redrivePolicy: { deadLetterQueueName: 'err-dlq', maxReceiveCount: 2 },
    });
    await node('thrower', THROWER, { timeoutSeconds: 1 });
    await createTrigger(server, {
      name: 'err-map',
      functionName: 'thrower',
      queue: { queueName: 'err', batchSize: 10, batchingWindowSeconds: 1 },
    });
    const a = await send(server, 'err', 'a');
    const b = await send(server, 'err', 'b');
    await waitUntil(
      async () => (await getQueue(server, 'err-dlq')).approximateNumberOfMessages === 2,
      'both messages in the dead-letter queue',
    );
    expect(await drained('err')).toBe(true);
    const batches = await batchesOf('err-map');
    expect(batches.every((x: any) => x.status === 'FAILED' && x.invocation.errorMessage === 'cannot')).toBe(true);
    const ids = batches.flatMap((x: any) =>
      x.invocation.logs
        .map((l: any) => /IDS (\S+)/.exec(l.text)?.[1])
        .filter(Boolean)[0]
        .split(','),
    );
    const times = (id: string) => ids.filter((x: string) => x === id).length;
    expect([times(a.messageId), times(b.messageId)]).toEqual([2, 2]);
  });

  it('a malformed batchItemFailures report fails the whole batch; reportBatchItemFailures false treats any result as success', async () => {
    await createQueue(server, { name: 'weird-dlq' });
    await createQueue(server, {
      name: 'weird',
      visibilityTimeoutSeconds: 1,
      redrivePolicy: { deadLetterQueueName: 'weird-dlq', maxReceiveCount: 1 },
    });
    await node('weird-fn', `exports.handler = async (e) => ({ batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] });`, {
      timeoutSeconds: 1,
    });
    await createTrigger(server, { name: 'weird-map', functionName: 'weird-fn', queue: { queueName: 'weird' } });
    const m = await send(server, 'weird', 'w');
    // not deleted: received once, then redriven (maxReceiveCount 1)
    await waitUntil(
      async () => (await receive(server, 'weird-dlq')).find((x: any) => x.messageId === m.messageId),
      'the message in the dead-letter queue',
    );

    await createQueue(server, { name: 'plain' });
    await createTrigger(server, {
      name: 'plain-map',
      functionName: 'weird-fn',
      queue: { queueName: 'plain', reportBatchItemFailures: false },
    });
    await send(server, 'plain', 'p');
    await waitUntil(() => drained('plain'), 'the message to be deleted');
    expect((await batchesOf('plain-map')).length).toBe(1);
  });

  it('a disabled mapping leaves the queue alone; enabled again, it delivers', async () => {
    await createQueue(server, { name: 'paused' });
    await node('paused-fn', RECORDER);
    await createTrigger(server, { name: 'paused-map', functionName: 'paused-fn', queue: { queueName: 'paused' } });
    await server.data(SET_TRIGGER_ENABLED, { name: 'paused-map', enabled: false });
    // give every server's poller time to see the change (it reloads on the trigger NOTIFY)
    await sleep(500);
    const { messageId } = await send(server, 'paused', 'wait for me');
    await sleep(1_500);
    expect(await deliveriesOf(server, 'paused-map')).toEqual([]);
    expect((await getQueue(server, 'paused')).approximateNumberOfMessages).toBe(1);
    await server.data(SET_TRIGGER_ENABLED, { name: 'paused-map', enabled: true });
    await waitUntil(() => drained('paused'), 'the message to be delivered');
    const [d] = await deliveriesOf(server, 'paused-map');
    expect(d.eventId).toBe(messageId);
  });

  it('a throttled function leaves the batch in the queue; the mapping backs off and delivers once it may run', async () => {
    await createQueue(server, { name: 'throttled', visibilityTimeoutSeconds: 1 });
    await node('no-room', RECORDER, { timeoutSeconds: 1, reservedConcurrency: 0 });
    await createTrigger(server, { name: 'throttled-map', functionName: 'no-room', queue: { queueName: 'throttled' } });
    const { messageId } = await send(server, 'throttled', 'later');
    const throttled = await waitUntil(
      async () => (await deliveriesOf(server, 'throttled-map')).find((d: any) => d.status === 'THROTTLED'),
      'a throttled delivery',
    );
    expect(throttled.eventId).toBe(messageId);
    const q = await getQueue(server, 'throttled');
    expect(q.approximateNumberOfMessages + q.approximateNumberOfMessagesNotVisible).toBe(1);
    await server.data(UPDATE_CONFIG, { input: { functionName: 'no-room', reservedConcurrency: -1 } });
    await waitUntil(() => drained('throttled'), 'the message to be delivered once the function may run', 40_000);
    const ok = (await deliveriesOf(server, 'throttled-map')).filter((d: any) => d.status === 'SUCCEEDED');
    expect(ok.map((d: any) => d.eventId)).toEqual([messageId]);
  });

  it('refuses bad mappings with the field at fault; a queue feeding a trigger cannot be deleted', async () => {
    await createQueue(server, { name: 'map-checks', visibilityTimeoutSeconds: 5 });
    await node('slow', RECORDER, { timeoutSeconds: 10 });
    await node('quick', RECORDER, { timeoutSeconds: 3 });
    const bad = async (queue: Record<string, unknown>, field: string, code = 'BAD_USER_INPUT', functionName = 'quick') =>
      expectError(
        await server.gql(CREATE_TRIGGER, { input: { name: 'bad-map', functionName, queue: { queueName: 'map-checks', ...queue } } }),
        code,
        field,
      );
    await bad({ batchSize: 0 }, 'input.queue.batchSize');
    await bad({ batchSize: 10001, batchingWindowSeconds: 1 }, 'input.queue.batchSize');
    await bad({ batchingWindowSeconds: 301 }, 'input.queue.batchingWindowSeconds');
    await bad({ batchSize: 11 }, 'input.queue.batchingWindowSeconds');
    await bad({ queueName: 'nope' }, 'input.queue.queueName', 'NOT_FOUND');
    await bad({}, 'input.queue.queueName', 'BAD_USER_INPUT', 'slow');
    expect((await server.data(`{ trigger(name: "bad-map") { name } }`)).trigger).toBeNull();

    await createTrigger(server, {
      name: 'good-map',
      functionName: 'quick',
      queue: { queueName: 'map-checks', batchSize: 100, batchingWindowSeconds: 5 },
    });
    expectError(await server.gql(DELETE_QUEUE, { name: 'map-checks' }), 'CONFLICT', 'input.name');
  });
});
