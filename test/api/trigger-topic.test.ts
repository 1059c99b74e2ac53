// TOPIC triggers (SNS subscriptions of functions): a publish fans out to every enabled subscription
// whose filter policy matches, with SNS's record shape; filter policies on attributes and bodies;
// a disabled subscription gets nothing. Deliveries are queued in the publish's transaction, so right
// after publish returns the deliveries that will ever exist for it are on record.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../support/api.js';
import { checkAwsEvent } from '../support/aws-events.js';
import { deploy } from '../support/functions.js';
import { createTopic, publish } from '../support/messaging.js';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  CREATE_TRIGGER,
  createTrigger,
  deliveriesOf,
  SET_TRIGGER_ENABLED,
  TRIGGER_FIELDS,
  UPDATE_TRIGGER,
  waitForDeliveries,
} from '../support/triggers.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await deploy(server, {
    name: 'sink',
    runtime: 'NODEJS20',
    handler: 'index.handler',
    code: { files: [{ path: 'index.js', content: RECORDER }] },
  });
});
afterAll(async () => {
  await server?.close();
});

const RECORDER = `exports.handler = async (event) => ({ received: event });`;
const recorder = (name: string) =>
  deploy(server, { name, runtime: 'NODEJS20', handler: 'index.handler', code: { files: [{ path: 'index.js', content: RECORDER }] } });
const subscribe = (name: string, topic: Record<string, unknown>, functionName = 'sink') =>
  createTrigger(server, { name, functionName, topic });
/** the message ids delivered to a trigger so far (queued or run), oldest first */
const deliveredIds = async (name: string) => (await deliveriesOf(server, name)).reverse().map((d: any) => d.eventId);

describe('fan-out', () => {
  it("delivers a publish to every subscribed function with SNS's record shape", async () => {
    await createTopic(server, 'orders');
    await recorder('fan-a');
    await recorder('fan-b');
    const a = await subscribe('orders-a', { topicName: 'orders' }, 'fan-a');
    await subscribe('orders-b', { topicName: 'orders' }, 'fan-b');
    const before = Date.now();
    const res = await publish(server, {
      topicName: 'orders',
      message: '{"id":7}',
      subject: 'New order',
      messageAttributes: [
        { name: 'store', dataType: 'String', stringValue: 'example_corp' },
        { name: 'price', dataType: 'Number', stringValue: '210.75' },
        { name: 'tags', dataType: 'String.Array', stringValue: '["a","b"]' },
        { name: 'blob', dataType: 'Binary', binaryValue: 'AAEC' },
      ],
    });
    const published = Date.now();
    expect(res.deliveries).toBe(2);
    const [da] = await waitForDeliveries(server, 'orders-a', 1);
    const [db] = await waitForDeliveries(server, 'orders-b', 1);
    for (const d of [da, db]) expect(d).toMatchObject({ eventId: res.messageId, status: 'SUCCEEDED', attempts: 1 });
    expect(da.invocation.functionName).toBe('fan-a');
    expect(db.invocation.functionName).toBe('fan-b');

    const event = da.invocation.payload;
    expect(event).toEqual({
      Records: [
        {
          EventVersion: '1.0',
          EventSubscriptionArn: `arn:aws:sns:local:000000000000:orders:${a.id}`,
          EventSource: 'aws:sns',
          Sns: {
            Type: 'Notification',
            MessageId: res.messageId,
            TopicArn: 'arn:aws:sns:local:000000000000:orders',
            Subject: 'New order',
            Message: '{"id":7}',
            Timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
            SignatureVersion: '2',
            Signature: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/),
            // SNS's URLs, on this server
            SigningCertUrl: `${server.url}/SimpleNotificationService.pem`,
            UnsubscribeUrl: `${server.url}/?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(`arn:aws:sns:local:000000000000:orders:${a.id}`)}`,
            MessageAttributes: {
              store: { Type: 'String', Value: 'example_corp' },
              price: { Type: 'Number', Value: '210.75' },
              tags: { Type: 'String.Array', Value: '["a","b"]' },
              blob: { Type: 'Binary', Value: 'AAEC' },
            },
          },
        },
      ],
    });
    const sns = event.Records[0].Sns;
    // stamped while publish ran
    expect(new Date(sns.Timestamp).getTime()).toBeGreaterThanOrEqual(before);
    expect(new Date(sns.Timestamp).getTime()).toBeLessThanOrEqual(published);
    // the signature is the SHA-256 of SNS's string to sign for a Notification
    const toSign = [
      'Message',
      sns.Message,
      'MessageId',
      sns.MessageId,
      'Subject',
      sns.Subject,
      'Timestamp',
      sns.Timestamp,
      'TopicArn',
      sns.TopicArn,
      'Type',
      'Notification',
    ];
    expect(sns.Signature).toBe(
      crypto
        .createHash('sha256')
        .update(`${toSign.join('\n')}\n`)
        .digest('base64'),
    );
    // the function got exactly that event, and it is SNS's as AWS's published model has it (every field)
    expect(da.invocation.response).toEqual({ received: event });
    expect(await checkAwsEvent('SnsModel', da.invocation.response.received)).toEqual({ error: null, missing: [] });
    // each subscription has its own subscription ARN (and unsubscribe URL)
    const other = db.invocation.payload.Records[0];
    expect(other.EventSubscriptionArn).not.toBe(event.Records[0].EventSubscriptionArn);
    expect(other.Sns.UnsubscribeUrl).toContain(encodeURIComponent(other.EventSubscriptionArn));
    expect({ ...other.Sns, UnsubscribeUrl: sns.UnsubscribeUrl }).toEqual(sns);
  });

  it('reads back the subscription on Trigger.topic', async () => {
    await createTopic(server, 'readback');
    const policy = { store: ['a'] };
    const t = await subscribe('readback-sub', { topicName: 'readback', filterPolicy: policy });
    const got = (
      await server.data(
        `query($n: String!) { trigger(name: $n) { ${TRIGGER_FIELDS} topic { topicName topicArn subscriptionArn filterPolicy filterPolicyScope } queue { queueName } } }`,
        { n: 'readback-sub' },
      )
    ).trigger;
    expect(got.topic).toEqual({
      topicName: 'readback',
      topicArn: 'arn:aws:sns:local:000000000000:readback',
      subscriptionArn: `arn:aws:sns:local:000000000000:readback:${t.id}`,
      filterPolicy: policy,
      filterPolicyScope: 'MessageAttributes',
    });
    expect(got.queue).toBeNull();
    expect(got.config).toEqual({ topicName: 'readback', filterPolicy: policy, filterPolicyScope: 'MessageAttributes' });
  });
});

