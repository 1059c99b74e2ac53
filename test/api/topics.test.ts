// Topics (SNS model) through the API: create (idempotent), list, delete (refused while subscribed),
// publish and its checks. Fan-out to functions: test/api/trigger-topic.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../support/api.js';
import { checkAwsEvent } from '../support/aws-events.js';
import { deploy } from '../support/functions.js';
import {
  CREATE_TOPIC,
  createQueue,
  createTopic,
  DELETE_QUEUE,
  DELETE_TOPIC,
  GET_TOPIC,
  publish,
  PUBLISH,
  receive,
} from '../support/messaging.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { createTrigger, DELETE_TRIGGER } from '../support/triggers.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

describe('topics', () => {
  it('creates a topic; creating it again returns the same one; lists by prefix', async () => {
    const t = await createTopic(server, 'news');
    expect(t).toMatchObject({ id: expect.stringMatching(/^tp-/), name: 'news', arn: 'arn:aws:sns:local:000000000000:news' });
    expect(await createTopic(server, 'news')).toEqual(t);
    await createTopic(server, 'other');
    const names = (await server.data(`{ topics(first: 10, namePrefix: "ne") { edges { node { name } } } }`)).topics.edges.map(
      (e: any) => e.node.name,
    );
    expect(names).toEqual(['news']);
    expect((await server.data(GET_TOPIC, { name: 'news' })).topic).toMatchObject({ name: 'news', subscriptions: [] });
    expect((await server.data(GET_TOPIC, { name: 'none' })).topic).toBeNull();
    expectError(await server.gql(CREATE_TOPIC, { name: 'bad name' }), 'BAD_USER_INPUT', 'input.name');
    expectError(await server.gql(CREATE_TOPIC, { name: 'x'.repeat(257) }), 'BAD_USER_INPUT', 'input.name');
  });

  it('publishes with no subscriptions: a message id, no deliveries', async () => {
    await createTopic(server, 'quiet');
    const res = await publish(server, { topicName: 'quiet', message: 'hello', subject: 'Greeting' });
    expect(res).toEqual({ messageId: expect.stringMatching(/^[0-9a-f-]{36}$/), deliveries: 0 });
  });

  it('refuses bad publishes with the field at fault', async () => {
    await createTopic(server, 'strict');
    const bad = async (input: Record<string, unknown>, code: string, field: string) =>
      expectError(await server.gql(PUBLISH, { input: { topicName: 'strict', message: 'm', ...input } }), code, field);
    await bad({ topicName: 'missing' }, 'NOT_FOUND', 'input.topicName');
    await bad({ message: '' }, 'BAD_USER_INPUT', 'input.message');
    await bad({ message: 'x'.repeat(256 * 1024 + 1) }, 'PAYLOAD_TOO_LARGE', 'input.message');
    await bad({ subject: 'two\nlines' }, 'BAD_USER_INPUT', 'input.subject');
    await bad({ subject: 's'.repeat(101) }, 'BAD_USER_INPUT', 'input.subject');
    await bad(
      { messageAttributes: [{ name: 'tags', dataType: 'String.Array', stringValue: 'not a list' }] },
      'BAD_USER_INPUT',
      'input.messageAttributes.0.stringValue',
    );
    await bad(
      { messageAttributes: [{ name: 'n', dataType: 'Number.int', stringValue: '1' }] },
      'BAD_USER_INPUT',
      'input.messageAttributes.0.dataType',
    );
    await bad(
      { messageAttributes: [{ name: 'n', dataType: 'Number', stringValue: 'NaN' }] },
      'BAD_USER_INPUT',
      'input.messageAttributes.0.stringValue',
    );
  });

  it('a topic with subscriptions cannot be deleted until they are', async () => {
    await createTopic(server, 'busy');
    await deploy(server, {
      name: 'busy-fn',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      code: { files: [{ path: 'index.js', content: 'exports.handler = async () => 1;' }] },
    });
    await createTrigger(server, { name: 'busy-sub', functionName: 'busy-fn', topic: { topicName: 'busy' } });
    expect((await server.data(GET_TOPIC, { name: 'busy' })).topic.subscriptions).toEqual([{ name: 'busy-sub', enabled: true }]);
    expectError(await server.gql(DELETE_TOPIC, { name: 'busy' }), 'CONFLICT', 'input.name');
    await server.data(DELETE_TRIGGER, { name: 'busy-sub' });
    expect((await server.data(DELETE_TOPIC, { name: 'busy' })).deleteTopic.topic.name).toBe('busy');
    expect((await server.data(GET_TOPIC, { name: 'busy' })).topic).toBeNull();
    expectError(await server.gql(DELETE_TOPIC, { name: 'busy' }), 'NOT_FOUND', 'input.name');
  });

  describe('queue subscriptions (SNS → SQS)', () => {
    const SUBSCRIBE = `mutation($input: SubscribeQueueInput!) { subscribeQueue(input: $input) { subscription {
      id subscriptionArn topicName queueName filterPolicy filterPolicyScope rawMessageDelivery } } }`;
    const UNSUBSCRIBE = `mutation($arn: String!) { unsubscribeQueue(input: { subscriptionArn: $arn }) { subscription { queueName } } }`;
    const subscribe = async (input: Record<string, unknown>) => (await server.data(SUBSCRIBE, { input })).subscribeQueue.subscription;

    it("puts each matching message in every subscribed queue: SNS's JSON notification, or the raw message with its attributes", async () => {
      await createTopic(server, 'fan');
      await createQueue(server, { name: 'fan-json' });
      await createQueue(server, { name: 'fan-raw' });
      await createQueue(server, { name: 'fan-eu' });
      const json = await subscribe({ topicName: 'fan', queueName: 'fan-json' });
      expect(json).toMatchObject({
        subscriptionArn: `arn:aws:sns:local:000000000000:fan:${json.id}`,
        filterPolicyScope: 'MessageAttributes',
        rawMessageDelivery: false,
      });
      // subscribing again with the same settings returns the subscription; other settings conflict
      expect((await subscribe({ topicName: 'fan', queueName: 'fan-json' })).id).toBe(json.id);
      expectError(
        await server.gql(SUBSCRIBE, { input: { topicName: 'fan', queueName: 'fan-json', rawMessageDelivery: true } }),
        'CONFLICT',
        'input.queueName',
      );
      await subscribe({ topicName: 'fan', queueName: 'fan-raw', rawMessageDelivery: true });
      const eu = await subscribe({
        topicName: 'fan',
        queueName: 'fan-eu',
        filterPolicy: { region: ['eu'], stage: [{ 'anything-but': 'test' }] },
      });
      // the same policy again, its keys in another order (and as JSON text): the same subscription
      expect(
        (await subscribe({ topicName: 'fan', queueName: 'fan-eu', filterPolicy: '{"stage":[{"anything-but":"test"}],"region":["eu"]}' }))
          .id,
      ).toBe(eu.id);
      expect(
        (await server.data(`{ topic(name: "fan") { queueSubscriptions { queueName } } }`)).topic.queueSubscriptions.map(
          (x: any) => x.queueName,
        ),
      ).toEqual(['fan-json', 'fan-raw', 'fan-eu']);

      const attrs = [
        { name: 'region', dataType: 'String', stringValue: 'us' },
        { name: 'tags', dataType: 'String.Array', stringValue: '["x"]' },
      ];
      const res = await publish(server, { topicName: 'fan', message: 'hello queues', subject: 'Hi', messageAttributes: attrs });
      expect(res.deliveries).toBe(2);
      const [envelope] = await receive(server, 'fan-json');
      expect(JSON.parse(envelope.body)).toEqual({
        Type: 'Notification',
        MessageId: res.messageId,
        TopicArn: 'arn:aws:sns:local:000000000000:fan',
        Subject: 'Hi',
        Message: 'hello queues',
        Timestamp: expect.stringMatching(/Z$/),
        SignatureVersion: '2',
        Signature: expect.any(String),
        SigningCertURL: `${server.url}/SimpleNotificationService.pem`,
        UnsubscribeURL: expect.stringMatching(
          new RegExp(`^${server.url}/\\?Action=Unsubscribe&SubscriptionArn=arn%3Aaws%3Asns%3Alocal%3A000000000000%3Afan%3A`),
        ),
        MessageAttributes: { region: { Type: 'String', Value: 'us' }, tags: { Type: 'String.Array', Value: '["x"]' } },
      });
      // SNS's notification as AWS's published model has it (which reads the envelope's …URL spellings)
      expect(await checkAwsEvent('SnsNotificationModel', JSON.parse(envelope.body))).toEqual({
        error: null,
        missing: ['SigningCertUrl', 'UnsubscribeUrl'],
      });
      expect(envelope.messageAttributes).toEqual([]);
      const [raw] = await receive(server, 'fan-raw');
      expect(raw.body).toBe('hello queues');
      expect(raw.messageAttributes).toEqual([
        { name: 'region', dataType: 'String', stringValue: 'us', binaryValue: null },
        { name: 'tags', dataType: 'String', stringValue: '["x"]', binaryValue: null },
      ]);
      expect(await receive(server, 'fan-eu')).toEqual([]);
      const region = { name: 'region', dataType: 'String', stringValue: 'eu' };
      await publish(server, {
        topicName: 'fan',
        message: 'eu test',
        messageAttributes: [region, { name: 'stage', dataType: 'String', stringValue: 'test' }],
      });
      await publish(server, {
        topicName: 'fan',
        message: 'for eu',
        messageAttributes: [region, { name: 'stage', dataType: 'String', stringValue: 'prod' }],
      });
      expect((await receive(server, 'fan-eu')).map((m: any) => JSON.parse(m.body).Message)).toEqual(['for eu']);
    });

    it('a subscribed queue or its topic cannot be deleted until it is unsubscribed; bad subscriptions are refused', async () => {
      await createTopic(server, 'held');
      await createQueue(server, { name: 'held-q' });
      const sub = await subscribe({ topicName: 'held', queueName: 'held-q' });
      expectError(await server.gql(DELETE_QUEUE, { name: 'held-q' }), 'CONFLICT', 'input.name');
      expectError(await server.gql(DELETE_TOPIC, { name: 'held' }), 'CONFLICT', 'input.name');
      expectError(await server.gql(SUBSCRIBE, { input: { topicName: 'held', queueName: 'absent' } }), 'NOT_FOUND', 'input.queueName');
      expectError(await server.gql(SUBSCRIBE, { input: { topicName: 'absent', queueName: 'held-q' } }), 'NOT_FOUND', 'input.topicName');
      expectError(
        await server.gql(SUBSCRIBE, { input: { topicName: 'held', queueName: 'held-q', filterPolicy: { a: 'x' } } }),
        'BAD_USER_INPUT',
        'input.filterPolicy',
      );
      expectError(await server.gql(UNSUBSCRIBE, { arn: `${sub.subscriptionArn}X` }), 'NOT_FOUND', 'input.subscriptionArn');
      expect((await server.data(UNSUBSCRIBE, { arn: sub.subscriptionArn })).unsubscribeQueue.subscription.queueName).toBe('held-q');
      expect((await publish(server, { topicName: 'held', message: 'nobody' })).deliveries).toBe(0);
      await server.data(DELETE_QUEUE, { name: 'held-q' });
      await server.data(DELETE_TOPIC, { name: 'held' });
    });
  });
});
