// Hosts (docs/hosts.md): machines that join with a host token and run cluster nodes. Each joined
// host here is a real `emberplane host join` daemon (the CLI, as a child process) with its own
// data dir, on loopback; the server runs with OBJECT_PATH_MAPPING=off, as joined hosts require.
import { type ChildProcess, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CREATE_CLUSTER, expectError, TERMINATE_CLUSTERS, waitForCluster, waitForClusterState, waitForStepState } from '../support/api.js';
import { Subscription } from '../support/client.js';
import { isAlive, waitUntil } from '../support/processes.js';
import { agentProcessesOf, startTestServer, type TestServer } from '../support/server.js';

const CLI = path.resolve('bin/emberplane.js');
const HOST_FIELDS = `id name state stateReason embedded connected address labels capacity { vcpu memoryMb diskMb } allocated { vcpu memoryMb }
  overcommit lastHeartbeatAt installation { version } instances { id clusterId role state }`;
const HOSTS = `query($filter: HostFilter) { hosts(first: 100, filter: $filter) { edges { node { ${HOST_FIELDS} } } } }`;
const HOST = `query($id: ID!) { host(id: $id) { ${HOST_FIELDS} } }`;
const CREATE_TOKEN = `mutation($input: CreateHostTokenInput) { createHostToken(input: $input) { token expiresAt labels singleUse } }`;
const DRAIN = `mutation($id: ID!) { drainHost(input: { id: $id }) { host { id state } } }`;
const RESUME = `mutation($id: ID!) { resumeHost(input: { id: $id }) { host { id state } } }`;
const REVOKE = `mutation($id: ID!) { revokeHost(input: { id: $id }) { host { id state } } }`;
const CLUSTER = `query($id: ID!) { cluster(id: $id) { id state stateChangeReason { code message }
  instances { id role state groupId stateChangeReason { code message } placedOn { id name embedded } } } }`;
const ADD_STEPS = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id } } }`;
const STEP = `query($id: ID!) { step(id: $id) { id state exitCode } }`;
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }`;
const HOST_UPDATES = `subscription { hostUpdates { cursor state message host { id state } } }`;

let server: TestServer;
const daemons: Daemon[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  server = await startTestServer({ objectPathMapping: false, hostLostAfterSeconds: 4 });
});
afterAll(async () => {
  // the server stops every node agent of this machine (daemons' included), then the daemons go
  await server?.close();
  for (const d of daemons) await d.kill();
  for (const dir of dirs) {
    for (const pid of agentProcessesOf(dir)) process.kill(pid, 'SIGKILL');
    await waitUntil(() => agentProcessesOf(dir).length === 0, `no agents left under ${dir}`);
    await fs.rm(dir, { recursive: true, force: true });
  }
});

interface Daemon {
  child: ChildProcess;
  dataDir: string;
  output: () => string;
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

async function newDataDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'emberplane-host-'));
  dirs.push(dir);
  return dir;
}

