// Subscriptions over WebSocket (graphql-ws): log streams (a line a message, and in batches), step
// updates and cluster events, with replay-then-live, resume after a cursor, and fan-out.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  allPages,
  ENDED_STEP_STATES as ENDED,
  Fixtures,
  flatErrors,
  gateStep,
  MASTER,
  masterScratch,
  TERMINATE_CLUSTERS as TERMINATE,
  waitForClusterState,
  waitForStepState,
} from '../support/api.js';
import type { Subscription } from '../support/client.js';
import { waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
const fixtures = new Fixtures();

beforeAll(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await fixtures.cleanup(server);
});
afterAll(async () => {
  await fixtures.closeConnections();
  await server?.close();
});

const CREATE = `mutation($input: CreateClusterInput!) { createCluster(input: $input) { cluster { id state
  instanceGroups { id } instances { id } } } }`;
const CLUSTER = `query($id: ID!) { cluster(id: $id) { id state instances { id } } }`;
const ADD = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id state logStreamId } } }`;
const STEP_Q = `query($id: ID!) { step(id: $id) { id state progress } }`;
const LOGS = `query($id: ID!, $after: String) { step(id: $id) { logs(first: 100, after: $after) {
  edges { node { cursor stream text } } pageInfo { hasNextPage endCursor } } } }`;
const LOGS_SUB = `subscription($s: ID!, $a: String) { logs(streamId: $s, after: $a) { cursor at stream text } }`;
const LOG_BATCHES_SUB = `subscription($s: ID!, $a: String) { logBatches(streamId: $s, after: $a) { lines { cursor at stream text } } }`;
const STEP_SUB = `subscription($id: ID!) { stepUpdates(stepId: $id) { id state progress exitCode startedAt endedAt } }`;
const EVENTS_SUB = `subscription($id: ID!, $a: String) { clusterEvents(clusterId: $id, after: $a) {
  cursor at clusterId kind resourceId state previousState message } }`;

interface Line {
  cursor: string;
  stream: string;
  text: string;
}
interface Event {
  cursor: string;
  clusterId: string;
  kind: string;
  resourceId: string;
  state: string | null;
  previousState: string | null;
  message: string | null;
}

const client = (): Client => fixtures.ws(server);
const subscribe = <T = any>(c: Client, query: string, variables: Record<string, unknown>, field: string): Subscription<T> =>
  fixtures.subscribe<T>(c, query, variables, (d) => d[field]);

const logsOf = (c: Client, streamId: string, after: string | null = null) =>
  subscribe<Line>(c, LOGS_SUB, { s: streamId, a: after }, 'logs');
const batchesOf = (c: Client, streamId: string, after: string | null = null) =>
  fixtures.subscribe<Line[]>(c, LOG_BATCHES_SUB, { s: streamId, a: after }, (d) => d.logBatches.lines);
const eventsOf = (c: Client, clusterId: string, after?: string) =>
  subscribe<Event>(c, EVENTS_SUB, after === undefined ? { id: clusterId } : { id: clusterId, a: after }, 'clusterEvents');

async function newCluster(extra: Record<string, unknown> = {}) {
  const { createCluster } = await server.data(CREATE, { input: { name: 'subs', instanceGroups: [MASTER], ...extra } });
  fixtures.cluster(createCluster.cluster.id);
  return createCluster.cluster;
}

async function readyCluster(extra: Record<string, unknown> = {}) {
  const c = await newCluster(extra);
  return waitForClusterState(server, c.id, ['WAITING'], { query: CLUSTER });
}

async function addSteps(clusterId: string, steps: Array<{ name: string; args: string[]; env?: Record<string, string> }>) {
  const input = { clusterId, steps: steps.map((s) => ({ name: s.name, command: { args: s.args, ...(s.env ? { env: s.env } : {}) } })) };
  return (await server.data(ADD, { input })).addSteps.steps as Array<{ id: string; state: string; logStreamId: string }>;
}

const waitForStep = (id: string) => waitForStepState(server, id, ENDED, { query: STEP_Q });

async function storedLines(stepId: string): Promise<Line[]> {
  return allPages(async (after) => (await server.data(LOGS, { id: stepId, after })).step.logs);
}

function printer(name: string, n: number, sleep = '0.02') {
  return {
    name,
    env: { N: String(n), S: sleep },
    args: ['sh', '-c', 'i=1; while [ $i -le $N ]; do echo "line $i"; sleep $S; i=$((i+1)); done'],
  };
}

const plain = (lines: Line[]) => lines.map((l) => ({ cursor: l.cursor, stream: l.stream, text: l.text }));

function expectDense(cursors: string[], first = 1) {
  expect(cursors).toEqual(cursors.map((_, i) => String(first + i)));
}

/** All error codes a subscription received, whether sent as `next` errors or as an `error` message. */
function errorCodes(sub: Subscription): string[] {
  return flatErrors(sub.errors).map((e: any) => e?.extensions?.code);
}

/**
 * A subscription's starting point is fixed once the server has registered it with the feed. The
 * protocol has no acknowledgement for that, so tests that need "from now on" exactness wait for
 * the feed's subscriber count to grow.
 */
function feedSubscribers(feed: unknown, key: string): number {
  return (feed as { tails: Map<string, { subscribers: number }> }).tails.get(key)?.subscribers ?? 0;
}

async function waitForRegistration(feed: unknown, key: string, count: number) {
  await waitUntil(() => feedSubscribers(feed, key) >= count, `${count} feed subscribers on ${key}`, 20_000, 10);
}

describe('logs subscription', () => {
  it('replays then streams live: every line exactly once, in order, whenever the subscriber joined', async () => {
    const c = await readyCluster();
    const gate = path.join(await masterScratch(server, c.id), 'logs-gate');
    const N = 100;
    const [, step] = await addSteps(c.id, [gateStep('gate', gate), printer('print', N, '0.03')]);
    const early = logsOf(client(), step!.logStreamId);
    await waitForRegistration(server.app.modules.logs.logs.feed, step!.logStreamId, 1);
    writeFileSync(gate, '');

    const total = N + 2; // SYSTEM started, N lines, SYSTEM completed
    await early.waitFor((v) => v.length >= 20, 'the first 20 lines', 30_000);
    const middle = logsOf(client(), step!.logStreamId, null);
    const k = 10;
    const lineK = early.values.find((l) => l.text === `line ${k}`)!;
    const fromK = logsOf(client(), step!.logStreamId, lineK.cursor);

    await early.waitFor((v) => v.length >= total, 'every line (early)', 30_000);
    await middle.waitFor((v) => v.length >= total, 'every line (middle)', 30_000);
    await fromK.waitFor((v) => v.length >= total - Number(lineK.cursor), 'the lines after line k', 30_000);
    expect((await waitForStep(step!.id)).state).toBe('COMPLETED');

    const stored = await storedLines(step!.id);
    expect(stored).toHaveLength(total);
    expect(stored.map((l) => l.text)).toEqual([
      `Step started on ${c.instances[0].id}`,
      ...Array.from({ length: N }, (_, i) => `line ${i + 1}`),
      'Step completed (exit code 0)',
    ]);
    expect(stored.map((l) => l.stream)).toEqual(['SYSTEM', ...Array(N).fill('STDOUT'), 'SYSTEM']);
    expectDense(stored.map((l) => l.cursor));
    expect(plain(early.values)).toEqual(stored);
    expect(plain(middle.values)).toEqual(stored);
    expect(plain(fromK.values)).toEqual(stored.slice(Number(lineK.cursor)));
    expect(fromK.values[0]!.text).toBe(`line ${k + 1}`);
    for (const s of [early, middle, fromK]) expect(s.errors).toEqual([]);
  });

  it('resumes across a dropped WebSocket with after = last cursor: no gap, no duplicate', async () => {
    const c = await readyCluster();
    const N = 80;
    const [step] = await addSteps(c.id, [printer('print', N, '0.05')]);
    const first = client();
    const a = logsOf(first, step!.logStreamId);
    await a.waitFor((v) => v.length >= 15, '15 lines', 30_000);
    await first.dispose(); // the connection drops mid-stream
    const received = plain(a.values);
    const last = received[received.length - 1]!.cursor;
    // let the step write more while nobody listens
    await waitUntil(async () => (await storedLines(step!.id)).length >= Number(last) + 10, 'more lines stored meanwhile', 30_000);

    const b = logsOf(client(), step!.logStreamId, last);
    expect((await waitForStep(step!.id)).state).toBe('COMPLETED');
    const stored = await storedLines(step!.id);
    expect(stored).toHaveLength(N + 2);
    await b.waitFor((v) => received.length + v.length >= stored.length, 'the rest of the lines', 30_000);
    const union = [...received, ...plain(b.values)];
    expect(union).toEqual(stored);
    expectDense(union.map((l) => l.cursor));
  });

  it('fans out: 50 subscribers on one stream all receive the same complete sequence', async () => {
    const c = await readyCluster();
    const gate = path.join(await masterScratch(server, c.id), 'fanout-gate');
    const N = 40;
    const [, step] = await addSteps(c.id, [gateStep('gate', gate), printer('print', N, '0.01')]);
    const conns = Array.from({ length: 5 }, () => client());
    const all = Array.from({ length: 50 }, (_, i) => logsOf(conns[i % conns.length]!, step!.logStreamId));
    await waitForRegistration(server.app.modules.logs.logs.feed, step!.logStreamId, 50);
    writeFileSync(gate, '');
    expect((await waitForStep(step!.id)).state).toBe('COMPLETED');
    const stored = await storedLines(step!.id);
    expect(stored).toHaveLength(N + 2);
    await Promise.all(all.map((s, i) => s.waitFor((v) => v.length >= stored.length, `subscriber ${i}`, 30_000)));
    for (const s of all) {
      expect(plain(s.values)).toEqual(stored);
      expect(s.errors).toEqual([]);
    }
  });

  it('logBatches: the same lines as logs, in order, none twice; a log stored before the subscription comes in one message', async () => {
    const c = await readyCluster();
    const gate = path.join(await masterScratch(server, c.id), 'batches-gate');
    const N = 60;
    const [, step] = await addSteps(c.id, [gateStep('gate', gate), printer('print', N, '0.01')]);
    const live = batchesOf(client(), step!.logStreamId);
    const single = logsOf(client(), step!.logStreamId);
    await waitForRegistration(server.app.modules.logs.logs.feed, step!.logStreamId, 2);
    writeFileSync(gate, '');
    expect((await waitForStep(step!.id)).state).toBe('COMPLETED');
    const stored = await storedLines(step!.id);
    expect(stored).toHaveLength(N + 2);
    await live.waitFor((v) => v.flat().length >= stored.length, 'every line in batches', 30_000);
    await single.waitFor((v) => v.length >= stored.length, 'every line one by one', 30_000);
    expect(plain(live.values.flat())).toEqual(stored);
    expect(plain(single.values)).toEqual(stored);
    // nothing new to wait for: the stored log is read in one page, sent as one batch
    const replay = batchesOf(client(), step!.logStreamId);
    await replay.waitFor((v) => v.length >= 1, 'the stored log', 30_000);
    expect(replay.values).toHaveLength(1);
    expect(plain(replay.values[0]!)).toEqual(stored);
    const fromK = batchesOf(client(), step!.logStreamId, '10');
    await fromK.waitFor((v) => v.length >= 1, 'the stored log after line 10', 30_000);
    expect(plain(fromK.values[0]!)).toEqual(stored.slice(10));
    for (const s of [live, single, replay, fromK]) expect(s.errors).toEqual([]);
  });

  it('logBatches: a client that stops reading its socket while the step prints gets every line once, in order, when it reads again', async () => {
    const c = await readyCluster();
    const gate = path.join(await masterScratch(server, c.id), 'slow-gate');
    const N = 300;
    const [, step] = await addSteps(c.id, [gateStep('gate', gate), printer('print', N, '0')]);
    const sockets: WebSocket[] = [];
    // graphql-ws makes its own socket: this class hands it over, to pause it
    class KeptWebSocket extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        sockets.push(this);
      }
    }
    const slowClient = createClient({
      url: `${server.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: KeptWebSocket,
      connectionParams: { authorization: `Bearer ${server.key}` },
      retryAttempts: 0,
    });
    const slow = batchesOf(slowClient, step!.logStreamId);
    const prompt = batchesOf(client(), step!.logStreamId);
    await waitForRegistration(server.app.modules.logs.logs.feed, step!.logStreamId, 2);
    sockets[0]!.pause();
    writeFileSync(gate, '');
    expect((await waitForStep(step!.id)).state).toBe('COMPLETED');
    const stored = await storedLines(step!.id);
    expect(stored).toHaveLength(N + 2);
    await prompt.waitFor((v) => v.flat().length >= stored.length, 'every line (prompt client)', 30_000);
    expect(slow.values).toEqual([]);
    sockets[0]!.resume();
    await slow.waitFor((v) => v.flat().length >= stored.length, 'every line (slow client)', 30_000);
    expect(plain(slow.values.flat())).toEqual(stored);
    expect(plain(prompt.values.flat())).toEqual(stored);
    await slowClient.dispose();
  });

  it('an unknown stream id is NOT_FOUND', async () => {
    const s = logsOf(client(), 'log-DOESNOTEXIST');
    await s.waitForError();
    expect(errorCodes(s)).toEqual(['NOT_FOUND']);
    expect(s.values).toEqual([]);
  });
});

