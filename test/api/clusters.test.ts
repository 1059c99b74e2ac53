import crypto from 'node:crypto';
import { detectSpark } from '../../src/engine/spark-runtime.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORE, expectError, MASTER, TERMINATE_CLUSTERS as TERMINATE, waitForCluster, waitForClusterState } from '../support/api.js';
import { isAlive } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const CREATE = `mutation($input: CreateClusterInput!) { createCluster(input: $input) { cluster { id name state createdAt } } }`;
const LIST = `query($first: Int, $after: String, $filter: ClusterFilter) { clusters(first: $first, after: $after, filter: $filter) {
  edges { cursor node { id name state createdAt } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
const CLUSTER = `query($id: ID!) { cluster(id: $id) { id name state keepAliveWhenNoSteps stateChangeReason { code message }
  instanceGroups { id role state requestedCount } instances { id groupId role state pid createdAt endedAt }
  steps(first: 50) { edges { node { id name state exitCode failureDetails { reason } } } } } }`;
const MODIFY = `mutation($input: ModifyInstanceGroupInput!) { modifyInstanceGroup(input: $input) { instanceGroup { id role requestedCount state } } }`;

const waitFor = (id: string, pred: (c: any) => boolean, what: string) => waitForCluster(server, id, pred, what, { query: CLUSTER });
const waitForState = (id: string, states: string[]) => waitForClusterState(server, id, states, { query: CLUSTER });

async function list(variables: Record<string, unknown>) {
  return (await server.data(LIST, variables)).clusters;
}

/** A name unique to this run, so filters see only the clusters one test made. */
const unique = (label: string) => `${label}-${crypto.randomBytes(3).toString('hex')}`;

describe('listing', () => {
  let prefix: string;
  let ids: string[]; // in creation order

  beforeAll(async () => {
    prefix = unique('PgList');
    ids = [];
    for (let i = 0; i < 7; i++) {
      const { createCluster } = await server.data(CREATE, {
        input: {
          name: `${prefix}-Alpha-${i}`,
          instanceGroups: [MASTER],
          keepAliveWhenNoSteps: true,
        },
      });
      ids.push(createCluster.cluster.id);
    }
    // all but the last end at once: fewer agent processes, and two states to filter on
    await server.data(TERMINATE, { ids: ids.slice(0, 6) });
    for (const id of ids.slice(0, 6)) await waitForState(id, ['TERMINATED']);
    await waitForState(ids[6]!, ['WAITING']);
  });
  afterAll(async () => {
    await server.data(TERMINATE, { ids: [ids[6]] });
    await waitForState(ids[6]!, ['TERMINATED']);
  });

  it('pages of 3 walk every cluster once, newest first', async () => {
    const seen: string[] = [];
    const pages: any[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await list({ first: 3, after, filter: { nameContains: prefix } });
      pages.push(page);
      seen.push(...page.edges.map((e: any) => e.node.id));
      expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
      expect(page.pageInfo.startCursor).toBe(page.edges[0]?.cursor ?? null);
      expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
      expect(pages.length).toBeLessThan(5);
    }
    expect(pages.map((p) => p.edges.length)).toEqual([3, 3, 1]);
    expect(pages.map((p) => p.pageInfo.hasNextPage)).toEqual([true, true, false]);
    expect(seen).toEqual([...ids].reverse());
    const times = pages.flatMap((p) => p.edges.map((e: any) => Date.parse(e.node.createdAt)));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it('the unfiltered listing has them in the same order, without gaps between them', async () => {
    const all: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await list({ first: 3, after });
      all.push(...page.edges.map((e: any) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(new Set(all).size).toBe(all.length);
    const mine = all.filter((id) => ids.includes(id));
    expect(mine).toEqual([...ids].reverse());
    // created one after another by this test alone: contiguous in a newest-first listing
    const start = all.indexOf(ids[6]!);
    expect(all.slice(start, start + 7)).toEqual([...ids].reverse());
  });

  it('filters by state', async () => {
    const terminated = await list({ first: 100, filter: { nameContains: prefix, states: ['TERMINATED'] } });
    expect(terminated.edges.map((e: any) => e.node.id)).toEqual(ids.slice(0, 6).reverse());
    expect(terminated.edges.every((e: any) => e.node.state === 'TERMINATED')).toBe(true);
    const waiting = await list({ first: 100, filter: { nameContains: prefix, states: ['WAITING'] } });
    expect(waiting.edges.map((e: any) => e.node.id)).toEqual([ids[6]]);
    const both = await list({ first: 100, filter: { nameContains: prefix, states: ['WAITING', 'TERMINATED'] } });
    expect(both.edges).toHaveLength(7);
    const none = await list({ first: 100, filter: { nameContains: prefix, states: ['TERMINATED_WITH_ERRORS'] } });
    expect(none.edges).toEqual([]);
    expect(none.pageInfo).toMatchObject({ hasNextPage: false, startCursor: null, endCursor: null });
  });

  it('filters by name, case-insensitively', async () => {
    const lower = await list({ first: 100, filter: { nameContains: prefix.toLowerCase() } });
    expect(lower.edges.map((e: any) => e.node.id)).toEqual([...ids].reverse());
    const upper = await list({ first: 100, filter: { nameContains: `${prefix}-alpha-3`.toUpperCase() } });
    expect(upper.edges.map((e: any) => e.node.name)).toEqual([`${prefix}-Alpha-3`]);
    // LIKE wildcards are plain characters here
    const wildcard = await list({ first: 100, filter: { nameContains: `${prefix}-Alpha-%` } });
    expect(wildcard.edges).toEqual([]);
    const underscore = await list({ first: 100, filter: { nameContains: `${prefix}_Alpha` } });
    expect(underscore.edges).toEqual([]);
  });

  it('filters by ids (unknown ids are ignored), newest first', async () => {
    const res = await list({ first: 100, filter: { ids: [ids[1], ids[4], 'j-doesnotexist'] } });
    expect(res.edges.map((e: any) => e.node.id)).toEqual([ids[4], ids[1]]);
    const combined = await list({ first: 100, filter: { ids: [ids[1], ids[6]], states: ['WAITING'] } });
    expect(combined.edges.map((e: any) => e.node.id)).toEqual([ids[6]]);
  });
});

describe('clientToken', () => {
  const input = (name: string, clientToken: string) => ({ name, instanceGroups: [MASTER], keepAliveWhenNoSteps: true, clientToken });

  it('the same token and input twice give the same cluster', async () => {
    const name = unique('idem');
    const token = unique('tok');
    const a = await server.data(CREATE, { input: input(name, token) });
    const b = await server.data(CREATE, { input: input(name, token) });
    expect(b.createCluster.cluster.id).toBe(a.createCluster.cluster.id);
    expect(b.createCluster.cluster.createdAt).toBe(a.createCluster.cluster.createdAt);
    const found = await list({ first: 100, filter: { nameContains: name } });
    expect(found.edges.map((e: any) => e.node.id)).toEqual([a.createCluster.cluster.id]);

    // a retry after the cluster ended still answers with that cluster, not a new one
    await server.data(TERMINATE, { ids: [a.createCluster.cluster.id] });
    await waitForState(a.createCluster.cluster.id, ['TERMINATED']);
    const c = await server.data(CREATE, { input: input(name, token) });
    expect(c.createCluster.cluster).toMatchObject({ id: a.createCluster.cluster.id, state: 'TERMINATED' });
    expect((await list({ first: 100, filter: { nameContains: name } })).edges).toHaveLength(1);
  });

  it('five concurrent creates with one token make exactly one cluster', async () => {
    const name = unique('race');
    const token = unique('tok');
    const results = await Promise.all(Array.from({ length: 5 }, () => server.gql(CREATE, { input: input(name, token) })));
    for (const r of results) expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
    const returned = new Set(results.map((r) => r.data.createCluster.cluster.id));
    expect(returned.size).toBe(1);
    const found = await list({ first: 100, filter: { nameContains: name } });
    expect(found.edges.map((e: any) => e.node.id)).toEqual([...returned]);
    const id = [...returned][0]!;
    // and exactly one set of nodes for it
    const ready = await waitForState(id, ['WAITING']);
    expect(ready.instances).toHaveLength(1);
    await server.data(TERMINATE, { ids: [id] });
    await waitForState(id, ['TERMINATED']);
  });

  it('the same token with a different input is a CONFLICT, and creates nothing', async () => {
    const name = unique('conflict');
    const token = unique('tok');
    const first = await server.data(CREATE, { input: input(name, token) });
    const res = await server.gql(CREATE, { input: { ...input(name, token), stepConcurrencyLevel: 2 } });
    expectError(res, 'CONFLICT', 'input.clientToken');
    const renamed = await server.gql(CREATE, { input: input(`${name}-other`, token) });
    expectError(renamed, 'CONFLICT', 'input.clientToken');
    expect((await list({ first: 100, filter: { nameContains: name } })).edges.map((e: any) => e.node.id)).toEqual([
      first.createCluster.cluster.id,
    ]);
    await server.data(TERMINATE, { ids: [first.createCluster.cluster.id] });
    await waitForState(first.createCluster.cluster.id, ['TERMINATED']);
  });
});

describe('catalog', () => {
  it('instanceTypes lists m5.xlarge with 4 vCPU and 16 GiB', async () => {
    const { instanceTypes } = await server.data(`{ instanceTypes { name vcpu memoryMb } }`);
    expect(instanceTypes).toContainEqual({ name: 'm5.xlarge', vcpu: 4, memoryMb: 16_384 });
    expect(new Set(instanceTypes.map((t: any) => t.name)).size).toBe(instanceTypes.length);
  });

  it('applications lists DUCKDB as available and SPARK as this host can run it', async () => {
    const { applications } = await server.data(`{ applications { name available reason } }`);
    expect(applications.map((a: any) => a.name).sort()).toEqual(['DUCKDB', 'SPARK']);
    // DuckDB comes with the server (@duckdb/node-api)
    expect(applications.find((a: any) => a.name === 'DUCKDB')).toEqual({ name: 'DUCKDB', available: true, reason: null });
    // SPARK depends on pyspark and Java here (test/api/spark-availability.test.ts covers the missing case)
    // as the server looks for it: started as root, its nodes run as other uids and need a Spark they can read
    const spark = detectSpark({
      python: process.env.PYTHON,
      sparkHome: process.env.SPARK_HOME,
      javaHome: process.env.JAVA_HOME,
      forOthers: process.getuid?.() === 0 && process.env.SANDBOX !== 'off',
    });
    expect(applications.find((a: any) => a.name === 'SPARK')).toEqual({ name: 'SPARK', available: spark.available, reason: spark.reason });
  });
});

describe('modifyInstanceGroup', () => {
  it('grows CORE to 3 running nodes, shrinks back to 1 stopping the newest, and terminate stops all', async () => {
    const { createCluster } = await server.data(CREATE, {
      input: {
        name: unique('resize'),
        instanceGroups: [MASTER, CORE(1)],
      },
    });
    const id = createCluster.cluster.id;
    const ready = await waitForState(id, ['WAITING']);
    const core = ready.instanceGroups.find((g: any) => g.role === 'CORE');
    const original = ready.instances.find((i: any) => i.role === 'CORE');
    expect(core).toMatchObject({ state: 'RUNNING', requestedCount: 1 });

    const grow = await server.data(MODIFY, { input: { clusterId: id, instanceGroupId: core.id, instanceCount: 3 } });
    expect(grow.modifyInstanceGroup.instanceGroup).toEqual({ id: core.id, role: 'CORE', requestedCount: 3, state: 'RESIZING' });

    const grown = await waitFor(
      id,
      (c) => {
        const g = c.instanceGroups.find((x: any) => x.id === core.id);
        return g.state === 'RUNNING' && c.instances.filter((i: any) => i.groupId === core.id && i.state === 'RUNNING').length === 3;
      },
      'CORE group RUNNING with 3 nodes',
    );
    const coreNodes = grown.instances.filter((i: any) => i.groupId === core.id);
    expect(coreNodes).toHaveLength(3);
    for (const i of coreNodes) {
      expect(i.state).toBe('RUNNING');
      expect(isAlive(i.pid)).toBe(true);
    }
    expect(new Set(coreNodes.map((i: any) => i.pid)).size).toBe(3);
    expect(grown.instanceGroups.find((g: any) => g.id === core.id)).toMatchObject({ requestedCount: 3, state: 'RUNNING' });
    expect(grown.state).toBe('WAITING');

    const shrink = await server.data(MODIFY, { input: { clusterId: id, instanceGroupId: core.id, instanceCount: 1 } });
    expect(shrink.modifyInstanceGroup.instanceGroup).toMatchObject({ requestedCount: 1, state: 'RESIZING' });
    const shrunk = await waitFor(
      id,
      (c) => {
        const g = c.instanceGroups.find((x: any) => x.id === core.id);
        return g.state === 'RUNNING' && c.instances.filter((i: any) => i.groupId === core.id && i.state === 'TERMINATED').length === 2;
      },
      'CORE group back to 1 node',
    );
    const after = shrunk.instances.filter((i: any) => i.groupId === core.id);
    const stopped = after.filter((i: any) => i.state === 'TERMINATED');
    const kept = after.filter((i: any) => i.state === 'RUNNING');
    expect(stopped).toHaveLength(2);
    expect(kept.map((i: any) => i.id)).toEqual([original.id]); // the newest nodes go first
    for (const i of stopped) {
      expect(i.endedAt).not.toBeNull();
      expect(isAlive(i.pid)).toBe(false);
    }
    expect(isAlive(kept[0].pid)).toBe(true);
    expect(shrunk.instanceGroups.find((g: any) => g.id === core.id)).toMatchObject({ requestedCount: 1, state: 'RUNNING' });
    expect(shrunk.state).toBe('WAITING');

    const pids = shrunk.instances.map((i: any) => i.pid);
    await server.data(TERMINATE, { ids: [id] });
    const ended = await waitForState(id, ['TERMINATED']);
    expect(ended.instances.every((i: any) => i.state === 'TERMINATED')).toBe(true);
    expect(ended.instanceGroups.every((g: any) => g.state === 'TERMINATED')).toBe(true);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
  });
});

describe('ending by itself', () => {
  it('keepAliveWhenNoSteps false: ends TERMINATED (ALL_STEPS_COMPLETED) after its one step', async () => {
    const { createCluster } = await server.data(CREATE, {
      input: {
        name: unique('transient'),
        instanceGroups: [MASTER],
        keepAliveWhenNoSteps: false,
        steps: [{ name: 'only', command: { args: ['sh', '-c', 'echo done'] } }],
      },
    });
    const id = createCluster.cluster.id;
    const ended = await waitForState(id, ['TERMINATED', 'TERMINATED_WITH_ERRORS']);
    expect(ended.state).toBe('TERMINATED');
    expect(ended.keepAliveWhenNoSteps).toBe(false);
    expect(ended.stateChangeReason.code).toBe('ALL_STEPS_COMPLETED');
    expect(ended.steps.edges.map((e: any) => e.node)).toMatchObject([{ name: 'only', state: 'COMPLETED', exitCode: 0 }]);
    for (const i of ended.instances) {
      expect(i.state).toBe('TERMINATED');
      expect(isAlive(i.pid)).toBe(false);
    }
  });

  it('a failed TERMINATE_CLUSTER step ends the cluster TERMINATED_WITH_ERRORS (STEP_FAILURE), later steps cancelled', async () => {
    const { createCluster } = await server.data(CREATE, {
      input: {
        name: unique('doomed'),
        instanceGroups: [MASTER],
        steps: [
          { name: 'fails', actionOnFailure: 'TERMINATE_CLUSTER', command: { args: ['sh', '-c', 'exit 3'] } },
          { name: 'never', command: { args: ['sh', '-c', 'echo should not run'] } },
        ],
      },
    });
    const id = createCluster.cluster.id;
    const ended = await waitForState(id, ['TERMINATED', 'TERMINATED_WITH_ERRORS']);
    expect(ended.state).toBe('TERMINATED_WITH_ERRORS');
    expect(ended.stateChangeReason.code).toBe('STEP_FAILURE');
    const steps = ended.steps.edges.map((e: any) => e.node); // newest first
    expect(steps).toMatchObject([
      { name: 'never', state: 'CANCELLED', exitCode: null },
      { name: 'fails', state: 'FAILED', exitCode: 3, failureDetails: { reason: 'STEP_FAILURE' } },
    ]);
    for (const i of ended.instances) {
      expect(i.state).toBe('TERMINATED');
      expect(isAlive(i.pid)).toBe(false);
    }
  });
});
