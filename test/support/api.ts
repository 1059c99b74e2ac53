// Helpers shared by the API and system tests: common GraphQL documents and inputs, error
// assertions, connection paging, polling a cluster or step until it reaches a state, and the
// bookkeeping of what a test opened or created so that afterEach can clean it up.
import { chownSync, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Client } from 'graphql-ws';
import { expect } from 'vitest';
import { nodeDirOf } from '../../src/engine/agent/node-sandbox.js';
import { Subscription, type GqlResponse } from './client.js';
import { waitUntil } from './processes.js';

/** What the helpers need of a server: a TestServer and the system tests' Api both have it. */
export interface DataApi {
  data<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
}

export const CREATE_CLUSTER = `mutation($input: CreateClusterInput!) { createCluster(input: $input) { cluster { id state } } }`;
export const TERMINATE_CLUSTERS = `mutation($ids: [ID!]!) { terminateClusters(input: { ids: $ids }) { clusters { id state } } }`;
export const CLUSTER_IDS = `query($after: String) { clusters(first: 100, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`;
const CLUSTER_STATE = `query($id: ID!) { cluster(id: $id) { id state } }`;
const STEP_STATE = `query($id: ID!) { step(id: $id) { id state } }`;

export const MASTER = { role: 'MASTER', instanceType: 'm5.large', count: 1 };
export const CORE = (count = 1) => ({ role: 'CORE', instanceType: 'm5.large', count });
/** Step states a step does not leave. */
export const ENDED_STEP_STATES = ['COMPLETED', 'CANCELLED', 'FAILED', 'INTERRUPTED'];

/** The first error of a response has extensions.code `code` (and extensions.field `field`, when given). */
export function expectError(res: { errors?: GqlResponse['errors'] }, code: string, field?: string) {
  const why = JSON.stringify(res.errors ?? res);
  expect(res.errors?.[0]?.extensions?.code, why).toBe(code);
  if (field !== undefined) expect(res.errors?.[0]?.extensions?.field, why).toBe(field);
}

/** Subscription errors arrive either as a `next` with errors or as an `error` message (an array). */
export function flatErrors(errors: unknown[]): Array<{ message: string; extensions?: { code?: string; field?: string } }> {
  return errors.flat() as any;
}