describe('stepUpdates subscription', () => {
  it('sends the current step, then each state and progress change, and completes after the final state', async () => {
    const c = await readyCluster();
    const gate = path.join(await masterScratch(server, c.id), 'updates-gate');
    const [, step] = await addSteps(c.id, [
      gateStep('gate', gate),
      {
        name: 'progress',
        args: [
          'sh',
          '-c',
          'echo "::progress 0.25"; sleep 0.3; echo "::progress 50%"; sleep 0.3; echo "::progress 0.75"; sleep 0.3; echo done',
        ],
      },
    ]);
    const s = subscribe(client(), STEP_SUB, { id: step!.id }, 'stepUpdates');
    await s.waitFor((v) => v.length >= 1, 'the current step');
    writeFileSync(gate, '');
    await s.waitForComplete(30_000);
    expect(s.errors).toEqual([]);
    expect(s.values.map((v) => [v.state, v.progress])).toEqual([
      ['PENDING', null],
      ['RUNNING', null],
      ['RUNNING', 0.25],
      ['RUNNING', 0.5],
      ['RUNNING', 0.75],
      ['COMPLETED', 1],
    ]);
    expect(s.values.every((v) => v.id === step!.id)).toBe(true);
    expect(s.values[0].startedAt).toBeNull();
    expect(s.values[1].startedAt).not.toBeNull();
    const final = s.values[s.values.length - 1];
    expect(final).toMatchObject({ exitCode: 0 });
    expect(final.endedAt).not.toBeNull();
  });

  it('a step already RUNNING: first value is RUNNING, then the end', async () => {
    const c = await readyCluster();
    const gate = path.join(await masterScratch(server, c.id), 'running-gate');
    const [step] = await addSteps(c.id, [gateStep('gate', gate)]);
    await waitUntil(async () => (await server.data(STEP_Q, { id: step!.id })).step.state === 'RUNNING', 'the step to run');
    const s = subscribe(client(), STEP_SUB, { id: step!.id }, 'stepUpdates');
    await s.waitFor((v) => v.length >= 1, 'the current step');
    writeFileSync(gate, '');
    await s.waitForComplete(30_000);
    expect(s.values.map((v) => v.state)).toEqual(['RUNNING', 'COMPLETED']);
  });

  it('an ended step: exactly one value, then complete', async () => {
    const c = await readyCluster();
    const [step] = await addSteps(c.id, [{ name: 'quick', args: ['true'] }]);
    await waitForStep(step!.id);
    const s = subscribe(client(), STEP_SUB, { id: step!.id }, 'stepUpdates');
    await s.waitForComplete();
    expect(s.values.map((v) => [v.state, v.progress, v.exitCode])).toEqual([['COMPLETED', 1, 0]]);
    expect(s.errors).toEqual([]);
  });

  it('an unknown step id is NOT_FOUND', async () => {
    const s = subscribe(client(), STEP_SUB, { id: 's-DOESNOTEXIST' }, 'stepUpdates');
    await s.waitForError();
    expect(errorCodes(s)).toEqual(['NOT_FOUND']);
    expect(s.values).toEqual([]);
  });
});

