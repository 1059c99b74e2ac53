// No laundering through triggers: a key that may make triggers and functions but not read a source
// can neither point a trigger at that source nor read what a trigger delivered from it (as Lambda's
// event source mapping needs the receive permission on the queue).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_CLUSTER, expectError, MASTER, TERMINATE_CLUSTERS } from '../support/api.js';
import { deploy, INVOCATION_FIELDS } from '../support/functions.js';
import { createQueue, createTopic, publish } from '../support/messaging.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { CREATE_TRIGGER, DELIVERIES, GET_TRIGGER, UPDATE_TRIGGER, waitForDeliveries } from '../support/triggers.js';

let server: TestServer;
let clusterId: string;
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }`;
const key = async (name: string, actions: string[]): Promise<string> =>
  (await server.data(CREATE_KEY, { input: { name, actions } })).createApiKey.key;

beforeAll(async () => {
  server = await startTestServer();
  await createQueue(server, { name: 'team-a-jobs' });
  await createTopic(server, 'team-a-news');
  await server.data(`mutation { createBucket(input: { name: "team-a-data" }) { bucket { name } } }`);
  clusterId = (await server.data(CREATE_CLUSTER, { input: { name: 'team-a', instanceGroups: [MASTER] } })).createCluster.cluster.id;
  await deploy(server, {
    name: 'sink',
    runtime: 'NODEJS20',
    handler: 'index.handler',
    code: { files: [{ path: 'index.js', content: 'exports.handler = async () => ({ ok: true });' }] },
  });
});
afterAll(async () => {
  if (clusterId) await server?.data(TERMINATE_CLUSTERS, { ids: [clusterId] });
  await server?.close();
});

const SOURCES: Array<{ source: string; readAction: string; input: () => Record<string, unknown> }> = [
  { source: 'queue', readAction: 'queues:ReceiveMessage', input: () => ({ queue: { queueName: 'team-a-jobs' } }) },
  { source: 'topic', readAction: 'topics:Subscribe', input: () => ({ topic: { topicName: 'team-a-news' } }) },
  {
    source: 'bucket',
    readAction: 'buckets:GetObject',
    input: () => ({ bucket: { bucket: 'team-a-data', events: ['s3:ObjectCreated:*'] } }),
  },
  { source: 'cluster events', readAction: 'clusters:DescribeCluster', input: () => ({ clusterEvents: { clusterId, kinds: ['STEP'] } }) },
];

describe('creating a trigger needs the read action of its source', () => {
  for (const { source, readAction, input } of SOURCES) {
    it(`${source}: refused without ${readAction}, nothing made; allowed with it`, async () => {
      const attacker = await key(`no-read-${source}`, ['triggers:*', 'functions:*']);
      const name = `steal-${source.replace(' ', '-')}`;
      const refused = await server.gql(CREATE_TRIGGER, { input: { name, functionName: 'sink', ...input() } }, attacker);
      expectError(refused, 'FORBIDDEN');
      expect(refused.errors![0]!.message).toContain(readAction);
      expect((await server.data(GET_TRIGGER, { name })).trigger).toBeNull();

      const allowed = await key(`read-${source}`, ['triggers:*', 'functions:*', readAction]);
      const made = await server.gql(CREATE_TRIGGER, { input: { name, functionName: 'sink', ...input() } }, allowed);
      expect(made.errors).toBeUndefined();
      expect(made.data.createTrigger.trigger.name).toBe(name);

      // changing a trigger (e.g. pointing it at one's own function) needs it too
      const changed = await server.gql(UPDATE_TRIGGER, { input: { name, functionName: 'sink', qualifier: '$LATEST' } }, attacker);
      expectError(changed, 'FORBIDDEN');
      const changedOk = await server.gql(UPDATE_TRIGGER, { input: { name, qualifier: '$LATEST' } }, allowed);
      expect(changedOk.errors).toBeUndefined();
    });
  }

  it('refuses before saying whether the source exists', async () => {
    const attacker = await key('probe', ['triggers:*', 'functions:*']);
    const res = await server.gql(
      CREATE_TRIGGER,
      { input: { name: 'probe', functionName: 'sink', queue: { queueName: 'no-such-queue' } } },
      attacker,
    );
    expectError(res, 'FORBIDDEN');
  });

  it('schedules need no source permission (their events are their own)', async () => {
    const k = await key('scheduler', ['triggers:*', 'functions:*']);
    const res = await server.gql(
      CREATE_TRIGGER,
      { input: { name: 'tick', functionName: 'sink', schedule: { expression: 'rate(1 hour)' } } },
      k,
    );
    expect(res.errors).toBeUndefined();
  });
});

describe("a delivery's payload is shown only to keys that may read the source", () => {
  it('hides the event from Trigger.deliveries, invocation and invocations without topics:Subscribe', async () => {
    await server.data(CREATE_TRIGGER, { input: { name: 'news-feed', functionName: 'sink', topic: { topicName: 'team-a-news' } } });
    await publish(server, { topicName: 'team-a-news', message: 'secret quarterly figures' });
    const [delivery] = await waitForDeliveries(server, 'news-feed', 1);
    expect(JSON.stringify(delivery.invocation.payload)).toContain('secret quarterly figures');

    const reader = await key('trigger-reader', ['triggers:*', 'functions:*']);
    const seen = await server.gql(DELIVERIES, { name: 'news-feed', first: 10 }, reader);
    expect(seen.errors).toBeUndefined();
    const node = seen.data.trigger.deliveries.edges[0].node;
    expect(node.invocation.id).toBe(delivery.invocation.id);
    expect(node.invocation.payload).toBeNull();
    expect(JSON.stringify(seen.data)).not.toContain('secret quarterly figures');

    const one = await server.gql(
      `query($id: ID!) { invocation(id: $id) { ${INVOCATION_FIELDS} } }`,
      { id: delivery.invocation.id },
      reader,
    );
    expect(one.data.invocation.id).toBe(delivery.invocation.id);
    expect(one.data.invocation.payload).toBeNull();
    const list = await server.gql(
      `{ invocations(first: 100, filter: { functionName: "sink" }) { edges { node { id payload } } } }`,
      {},
      reader,
    );
    const listed = list.data.invocations.edges.map((e: any) => e.node);
    expect(listed.map((n: any) => n.id)).toContain(delivery.invocation.id);
    expect(JSON.stringify(listed)).not.toContain('secret quarterly figures');

    const subscriber = await key('trigger-subscriber', ['triggers:*', 'functions:*', 'topics:Subscribe']);
    const shown = await server.gql(DELIVERIES, { name: 'news-feed', first: 10 }, subscriber);
    expect(JSON.stringify(shown.data.trigger.deliveries.edges[0].node.invocation.payload)).toContain('secret quarterly figures');
  });

  it("a deleted trigger's deliveries show their event only to a key that may read every source", async () => {
    await server.data(CREATE_TRIGGER, { input: { name: 'gone-feed', functionName: 'sink', topic: { topicName: 'team-a-news' } } });
    await publish(server, { topicName: 'team-a-news', message: 'left behind' });
    const [delivery] = await waitForDeliveries(server, 'gone-feed', 1);
    await server.data(`mutation { deleteTrigger(input: { name: "gone-feed" }) { trigger { name } } }`);
    const q = `query($id: ID!) { invocation(id: $id) { payload } }`;
    const subscriber = await key('only-topics', ['functions:*', 'topics:Subscribe']);
    expect((await server.gql(q, { id: delivery.invocation.id }, subscriber)).data.invocation.payload).toBeNull();
    const all = await key('every-source', [
      'functions:*',
      'topics:Subscribe',
      'queues:ReceiveMessage',
      'buckets:GetObject',
      'clusters:DescribeCluster',
    ]);
    expect(JSON.stringify((await server.gql(q, { id: delivery.invocation.id }, all)).data.invocation.payload)).toContain('left behind');
  });
});
