// A SPARK cluster spread over separate machines (issue 15, item 6): four machines in network
// namespaces of their own (test/support/netns.ts: own addresses on a bridge, own mount namespace,
// none of the server's files), each running `emberplane host join`; the server runs no node itself
// (EMBEDDED_HOST=off) and maps no object to a file (OBJECT_PATH_MAPPING=off). The MASTER goes on one
// machine, the CORE and TASK workers on two of three others (each offers room for one node), so
// every Spark connection crosses the bridge. One cluster, shared by the tests in order: a word count
// over s3a:// (test/spark/fixtures/wordcount.py; s3a.test.ts runs Spark's own example) whose CORE
// machine's link is cut mid-job (the node is replaced on the spare machine, Spark reruns the lost
// tasks, the answer is right, the machine back stops its replaced node); then a drain that moves
// the TASK node to another machine.
import { ListObjectsV2Command, GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allPages, createCluster, waitForCluster, waitForClusterState, waitForStep, waitForStepState } from '../support/api.js';
import {
  createNetwork,
  cutLink,
  namespacesAvailable,
  processesOn,
  restoreLink,
  type Machine,
  type MachineProcess,
  type Network,
} from '../support/netns.js';
import { getJson } from '../../src/engine/agent/spark.js';
import { isAlive, waitUntil } from '../support/processes.js';
import { createS3Key, sdkClient, type S3Key } from '../support/s3.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { httpGate, putObject, SMALL, sparkAvailable, TEST_JOB_CONF, wordCorpus } from '../spark/support.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const unavailable = namespacesAvailable() ?? (sparkAvailable ? null : 'Spark is not installed');

const CLI = path.join(repoRoot, 'bin/emberplane.js');
// a word count that writes its counts, holding its last input partition at a gate
const APP = readFileSync(new URL('../spark/fixtures/wordcount.py', import.meta.url), 'utf8');
const CREATE_HOST_TOKEN = `mutation($input: CreateHostTokenInput) { createHostToken(input: $input) { token } }`;
const HOSTS = `{ hosts(first: 100) { edges { node { id name state address embedded } } } }`;
const DRAIN = `mutation($id: ID!) { drainHost(input: { id: $id }) { host { id state } } }`;
const CLUSTER = `query($id: ID!) { cluster(id: $id) { id state
  spark { masterUrl masterWebUrl aliveWorkers workers { state webUrl } }
  instances { id role state pid placedOn { name } stateChangeReason { code message }
    endpoints { sparkMasterUrl sparkWorkerWebUrl } } } }`;
