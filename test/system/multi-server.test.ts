// Two control-plane processes on one database (replicas share Postgres; claims are
// row-locked, the cluster controller is a singleton by advisory lock, LISTEN/NOTIFY feeds
// subscriptions on every replica). Both use one DATA_DIR, as replicas on one host would.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { CORE, ENDED_STEP_STATES as ENDED_STEP, masterScratch } from '../support/api.js';
import { createTestDatabase } from '../support/db.js';
import { isAlive, waitUntil } from '../support/processes.js';
import { agentProcessesOf } from '../support/server.js';
import {
  addSteps,
  api,
  command,
  createCluster,
  envOf,
  EVENTS_SUB,
  getCluster,
  LOGS_SUB,
  masterGroup,
  stdoutOf,
  SystemTest,
  TEST_KEY,
  waitCluster,
  waitClusterState,
  waitStep,
  type LogLineOut,
} from './harness.js';

let t: SystemTest;
// a cleanup that terminates clusters and stops servers can take a while on a busy machine
afterEach(async () => {
  await t?.cleanup();
}, 90_000);

const agentUrl = (port: number) => `ws://127.0.0.1:${port}/agent`;
const urlsOf = (pid: number) => envOf(pid).AGENT_CONTROL_PLANE_URLS!.split(',');

async function twoServers() {
  t = await new SystemTest().init('emberplane-multi-');
  const databaseUrl = await createTestDatabase();
  const env = { DATABASE_URL: databaseUrl, ADMIN_API_KEY: TEST_KEY, PORT: '0' };
  // the first one takes the controller's advisory lock, so it launches every agent
  const first = await t.start(env);
  const second = await t.start(env);
  return { first, second, databaseUrl };
}