describe('filter policies', () => {
  it('attribute policies: exact, prefix, numeric ranges, anything-but, exists', async () => {
    await createTopic(server, 'shop');
    await subscribe('f-exact', { topicName: 'shop', filterPolicy: { event: ['order_placed', { prefix: 'refund_' }] } });
    await subscribe('f-numeric', { topicName: 'shop', filterPolicy: { price: [{ numeric: ['>=', 100, '<', 500] }] } });
    await subscribe('f-anything-but', {
      topicName: 'shop',
      filterPolicy: JSON.stringify({ store: [{ 'anything-but': ['closed_corp', 'test_corp'] }] }),
    });
    await subscribe('f-and', {
      topicName: 'shop',
      filterPolicy: { store: ['example_corp'], price: [{ numeric: ['>', 1000] }], vip: [{ exists: true }] },
    });
    await subscribe('f-all', { topicName: 'shop' });
    const S = (name: string, v: string) => ({ name, dataType: 'String', stringValue: v });
    const N = (name: string, v: number) => ({ name, dataType: 'Number', stringValue: String(v) });
    const m1 = await publish(server, {
      topicName: 'shop',
      message: 'one',
      messageAttributes: [S('event', 'order_placed'), S('store', 'example_corp'), N('price', 210.75)],
    });
    const m2 = await publish(server, {
      topicName: 'shop',
      message: 'two',
      messageAttributes: [S('event', 'refund_issued'), S('store', 'test_corp'), N('price', 50)],
    });
    const m3 = await publish(server, {
      topicName: 'shop',
      message: 'three',
      messageAttributes: [S('event', 'order_cancelled'), S('store', 'example_corp'), N('price', 5000), S('vip', 'yes')],
    });
    const m4 = await publish(server, { topicName: 'shop', message: 'four' });
    // price as a String attribute is no number: numeric conditions do not match it
    const m5 = await publish(server, { topicName: 'shop', message: 'five', messageAttributes: [S('price', '200')] });
    expect([m1, m2, m3, m4, m5].map((m) => m.deliveries)).toEqual([4, 2, 3, 1, 1]);
    expect(await deliveredIds('f-exact')).toEqual([m1.messageId, m2.messageId]);
    expect(await deliveredIds('f-numeric')).toEqual([m1.messageId]);
    expect(await deliveredIds('f-anything-but')).toEqual([m1.messageId, m3.messageId]);
    expect(await deliveredIds('f-and')).toEqual([m3.messageId]);
    expect(await deliveredIds('f-all')).toEqual([m1, m2, m3, m4, m5].map((m) => m.messageId));
    // and they run
    const [d] = await waitForDeliveries(server, 'f-and', 1);
    expect(d.invocation.payload.Records[0].Sns.Message).toBe('three');
  });

  it('MessageBody policies match keys of the JSON message, nested ones too; other messages do not match', async () => {
    await createTopic(server, 'events');
    await subscribe('f-body', {
      topicName: 'events',
      filterPolicyScope: 'MessageBody',
      filterPolicy: {
        order: { status: ['paid'], total: [{ numeric: ['>', 10] }] },
        $or: [{ region: ['eu'] }, { priority: [{ exists: true }] }],
      },
    });
    const paid = await publish(server, {
      topicName: 'events',
      message: JSON.stringify({ order: { status: 'paid', total: 25 }, region: 'eu' }),
    });
    const cheap = await publish(server, {
      topicName: 'events',
      message: JSON.stringify({ order: { status: 'paid', total: 5 }, region: 'eu' }),
    });
    const urgent = await publish(server, {
      topicName: 'events',
      message: JSON.stringify({ order: { status: 'paid', total: 99 }, region: 'us', priority: 1 }),
    });
    const text = await publish(server, {
      topicName: 'events',
      message: 'order paid',
      messageAttributes: [{ name: 'status', dataType: 'String', stringValue: 'paid' }],
    });
    expect([paid, cheap, urgent, text].map((m) => m.deliveries)).toEqual([1, 0, 1, 0]);
    expect(await deliveredIds('f-body')).toEqual([paid.messageId, urgent.messageId]);
  });

  it('a bad policy is refused at create and update with the field, changing nothing', async () => {
    await createTopic(server, 'guarded');
    const bad = async (topic: Record<string, unknown>, field: string, code = 'BAD_USER_INPUT') =>
      expectError(
        await server.gql(CREATE_TRIGGER, { input: { name: 'f-bad', functionName: 'sink', topic: { topicName: 'guarded', ...topic } } }),
        code,
        field,
      );
    await bad({ filterPolicy: { a: [{ wildcard: 'x*' }] } }, 'input.topic.filterPolicy');
    await bad({ filterPolicy: { a: { nested: ['x'] } } }, 'input.topic.filterPolicy');
    await bad({ filterPolicy: '{"a": [' }, 'input.topic.filterPolicy');
    await bad({ filterPolicy: { a: ['1'], b: ['1'], c: ['1'], d: ['1'], e: ['1'], f: ['1'] } }, 'input.topic.filterPolicy');
    await bad({ topicName: 'absent' }, 'input.topic.topicName', 'NOT_FOUND');
    expect((await server.data(`{ trigger(name: "f-bad") { name } }`)).trigger).toBeNull();

    await subscribe('f-upd', { topicName: 'guarded', filterPolicy: { a: ['1'] } });
    expectError(
      await server.gql(UPDATE_TRIGGER, {
        input: { name: 'f-upd', topic: { topicName: 'guarded', filterPolicy: { a: [{ numeric: ['>', 'x'] }] } } },
      }),
      'BAD_USER_INPUT',
      'input.topic.filterPolicy',
    );
    const updated = (
      await server.data(UPDATE_TRIGGER, { input: { name: 'f-upd', topic: { topicName: 'guarded', filterPolicy: { a: ['2'] } } } })
    ).updateTrigger.trigger;
    expect(updated.config.filterPolicy).toEqual({ a: ['2'] });
    const m = await publish(server, {
      topicName: 'guarded',
      message: 'x',
      messageAttributes: [{ name: 'a', dataType: 'String', stringValue: '2' }],
    });
    expect(m.deliveries).toBe(1);
  });
});

describe('enabled', () => {
  it('a disabled subscription gets nothing, the others still do; enabled again, it gets new messages', async () => {
    await createTopic(server, 'toggle');
    await subscribe('t-on', { topicName: 'toggle' });
    await subscribe('t-off', { topicName: 'toggle' });
    await server.data(SET_TRIGGER_ENABLED, { name: 't-off', enabled: false });
    const m1 = await publish(server, { topicName: 'toggle', message: 'while off' });
    expect(m1.deliveries).toBe(1);
    expect(await deliveredIds('t-off')).toEqual([]);
    expect(await deliveredIds('t-on')).toEqual([m1.messageId]);
    await server.data(SET_TRIGGER_ENABLED, { name: 't-off', enabled: true });
    const m2 = await publish(server, { topicName: 'toggle', message: 'back on' });
    expect(m2.deliveries).toBe(2);
    expect(await deliveredIds('t-off')).toEqual([m2.messageId]);
    const [d] = await waitForDeliveries(server, 't-off', 1);
    expect(d.invocation.payload.Records[0].Sns.Message).toBe('back on');
  });
});
