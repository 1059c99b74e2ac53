// Topics (SNS model) through the API: create (idempotent), list, delete (refused while subscribed),
// publish and its checks. Fan-out to functions: test/api/trigger-topic.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../support/api.js';
import { deploy } from '../support/functions.js';
import { CREATE_TOPIC, createTopic, DELETE_TOPIC, GET_TOPIC, publish, PUBLISH } from '../support/messaging.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { createTrigger, DELETE_TRIGGER } from '../support/triggers.js';

let server: TestServer;
beforeAll(async () => { server = await startTestServer(); });
afterAll(async () => { await server?.close(); });

describe('topics', () => {
  it('creates a topic; creating it again returns the same one; lists by prefix', async () => {
    const t = await createTopic(server, 'news');
    expect(t).toMatchObject({ id: expect.stringMatching(/^tp-/), name: 'news', arn: 'arn:aws:sns:local:000000000000:news' });
    expect(await createTopic(server, 'news')).toEqual(t);
    await createTopic(server, 'other');
    const names = (await server.data(`{ topics(first: 10, namePrefix: "ne") { edges { node { name } } } }`)).topics.edges.map((e: any) => e.node.name);
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
    await bad({ messageAttributes: [{ name: 'tags', dataType: 'String.Array', stringValue: 'not a list' }] }, 'BAD_USER_INPUT', 'input.messageAttributes.0.stringValue');
    await bad({ messageAttributes: [{ name: 'n', dataType: 'Number.int', stringValue: '1' }] }, 'BAD_USER_INPUT', 'input.messageAttributes.0.dataType');
    await bad({ messageAttributes: [{ name: 'n', dataType: 'Number', stringValue: 'NaN' }] }, 'BAD_USER_INPUT', 'input.messageAttributes.0.stringValue');
  });

  it('a topic with subscriptions cannot be deleted until they are', async () => {
    await createTopic(server, 'busy');
    await deploy(server, { name: 'busy-fn', runtime: 'NODEJS20', handler: 'index.handler', code: { files: [{ path: 'index.js', content: 'exports.handler = async () => 1;' }] } });
    await createTrigger(server, { name: 'busy-sub', functionName: 'busy-fn', topic: { topicName: 'busy' } });
    expect((await server.data(GET_TOPIC, { name: 'busy' })).topic.subscriptions).toEqual([{ name: 'busy-sub', enabled: true }]);
    expectError(await server.gql(DELETE_TOPIC, { name: 'busy' }), 'CONFLICT', 'input.name');
    await server.data(DELETE_TRIGGER, { name: 'busy-sub' });
    expect((await server.data(DELETE_TOPIC, { name: 'busy' })).deleteTopic.topic.name).toBe('busy');
    expect((await server.data(GET_TOPIC, { name: 'busy' })).topic).toBeNull();
    expectError(await server.gql(DELETE_TOPIC, { name: 'busy' }), 'NOT_FOUND', 'input.name');
  });
});