describe('clusterEvents subscription', () => {
  it('after "0" replays the whole life of a cluster, then streams it live, with dense cursors', async () => {
    const created = await newCluster();
    const e = eventsOf(client(), created.id, '0');
    const groupId = created.instanceGroups[0].id;
    const instanceId = created.instances[0].id;
    const rel = (v: Event) => [
      v.kind,
      v.resourceId === created.id
        ? 'cluster'
        : v.resourceId === groupId
          ? 'group'
          : v.resourceId === instanceId
            ? 'instance'
            : v.resourceId,
      v.state,
      v.previousState,
    ];
    const startup = [
      ['CLUSTER', 'cluster', 'STARTING', null],
      ['INSTANCE_GROUP', 'group', 'PROVISIONING', null],
      ['INSTANCE', 'instance', 'PROVISIONING', null],
      // placed on a host (this server's own machine), before its agent is launched
      ['INSTANCE', 'instance', 'PROVISIONING', 'PROVISIONING'],
      ['INSTANCE', 'instance', 'BOOTSTRAPPING', 'PROVISIONING'],
      ['CLUSTER', 'cluster', 'BOOTSTRAPPING', 'STARTING'],
      ['INSTANCE_GROUP', 'group', 'BOOTSTRAPPING', 'PROVISIONING'],
      ['INSTANCE', 'instance', 'RUNNING', 'BOOTSTRAPPING'],
      ['CLUSTER', 'cluster', 'WAITING', 'BOOTSTRAPPING'],
      ['INSTANCE_GROUP', 'group', 'RUNNING', 'BOOTSTRAPPING'],
    ];
    await e.waitFor((v) => v.length >= startup.length, 'the start-up events', 30_000);
    expect(e.values.map(rel)).toEqual(startup);
    expect(e.values[3]!.message).toMatch(/^placed on host h-\w+ \(/);

    const [step] = await addSteps(created.id, [{ name: 'hello', args: ['echo', 'hi'] }]);
    const withStep = [
      ...startup,
      ['STEP', step!.id, 'PENDING', null],
      ['CLUSTER', 'cluster', 'RUNNING', 'WAITING'],
      ['STEP', step!.id, 'RUNNING', 'PENDING'],
      ['STEP', step!.id, 'COMPLETED', 'RUNNING'],
      ['CLUSTER', 'cluster', 'WAITING', 'RUNNING'],
    ];
    await e.waitFor((v) => v.length >= withStep.length, 'the step events', 30_000);
    expect(e.values.map(rel)).toEqual(withStep);

    await server.data(TERMINATE, { ids: [created.id] });
    await e.waitFor((v) => v.some((x) => x.kind === 'CLUSTER' && x.state === 'TERMINATED'), 'TERMINATED', 30_000);
    const ending = e.values.slice(withStep.length).map(rel);
    const clusterStates = ending.filter((x) => x[0] === 'CLUSTER').map((x) => x[2]);
    expect(clusterStates).toEqual(['TERMINATING', 'TERMINATED']);
    expect(ending[0]).toEqual(['CLUSTER', 'cluster', 'TERMINATING', 'WAITING']);
    expect(ending).toContainEqual(['INSTANCE', 'instance', 'TERMINATED', 'RUNNING']);
    // the instance is stopped before the cluster counts as terminated
    const instanceEnd = ending.findIndex((x) => x[0] === 'INSTANCE' && x[2] === 'TERMINATED');
    const clusterEnd = ending.findIndex((x) => x[0] === 'CLUSTER' && x[2] === 'TERMINATED');
    expect(instanceEnd).toBeLessThan(clusterEnd);

    expectDense(e.values.map((v) => v.cursor));
    expect(e.values.every((v) => v.clusterId === created.id)).toBe(true);
    expect(e.errors).toEqual([]);

    // resume after any cursor: exactly the events that followed it
    const k = 5;
    const resumed = eventsOf(client(), created.id, e.values[k - 1]!.cursor);
    const replayed = await resumed.waitFor((v) => v.length >= e.values.length - k, 'the events after k', 30_000);
    expect(replayed.map((v) => v.cursor)).toEqual(e.values.slice(k).map((v) => v.cursor));
    expect(replayed.map(rel)).toEqual(e.values.slice(k).map(rel));
  });

  it('a cluster created with steps goes STARTING → BOOTSTRAPPING → RUNNING → WAITING', async () => {
    const created = await newCluster({ steps: [{ name: 'first', command: { args: ['echo', '1'] } }] });
    const e = eventsOf(client(), created.id, '0');
    await e.waitFor((v) => v.some((x) => x.kind === 'CLUSTER' && x.state === 'WAITING'), 'WAITING', 30_000);
    expect(e.values.filter((v) => v.kind === 'CLUSTER').map((v) => v.state)).toEqual(['STARTING', 'BOOTSTRAPPING', 'RUNNING', 'WAITING']);
    const stepEvents = e.values.filter((v) => v.kind === 'STEP').map((v) => v.state);
    expect(stepEvents).toEqual(['PENDING', 'RUNNING', 'COMPLETED']);
    // the step starts only once the cluster is RUNNING
    const states = e.values.map((v) => `${v.kind}:${v.state}`);
    expect(states.indexOf('STEP:RUNNING')).toBeGreaterThan(states.indexOf('CLUSTER:RUNNING'));
    expectDense(e.values.map((v) => v.cursor));
  });

  it('without after: only events from now on, starting with the next change', async () => {
    const c = await readyCluster();
    const feed = server.app.modules.clusters.events.feed;
    const before = feedSubscribers(feed, c.id);
    const live = eventsOf(client(), c.id);
    await waitForRegistration(feed, c.id, before + 1);
    const history = eventsOf(client(), c.id, '0');
    await history.waitFor((v) => v.some((x) => x.kind === 'INSTANCE_GROUP' && x.state === 'RUNNING'), 'the start-up events', 30_000);
    const head = history.values.length;

    const [step] = await addSteps(c.id, [{ name: 'hello', args: ['true'] }]);
    await live.waitFor((v) => v.some((x) => x.kind === 'CLUSTER' && x.state === 'WAITING'), 'the step to finish', 30_000);
    expect(live.values[0]).toMatchObject({ kind: 'STEP', resourceId: step!.id, state: 'PENDING', cursor: String(head + 1) });
    expect(live.values.map((v) => `${v.kind}:${v.state}`)).toEqual([
      'STEP:PENDING',
      'CLUSTER:RUNNING',
      'STEP:RUNNING',
      'STEP:COMPLETED',
      'CLUSTER:WAITING',
    ]);
    expectDense(
      live.values.map((v) => v.cursor),
      head + 1,
    );
  });

  it('an unknown cluster id is NOT_FOUND', async () => {
    const s = eventsOf(client(), 'j-DOESNOTEXIST', '0');
    await s.waitForError();
    expect(errorCodes(s)).toEqual(['NOT_FOUND']);
  });
});
