// Function instances on joined hosts (docs/hosts.md "Functions on hosts"): the server runs with
// EMBEDDED_HOST=off (a pure control plane), and real `emberplane host join` daemons on loopback
// run every instance. Invocations go to warm instances, new ones are placed by free memory, a
// drained host keeps none, and a LOST host's in-flight invocations fail (async ones are retried on
// another host) and, back, it stops the instances it ran.
import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { processesWithEnv } from '../../src/engine/local/processes.js';
import { expectError } from '../support/api.js';
import { hostJoinArgv, waitForHostNamed } from '../support/hosts.js';
import { deploy, GET_INVOCATION, INVOKE, invoke } from '../support/functions.js';
import { waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';

const HOSTS = `{ hosts(first: 100) { edges { node { id name state connected allocated { memoryMb }
  functionInstances { instanceId functionName version state memoryMb provisioned } } } } }`;
const CREATE_TOKEN = `mutation { createHostToken(input: { singleUse: false }) { token } }`;
const DRAIN = `mutation($id: ID!) { drainHost(input: { id: $id }) { host { id state } } }`;
const RESUME = `mutation($id: ID!) { resumeHost(input: { id: $id }) { host { id state } } }`;
const INSTANCES = `query($name: String!) { function(name: $name) { instances { busy total } } }`;
const PUT_PROVISIONED = `mutation($input: PutProvisionedConcurrencyConfigInput!) { putProvisionedConcurrencyConfig(input: $input) { config { status } } }`;
const PROVISIONED = `query($name: String!) { function(name: $name) { provisionedConcurrency { status availableProvisionedConcurrentExecutions } } }`;

interface HostView {
  id: string;
  name: string;
  state: string;
  connected: boolean;
  allocated: { memoryMb: number };
  functionInstances: Array<{
    instanceId: string;
    functionName: string;
    version: string;
    state: string;
    memoryMb: number;
    provisioned: boolean;
  }>;
}

let server: TestServer;
const children: ChildProcess[] = [];
const dirs: string[] = [];
let gate: net.Server | null = null;
let gatePort = 0;

// waits (polling loopback) until the test opens its gate when the event says so; returns its instance's marker
const GATED = {
  runtime: 'NODEJS20',
  handler: 'index.handler',
  memoryMb: 256,
  timeoutSeconds: 60,
  code: {
    files: [
      {
        path: 'index.js',
        content: `const net = require('node:net');
const marker = require('node:crypto').randomUUID();
const open = (port) => new Promise((resolve) => {
  const attempt = () => net.connect(port, '127.0.0.1').on('connect', function () { this.end(); resolve(); }).on('error', () => setTimeout(attempt, 50));
  attempt();
});
exports.handler = async (event) => {
  if (event.gatePort) await open(event.gatePort);
  console.log('ran', event.n ?? null);
  return { marker, n: event.n ?? null };
};`,
      },
    ],
  },
};

beforeAll(async () => {
  server = await startTestServer({ embeddedHost: false, hostLostAfterSeconds: 4 });
  // the gate's port is taken now and opened later (listen), so invocations wait on it
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  gatePort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
});

afterAll(async () => {
  gate?.close();
  await server?.close();
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null)));
  for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
});

async function openGate(): Promise<void> {
  gate = net.createServer((socket) => socket.end());
  await new Promise<void>((r) => gate!.listen(gatePort, '127.0.0.1', () => r()));
}
async function closeGate(): Promise<void> {
  const g = gate;
  gate = null;
  await new Promise<void>((r) => (g ? g.close(() => r()) : r()));
}

async function hosts(): Promise<HostView[]> {
  return (await server.data(HOSTS)).hosts.edges.map((e: { node: HostView }) => e.node);
}
const waitForHost = (name: string, pred: (h: HostView) => boolean, what: string) => waitForHostNamed(server, HOSTS, name, pred, what);

