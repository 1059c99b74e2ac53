// Bench section: placement on a joined host beside placement on the server's own machine. A second
// control plane (its own database on the bench's Postgres, OBJECT_PATH_MAPPING=off as joined hosts
// require) and one `emberplane host join` daemon with its own data dir, reached over loopback: the
// network of a real second machine is not in this figure, the host's protocol and its launch path
// are. Each run creates a MASTER-only cluster, pinned to the joined host by its label or left to
// the embedded host, and times createCluster → WAITING (the node's agent launched, joined and
// ready), interleaved so that drifting load hits both alike. Then invocation latency: two functions
// alike, one whose warm instance sits on the joined host (started while the embedded host was
// drained), one on the server's own machine; warm synchronous invokeFunction round trips through
// the API, interleaved, each checked to have run where it should.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import postgres from 'postgres';
import { startApp } from '../src/app.js';
import type { Config } from '../src/platform/config.js';
import { runMigrations } from '../src/platform/db/migrate.js';
import { Api, deployFunction, median, summarize, waitUntil, type Summary } from './lib.js';

const RUNS = 5;
const INVOKES = 300;
const INVOKE = 'mutation($n: String!) { invokeFunction(input: { functionName: $n }) { invocation { coldStart instanceId } } }';
const CLI = fileURLToPath(new URL('../bin/emberplane.js', import.meta.url));
const CREATE = 'mutation($input: CreateClusterInput!) { createCluster(input: $input) { cluster { id } } }';
const STATE = 'query($id: ID!) { cluster(id: $id) { state instances { placedOn { embedded } } } }';
const TERMINATE = 'mutation($ids: [ID!]!) { terminateClusters(input: { ids: $ids }) { clusters { id } } }';

export interface HostsBenchResult {
  remote: Summary;
  local: Summary;
  /** median remote / median local */
  ratio: number;
  /** warm invocation latency (invokeFunction round trip) to an instance on the joined host, and on the server's own machine */
  invoke: { remote: Summary; local: Summary; ratio: number; p99Ratio: number };
}

export interface HostsBenchOptions {
  config: Config;
  databaseUrl: string;
  tmp: string;
  log: Logger;
  say: (line: string) => void;
}