/** `emberplane host join` as a child process. */
function startDaemon(dataDir: string, args: string[], serverUrl = server.url): Daemon {
  const child = spawn(process.execPath, [CLI, 'host', 'join', '--server', serverUrl, '--data-dir', dataDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const daemon: Daemon = {
    child,
    dataDir,
    output: () => out,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  daemons.push(daemon);
  return daemon;
}

async function token(input: Record<string, unknown> = {}): Promise<string> {
  return (await server.data(CREATE_TOKEN, { input })).createHostToken.token;
}

async function hostNamed(name: string, pred: (h: any) => boolean = () => true): Promise<any> {
  return waitUntil(
    async () => {
      const { hosts } = await server.data(HOSTS, {});
      const h = hosts.edges.map((e: any) => e.node).find((n: any) => n.name === name);
      return h && pred(h) ? h : null;
    },
    `host ${name}`,
    30_000,
  );
}

/** A joined daemon with the given labels and room for `nodes` m5.large nodes; resolves once READY. */
async function join(name: string, labels: string[], nodes = 4): Promise<{ daemon: Daemon; host: any }> {
  const dataDir = await newDataDir();
  const args = ['--token', await token(), '--name', name, '--vcpu', String(2 * nodes), '--memory-mb', String(8192 * nodes)];
  for (const l of labels) args.push('--label', l);
  const daemon = startDaemon(dataDir, args);
  const host = await hostNamed(name, (h) => h.state === 'READY' && h.connected);
  return { daemon, host };
}

/** An m5.large group, on hosts labelled pool=<pool> when given. */
const group = (role: string, count: number, pool?: string) => ({
  role,
  instanceType: 'm5.large',
  count,
  ...(pool ? { hostLabels: { pool } } : {}),
});

async function clusterOf(name: string, instanceGroups: object[]): Promise<string> {
  return (await server.data(CREATE_CLUSTER, { input: { name, instanceGroups } })).createCluster.cluster.id;
}

async function terminate(id: string): Promise<void> {
  await server.data(TERMINATE_CLUSTERS, { ids: [id] });
  await waitForClusterState(server, id, ['TERMINATED']);
}

/** The cluster once its CORE node `nodeId` is TERMINATED and another CORE node RUNS in its place. */
const coreReplaced = (id: string, nodeId: string) =>
  waitForCluster(
    server,
    id,
    (x) =>
      x.instances.find((i: any) => i.id === nodeId).state === 'TERMINATED' &&
      live(x).some((i: any) => i.role === 'CORE' && i.state === 'RUNNING'),
    'the CORE node replaced',
    { query: CLUSTER, timeoutMs: 60_000 },
  );
const cluster = (id: string) => server.data(CLUSTER, { id }).then((d) => d.cluster);
const live = (c: any) => c.instances.filter((i: any) => i.state !== 'TERMINATED');

describe('joining', { timeout: 120_000 }, () => {
  it('a host joins with a token, once; the token can not be used again, nor after it expired', async () => {
    const created = await server.data(CREATE_TOKEN, { input: { expiresInSeconds: 600, labels: { zone: 'z1' } } });
    expect(created.createHostToken).toMatchObject({ labels: { zone: 'z1' }, singleUse: true });
    expect(Date.parse(created.createHostToken.expiresAt)).toBeGreaterThan(Date.now() + 500_000);
    const first = await newDataDir();
    const daemon = startDaemon(first, [
      '--token',
      created.createHostToken.token,
      '--name',
      'join-one',
      '--label',
      'rack=r7',
      '--vcpu',
      '6',
      '--memory-mb',
      '12000',
      '--disk-mb',
      '5000',
      '--address',
      '127.0.0.9',
    ]);
    const host = await hostNamed('join-one', (h) => h.state === 'READY');
    expect(host).toMatchObject({
      embedded: false,
      connected: true,
      address: '127.0.0.9',
      labels: { rack: 'r7', zone: 'z1' },
      capacity: { vcpu: 6, memoryMb: 12000, diskMb: 5000 },
      allocated: { vcpu: 0, memoryMb: 0 },
      overcommit: 1,
      instances: [],
    });
    expect(host.id).toMatch(/^h-/);
    expect(host.installation.version).toBe(JSON.parse(await fs.readFile('package.json', 'utf8')).version);
    // the host keeps its own key only, readable by its owner only (written once it got it: `joined`)
    await waitUntil(() => daemon.output().includes(`joined as host ${host.id}`), 'the daemon to keep its key');
    const identity = path.join(first, 'host.json');
    expect(statSync(identity).mode & 0o777).toBe(0o600);
    expect(Object.keys(JSON.parse(await fs.readFile(identity, 'utf8'))).sort()).toEqual(['hostId', 'key']);
    expect((await server.data(HOST, { id: host.id })).host.id).toBe(host.id);

    // the same token a second time: refused, the daemon says why and exits non-zero
    const again = startDaemon(await newDataDir(), ['--token', created.createHostToken.token, '--name', 'join-two']);
    expect(await again.exited).toBe(1);
    expect(again.output()).toContain('TOKEN_USED');

    const unknown = startDaemon(await newDataDir(), ['--token', 'EHTnot-a-token', '--name', 'join-three']);
    expect(await unknown.exited).toBe(1);
    expect(unknown.output()).toMatch(/BAD_TOKEN.*unknown host token/);

    const short = await server.data(CREATE_TOKEN, { input: { expiresInSeconds: 1 } });
    await waitUntil(() => Date.now() > Date.parse(short.createHostToken.expiresAt) + 50, 'the token to expire');
    const late = startDaemon(await newDataDir(), ['--token', short.createHostToken.token, '--name', 'join-four']);
    expect(await late.exited).toBe(1);
    expect(late.output()).toContain('TOKEN_EXPIRED');

    // restarted without a token, the host says hello with its key and is the same host
    await daemon.kill();
    const back = startDaemon(first, ['--name', 'join-one']);
    await waitUntil(async () => (await server.data(HOST, { id: host.id })).host.connected && back.output().includes('connected'), 'hello');
    // the token's labels stay; its own are what it says now
    expect((await server.data(HOST, { id: host.id })).host.labels).toEqual({ zone: 'z1' });
    const { hosts } = await server.data(HOSTS, {});
    expect(hosts.edges.filter((e: any) => e.node.name.startsWith('join-')).map((e: any) => e.node.name)).toEqual(['join-one']);
    await back.kill();
  });

  it('a token with singleUse: false lets several hosts join until it expires, each with its labels', async () => {
    const shared = (await server.data(CREATE_TOKEN, { input: { singleUse: false, labels: { fleet: 'f1' } } })).createHostToken;
    expect(shared.singleUse).toBe(false);
    const [one, two] = await Promise.all(
      ['fleet-1', 'fleet-2'].map(async (name) => startDaemon(await newDataDir(), ['--token', shared.token, '--name', name])),
    );
    for (const name of ['fleet-1', 'fleet-2']) {
      expect((await hostNamed(name, (h) => h.state === 'READY')).labels).toEqual({ fleet: 'f1' });
    }
    await one!.kill();
    await two!.kill();
  });

  it('refuses a host of another version, a wrong proof and malformed frames, saying why', async () => {
    const description = {
      name: 'raw',
      address: '127.0.0.1',
      labels: {},
      capacity: { vcpu: 1, memoryMb: 1024, diskMb: 1024 },
      installation: { version: '0.0.0-other', sparkHome: null, python: null, s3aJars: [] },
    };
    const answer = (first: (nonce: string) => unknown) =>
      new Promise<{ messages: any[]; code: number }>((resolve) => {
        const ws = new WebSocket(`${server.url.replace('http', 'ws')}/host`);
        const messages: any[] = [];
        ws.on('message', async (data) => {
          const m = JSON.parse(data.toString());
          messages.push(m);
          if (m.type === 'challenge') {
            const out = await first(m.nonce);
            ws.send(typeof out === 'string' ? out : JSON.stringify(out));
          }
        });
        ws.on('close', (code) => resolve({ messages, code }));
      });
    const version = await answer(async () => ({ type: 'join', token: await token(), ...description }));
    expect(version.code).toBe(4403);
    expect(version.messages[1]).toMatchObject({ type: 'error', code: 'BAD_HOST' });
    expect(version.messages[1].message).toContain('0.0.0-other');
    const ours = {
      ...description,
      installation: { ...description.installation, version: JSON.parse(await fs.readFile('package.json', 'utf8')).version },
    };
    const proof = await answer(() => ({ type: 'hello', hostId: 'h-NOPE', proof: 'ab'.repeat(32), instances: [], ...ours }));
    expect(proof.messages[1]).toMatchObject({ type: 'error', code: 'BAD_PROOF' });
    expect((await answer(() => '{not json')).code).toBe(4400);
    expect((await answer(() => ({ type: 'heartbeat', at: 0, instances: [] }))).code).toBe(4401);
  });

  it('refuses bad input and keys without the hosts actions', async () => {
    expectError(await server.gql(CREATE_TOKEN, { input: { expiresInSeconds: 0 } }), 'BAD_USER_INPUT', 'input.expiresInSeconds');
    expectError(await server.gql(CREATE_TOKEN, { input: { labels: { 'bad key!': 'x' } } }), 'BAD_USER_INPUT');
    expectError(await server.gql(CREATE_TOKEN, { input: { labels: ['a'] } }), 'BAD_USER_INPUT', 'input.labels');
    expectError(await server.gql(DRAIN, { id: 'h-NOPE' }), 'NOT_FOUND', 'input.id');
    const reader = (await server.data(CREATE_KEY, { input: { name: 'cluster-reader', actions: ['clusters:*'] } })).createApiKey.key;
    expectError(await server.gql(CREATE_TOKEN, {}, reader), 'FORBIDDEN');
    expectError(await server.gql(HOSTS, {}, reader), 'FORBIDDEN');
    const embedded = (await server.data(HOSTS, { filter: { states: ['READY'] } })).hosts.edges.find((e: any) => e.node.embedded).node;
    expectError(await server.gql(REVOKE, { id: embedded.id }), 'CONFLICT', 'input.id');
  });
});

describe('clusters on joined hosts', { timeout: 120_000 }, () => {
  let a: { daemon: Daemon; host: any };
  let b: { daemon: Daemon; host: any };

  beforeAll(async () => {
    [a, b] = await Promise.all([join('pool-a', ['pool=p1']), join('pool-b', ['pool=p1'])]);
  });

  it('places a group’s nodes on hosts with its labels, spread, and runs a step there', async () => {
    const id = await clusterOf('on-hosts', [group('MASTER', 1, 'p1'), group('CORE', 2, 'p1')]);
    await waitForClusterState(server, id, ['WAITING'], { timeoutMs: 60_000 });
    const c = await cluster(id);
    const cores = live(c).filter((i: any) => i.role === 'CORE');
    // spread: one CORE node on each host
    expect(cores.map((i: any) => i.placedOn.name).sort()).toEqual(['pool-a', 'pool-b']);
    const master = live(c).find((i: any) => i.role === 'MASTER');
    expect(['pool-a', 'pool-b']).toContain(master.placedOn.name);
    // allocated: the sum of the nodes' instance types
    const onA = live(c).filter((i: any) => i.placedOn.id === a.host.id).length;
    const hostA = (await server.data(HOST, { id: a.host.id })).host;
    expect(hostA.allocated).toEqual({ vcpu: 2 * onA, memoryMb: 8192 * onA });
    expect(hostA.instances.map((i: any) => i.clusterId)).toEqual(new Array(onA).fill(id));
    // the agents run under the hosts' own data dirs, none under the server's
    expect(agentProcessesOf(a.daemon.dataDir).length).toBe(onA);
    expect(agentProcessesOf(server.dataDir)).toEqual([]);

    const { addSteps } = await server.data(ADD_STEPS, {
      input: { clusterId: id, steps: [{ name: 'hello', command: { args: ['sh', '-c', 'test "$(hostname)" != "" && echo on-a-host'] } }] },
    });
    const step = await waitForStepState(server, addSteps.steps[0].id, ['COMPLETED', 'FAILED'], { query: STEP, timeoutMs: 60_000 });
    expect(step).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
    await terminate(id);
    await waitUntil(() => agentProcessesOf(a.daemon.dataDir).length + agentProcessesOf(b.daemon.dataDir).length === 0, 'agents gone');
  });

  it('a node that fits nowhere waits with the reason, and is placed when a host with room joins', async () => {
    const id = await clusterOf('waits', [group('MASTER', 1), group('CORE', 1, 'late')]);
    const waiting = await waitForCluster(
      server,
      id,
      (c) => c.instances.some((i: any) => i.role === 'CORE' && i.state === 'AWAITING_FULFILLMENT'),
      'the CORE node to wait',
      { query: CLUSTER },
    );
    const core = waiting.instances.find((i: any) => i.role === 'CORE');
    expect(core.stateChangeReason.code).toBe('INSUFFICIENT_CAPACITY');
    expect(core.stateChangeReason.message).toContain('pool=late');
    expect(core.placedOn).toBeNull();

    // a host with that label but room for no m5.large: still waiting, now for capacity
    const small = await newDataDir();
    startDaemon(small, ['--token', await token(), '--name', 'late-small', '--label', 'pool=late', '--vcpu', '1', '--memory-mb', '8192']);
    await hostNamed('late-small', (h) => h.state === 'READY');
    await waitForCluster(
      server,
      id,
      (c) => c.instances.find((i: any) => i.id === core.id).stateChangeReason?.message.startsWith('insufficient capacity'),
      'insufficient capacity',
      { query: CLUSTER },
    );
    const late = await join('late-big', ['pool=late'], 1);
    const ready = await waitForClusterState(server, id, ['WAITING'], { query: CLUSTER, timeoutMs: 60_000 });
    expect(ready.instances.find((i: any) => i.id === core.id).placedOn.id).toBe(late.host.id);
    await terminate(id);
  });

  it('drainHost moves TASK nodes to another host and takes no new ones; resumeHost takes them again', async () => {
    const updates = new Subscription(server.ws(), HOST_UPDATES, {}, (d) => d.hostUpdates);
    const id = await clusterOf('drained', [group('MASTER', 1), group('TASK', 1, 'p1')]);
    const c = await waitForClusterState(server, id, ['WAITING'], { query: CLUSTER, timeoutMs: 60_000 });
    const task = live(c).find((i: any) => i.role === 'TASK');
    const from = task.placedOn.id;
    const to = from === a.host.id ? b.host.id : a.host.id;
    expect((await server.data(DRAIN, { id: from })).drainHost.host.state).toBe('DRAINING');
    const moved = await waitForCluster(
      server,
      id,
      (x) => {
        const old = x.instances.find((i: any) => i.id === task.id);
        return old.state === 'TERMINATED' && live(x).some((i: any) => i.role === 'TASK' && i.state === 'RUNNING') ? x : null;
      },
      'the TASK node moved',
      { query: CLUSTER, timeoutMs: 60_000 },
    );
    expect(moved.instances.find((i: any) => i.id === task.id).stateChangeReason.message).toContain('draining');
    expect(live(moved).find((i: any) => i.role === 'TASK').placedOn.id).toBe(to);
    expect(moved.state).toBe('WAITING');
    expect((await server.data(RESUME, { id: from })).resumeHost.host.state).toBe('READY');
    const seen = await updates.waitFor((v) => v.some((u) => u.state === 'READY' && u.host.id === from), 'the resume');
    expect(seen.filter((u) => u.host.id === from).map((u) => u.state)).toEqual(['DRAINING', 'READY']);
    updates.close();
    await terminate(id);
  });

  it('a node agent killed on its host is reported gone by the host and replaced', async () => {
    const id = await clusterOf('agent-killed', [group('MASTER', 1), group('CORE', 1, 'p1')]);
    const c = await waitForClusterState(server, id, ['WAITING'], { query: CLUSTER, timeoutMs: 60_000 });
    const core = live(c).find((i: any) => i.role === 'CORE');
    const owner = core.placedOn.id === a.host.id ? a : b;
    const [agent] = agentProcessesOf(owner.daemon.dataDir);
    process.kill(agent!, 'SIGKILL');
    const healed = await coreReplaced(id, core.id);
    expect(healed.instances.find((i: any) => i.id === core.id).stateChangeReason.code).toBe('INSTANCE_FAILURE');
    await terminate(id);
  });

  it('a killed daemon’s host is LOST, its CORE node replaced on the other host; back, it stops the replaced node', async () => {
    const id = await clusterOf('survives', [group('MASTER', 1), group('CORE', 2, 'p1')]);
    const c = await waitForClusterState(server, id, ['WAITING'], { query: CLUSTER, timeoutMs: 60_000 });
    // the two CORE nodes are spread, one on each host
    const cores = live(c).filter((i: any) => i.role === 'CORE');
    expect(cores.map((i: any) => i.placedOn.id).sort()).toEqual([a.host.id, b.host.id].sort());
    const onA = cores.find((i: any) => i.placedOn.id === a.host.id);
    const [agentOnA] = agentProcessesOf(a.daemon.dataDir);
    expect(agentOnA).toBeDefined();

    // kill -9 of the daemon only: its node agent lives on (and still talks to /agent)
    await a.daemon.kill();
    const lost = await hostNamed('pool-a', (h) => h.state === 'LOST');
    expect(lost.stateReason).toContain('no heartbeat');
    const healed = await waitForCluster(
      server,
      id,
      (x) => {
        const cores = live(x).filter((i: any) => i.role === 'CORE');
        return x.instances.find((i: any) => i.id === onA.id).state === 'TERMINATED' &&
          cores.length === 2 &&
          cores.every((i: any) => i.state === 'RUNNING')
          ? x
          : null;
      },
      'the CORE node replaced',
      { query: CLUSTER, timeoutMs: 60_000 },
    );
    const failed = healed.instances.find((i: any) => i.id === onA.id);
    expect(failed.stateChangeReason).toMatchObject({ code: 'INSTANCE_FAILURE' });
    expect(failed.stateChangeReason.message).toContain(`host ${a.host.id}`);
    expect(live(healed).every((i: any) => i.placedOn.id !== a.host.id)).toBe(true);
    expect(isAlive(agentOnA!)).toBe(true);

    // the daemon comes back: READY again, told to keep nothing of the replaced node, which it stops
    a = { daemon: startDaemon(a.daemon.dataDir, ['--name', 'pool-a', '--label', 'pool=p1']), host: a.host };
    await hostNamed('pool-a', (h) => h.state === 'READY' && h.connected);
    await waitUntil(() => !isAlive(agentOnA!), 'the replaced node stopped by its host');
    expect(a.daemon.output()).toContain(`stopping node ${onA.id}`);
    expect((await cluster(id)).state).toBe('WAITING');
    await terminate(id);
  });

  it('a lost MASTER ends its cluster TERMINATED_WITH_ERRORS', async () => {
    const m = await join('master-host', ['pool=m1'], 1);
    const id = await clusterOf('master-lost', [group('MASTER', 1, 'm1')]);
    await waitForClusterState(server, id, ['WAITING'], { timeoutMs: 60_000 });
    await m.daemon.kill();
    const ended = await waitForClusterState(server, id, ['TERMINATED_WITH_ERRORS'], { query: CLUSTER, timeoutMs: 60_000 });
    expect(ended.stateChangeReason.code).toBe('INSTANCE_FAILURE');
    expect(ended.stateChangeReason.message).toContain(`host ${m.host.id} (master-host) lost`);
  });

  it('revokeHost closes its session for good and replaces its nodes', async () => {
    const id = await clusterOf('revoked', [group('MASTER', 1), group('CORE', 1, 'p1')]);
    const c = await waitForClusterState(server, id, ['WAITING'], { query: CLUSTER, timeoutMs: 60_000 });
    const core = live(c).find((i: any) => i.role === 'CORE');
    const victim = core.placedOn.id === a.host.id ? a : b;
    const other = victim === a ? b : a;
    expect((await server.data(REVOKE, { id: victim.host.id })).revokeHost.host.state).toBe('REVOKED');
    expect(await victim.daemon.exited).toBe(1);
    expect(victim.daemon.output()).toContain('REVOKED');
    const healed = await coreReplaced(id, core.id);
    expect(live(healed).find((i: any) => i.role === 'CORE').placedOn.id).toBe(other.host.id);
    // its key is void: the daemon started again is refused
    const again = startDaemon(victim.daemon.dataDir, ['--name', 'again']);
    expect(await again.exited).toBe(1);
    expect(again.output()).toContain('REVOKED');
    await terminate(id);
  });
});

describe('several servers', { timeout: 120_000 }, () => {
  it('the leader launches and stops nodes on a host whose session another server holds (relayed)', async () => {
    // the first server leads (it holds the controller's lock since it started); the host joins the second
    const second = await startTestServer({ databaseUrl: server.databaseUrl, objectPathMapping: false, hostLostAfterSeconds: 4 });
    try {
      const dataDir = await newDataDir();
      const daemon = startDaemon(dataDir, ['--token', await token(), '--name', 'relayed', '--label', 'pool=relay'], second.url);
      const host = await hostNamed('relayed', (h) => h.state === 'READY' && h.connected);
      const id = await clusterOf('relayed', [group('MASTER', 1), group('CORE', 1, 'relay')]);
      const c = await waitForClusterState(server, id, ['WAITING'], { query: CLUSTER, timeoutMs: 60_000 });
      expect(live(c).find((i: any) => i.role === 'CORE').placedOn.id).toBe(host.id);
      expect(agentProcessesOf(dataDir).length).toBe(1);
      await terminate(id);
      await waitUntil(() => agentProcessesOf(dataDir).length === 0, 'the relayed stop');
      await daemon.kill();
    } finally {
      await second.close();
    }
  });
});
