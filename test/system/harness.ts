// Shared by the system tests: real server processes (src/main.ts) with controlled environments,
// API helpers, and a cleanup that leaves no process behind even when a test fails half-way.
import { readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  getCluster as getClusterBy,
  getStep as getStepBy,
  MASTER,
  waitForCluster,
  waitForClusterState,
  waitForStep,
} from '../support/api.js';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { gql, gqlData, Subscription, wsClient, type GqlResponse } from '../support/client.js';
import { isAlive, waitUntil } from '../support/processes.js';
import { processesOf } from '../support/server.js';

export const TEST_KEY = 'ep_system_test_admin_key_0123456789abcdef';

// startChildServer passes the parent's environment on: anything that configures the server must
// come from the test alone, or a developer's shell (or another suite) would change what is tested.
const CONTROLLED_ENV = [
  'ADMIN_API_KEY',
  'DATABASE_URL',
  'PORT',
  'HOST',
  'DATA_DIR',
  'AGENT_URL',
  'STOP_AGENTS_ON_EXIT',
  'HEARTBEAT_TIMEOUT_MS',
  'NODE_ENV',
  'DB_POOL_SIZE',
  'SANDBOX',
  'SANDBOX_BWRAP',
  'SECRETS_KEY',
];

export async function newDataDir(prefix = 'emberplane-sys-'): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  // embedded Postgres runs as the `postgres` user when we are root: it must enter the dir
  await fs.chmod(dir, 0o755);
  return dir;
}

