// Queues (SQS standard-queue model) through the API: send, receive, delete; visibility timeout and
// receipt handles; long polling; delays; redrive to a dead-letter queue after maxReceiveCount;
// purge; retention; concurrent receivers never share a message; input checks.
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../support/api.js';
import {
  CHANGE_VISIBILITY,
  CREATE_QUEUE,
  createQueue,
  DELETE_MESSAGE,
  DELETE_QUEUE,
  getQueue,
  md5,
  PURGE,
  receive,
  RECEIVE,
  send,
  SEND,
  SEND_BATCH,
} from '../support/messaging.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const del = async (queueName: string, receiptHandle: string) =>
  (await server.data(DELETE_MESSAGE, { input: { queueName, receiptHandle } })).deleteMessage.deleted as boolean;

describe('queues', () => {
  it('creates a queue with SQS defaults; the same settings again return it, other settings conflict', async () => {
    const q = await createQueue(server, { name: 'orders' });
    expect(q).toMatchObject({
      name: 'orders',
      arn: 'arn:aws:sqs:local:000000000000:orders',
      visibilityTimeoutSeconds: 30,
      messageRetentionSeconds: 345600,
      delaySeconds: 0,
      receiveMessageWaitTimeSeconds: 0,
      redrivePolicy: null,
      approximateNumberOfMessages: 0,
    });
    expect((await createQueue(server, { name: 'orders', visibilityTimeoutSeconds: 30 })).id).toBe(q.id);
    expectError(await server.gql(CREATE_QUEUE, { input: { name: 'orders', visibilityTimeoutSeconds: 60 } }), 'CONFLICT', 'input.name');
    const list = (await server.data(`{ queues(first: 10, namePrefix: "ord") { edges { node { name } } } }`)).queues.edges;
    expect(list.map((e: any) => e.node.name)).toEqual(['orders']);
  });

  it('refuses bad settings with the field at fault', async () => {
    const bad = async (input: Record<string, unknown>, field: string, code = 'BAD_USER_INPUT') =>
      expectError(await server.gql(CREATE_QUEUE, { input: { name: 'bad-q', ...input } }), code, field);
    await bad({ name: 'has space' }, 'input.name');
    await bad({ name: 'q.fifo' }, 'input.name');
    await bad({ name: 'x'.repeat(81) }, 'input.name');
    await bad({ visibilityTimeoutSeconds: 43201 }, 'input.visibilityTimeoutSeconds');
    await bad({ messageRetentionSeconds: 59 }, 'input.messageRetentionSeconds');
    await bad({ delaySeconds: 901 }, 'input.delaySeconds');
    await bad({ receiveMessageWaitTimeSeconds: 21 }, 'input.receiveMessageWaitTimeSeconds');
    await bad(
      { redrivePolicy: { deadLetterQueueName: 'nowhere', maxReceiveCount: 3 } },
      'input.redrivePolicy.deadLetterQueueName',
      'NOT_FOUND',
    );
    await bad({ redrivePolicy: { deadLetterQueueName: 'bad-q', maxReceiveCount: 3 } }, 'input.redrivePolicy.deadLetterQueueName');
    await createQueue(server, { name: 'some-dlq' });
    await bad({ redrivePolicy: { deadLetterQueueName: 'some-dlq', maxReceiveCount: 0 } }, 'input.redrivePolicy.maxReceiveCount');
    expect(await getQueue(server, 'bad-q')).toBeNull();
  });

  it('send, receive, delete: the message is hidden while in flight and gone once deleted', async () => {
    await createQueue(server, { name: 'basic' });
    const body = 'hello, queue ✓';
    const sent = await send(server, 'basic', body, {
      messageAttributes: [
        { name: 'kind', dataType: 'String', stringValue: 'greeting' },
        { name: 'n', dataType: 'Number.int', stringValue: '42' },
        { name: 'raw', dataType: 'Binary', binaryValue: Buffer.from([0, 1, 2, 255]).toString('base64') },
      ],
    });
    expect(sent.md5OfBody).toBe(md5(body));
    expect(await getQueue(server, 'basic')).toMatchObject({ approximateNumberOfMessages: 1, approximateNumberOfMessagesNotVisible: 0 });

    const before = Date.now();
    const [m] = await receive(server, 'basic');
    expect(m).toMatchObject({
      messageId: sent.messageId,
      body,
      md5OfBody: md5(body),
      messageAttributes: [
        { name: 'kind', dataType: 'String', stringValue: 'greeting', binaryValue: null },
        { name: 'n', dataType: 'Number.int', stringValue: '42', binaryValue: null },
        { name: 'raw', dataType: 'Binary', stringValue: null, binaryValue: 'AAEC/w==' },
      ],
    });
    expect(m.attributes.approximateReceiveCount).toBe(1);
    expect(new Date(m.attributes.sentTimestamp).getTime()).toBeLessThanOrEqual(
      new Date(m.attributes.approximateFirstReceiveTimestamp).getTime(),
    );
    expect(new Date(m.attributes.approximateFirstReceiveTimestamp).getTime()).toBeGreaterThanOrEqual(before - 1_000);
    expect(await receive(server, 'basic')).toEqual([]);
    expect(await getQueue(server, 'basic')).toMatchObject({ approximateNumberOfMessages: 0, approximateNumberOfMessagesNotVisible: 1 });

    expect(await del('basic', m.receiptHandle)).toBe(true);
    // deleting again: no error, nothing deleted
    expect(await del('basic', m.receiptHandle)).toBe(false);
    expect(await getQueue(server, 'basic')).toMatchObject({ approximateNumberOfMessages: 0, approximateNumberOfMessagesNotVisible: 0 });
  });

  it('a message not deleted within the visibility timeout comes back with a new receipt handle; the old one no longer deletes it', async () => {
    await createQueue(server, { name: 'vt', visibilityTimeoutSeconds: 1 });
    const { messageId } = await send(server, 'vt', 'again');
    const [first] = await receive(server, 'vt');
    expect(await receive(server, 'vt')).toEqual([]);
    const [second] = await receive(server, 'vt', { waitTimeSeconds: 5 });
    expect(second.messageId).toBe(messageId);
    expect(second.receiptHandle).not.toBe(first.receiptHandle);
    expect(second.attributes.approximateReceiveCount).toBe(2);
    expect(second.attributes.approximateFirstReceiveTimestamp).toBe(first.attributes.approximateFirstReceiveTimestamp);
    // as SQS: the stale handle succeeds and deletes nothing
    expect(await del('vt', first.receiptHandle)).toBe(false);
    expect((await getQueue(server, 'vt')).approximateNumberOfMessagesNotVisible).toBe(1);
    expect(await del('vt', second.receiptHandle)).toBe(true);
  });

  it('changeMessageVisibility: 0 makes a message visible at once; a stale handle is refused', async () => {
    await createQueue(server, { name: 'cmv' });
    await send(server, 'cmv', 'x');
    const [m] = await receive(server, 'cmv');
    await server.data(CHANGE_VISIBILITY, { input: { queueName: 'cmv', receiptHandle: m.receiptHandle, visibilityTimeoutSeconds: 0 } });
    const [again] = await receive(server, 'cmv', { visibilityTimeoutSeconds: 600 });
    expect(again.messageId).toBe(m.messageId);
    expectError(
      await server.gql(CHANGE_VISIBILITY, { input: { queueName: 'cmv', receiptHandle: m.receiptHandle, visibilityTimeoutSeconds: 0 } }),
      'BAD_USER_INPUT',
      'input.receiptHandle',
    );
    expectError(
      await server.gql(CHANGE_VISIBILITY, {
        input: { queueName: 'cmv', receiptHandle: again.receiptHandle, visibilityTimeoutSeconds: 43201 },
      }),
      'BAD_USER_INPUT',
      'input.visibilityTimeoutSeconds',
    );
    // the refused changes changed nothing: the message stays in flight
    expect(await receive(server, 'cmv')).toEqual([]);
  });

  it('long polling: a waiting receive returns as soon as a message arrives; an empty one waits its time', async () => {
    await createQueue(server, { name: 'long' });
    const t0 = Date.now();
    expect(await receive(server, 'long', { waitTimeSeconds: 1 })).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);

    const waiting = receive(server, 'long', { waitTimeSeconds: 20 });
    await sleep(300);
    const { messageId } = await send(server, 'long', 'wake up');
    const got = await waiting;
    expect(got.map((m: any) => m.messageId)).toEqual([messageId]);
  });

  it('delayed messages are counted as delayed and received once their delay passes (the queue default or per message)', async () => {
    await createQueue(server, { name: 'later', delaySeconds: 1 });
    const { messageId } = await send(server, 'later', 'later');
    const { messageId: now } = await send(server, 'later', 'now', { delaySeconds: 0 });
    expect(await getQueue(server, 'later')).toMatchObject({ approximateNumberOfMessages: 1, approximateNumberOfMessagesDelayed: 1 });
    expect((await receive(server, 'later', { maxNumberOfMessages: 10 })).map((m: any) => m.messageId)).toEqual([now]);
    const [m] = await receive(server, 'later', { waitTimeSeconds: 10 });
    expect(m.messageId).toBe(messageId);
  });

  it('after maxReceiveCount receives a message moves to the dead-letter queue, keeping its id, body and attributes', async () => {
    await createQueue(server, { name: 'work-dlq' });
    const q = await createQueue(server, { name: 'work', redrivePolicy: { deadLetterQueueName: 'work-dlq', maxReceiveCount: 2 } });
    expect(q.redrivePolicy).toEqual({ deadLetterQueueName: 'work-dlq', maxReceiveCount: 2 });
    const { messageId } = await send(server, 'work', 'poison', {
      messageAttributes: [{ name: 'a', dataType: 'String', stringValue: 'b' }],
    });
    const { messageId: healthy } = await send(server, 'work', 'fine');
    // two receives that never delete (visibility 0: visible again at once)
    for (let i = 1; i <= 2; i++) {
      const got = await receive(server, 'work', { maxNumberOfMessages: 10, visibilityTimeoutSeconds: 0 });
      expect(got.map((m: any) => [m.messageId, m.attributes.approximateReceiveCount]).sort()).toEqual(
        [
          [healthy, i],
          [messageId, i],
        ].sort(),
      );
      if (i === 2) await del('work', got.find((m: any) => m.messageId === healthy).receiptHandle);
    }
    // the third receive moves it instead of handing it out
    expect(await receive(server, 'work', { maxNumberOfMessages: 10 })).toEqual([]);
    expect(await getQueue(server, 'work')).toMatchObject({ approximateNumberOfMessages: 0, approximateNumberOfMessagesNotVisible: 0 });
    expect((await getQueue(server, 'work-dlq')).approximateNumberOfMessages).toBe(1);
    const [dead] = await receive(server, 'work-dlq');
    expect(dead).toMatchObject({ messageId, body: 'poison', messageAttributes: [{ name: 'a', stringValue: 'b' }] });
    expect(dead.attributes.approximateReceiveCount).toBe(1);

    // the dead-letter queue cannot go while a queue redrives to it
    expectError(await server.gql(DELETE_QUEUE, { name: 'work-dlq' }), 'CONFLICT', 'input.name');
    await server.data(DELETE_QUEUE, { name: 'work' });
    await server.data(DELETE_QUEUE, { name: 'work-dlq' });
    expect(await getQueue(server, 'work-dlq')).toBeNull();
  });

  it('purge deletes every message, in flight ones too', async () => {
    await createQueue(server, { name: 'purge-me' });
    await server.data(SEND_BATCH, {
      input: {
        queueName: 'purge-me',
        entries: [
          { id: 'a', body: '1' },
          { id: 'b', body: '2' },
          { id: 'c', body: '3' },
        ],
      },
    });
    await receive(server, 'purge-me');
    expect((await server.data(PURGE, { name: 'purge-me' })).purgeQueue.purged).toBe(3);
    expect(await getQueue(server, 'purge-me')).toMatchObject({ approximateNumberOfMessages: 0, approximateNumberOfMessagesNotVisible: 0 });
  });

  it('sendMessageBatch: one result per entry; one bad entry sends nothing', async () => {
    await createQueue(server, { name: 'batch' });
    const res = (
      await server.data(SEND_BATCH, {
        input: {
          queueName: 'batch',
          entries: [
            { id: 'one', body: 'a' },
            { id: 'two', body: 'b', delaySeconds: 5 },
          ],
        },
      })
    ).sendMessageBatch;
    expect(res.successful.map((r: any) => [r.id, r.md5OfBody])).toEqual([
      ['one', md5('a')],
      ['two', md5('b')],
    ]);
    expect(await getQueue(server, 'batch')).toMatchObject({ approximateNumberOfMessages: 1, approximateNumberOfMessagesDelayed: 1 });
    expectError(
      await server.gql(SEND_BATCH, {
        input: {
          queueName: 'batch',
          entries: [
            { id: 'x', body: 'ok' },
            { id: 'x', body: 'dup' },
          ],
        },
      }),
      'BAD_USER_INPUT',
      'input.entries.1.id',
    );
    expectError(
      await server.gql(SEND_BATCH, {
        input: {
          queueName: 'batch',
          entries: [
            { id: 'x', body: 'ok' },
            { id: 'y', body: '' },
          ],
        },
      }),
      'BAD_USER_INPUT',
      'input.entries.1.body',
    );
    expectError(
      await server.gql(SEND_BATCH, {
        input: { queueName: 'batch', entries: Array.from({ length: 11 }, (_, i) => ({ id: `e${i}`, body: 'x' })) },
      }),
      'BAD_USER_INPUT',
      'input.entries',
    );
    const big = 'x'.repeat(100 * 1024);
    expectError(
      await server.gql(SEND_BATCH, {
        input: {
          queueName: 'batch',
          entries: [
            { id: 'a', body: big },
            { id: 'b', body: big },
            { id: 'c', body: big },
          ],
        },
      }),
      'PAYLOAD_TOO_LARGE',
      'input.entries',
    );
    expect(await getQueue(server, 'batch')).toMatchObject({ approximateNumberOfMessages: 1, approximateNumberOfMessagesDelayed: 1 });
  });

  it('messages past the retention period are never received and are swept', async () => {
    await createQueue(server, { name: 'old', messageRetentionSeconds: 60 });
    await send(server, 'old', 'stale');
    const { messageId } = await send(server, 'old', 'fresh');
    // the clock is moved for one message, not waited for
    const db = postgres(server.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      await db`update queue_messages set expires_at = now() - interval '1 second' where body = 'stale'`;
      expect((await receive(server, 'old', { maxNumberOfMessages: 10 })).map((m: any) => m.messageId)).toEqual([messageId]);
      expect(await server.app.modules.messaging.queues.sweepExpired()).toBe(1);
      expect((await db`select count(*)::int as n from queue_messages where body = 'stale'`)[0]!.n).toBe(0);
    } finally {
      await db.end();
    }
  });

  it('concurrent receivers never get the same message', async () => {
    await createQueue(server, { name: 'shared', visibilityTimeoutSeconds: 600 });
    const entries = Array.from({ length: 10 }, (_, i) => ({ id: `m${i}`, body: `body ${i}` }));
    for (let b = 0; b < 6; b++) await server.data(SEND_BATCH, { input: { queueName: 'shared', entries } });
    const seen: string[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (;;) {
          const got = await receive(server, 'shared', { maxNumberOfMessages: 10 });
          if (got.length === 0) return;
          seen.push(...got.map((m: any) => m.messageId));
        }
      }),
    );
    expect(seen.length).toBe(60);
    expect(new Set(seen).size).toBe(60);
  });

  it('refuses bad messages and receives with the field at fault, changing nothing', async () => {
    await createQueue(server, { name: 'strict' });
    const sendErr = async (input: Record<string, unknown>, code: string, field: string) =>
      expectError(await server.gql(SEND, { input: { queueName: 'strict', body: 'ok', ...input } }), code, field);
    await sendErr({ queueName: 'nope' }, 'NOT_FOUND', 'input.queueName');
    await sendErr({ body: '' }, 'BAD_USER_INPUT', 'input.body');
    await sendErr({ body: 'bell \u0007' }, 'BAD_USER_INPUT', 'input.body');
    await sendErr({ body: 'x'.repeat(256 * 1024 + 1) }, 'PAYLOAD_TOO_LARGE', 'input.body');
    await sendErr(
      { body: 'x'.repeat(256 * 1024 - 4), messageAttributes: [{ name: 'k', dataType: 'String', stringValue: 'vvvv' }] },
      'PAYLOAD_TOO_LARGE',
      'input.body',
    );
    await sendErr({ delaySeconds: 901 }, 'BAD_USER_INPUT', 'input.delaySeconds');
    await sendErr(
      { messageAttributes: [{ name: 'n', dataType: 'Number', stringValue: 'ten' }] },
      'BAD_USER_INPUT',
      'input.messageAttributes.0.stringValue',
    );
    await sendErr(
      { messageAttributes: [{ name: 'n', dataType: 'Float', stringValue: '1' }] },
      'BAD_USER_INPUT',
      'input.messageAttributes.0.dataType',
    );
    await sendErr(
      { messageAttributes: [{ name: 'AWS.x', dataType: 'String', stringValue: '1' }] },
      'BAD_USER_INPUT',
      'input.messageAttributes.0.name',
    );
    await sendErr(
      { messageAttributes: [{ name: 'b', dataType: 'Binary', binaryValue: 'not base64!' }] },
      'BAD_USER_INPUT',
      'input.messageAttributes.0.binaryValue',
    );
    await sendErr(
      {
        messageAttributes: [
          { name: 'a', dataType: 'String', stringValue: '1' },
          { name: 'a', dataType: 'String', stringValue: '2' },
        ],
      },
      'BAD_USER_INPUT',
      'input.messageAttributes.1.name',
    );
    await sendErr(
      { messageAttributes: Array.from({ length: 11 }, (_, i) => ({ name: `a${i}`, dataType: 'String', stringValue: 'v' })) },
      'BAD_USER_INPUT',
      'input.messageAttributes',
    );
    expect((await getQueue(server, 'strict')).approximateNumberOfMessages).toBe(0);

    const recvErr = async (input: Record<string, unknown>, field: string) =>
      expectError(await server.gql(RECEIVE, { input: { queueName: 'strict', ...input } }), 'BAD_USER_INPUT', field);
    await recvErr({ maxNumberOfMessages: 11 }, 'input.maxNumberOfMessages');
    await recvErr({ maxNumberOfMessages: 0 }, 'input.maxNumberOfMessages');
    await recvErr({ waitTimeSeconds: 21 }, 'input.waitTimeSeconds');
    await recvErr({ visibilityTimeoutSeconds: -1 }, 'input.visibilityTimeoutSeconds');
    expectError(
      await server.gql(DELETE_MESSAGE, { input: { queueName: 'strict', receiptHandle: 'garbage' } }),
      'BAD_USER_INPUT',
      'input.receiptHandle',
    );
    expectError(await server.gql(DELETE_QUEUE, { name: 'nope' }), 'NOT_FOUND', 'input.name');
  });

  it('queue actions are authorized one by one (queues:*)', async () => {
    await createQueue(server, { name: 'guarded-q' });
    const { createApiKey } = await server.data(
      `mutation { createApiKey(input: { name: "producer", actions: ["queues:SendMessage"] }) { key } }`,
    );
    const key = createApiKey.key;
    const sent = (await server.gql(SEND, { input: { queueName: 'guarded-q', body: 'from producer' } }, key)).data?.sendMessage;
    expect(sent).toEqual({ messageId: expect.stringMatching(/^[0-9a-f-]{36}$/), md5OfBody: md5('from producer') });
    expectError(await server.gql(RECEIVE, { input: { queueName: 'guarded-q' } }, key), 'FORBIDDEN');
    expectError(await server.gql(PURGE, { name: 'guarded-q' }, key), 'FORBIDDEN');
    expectError(await server.gql(CREATE_QUEUE, { input: { name: 'other-q' } }, key), 'FORBIDDEN');
    expect((await getQueue(server, 'guarded-q')).approximateNumberOfMessages).toBe(1);
    expect((await receive(server, 'guarded-q')).map((m: any) => [m.messageId, m.body])).toEqual([[sent.messageId, 'from producer']]);
  });

  it('two servers on one database never hand out the same message', async () => {
    const second = await startTestServer({ databaseUrl: server.databaseUrl, adminApiKey: server.key });
    try {
      await createQueue(server, { name: 'two-servers', visibilityTimeoutSeconds: 600 });
      const entries = Array.from({ length: 10 }, (_, i) => ({ id: `m${i}`, body: `body ${i}` }));
      for (let b = 0; b < 4; b++) await server.data(SEND_BATCH, { input: { queueName: 'two-servers', entries } });
      const seen: string[][] = [[], []];
      await Promise.all(
        [server, second, server, second].map(async (s, i) => {
          for (;;) {
            const got = await receive(s, 'two-servers', { maxNumberOfMessages: 10 });
            if (got.length === 0) return;
            seen[i % 2]!.push(...got.map((m: any) => m.messageId));
          }
        }),
      );
      const all = [...seen[0]!, ...seen[1]!];
      expect(all.length).toBe(40);
      expect(new Set(all).size).toBe(40);
      // and a message sent through one wakes a long poll on the other (NOTIFY reaches every server)
      const waiting = receive(second, 'two-servers', { waitTimeSeconds: 20 });
      await sleep(300);
      const { messageId } = await send(server, 'two-servers', 'across');
      expect((await waiting).map((m: any) => m.messageId)).toEqual([messageId]);
    } finally {
      await second.close();
    }
  });
});