export interface Connection<T> {
  edges: Array<{ node: T }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** Every node of a connection, following pageInfo from the first page (`after` null) to the last. */
export async function allPages<T = any>(page: (after: string | null) => Promise<Connection<T>>): Promise<T[]> {
  const out: T[] = [];
  let after: string | null = null;
  for (;;) {
    const connection: Connection<T> = await page(after);
    out.push(...connection.edges.map((e) => e.node));
    if (!connection.pageInfo.hasNextPage) return out;
    after = connection.pageInfo.endCursor;
  }
}

/** Every cluster id, through all pages, in listing order (newest first). */
export async function allClusterIds(server: DataApi): Promise<string[]> {
  const nodes = await allPages<{ id: string }>(async (after) => (await server.data(CLUSTER_IDS, { after })).clusters);
  return nodes.map((n) => n.id);
}

export async function createCluster(server: DataApi, input: Record<string, unknown>): Promise<string> {
  return (await server.data(CREATE_CLUSTER, { input })).createCluster.cluster.id;
}

/** A cluster (a MASTER and a CORE node) that runs steps of these names (each `true`), then ends TERMINATED: rows for the read path. */
export async function createEndedCluster(server: DataApi, name: string, stepNames: string[]): Promise<string> {
  const id = await createCluster(server, {
    name,
    instanceGroups: [MASTER, CORE(1)],
    keepAliveWhenNoSteps: false,
    steps: stepNames.map((step) => ({ name: step, command: { args: ['true'] } })),
  });
  await waitForClusterState(server, id, ['TERMINATED']);
  return id;
}

export interface PollOptions {
  /** the document that reads the object: `query($id: ID!) { cluster(id: $id) { … } }` (or `step`) */
  query?: string;
  /** 30 s unless given */
  timeoutMs?: number;
  /** 50 ms unless given */
  everyMs?: number;
}

type Kind = 'cluster' | 'step';
const STATE_ONLY: Record<Kind, string> = { cluster: CLUSTER_STATE, step: STEP_STATE };

async function read(server: DataApi, kind: Kind, id: string, query = STATE_ONLY[kind]): Promise<any> {
  return (await server.data(query, { id }))[kind];
}

function waitFor(server: DataApi, kind: Kind, id: string, pred: (x: any) => boolean, what: string, opts: PollOptions): Promise<any> {
  return waitUntil(
    async () => {
      const x = await read(server, kind, id, opts.query);
      return pred(x) ? x : null;
    },
    `${kind} ${id}: ${what}`,
    opts.timeoutMs ?? 30_000,
    opts.everyMs,
  );
}

export const getCluster = (server: DataApi, id: string, query?: string): Promise<any> => read(server, 'cluster', id, query);
export const getStep = (server: DataApi, id: string, query?: string): Promise<any> => read(server, 'step', id, query);

/** Re-reads cluster `id` until `pred` holds, and returns it. */
export const waitForCluster = (server: DataApi, id: string, pred: (c: any) => boolean, what: string, opts: PollOptions = {}) =>
  waitFor(server, 'cluster', id, pred, what, opts);

export const waitForClusterState = (server: DataApi, id: string, states: string[], opts: PollOptions = {}) =>
  waitFor(server, 'cluster', id, (c) => states.includes(c.state), `state ${states.join('|')}`, opts);

/** Re-reads step `id` until `pred` holds, and returns it. */
export const waitForStep = (server: DataApi, id: string, pred: (s: any) => boolean, what: string, opts: PollOptions = {}) =>
  waitFor(server, 'step', id, pred, what, opts);

export const waitForStepState = (server: DataApi, id: string, states: string[], opts: PollOptions = {}) =>
  waitFor(server, 'step', id, (s) => states.includes(s.state), `state ${states.join('|')}`, opts);

/** A command step that blocks until `file` exists (a gate the test opens), failing after about a minute. */
/**
 * A directory in the master node's own directory (made if missing), the node's uid's to write: the
 * one place of the host a node's sandboxed steps and a test both see, to gate and observe steps.
 */
export function nodeScratch(
  server: { dataDir: string },
  cluster: { instances: Array<{ id: string; role: string }> },
  name = 'scratch',
): string {
  const master = cluster.instances.find((i) => i.role === 'MASTER')!;
  const nodeDir = nodeDirOf(path.join(server.dataDir, 'instances', master.id));
  const { uid, gid } = statSync(nodeDir);
  let dir = nodeDir;
  for (const part of ['scratch', name]) {
    dir = path.join(dir, part);
    mkdirSync(dir, { recursive: true });
    chownSync(dir, uid, gid);
  }
  return dir;
}

/** nodeScratch of a cluster's master node, found through the API once it is launched. */
export async function masterScratch(server: DataApi & { dataDir: string }, clusterId: string, name = 'scratch'): Promise<string> {
  const master = await waitUntil(async () => {
    const { cluster } = await server.data(`query($id: ID!) { cluster(id: $id) { instances { id role state pid } } }`, { id: clusterId });
    const found = cluster.instances.find(
      (i: { role: string; state: string; pid: number | null }) => i.role === 'MASTER' && i.state !== 'TERMINATED' && i.pid !== null,
    );
    return found && existsSync(nodeDirOf(path.join(server.dataDir, 'instances', found.id))) ? found : null;
  }, `the master node of ${clusterId} launched`);
  return nodeScratch(server, { instances: [master] }, name);
}

export function gateStep(name: string, file: string) {
  return {
    name,
    env: { GATE: file },
    args: ['sh', '-c', 'i=0; while [ ! -e "$GATE" ]; do sleep 0.05; i=$((i+1)); [ $i -gt 1200 ] && exit 1; done; exit 0'],
  };
}

/** A StepInput (command kind) that runs until `file` exists. */
export function gated(name: string, file: string) {
  const g = gateStep(name, file);
  return { name, command: { args: g.args, env: g.env } };
}

/**
 * What one test opened or created: subscriptions, WebSocket clients and cluster ids. `cleanup` (for
 * afterEach) closes and disposes them, and terminates the clusters so that running steps do not
 * outlive their test; for clusters that already ended that is a no-op.
 */
export class Fixtures {
  private clusterIds: string[] = [];
  private clients: Client[] = [];
  private subs: Subscription[] = [];

  cluster(id: string): string {
    this.clusterIds.push(id);
    return id;
  }

  /** A new WebSocket client of `server`, disposed on cleanup. */
  ws(server: { ws(): Client }): Client {
    const c = server.ws();
    this.clients.push(c);
    return c;
  }

  /** A subscription closed on cleanup. */
  subscribe<T = any>(client: Client, query: string, variables: Record<string, unknown>, pick: (data: any) => T): Subscription<T> {
    const s = new Subscription<T>(client, query, variables, pick);
    this.subs.push(s);
    return s;
  }

  /** Closes the subscriptions and disposes the clients. */
  async closeConnections(): Promise<void> {
    for (const s of this.subs.splice(0)) s.close();
    await Promise.all(this.clients.splice(0).map((c) => c.dispose()));
  }

  async cleanup(server: { gql(query: string, variables?: Record<string, unknown>): Promise<unknown> }): Promise<void> {
    await this.closeConnections();
    const ids = this.clusterIds.splice(0);
    if (ids.length) await server.gql(TERMINATE_CLUSTERS, { ids });
  }
}