export async function benchHosts(o: HostsBenchOptions): Promise<HostsBenchResult> {
  const admin = postgres(o.databaseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe('create database bench_hosts');
  await admin.end();
  const url = new URL(o.databaseUrl);
  url.pathname = '/bench_hosts';
  await runMigrations(url.toString());
  const dataDir = path.join(o.tmp, 'hosts-app');
  const hostDir = path.join(o.tmp, 'hosts-joined');
  await fs.mkdir(dataDir, { recursive: true });
  await fs.mkdir(hostDir, { recursive: true });
  const key = `ep_bench_${Math.random().toString(36).slice(2)}`;
  const app = await startApp(
    {
      ...o.config,
      port: 0,
      dataDir,
      bucketsDir: path.join(dataDir, 'buckets'),
      databaseUrl: url.toString(),
      adminApiKey: key,
      objectPathMapping: false,
    },
    o.log,
  );
  const api = new Api(app.url, key);
  const { createHostToken } = await api.data('mutation { createHostToken(input: { labels: { pool: "joined" } }) { token } }');
  const daemon = spawn(
    process.execPath,
    [CLI, 'host', 'join', '--server', app.url, '--token', createHostToken.token, '--data-dir', hostDir, '--name', 'bench-joined'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn', NODE_ENV: 'production' } },
  );
  let daemonErr = '';
  daemon.stderr!.on('data', (c: Buffer) => {
    daemonErr += c.toString();
  });
  try {
    await waitUntil(
      async () =>
        (await api.data('{ hosts(first: 10) { edges { node { name state connected } } } }')).hosts.edges.some(
          (e: any) => e.node.name === 'bench-joined' && e.node.state === 'READY' && e.node.connected,
        ),
      `the joined host to be READY (${daemonErr})`,
      60_000,
      50,
    );
    o.say(`  a second control plane (mapping off) and one joined host on loopback (${app.url})`);
    const placeOnce = async (joined: boolean): Promise<number> => {
      const t0 = performance.now();
      const { createCluster } = await api.data(CREATE, {
        input: {
          name: joined ? 'bench-joined' : 'bench-local',
          instanceGroups: [{ role: 'MASTER', instanceType: 'm5.large', count: 1, ...(joined ? { hostLabels: { pool: 'joined' } } : {}) }],
        },
      });
      const id = createCluster.cluster.id as string;
      const ready = await waitUntil(
        async () => {
          const { cluster } = await api.data(STATE, { id });
          if (cluster.state === 'TERMINATED_WITH_ERRORS') throw new Error(`cluster ${id} failed`);
          return cluster.state === 'WAITING' ? cluster : null;
        },
        `cluster ${id} WAITING`,
        60_000,
        5,
      );
      const took = performance.now() - t0;
      if (ready.instances[0].placedOn.embedded === joined) throw new Error(`cluster ${id} was placed on the wrong host`);
      await api.data(TERMINATE, { ids: [id] });
      await waitUntil(async () => (await api.data(STATE, { id })).cluster.state === 'TERMINATED', `cluster ${id} TERMINATED`, 60_000, 20);
      return took;
    };
    await placeOnce(true); // warm-up: the daemon's first launch loads its modules
    await placeOnce(false);
    const remote: number[] = [];
    const local: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      remote.push(await placeOnce(true));
      local.push(await placeOnce(false));
    }
    const invoke = await benchInvocations(app, api);
    return { remote: summarize(remote), local: summarize(local), ratio: median(remote) / median(local), invoke };
  } finally {
    daemon.kill('SIGTERM');
    await new Promise((resolve) => (daemon.exitCode !== null ? resolve(null) : daemon.once('exit', resolve)));
    await app.close({ stopAgents: true });
  }
}

/** Warm invocations of a function on the joined host beside one on the server's own machine. */
async function benchInvocations(app: Awaited<ReturnType<typeof startApp>>, api: Api): Promise<HostsBenchResult['invoke']> {
  const files = [{ path: 'index.js', content: 'exports.handler = async () => null;' }];
  await deployFunction(api, 'bench-on-joined', 'NODEJS20', 'index.handler', files);
  await deployFunction(api, 'bench-on-embedded', 'NODEJS20', 'index.handler', files);
  const embedded = (await api.data('{ hosts(first: 10) { edges { node { id embedded } } } }')).hosts.edges.find((e: any) => e.node.embedded)
    .node.id as string;
  // a new instance goes to the host with the most free memory, the embedded one (overcommitted) while it takes any
  await api.data('mutation($id: ID!) { drainHost(input: { id: $id }) { host { id } } }', { id: embedded });
  await api.data(INVOKE, { n: 'bench-on-joined' });
  await api.data('mutation($id: ID!) { resumeHost(input: { id: $id }) { host { id } } }', { id: embedded });
  await api.data(INVOKE, { n: 'bench-on-embedded' });
  const here = () => new Set(app.modules.functions.runtime.instances().map((i) => i.instanceId));
  const once = async (name: string, joined: boolean): Promise<number> => {
    const t0 = performance.now();
    const { invokeFunction } = await api.data(INVOKE, { n: name });
    const took = performance.now() - t0;
    const { coldStart, instanceId } = invokeFunction.invocation;
    if (coldStart || here().has(instanceId) === joined)
      throw new Error(`${name} did not run warm where it should (instance ${instanceId})`);
    return took;
  };
  const remote: number[] = [];
  const local: number[] = [];
  for (let i = 0; i < 20; i++) await Promise.all([once('bench-on-joined', true), once('bench-on-embedded', false)]); // warm-up
  for (let i = 0; i < INVOKES; i++) {
    remote.push(await once('bench-on-joined', true));
    local.push(await once('bench-on-embedded', false));
  }
  const [r, l] = [summarize(remote), summarize(local)];
  return { remote: r, local: l, ratio: r.p50 / l.p50, p99Ratio: r.p99 / l.p99 };
}