const ADD = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id state } } }`;
const STEP = `query($id: ID!) { step(id: $id) { id state exitCode progress spark { uiUrl applicationId }
  failureDetails { reason message } } }`;
const LOGS = `query($id: ID!, $after: String) { step(id: $id) { logs(first: 100, after: $after) {
  edges { node { text } } pageInfo { hasNextPage endCursor } } } }`;

/** `address` as a regular expression's source (its dots literal). */
const literal = (address: string) => address.replaceAll('.', '\\.');

// executors of a machine whose link is cut are given up after 15 s of silence (Spark's default:
// 120 s), checked every second: the job goes on without waiting minutes
const JOB_CONF = {
  ...TEST_JOB_CONF,
  'spark.executor.heartbeatInterval': '1s',
  'spark.storage.blockManagerHeartbeatTimeoutMs': '15000',
  'spark.network.timeoutInterval': '1s',
};

interface Host {
  id: string;
  name: string;
  state: string;
  address: string;
  embedded: boolean;
}
interface Instance {
  id: string;
  role: string;
  state: string;
  pid: number | null;
  placedOn: { name: string } | null;
  stateChangeReason: { code: string; message: string } | null;
  endpoints: { sparkMasterUrl: string | null; sparkWorkerWebUrl: string | null } | null;
}

/** The command lines of the Spark Workers running on a machine (found through its network namespace). */
async function workersOn(machine: Machine): Promise<string[][]> {
  const found: string[][] = [];
  for (const pid of await processesOn(machine)) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv.includes('org.apache.spark.deploy.worker.Worker') && argv[0]?.endsWith('java')) found.push(argv);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

describe.skipIf(unavailable !== null)(`a SPARK cluster on separate machines${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let network: Network;
  let server: TestServer;
  let key: S3Key;
  /** m holds the MASTER; w1..w3 one worker node each */
  let machines: Record<'m' | 'w1' | 'w2' | 'w3', Machine>;
  const daemons = new Map<string, MachineProcess>();
  let clusterId: string;

  const workerMachines = () => [machines.w1, machines.w2, machines.w3];
  const hosts = async (): Promise<Host[]> => (await server.data(HOSTS)).hosts.edges.map((e: { node: Host }) => e.node);
  const waitForHost = (machine: Machine, state: string, timeoutMs = 30_000) =>
    waitUntil(
      async () => {
        const host = (await hosts()).find((h) => h.name === `host-${machine.name}`);
        return host?.state === state ? host : null;
      },
      `host-${machine.name} to be ${state}`,
      timeoutMs,
    );
  const stepLogs = async (id: string) =>
    (await allPages<{ text: string }>(async (after) => (await server.data(LOGS, { id, after })).step.logs)).map((l) => l.text);
  const cluster = async () => (await server.data(CLUSTER, { id: clusterId })).cluster;
  const live = (c: { instances: Instance[] }, role: string) => c.instances.filter((i) => i.role === role && i.state !== 'TERMINATED');
  const machineNamed = (placedOn: Instance['placedOn']) => workerMachines().find((m) => `host-${m.name}` === placedOn?.name);
  /** The machine whose namespace holds the node agent of `instance` (null: none). */
  const machineOf = async (instance: Instance) => {
    for (const machine of Object.values(machines))
      if (instance.pid !== null && (await processesOn(machine)).has(instance.pid)) return machine;
    return null;
  };

  beforeAll(async () => {
    network = await createNetwork();
    // on the bridge address: the agent URL (and the S3 endpoint on its port) is one the machines reach
    server = await startTestServer({ host: network.address, objectPathMapping: false, embeddedHost: false, hostLostAfterSeconds: 4 });
    const [m, w1, w2, w3] = await Promise.all(['m', 'w1', 'w2', 'w3'].map((name) => network.machine(name)));
    machines = { m: m!, w1: w1!, w2: w2!, w3: w3! };
    const { token } = (await server.data(CREATE_HOST_TOKEN, { input: { expiresInSeconds: 600, singleUse: false } })).createHostToken;
    for (const machine of Object.values(machines)) {
      const label = machine.name === 'm' ? 'role=master' : 'pool=workers';
      const argv = [process.execPath, CLI, 'host', 'join', '--server', server.url, '--token', token];
      argv.push('--data-dir', machine.dataDir, '--name', `host-${machine.name}`, '--label', label, '--address', machine.address);
      // room for exactly one t3.small node (2 vCPU, 2 GiB), whatever this machine has
      argv.push('--vcpu', '2', '--memory-mb', '2048');
      daemons.set(machine.name, machine.spawn(argv, { cwd: repoRoot, env: { LOG_LEVEL: 'warn' } }));
    }
    for (const machine of Object.values(machines)) await waitForHost(machine, 'READY');
    key = await createS3Key(server, 'test-data');
  }, 120_000);

  afterAll(async () => {
    try {
      await network?.close(); // every daemon, node agent and Spark process on the machines with it
    } finally {
      await server?.close();
    }
  });

  it('places MASTER, CORE and TASK each on its own machine; every Spark daemon binds and advertises its machine’s address', async () => {
    const listed = await hosts();
    for (const machine of Object.values(machines)) {
      expect(
        listed.find((h) => h.name === `host-${machine.name}`),
        daemons.get(machine.name)!.output(),
      ).toMatchObject({ state: 'READY', address: machine.address });
    }
    expect(listed.some((h) => h.embedded)).toBe(false);

    clusterId = await createCluster(server, {
      name: 'spread-spark',
      applications: ['SPARK'],
      instanceGroups: [
        { role: 'MASTER', instanceType: SMALL, count: 1, hostLabels: { role: 'master' } },
        { role: 'CORE', instanceType: SMALL, count: 1, hostLabels: { pool: 'workers' } },
        { role: 'TASK', instanceType: SMALL, count: 1, hostLabels: { pool: 'workers' } },
      ],
    });
    await waitForClusterState(server, clusterId, ['WAITING'], { timeoutMs: 300_000 });
    const c = await waitForCluster(server, clusterId, (x) => x.spark?.aliveWorkers === 2, 'two ALIVE workers', {
      query: CLUSTER,
      timeoutMs: 60_000,
    });
    const [master] = live(c, 'MASTER');
    expect(master!.placedOn?.name).toBe('host-m');
    expect((await machineOf(master!))?.name).toBe('m');
    expect(c.spark.masterUrl).toMatch(new RegExp(`^spark://${literal(machines.m.address)}:\\d+$`));
    expect(c.spark.masterWebUrl).toMatch(new RegExp(`^http://${literal(machines.m.address)}:\\d+$`));

    const workers = [...live(c, 'CORE'), ...live(c, 'TASK')];
    const where = workers.map((i) => machineNamed(i.placedOn));
    expect(new Set(where.map((m) => m?.name)).size).toBe(2);
    for (const [n, node] of workers.entries()) {
      const machine = where[n]!;
      // the API's placement, where its agent really runs, and where its Worker JVM runs and listens
      expect((await machineOf(node))?.name, node.id).toBe(machine.name);
      const jvms = await workersOn(machine);
      expect(jvms, machine.name).toHaveLength(1);
      expect(jvms[0]![jvms[0]!.indexOf('--host') + 1]).toBe(machine.address);
      expect(node.endpoints?.sparkWorkerWebUrl).toMatch(new RegExp(`^http://${literal(machine.address)}:\\d+$`));
    }
    // the master (on m) lists both workers at their machines' addresses
    expect(c.spark.workers.map((w: { webUrl: string }) => w.webUrl).sort()).toEqual(
      workers.map((i) => i.endpoints?.sparkWorkerWebUrl).sort(),
    );
  }, 400_000);

  it('a word count over s3a survives its CORE machine’s link cut mid-job: the node is replaced on the spare machine and the counts are right', async () => {
    const { text, counts } = wordCorpus(600);
    const input = await putObject(server, 'data', 'in/words.txt', text);
    const app = await putObject(server, 'code', 'wordcount.py', APP);
    // the last input partition waits for this (on the bridge: executors on every machine reach it)
    const gate = await httpGate(network.address);
    try {
      const before = await cluster();
      const core = live(before, 'CORE')[0]!;
      const coreMachine = machineNamed(core.placedOn)!;
      const taskMachine = machineNamed(live(before, 'TASK')[0]!.placedOn)!;
      const spare = workerMachines().find((m) => m !== coreMachine && m !== taskMachine)!;
      const [step] = (
        await server.data(ADD, {
          input: {
            clusterId,
            steps: [{ name: 'wc', spark: { appUri: app, args: [input, 's3://data/out/wc/', '0', 'unused', gate.url], conf: JOB_CONF } }],
          },
        })
      ).addSteps.steps;
      // the driver (on m) has an executor on each worker machine, and the job is under way
      const running = await waitForStep(server, step.id, (s) => s.spark.uiUrl !== null && s.progress > 0, 'the job under way', {
        query: STEP,
        timeoutMs: 300_000,
      });
      const ui: string = running.spark.uiUrl;
      expect(ui).toMatch(new RegExp(`^http://${literal(machines.m.address)}:\\d+$`));
      const executorHosts = async () => {
        const list = await getJson(`${ui}/api/v1/applications/${running.spark.applicationId}/executors`);
        return Array.isArray(list)
          ? (list as { id: string; hostPort: string }[]).filter((e) => e.id !== 'driver').map((e) => e.hostPort.split(':')[0])
          : null;
      };
      await waitUntil(
        async () => {
          const on = await executorHosts();
          return on?.includes(coreMachine.address) && on.includes(taskMachine.address);
        },
        'an executor on each worker machine',
        120_000,
      );

      await cutLink(coreMachine);
      const cutAt = Date.now();
      let replacement: Instance;
      try {
        await waitForHost(coreMachine, 'LOST', 60_000);
        const replaced = await waitForCluster(
          server,
          clusterId,
          (x) => live(x, 'CORE').some((i: Instance) => i.id !== core.id && i.state === 'RUNNING'),
          'a new CORE node RUNNING in place of the lost one',
          { query: CLUSTER, timeoutMs: 120_000 },
        );
        console.log(`cut → replacement CORE node RUNNING: ${((Date.now() - cutAt) / 1000).toFixed(1)} s`);
        replacement = live(replaced, 'CORE').find((i: Instance) => i.id !== core.id)!;
        expect(replacement.placedOn?.name).toBe(`host-${spare.name}`);
        expect((await machineOf(replacement))?.name).toBe(spare.name);
        expect(await workersOn(spare)).toHaveLength(1);
        const old = replaced.instances.find((i: Instance) => i.id === core.id)!;
        expect(old.state).toBe('TERMINATED');
        expect(old.stateChangeReason).toMatchObject({ code: 'INSTANCE_FAILURE', message: expect.stringContaining('lost') });
        // Spark gave up the cut machine's executor and runs one on the replacement
        await waitUntil(
          async () => {
            const on = await executorHosts();
            return on && !on.includes(coreMachine.address) && on.includes(spare.address);
          },
          'the driver to drop the lost executor and take one on the replacement',
          120_000,
        );
        gate.open();
        const done = await waitForStepState(server, step.id, ['COMPLETED', 'FAILED'], { query: STEP, timeoutMs: 300_000 });
        const text = (await stepLogs(step.id)).join('\n');
        expect(done, text.slice(-6000)).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
        // the driver gave the cut machine's executor up (what was on it ran again elsewhere)
        expect(text).toMatch(new RegExp(`Lost executor \\d+ on ${literal(coreMachine.address)}\\b`));
      } finally {
        await restoreLink(coreMachine);
      }

      // the output, as an S3 client reads it back through the endpoint
      const s3 = sdkClient(server, key);
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'data', Prefix: 'out/wc/' }));
      const keys = (listed.Contents ?? []).map((o) => o.Key!);
      expect(keys).toContain('out/wc/_SUCCESS');
      expect(keys.some((k) => k.includes('_temporary'))).toBe(false);
      const got = new Map<string, number>();
      for (const k of keys.filter((k) => /\/part-\d+$/.test(k))) {
        const body = await (await s3.send(new GetObjectCommand({ Bucket: 'data', Key: k }))).Body!.transformToString();
        for (const line of body.split('\n').filter(Boolean)) {
          const [word, n] = line.split('\t');
          expect(got.has(word!), `${word} written twice`).toBe(false);
          got.set(word!, Number(n));
        }
      }
      expect(got).toEqual(counts);

      // back on the network, the machine is READY and stops the node that was replaced
      await waitForHost(coreMachine, 'READY');
      await waitUntil(
        async () => !(await processesOn(coreMachine)).has(core.pid!) && !isAlive(core.pid!) && (await workersOn(coreMachine)).length === 0,
        `the replaced node (agent and Spark worker) on ${coreMachine.name} to stop`,
      );
      expect(daemons.get(coreMachine.name)!.proc.exitCode).toBeNull();
    } finally {
      await gate.close();
    }
  }, 900_000);

  it('draining the TASK node’s machine moves the node to the free machine', async () => {
    const before = await cluster();
    const task = live(before, 'TASK')[0]!;
    const from = machineNamed(task.placedOn)!;
    const taken = new Set([...live(before, 'CORE'), task].map((i) => i.placedOn?.name));
    const free = workerMachines().find((m) => !taken.has(`host-${m.name}`))!;
    const host = (await hosts()).find((h) => h.name === `host-${from.name}`)!;
    expect((await server.data(DRAIN, { id: host.id })).drainHost.host.state).toBe('DRAINING');
    const moved = await waitForCluster(
      server,
      clusterId,
      (x) =>
        x.instances.find((i: Instance) => i.id === task.id).state === 'TERMINATED' &&
        live(x, 'TASK').some((i: Instance) => i.state === 'RUNNING') &&
        x.spark?.aliveWorkers === 2,
      'the TASK node moved',
      { query: CLUSTER, timeoutMs: 180_000 },
    );
    expect(moved.instances.find((i: Instance) => i.id === task.id).stateChangeReason.message).toContain('draining');
    const now = live(moved, 'TASK')[0]!;
    expect(now.placedOn?.name).toBe(`host-${free.name}`);
    expect((await machineOf(now))?.name).toBe(free.name);
    expect(await workersOn(free)).toHaveLength(1);
    await waitUntil(async () => (await workersOn(from)).length === 0, `no Spark worker left on ${from.name}`);
    expect(moved.state).toBe('WAITING');
  }, 400_000);
});