export function spawnServer(env: Record<string, string>, as: { uid: number; gid: number } | null = null): Promise<ChildServer> {
  const saved = new Map<string, string | undefined>();
  for (const k of [...CONTROLLED_ENV, ...Object.keys(process.env).filter((k) => k.startsWith('AGENT_'))]) {
    saved.set(k, process.env[k]);
    delete process.env[k];
  }
  try {
    // startChildServer reads process.env synchronously when it spawns, before its first await
    return startChildServer(env, as);
  } finally {
    for (const [k, v] of saved) if (v !== undefined) process.env[k] = v;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Api {
  url: string;
  key: string;
  gql<T = any>(query: string, variables?: Record<string, unknown>): Promise<GqlResponse<T>>;
  data<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
  subscribe<T = any>(query: string, variables: Record<string, unknown>, pick: (data: any) => T): Subscription<T>;
}

export function api(server: { url: string }, key = TEST_KEY): Api {
  const clients: ReturnType<typeof wsClient>[] = [];
  return {
    url: server.url,
    key,
    gql: (query, variables) => gql(server.url, key, query, variables),
    data: (query, variables) => gqlData(server.url, key, query, variables),
    subscribe(query, variables, pick) {
      const client = wsClient(server.url, key);
      clients.push(client);
      return new Subscription(client, query, variables, pick);
    },
  };
}

export const CLUSTER = `query($id: ID!) { cluster(id: $id) { id name state stateChangeReason { code message }
  instanceGroups { id role state requestedCount }
  instances { id groupId role state stateChangeReason { code message } pid host lastHeartbeatAt endedAt }
  steps(first: 100) { edges { node { id name state exitCode pid instanceId logStreamId
    failureDetails { reason message } } } } } }`;
export const ADD_STEPS = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id state logStreamId } } }`;
export const STEP = `query($id: ID!) { step(id: $id) { id state exitCode pid instanceId logStreamId failureDetails { reason message }
  logs(first: 100) { edges { cursor node { cursor stream text } } pageInfo { hasNextPage } } } }`;
export const LOGS_SUB = `subscription($streamId: ID!, $after: String) { logs(streamId: $streamId, after: $after) { cursor stream text } }`;
export const EVENTS_SUB = `subscription($clusterId: ID!, $after: String) { clusterEvents(clusterId: $clusterId, after: $after) {
  cursor clusterId kind resourceId state previousState message detail } }`;

export interface LogLineOut {
  cursor: string;
  stream: string;
  text: string;
}

export function masterGroup() {
  return { ...MASTER };
}

export function command(name: string, script: string, env?: Record<string, string>) {
  return { name, command: { args: ['sh', '-c', script], ...(env ? { env } : {}) } };
}

export { createCluster } from '../support/api.js';

export async function addSteps(a: Api, clusterId: string, steps: unknown[]): Promise<Array<{ id: string; logStreamId: string }>> {
  const res = await a.data(ADD_STEPS, { input: { clusterId, steps } });
  return res.addSteps.steps;
}

export const getCluster = (a: Api, id: string): Promise<any> => getClusterBy(a, id, CLUSTER);
export const getStep = (a: Api, id: string): Promise<any> => getStepBy(a, id, STEP);

export const waitCluster = (a: Api, id: string, pred: (c: any) => boolean, what: string, timeoutMs = 30_000): Promise<any> =>
  waitForCluster(a, id, pred, what, { query: CLUSTER, timeoutMs, everyMs: 100 });

export const waitClusterState = (a: Api, id: string, states: string[], timeoutMs = 30_000): Promise<any> =>
  waitForClusterState(a, id, states, { query: CLUSTER, timeoutMs, everyMs: 100 });

export const waitStep = (a: Api, id: string, pred: (s: any) => boolean, what: string, timeoutMs = 30_000): Promise<any> =>
  waitForStep(a, id, pred, what, { query: STEP, timeoutMs, everyMs: 100 });

/** The environment a process was started with (/proc/<pid>/environ). */
export function envOf(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

/** Postmasters serving a data dir: the only Postgres processes whose command line names it. */
export function postgresProcessesOf(dataDir: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!argv[0] || path.basename(argv[0]) !== 'postgres') continue;
      if (!argv.some((a) => a === dataDir || a.startsWith(`${dataDir}/`))) continue;
      if (isAlive(Number(entry))) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** STDOUT texts of a list of log lines. */
export const stdoutOf = (lines: LogLineOut[]) => lines.filter((l) => l.stream === 'STDOUT').map((l) => l.text);

/** Cursors of a stream's lines are 1, 2, 3, … : a hole or a repeat shows as a mismatch. */
export function expectDense(lines: LogLineOut[], first = 1): string | null {
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.cursor !== String(first + i)) return `cursor ${lines[i]!.cursor} at index ${i}, expected ${first + i}`;
  }
  return null;
}

const ENDED = ['TERMINATED', 'TERMINATED_WITH_ERRORS'];

// Last resort when a worker ends without a cleanup having finished (a hook timeout): nothing a test
// started may outlive the test run.
const everyServer = new Set<ChildServer>();
const everyDataDir = new Set<string>();
process.once('exit', () => {
  for (const s of everyServer) if (isAlive(s.pid)) s.proc.kill('SIGKILL');
  for (const dir of everyDataDir) {
    for (const pid of [...processesOf(dir), ...postgresProcessesOf(dir)]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
});

/**
 * One test's servers, data dir and subscriptions. `cleanup()` terminates every cluster through the
 * API, stops the servers, and makes sure no agent, step or Postgres process of the data dir is
 * left; leftovers are killed by pid, and the cleanup then fails the test.
 */
export class SystemTest {
  servers: ChildServer[] = [];
  subscriptions: Subscription[] = [];
  dataDir = '';
  databaseUrl: string | undefined;
  private key = TEST_KEY;

  async init(prefix?: string): Promise<this> {
    this.dataDir = await newDataDir(prefix);
    return this;
  }

  async start(env: Record<string, string>, as: { uid: number; gid: number } | null = null): Promise<ChildServer> {
    const server = await spawnServer({ DATA_DIR: this.dataDir, ...env }, as);
    this.servers.push(server);
    everyServer.add(server);
    everyDataDir.add(this.dataDir);
    return server;
  }

  useKey(key: string): void {
    this.key = key;
  }

  track<T>(sub: Subscription<T>): Subscription<T> {
    this.subscriptions.push(sub as Subscription);
    return sub;
  }

  private live(): ChildServer[] {
    return this.servers.filter((s) => s.proc.exitCode === null && s.proc.signalCode === null && isAlive(s.pid));
  }

  async cleanup(): Promise<void> {
    const problems: string[] = [];
    for (const s of this.subscriptions) s.close();
    const server = this.live()[0];
    if (server) {
      try {
        const a = api(server, this.key);
        const active = await a.data(
          `query { clusters(first: 100, filter: { states: [STARTING, BOOTSTRAPPING, RUNNING, WAITING, TERMINATING] }) { edges { node { id state } } } }`,
        );
        const ids = active.clusters.edges.map((e: any) => e.node.id);
        if (ids.length) {
          await a.data(`mutation($ids: [ID!]!) { terminateClusters(input: { ids: $ids }) { clusters { id } } }`, { ids });
          await waitUntil(
            async () => {
              const res = await a.data(`query($ids: [ID!]!) { clusters(first: 100, filter: { ids: $ids }) { edges { node { state } } } }`, {
                ids,
              });
              return res.clusters.edges.every((e: any) => ENDED.includes(e.node.state));
            },
            'every cluster to end (cleanup)',
            20_000,
            100,
          );
        }
      } catch (err) {
        problems.push(`terminating clusters failed: ${(err as Error).message}`);
      }
    }
    // with no server left (a test that stopped or killed them all) the process checks below still hold
    for (const s of this.live()) {
      s.proc.kill('SIGTERM');
      try {
        await waitUntil(() => !isAlive(s.pid), `server ${s.pid} to stop`, 10_000, 50);
      } catch {
        problems.push(`server ${s.pid} did not stop on SIGTERM`);
        s.proc.kill('SIGKILL');
        await waitUntil(() => !isAlive(s.pid), `server ${s.pid} to die`, 5_000, 50).catch(() => {});
      }
    }
    if (!this.dataDir) return;
    try {
      await waitUntil(() => processesOf(this.dataDir).length === 0, 'no agent or step process left', 10_000, 100);
    } catch {
      const left = processesOf(this.dataDir);
      problems.push(`processes left under ${this.dataDir}: ${left.join(', ')}`);
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      await waitUntil(() => processesOf(this.dataDir).length === 0, 'leftovers to die', 10_000, 100).catch(() => {});
    }
    const pg = postgresProcessesOf(this.dataDir);
    if (pg.length) {
      problems.push(`Postgres left running for ${this.dataDir}: ${pg.join(', ')}`);
      for (const pid of pg) {
        try {
          process.kill(pid, 'SIGINT');
        } catch {
          /* already gone */
        }
      }
      await waitUntil(() => postgresProcessesOf(this.dataDir).length === 0, 'Postgres to stop', 15_000, 100).catch(() => {
        for (const pid of postgresProcessesOf(this.dataDir)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      });
    }
    await fs.rm(this.dataDir, { recursive: true, force: true }).catch(() => {});
    if (problems.length) throw new Error(`cleanup: ${problems.join('; ')}`);
  }
}