/** A daemon offering `memoryMb` (`env`: more of its environment); resolves once READY. */
async function join(
  name: string,
  memoryMb: number,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; host: HostView; dataDir: string }> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'emberplane-fnhost-'));
  dirs.push(dataDir);
  const { token } = (await server.data(CREATE_TOKEN)).createHostToken;
  const [file, ...args] = hostJoinArgv({ server: server.url, token, dataDir, name }, ['--vcpu', '2', '--memory-mb', String(memoryMb)]);
  const child = spawn(file!, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'warn', FUNCTION_SPARE_SANDBOXES: '0', ...env },
  });
  child.stdout!.resume();
  child.stderr!.resume();
  children.push(child);
  return { child, host: await waitForHost(name, (h) => h.state === 'READY' && h.connected, 'READY'), dataDir };
}

const busy = async (name: string) => (await server.data(INSTANCES, { name })).function.instances.busy as number;
const instancesOn = async (hostName: string, fn: string) =>
  ((await hosts()).find((h) => h.name === hostName)?.functionInstances ?? []).filter((i) => i.functionName === fn);

describe('functions on joined hosts', () => {
  let small: { child: ChildProcess; host: HostView; dataDir: string };
  let big: { child: ChildProcess; host: HostView; dataDir: string };
  let placedCode = '';

  it('throttles an invocation no host has room for, with the reason', async () => {
    placedCode = (await deploy(server, { name: 'placed', ...GATED })).codeSha256;
    const res = await server.gql(INVOKE, { input: { functionName: 'placed', payload: {} } });
    expectError(res, 'THROTTLED', 'input.functionName');
    expect(res.errors![0]!.message).toMatch(/InsufficientCapacity: no host has room for a 256 MiB instance of placed \(0 READY host/);
  });

  it('places new instances by free memory, reuses warm ones, and throttles beyond every host’s room', async () => {
    small = await join('fn-small', 512);
    big = await join('fn-big', 1024);
    // the first cold start goes to the host with the most room
    const first = await invoke(server, { functionName: 'placed', payload: { n: 1 } });
    expect(first.functionError).toBeNull();
    expect(first.invocation.coldStart).toBe(true);
    // the host keeps the package it fetched in its data dir, by hash (swept once unused for the grace)
    const packageFile = path.join(big.dataDir, 'code', `${Buffer.from(placedCode, 'base64').toString('hex')}.zip`);
    expect((await fs.stat(packageFile)).isFile()).toBe(true);
    // the instance's lines: in the invocation's record (the reply) and in the function's log stream (sent as written)
    expect(first.invocation.logs.map((l: { text: string }) => l.text).join('\n')).toMatch(/\tran 1$/m);
    await waitUntil(async () => {
      const logs = (await server.data(`query { function(name: "placed") { logs(last: 20) { edges { node { text } } } } }`)).function.logs;
      return logs.edges.some((e: { node: { text: string } }) => /\tran 1$/.test(e.node.text));
    }, "the instance's line in the function's log stream");
    const warm = await invoke(server, { functionName: 'placed', payload: { n: 2 } });
    expect(warm.invocation.coldStart).toBe(false);
    expect(warm.invocation.instanceId).toBe(first.invocation.instanceId);
    expect(warm.payload.marker).toBe(first.payload.marker);
    const onBig = await waitUntil(async () => {
      const list = await instancesOn('fn-big', 'placed');
      return list.length === 1 ? list : null;
    }, 'the instance listed on fn-big');
    expect(onBig[0]).toMatchObject({ instanceId: first.invocation.instanceId, version: '$LATEST', memoryMb: 256 });

    // six held at the gate: room for 4 × 256 MiB on fn-big, 2 on fn-small, spread by free memory
    const held = Array.from({ length: 6 }, (_, i) => invoke(server, { functionName: 'placed', payload: { gatePort, n: 10 + i } }));
    await waitUntil(async () => (await busy('placed')) === 6, 'six invocations running');
    const over = await server.gql(INVOKE, { input: { functionName: 'placed', payload: { n: 99 } } });
    expectError(over, 'THROTTLED', 'input.functionName');
    expect(over.errors![0]!.message).toMatch(/InsufficientCapacity/);
    await openGate();
    const done = await Promise.all(held);
    await closeGate();
    expect(done.map((d) => d.functionError)).toEqual([null, null, null, null, null, null]);
    expect(done.map((d) => d.payload.n).sort()).toEqual([10, 11, 12, 13, 14, 15]);
    expect(new Set(done.map((d) => d.invocation.instanceId)).size).toBe(6);
    const listed = await waitUntil(async () => {
      const [b, s] = [await instancesOn('fn-big', 'placed'), await instancesOn('fn-small', 'placed')];
      return b.length === 4 && s.length === 2 ? { b, s } : null;
    }, 'four instances on fn-big and two on fn-small');
    const where = new Map<string, string>([
      ...listed.b.map((i): [string, string] => [i.instanceId, 'fn-big']),
      ...listed.s.map((i): [string, string] => [i.instanceId, 'fn-small']),
    ]);
    expect(done.map((d) => where.get(d.invocation.instanceId)).filter((h) => h === 'fn-small')).toHaveLength(2);
    const all = await hosts();
    expect(all.find((h) => h.name === 'fn-big')!.allocated.memoryMb).toBe(1024);
    expect(all.find((h) => h.name === 'fn-small')!.allocated.memoryMb).toBe(512);
  });

  it('stops a drained host’s idle instances and places nothing new there', async () => {
    await server.data(DRAIN, { id: small.host.id });
    await waitUntil(async () => (await instancesOn('fn-small', 'placed')).length === 0, "fn-small's instances stopped");
    const onBig = new Set((await instancesOn('fn-big', 'placed')).map((i) => i.instanceId));
    for (let n = 0; n < 3; n++) {
      const r = await invoke(server, { functionName: 'placed', payload: { n } });
      expect(r.functionError).toBeNull();
      expect(onBig.has(r.invocation.instanceId)).toBe(true);
    }
    await server.data(RESUME, { id: small.host.id });
  });

  it('fails the invocations of a LOST host, retries an async one on another host, and has the host stop its instances when back', async () => {
    await deploy(server, { name: 'lost', ...GATED });
    // everything of `lost` on fn-small: fn-big drained while they start
    await server.data(DRAIN, { id: big.host.id });
    const sync = invoke(server, { functionName: 'lost', payload: { gatePort } });
    const queued = await invoke(server, { functionName: 'lost', invocationType: 'EVENT', payload: { gatePort } });
    await waitUntil(async () => (await busy('lost')) === 2, 'both invocations running on fn-small');
    expect((await instancesOn('fn-big', 'lost')).length).toBe(0);
    await server.data(RESUME, { id: big.host.id });
    // busy counts an invocation once placed: its instance's processes may still be starting on the host
    const before = await waitUntil(() => {
      const pids = processesWithEnv('AWS_LAMBDA_FUNCTION_NAME', 'lost');
      return pids.length >= 2 ? pids : null;
    }, 'the instances of lost running on fn-small');

    small.child.kill('SIGSTOP'); // silent: no heartbeats, no replies
    try {
      await waitForHost('fn-small', (h) => h.state === 'LOST', 'LOST');
      const failed = await sync;
      expect(failed.functionError).toBe('Unhandled');
      expect(failed.invocation.errorType).toBe('Runtime.HostLost');
      expect(failed.invocation.errorMessage).toMatch(
        /^host fn-small \(h-[^)]+\) was lost during the invocation .*: it may have run in part$/,
      );
      // the event's first attempt failed with the host; its retry runs on fn-big once the gate opens
      await openGate();
      const settled = await waitUntil(async () => {
        const inv = (await server.data(GET_INVOCATION, { id: queued.invocation.id })).invocation;
        return inv.status === 'SUCCEEDED' ? inv : null;
      }, 'the queued invocation retried and SUCCEEDED');
      expect(settled.attempts).toBe(2);
      expect(settled.logs.map((l: { text: string }) => l.text).join('\n')).toMatch(/host fn-small .* was lost during the invocation/);
      await waitUntil(
        async () => (await instancesOn('fn-big', 'lost')).some((i) => i.instanceId === settled.instanceId),
        'the retry’s instance listed on fn-big',
      );
      // a new invocation goes to the host that is left
      const after = await invoke(server, { functionName: 'lost', payload: {} });
      expect(after.functionError).toBeNull();
    } finally {
      small.child.kill('SIGCONT');
      await closeGate();
    }
    // back, the host is READY and told to stop the instances it ran for the session that ended
    await waitForHost('fn-small', (h) => h.state === 'READY' && h.connected, 'READY again');
    await waitUntil(
      () => before.every((pid) => !processesWithEnv('AWS_LAMBDA_FUNCTION_NAME', 'lost').includes(pid)),
      "fn-small's old instances stopped",
    );
    await waitUntil(async () => (await instancesOn('fn-small', 'lost')).length === 0, 'fn-small lists no instance of lost');
  });

  it('keeps provisioned instances on hosts, and provisions them again on another when their host goes', async () => {
    await deploy(server, { name: 'kept', ...GATED });
    await server.data(`mutation { publishVersion(input: { functionName: "kept" }) { version { version } } }`);
    await server.data(PUT_PROVISIONED, { input: { functionName: 'kept', qualifier: '1', provisionedConcurrentExecutions: 2 } });
    const provisionedOn = async () => {
      const out = new Map<string, number>();
      for (const h of await hosts()) {
        const n = h.functionInstances.filter((i) => i.functionName === 'kept' && i.provisioned && i.version === '1').length;
        if (n) out.set(h.name, n);
      }
      return out;
    };
    const readyOn = await waitUntil(async () => {
      const fn = (await server.data(PROVISIONED, { name: 'kept' })).function;
      const on = await provisionedOn();
      return fn.provisionedConcurrency[0].status === 'READY' && [...on.values()].reduce((a, b) => a + b, 0) === 2 ? on : null;
    }, 'two provisioned instances READY on the hosts');
    // provisioned instances start invocations warm
    const warm = await invoke(server, { functionName: 'kept', qualifier: '1', payload: {} });
    expect(warm.invocation.coldStart).toBe(false);

    const [goneName] = [...readyOn.keys()];
    const gone = goneName === 'fn-small' ? small : big;
    const survivor = goneName === 'fn-small' ? 'fn-big' : 'fn-small';
    gone.child.kill('SIGKILL'); // its session drops at once (its instances die with it)
    await waitUntil(async () => {
      const fn = (await server.data(PROVISIONED, { name: 'kept' })).function;
      const on = await provisionedOn();
      return fn.provisionedConcurrency[0].status === 'READY' &&
        fn.provisionedConcurrency[0].availableProvisionedConcurrentExecutions === 2 &&
        on.get(survivor) === 2
        ? on
        : null;
    }, `both provisioned instances on ${survivor}`);
    const after = await invoke(server, { functionName: 'kept', qualifier: '1', payload: {} });
    expect(after.invocation.coldStart).toBe(false);
  });

  it('keeps only well-formed function reports of a host: a hostile one cannot break allocation', async () => {
    const version = JSON.parse(await fs.readFile('package.json', 'utf8')).version;
    const { token } = (await server.data(CREATE_TOKEN)).createHostToken;
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/host`);
    try {
      await new Promise<void>((resolve, reject) => {
        ws.on('error', reject);
        ws.on('message', (data) => {
          const m = JSON.parse(data.toString());
          if (m.type === 'challenge') {
            ws.send(
              JSON.stringify({
                type: 'join',
                token,
                name: 'fn-hostile',
                capacity: { vcpu: 1, memoryMb: 1024, diskMb: 1024 },
                labels: {},
                address: '127.0.0.1',
                installation: { version, sparkHome: null, python: null, s3aJars: [] },
              }),
            );
          } else if (m.type === 'welcome') {
            const sane = { instanceId: 'i', key: 'k', functionId: 'f', functionName: 'x'.repeat(1_000), version: '1', state: 'WEIRD' };
            const functions = [
              { ...sane, memoryMb: 2 ** 40 }, // would overflow the allocation's sum
              { ...sane, memoryMb: '128; drop table hosts' },
              { ...sane, memoryMb: -1 },
              null,
              { ...sane, memoryMb: 128 },
            ];
            ws.send(JSON.stringify({ type: 'heartbeat', at: Date.now(), instances: [], functions }));
            resolve();
          }
        });
      });
      const host = await waitForHost('fn-hostile', (h) => h.functionInstances.length > 0, 'its report stored');
      expect(host.functionInstances).toEqual([
        { instanceId: 'i', functionName: 'x'.repeat(200), version: '1', state: 'INIT', memoryMb: 128, provisioned: false },
      ]);
      expect(host.allocated.memoryMb).toBe(128);
    } finally {
      ws.close();
    }
  });

  it("a function's layers reach the host that runs it, fetched by hash as its code is", async () => {
    // room for it (the others may be full by now); every host here is a joined daemon (no embedded host),
    // so wherever it is placed, the layer had to reach that host
    await join('fn-layers', 256);
    const layer = (
      await server.data(
        `mutation($input: PublishLayerVersionInput!) { publishLayerVersion(input: $input) { layerVersion { layerVersionArn } } }`,
        {
          input: {
            layerName: 'on-hosts',
            content: { files: [{ path: 'nodejs/node_modules/shared/index.js', content: 'exports.where = "layer";' }] },
          },
        },
      )
    ).publishLayerVersion.layerVersion;
    await deploy(server, {
      name: 'layered-on-host',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      memoryMb: 128,
      code: { files: [{ path: 'index.js', content: `exports.handler = async () => require('shared').where;` }] },
      layers: [layer.layerVersionArn],
    });
    const res = await invoke(server, { functionName: 'layered-on-host', payload: {} });
    expect(res.functionError, JSON.stringify(res.payload)).toBeNull();
    expect(res.payload).toBe('layer');
    // it ran on a joined host, as that host's report says once it arrives
    await waitUntil(
      async () => (await hosts()).some((h) => h.functionInstances.some((i) => i.functionName === 'layered-on-host')),
      'the instance listed on a joined host',
    );
  });

  it('removes a code package unused for FUNCTION_PACKAGE_GRACE_SECONDS from the host, and fetches it again when used', async () => {
    const sweeper = await join('fn-sweeper', 2048, { FUNCTION_PACKAGE_GRACE_SECONDS: '0', FUNCTION_PACKAGE_SWEEP_MS: '50' });
    // no other host has room for 1536 MiB: it runs on fn-sweeper
    const fn = await deploy(server, {
      name: 'swept',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      memoryMb: 1536,
      code: { files: [{ path: 'index.js', content: `exports.handler = async () => 'ran';` }] },
    });
    const packageFile = path.join(sweeper.dataDir, 'code', `${Buffer.from(fn.codeSha256, 'base64').toString('hex')}.zip`);
    expect((await invoke(server, { functionName: 'swept', payload: {} })).payload).toBe('ran');
    await waitUntil(
      () =>
        fs.stat(packageFile).then(
          () => false,
          () => true,
        ),
      'the package swept from fn-sweeper once the invocation no longer holds it',
    );
    // the invocation holds the package again: it is fetched anew (a host that cannot fetch it fails with Runtime.HostError)
    const again = await invoke(server, { functionName: 'swept', payload: {} });
    expect(again.functionError, JSON.stringify(again.payload)).toBeNull();
    expect(again.payload).toBe('ran');
  });

  it('serves code packages to hosts only with a proof of their session', async () => {
    const hash = crypto.randomBytes(32).toString('hex');
    const get = (headers: Record<string, string>, h = hash) => fetch(`${server.url}/host/code/${h}`, { headers });
    expect((await get({})).status).toBe(403);
    expect((await get({ 'x-emberplane-host': big.host.id, 'x-emberplane-proof': 'f'.repeat(64) })).status).toBe(403);
    expect((await get({ 'x-emberplane-host': big.host.id }, '%2E%2E%2Fhost.json')).status).toBe(400);
    expect((await get({ 'x-emberplane-host': big.host.id }, 'A'.repeat(64))).status).toBe(400);
  });
});