describe('two servers on one database', { timeout: 120_000 }, () => {
  it('a subscription on one server sees the step states and log lines of a step dispatched by the other', async () => {
    const { first: b, second: a } = await twoServers();
    const A = api(a);
    const B = api(b);
    const clusterId = await createCluster(B, { name: 'cross-replica', instanceGroups: [masterGroup()] });
    const ready = await waitClusterState(B, clusterId, ['WAITING']);
    // B launched the agent with its own URL first: the master is connected to B, B dispatches
    expect(urlsOf(ready.instances[0].pid)[0]).toBe(agentUrl(b.port));

    const events = t.track(A.subscribe(EVENTS_SUB, { clusterId, after: '0' }, (d) => d.clusterEvents));
    await events.waitFor((v) => v.some((e) => e.kind === 'CLUSTER' && e.state === 'WAITING'), 'the replayed WAITING event');
    const [step] = await addSteps(B, clusterId, [
      command('chatty', 'for i in 1 2 3 4 5; do echo out $i; echo err $i >&2; sleep 0.2; done'),
    ]);
    const logs = t.track(A.subscribe<LogLineOut>(LOGS_SUB, { streamId: step!.logStreamId }, (d) => d.logs));

    await logs.waitFor((v) => v.some((l) => l.text === 'Step completed (exit code 0)'), 'the last log line on A');
    expect(stdoutOf(logs.values)).toEqual(['out 1', 'out 2', 'out 3', 'out 4', 'out 5']);
    expect(logs.values.filter((l) => l.stream === 'STDERR').map((l) => l.text)).toEqual(['err 1', 'err 2', 'err 3', 'err 4', 'err 5']);
    expect(logs.values.map((l) => l.cursor)).toEqual(logs.values.map((_, i) => String(i + 1)));
    expect(logs.values).toHaveLength(12);

    await events.waitFor((v) => v.some((e) => e.kind === 'STEP' && e.resourceId === step!.id && e.state === 'COMPLETED'), 'COMPLETED on A');
    await events.waitFor((v) => v.filter((e) => e.kind === 'CLUSTER' && e.state === 'WAITING').length === 2, 'WAITING again on A');
    const stepEvents = events.values.filter((e) => e.kind === 'STEP' && e.resourceId === step!.id);
    expect(stepEvents.map((e) => [e.previousState, e.state])).toEqual([
      [null, 'PENDING'],
      ['PENDING', 'RUNNING'],
      ['RUNNING', 'COMPLETED'],
    ]);
    expect(stepEvents[2].detail).toMatchObject({ exitCode: 0, instanceId: ready.instances[0].id });
    const clusterStates = events.values.filter((e) => e.kind === 'CLUSTER').map((e) => e.state);
    expect(clusterStates).toEqual(['STARTING', 'BOOTSTRAPPING', 'WAITING', 'RUNNING', 'WAITING']);
    expect(events.values.map((e) => e.cursor)).toEqual(events.values.map((_, i) => String(i + 1)));
    expect(events.values.every((e) => e.clusterId === clusterId)).toBe(true);
  });

  it('no step runs twice: 30 steps added through both servers at once each run exactly once, at most 4 at a time', async () => {
    const { first: a, second: b } = await twoServers();
    const A = api(a);
    const B = api(b);
    const clusterId = await createCluster(A, { name: 'exactly-once', instanceGroups: [masterGroup()], stepConcurrencyLevel: 4 });
    await waitClusterState(A, clusterId, ['WAITING']);

    // the steps run sandboxed on the master node: they write where the test can read, its own directory
    const scratch = await masterScratch({ data: A.data, dataDir: t.dataDir }, clusterId);
    const ids = path.join(scratch, 'ids.txt');
    const trace = path.join(scratch, 'trace.txt');
    // small appends to an O_APPEND file are atomic, so lines never interleave
    const script =
      'echo "+$CLUSTER_STEP_ID" >> "$TRACE"; echo "$CLUSTER_STEP_ID" >> "$IDS"; sleep 0.2; echo "-$CLUSTER_STEP_ID" >> "$TRACE"';
    const added = await Promise.all(
      Array.from({ length: 30 }, (_, i) => addSteps(i % 2 ? B : A, clusterId, [command(`step-${i}`, script, { IDS: ids, TRACE: trace })])),
    );
    const stepIds = added.map((s) => s[0]!.id);
    expect(new Set(stepIds).size).toBe(30);

    const done = await waitCluster(
      A,
      clusterId,
      (c) => c.steps.edges.length === 30 && c.steps.edges.every((e: any) => ENDED_STEP.includes(e.node.state)),
      'all 30 steps ended',
      60_000,
    );
    expect(done.steps.edges.map((e: any) => e.node.state)).toEqual(Array(30).fill('COMPLETED'));
    expect(readFileSync(ids, 'utf8').trim().split('\n').sort()).toEqual([...stepIds].sort());

    let open = 0;
    let most = 0;
    const started = new Set<string>();
    for (const line of readFileSync(trace, 'utf8').trim().split('\n')) {
      const id = line.slice(1);
      if (line.startsWith('+')) {
        expect(started.has(id)).toBe(false);
        started.add(id);
        most = Math.max(most, ++open);
      } else {
        expect(started.has(id)).toBe(true);
        open--;
      }
    }
    expect(started.size).toBe(30);
    expect(open).toBe(0);
    expect(most).toBeLessThanOrEqual(4);
    expect((await waitClusterState(B, clusterId, ['WAITING'])).state).toBe('WAITING');
  });

  it('one controller leads; when the leader is killed -9 the other takes over, and the agents move to it', async () => {
    const { first: a, second: b, databaseUrl } = await twoServers();
    const A = api(a);
    const B = api(b);
    // Agents get the URLs the launching server knows; A refreshes its list of replicas every few
    // seconds, so wait until A has refreshed since B registered before A launches anything.
    const db = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    try {
      await waitUntil(
        async () => {
          const [row] = await db<{ ok: boolean }[]>`
          select a.heartbeat_at > b.started_at + interval '200 milliseconds' as ok
          from servers a, servers b where a.agent_url = ${agentUrl(a.port)} and b.agent_url = ${agentUrl(b.port)}`;
          return row?.ok;
        },
        'A to see B in the servers table',
        20_000,
        200,
      );
    } finally {
      await db.end();
    }

    const oldId = await createCluster(B, { name: 'before-failover', instanceGroups: [masterGroup(), CORE(1)] });
    const ready = await waitClusterState(B, oldId, ['WAITING']);
    // only the leader launched agents: exactly one process per instance, each told A first, then B
    expect(agentProcessesOf(t.dataDir).sort()).toEqual(ready.instances.map((i: any) => i.pid).sort());
    for (const i of ready.instances) expect(urlsOf(i.pid)).toEqual([agentUrl(a.port), agentUrl(b.port)]);

    // a step in flight when its server dies: the master carries it over to B
    const [inFlight] = await addSteps(A, oldId, [command('in-flight', 'for i in $(seq 1 20); do echo n $i; sleep 0.1; done')]);
    await waitStep(A, inFlight!.id, (s) => s.logs.edges.some((e: any) => e.node.text === 'n 2'), 'a few lines of the in-flight step');

    await a.kill('SIGKILL');
    const carried = await waitStep(B, inFlight!.id, (s) => ENDED_STEP.includes(s.state), 'the in-flight step ended');
    expect(carried.state).toBe('COMPLETED');
    const carriedLines = carried.logs.edges.map((e: any) => e.node);
    expect(stdoutOf(carriedLines)).toEqual(Array.from({ length: 20 }, (_, i) => `n ${i + 1}`));
    expect(carriedLines.map((l: any) => l.cursor)).toEqual(carriedLines.map((_: unknown, i: number) => String(i + 1)));

    const newId = await createCluster(B, { name: 'after-failover', instanceGroups: [masterGroup()] });
    const fresh = await waitClusterState(B, newId, ['WAITING']);
    expect(urlsOf(fresh.instances[0].pid)[0]).toBe(agentUrl(b.port));

    const [step] = await addSteps(B, oldId, [command('on-b', 'echo dispatched by B')]);
    const done = await waitStep(B, step!.id, (s) => ENDED_STEP.includes(s.state), 'ended');
    expect(done.state).toBe('COMPLETED');
    expect(stdoutOf(done.logs.edges.map((e: any) => e.node))).toEqual(['dispatched by B']);

    // the old cluster kept its agents: same instances, same processes, no replacement
    const old = await getCluster(B, oldId);
    expect(old.state).toBe('WAITING');
    expect(old.instances.map((i: any) => [i.id, i.state, i.pid])).toEqual(ready.instances.map((i: any) => [i.id, 'RUNNING', i.pid]));
    for (const i of old.instances) expect(isAlive(i.pid)).toBe(true);
  });
});
