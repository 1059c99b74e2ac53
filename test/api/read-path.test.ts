import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { CREATE_CLUSTER, MASTER, createEndedCluster, expectError } from '../support/api.js';
import { startTestServer, type TestServer } from '../support/server.js';

// The read path: batching of nested fields (no N+1) and the coalescing of identical queries.
let server: TestServer;
const statements: string[] = [];
let counting = false;

beforeAll(async () => {
  server = await startTestServer(
    {},
    {
      onQuery: (q) => {
        if (counting) statements.push(q);
      },
    },
  );
  // a few clusters with groups, instances and steps, ended so that no agent keeps running
  for (let i = 0; i < 6; i++) await createEndedCluster(server, `read-${i}`, ['a', 'b']);
});
afterAll(async () => {
  await server?.close();
});

const NESTED = (first: number) => `{ clusters(first: ${first}) { edges { node { id name state
  instanceGroups { id role state requestedCount } instances { id role state pid }
  steps(first: 5) { edges { node { id name state progress } } } } } } }`;

async function statementsFor(query: string): Promise<{ read: string[]; data: any }> {
  statements.length = 0;
  counting = true;
  const data = await server.data(query);
  counting = false;
  // background loops (controllers, heartbeats, the hosts' allocation count) share the pool: keep only what
  // this query reads. The key
  // check (api_keys) is left out: it is cached, and whether the entry is still fresh depends on the clock.
  const read = statements.filter(
    (s) =>
      /from (clusters|instance_groups|instances|steps)\b/.test(s) &&
      !/for update|pg_try_advisory|state = any|state <> 'TERMINATED' order by i.created_at|group by host_id/.test(s),
  );
  return { read, data };
}

describe('nested reads', () => {
  it('cost one SQL statement for the page and its nested lists, for 2 clusters as for 6', async () => {
    const small = await statementsFor(NESTED(2));
    const large = await statementsFor(NESTED(6));
    expect(small.data.clusters.edges).toHaveLength(2);
    expect(large.data.clusters.edges).toHaveLength(6);
    // the clusters, their groups, instances and steps: one statement, whatever the number of clusters
    for (const { read } of [small, large]) {
      expect(read, read.join('\n')).toHaveLength(1);
      for (const table of ['clusters', 'instance_groups', 'instances', 'steps']) expect(read[0]).toMatch(new RegExp(`from ${table}\\b`));
      // only the columns shown: a step's spec or a node's credential hash is not read for them
      expect(read[0]).not.toMatch(/\bspec\b|token_hash|host_labels/);
    }
    // a full page (small) reads one row more than it shows, to know whether a next page exists
    for (const { node } of [...small.data.clusters.edges, ...large.data.clusters.edges]) {
      expect(node.instanceGroups.map((g: any) => g.role)).toEqual(['MASTER', 'CORE']);
      expect(node.instances).toHaveLength(2);
      expect(node.steps.edges.map((e: any) => e.node.name)).toEqual(['b', 'a']); // newest first
    }
  });

  it('read only the cluster columns shown, and whole rows for a field resolved from the row', async () => {
    const SHOWN = `id name state applications keepAliveWhenNoSteps autoTerminationIdleTimeoutSeconds stepConcurrencyLevel
      terminationProtected createdAt readyAt endedAt stateChangeReason { code message } __typename`;
    const plain = await statementsFor(`{ clusters(first: 3) { edges { cursor node { ${SHOWN} instances { id } } } } }`);
    const whole = await statementsFor(
      `{ clusters(first: 3) { edges { cursor node { ${SHOWN} instances { id } bootstrapActions { name } } } } }`,
    );
    const { clusters } = await server.data(`{ clusters(first: 1) { edges { node { id } } } }`);
    const byId = await statementsFor(`{ cluster(id: "${clusters.edges[0].node.id}") { ${SHOWN} } }`);
    for (const { read } of [plain, whole, byId]) expect(read, read.join('\n')).toHaveLength(1);
    expect(plain.read[0]).not.toMatch(/bootstrap_actions|client_token|spark_master_url/);
    expect(byId.read[0]).not.toMatch(/bootstrap_actions|client_token|spark_master_url/);
    expect(whole.read[0]).toMatch(/bootstrap_actions/);
    // the same answers (cursors included) as from whole rows
    expect(plain.data.clusters.edges).toEqual(
      whole.data.clusters.edges.map(({ cursor, node: { bootstrapActions: _, ...node } }: any) => ({ cursor, node })),
    );
    const { instances: _, ...first } = plain.data.clusters.edges[0].node;
    expect(byId.data.cluster).toEqual(first);
    expect(plain.data.clusters.edges[0].node).toMatchObject({ state: 'TERMINATED', keepAliveWhenNoSteps: false, applications: [] });
    expect(plain.data.clusters.edges[0].node.endedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('cost one SQL statement for a cluster by id and its nested lists', async () => {
    const { clusters } = await server.data(`{ clusters(first: 1) { edges { node { id } } } }`);
    const { read, data } = await statementsFor(
      `{ cluster(id: "${clusters.edges[0].node.id}") { id instanceGroups { id } instances { id } steps(first: 1) { edges { node { id } } } } }`,
    );
    expect(read, read.join('\n')).toHaveLength(1);
    expect(data.cluster.instanceGroups).toHaveLength(2);
    expect(data.cluster.steps.edges).toHaveLength(1);
  });

  it('answer exactly as the nested fields read on their own (fragments, variables, a second page of steps)', async () => {
    // computed fields (stateChangeReason, command, failureDetails) read whole rows; plain columns only what is shown
    const COMPUTED = `fragment Full on Cluster { id name state stateChangeReason { code message } createdAt readyAt endedAt
      instanceGroups { id role instanceType state requestedCount hostLabels createdAt }
      ... on Cluster { instances { id groupId clusterId role instanceType state pid host lastHeartbeatAt createdAt readyAt endedAt
        stateChangeReason { code message } } }
      steps(first: $first, after: $after) { edges { cursor node { id clusterId name kind state actionOnFailure progress exitCode pid
        instanceId logStreamId result createdAt startedAt endedAt command { args env } failureDetails { reason message logFile } } }
        pageInfo { hasNextPage hasPreviousPage } }
      newest: steps(first: 1) { edges { node { name } } pageInfo { hasNextPage } } }`;
    const PLAIN = `fragment Full on Cluster { id __typename instanceGroups { role hostLabels createdAt }
      instances { __typename state lastHeartbeatAt endedAt } more: instances { pid host }
      steps(first: $first, after: $after) { edges { cursor node { name exitCode result startedAt } } pageInfo { hasNextPage } }
      newest: steps(first: 1) { edges { node { name } } } }`;
    const { clusters } = await server.data(
      `{ clusters(first: 1) { edges { node { id steps(first: 1) { edges { cursor node { id } } } } } } }`,
    );
    const { id, steps } = clusters.edges[0].node;
    const vars = { id, first: 1, after: steps.edges[0].cursor, step: steps.edges[0].node.id };
    for (const FULL of [COMPUTED, PLAIN]) {
      // a root cluster reads its nested lists with itself; a step's cluster through each field's own read
      const [byId, byPage, throughStep, both] = await Promise.all([
        server.data(`query($id: ID!, $first: Int, $after: String) { cluster(id: $id) { ...Full } } ${FULL}`, vars),
        server.data(
          `query($id: ID!, $first: Int, $after: String) { clusters(first: 1, filter: { ids: [$id] }) { edges { node { ...Full } } } } ${FULL}`,
          vars,
        ),
        server.data(`query($step: ID!, $first: Int, $after: String) { step(id: $step) { cluster { ...Full } } } ${FULL}`, vars),
        // the rows read for one selection never answer another one in the same request
        server.data(
          `query($id: ID!, $step: ID!, $first: Int, $after: String) { cluster(id: $id) { instances { id } steps(first: $first, after: $after) { edges { node { id } } } }
            step(id: $step) { cluster { ...Full } } } ${FULL}`,
          vars,
        ),
      ]);
      expect(byId.cluster.steps.edges.map((e: any) => e.node.name)).toEqual(['a']);
      expect(byId.cluster.newest.edges.map((e: any) => e.node.name)).toEqual(['b']);
      expect(byId.cluster.instanceGroups[0].createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(byId.cluster).toEqual(throughStep.step.cluster);
      expect(byPage.clusters.edges[0].node).toEqual(throughStep.step.cluster);
      expect(both.step.cluster).toEqual(throughStep.step.cluster);
    }
  });

  it('a bad page argument of nested steps is the same coded error', async () => {
    const res = await server.gql(`{ clusters(first: 1) { edges { node { id steps(after: "not-a-cursor") { edges { cursor } } } } } }`);
    expectError(res, 'BAD_USER_INPUT', 'after');
  });
});

describe('identical concurrent queries', () => {
  it('all get the full, identical answer', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => server.gql(NESTED(6))));
    for (const r of results) {
      expect(r.errors).toBeUndefined();
      expect(r.data).toEqual(results[0]!.data);
    }
    expect(results[0]!.data.clusters.edges).toHaveLength(6);
  });

  it('never answer with a state older than the request: a write is seen by the next read', async () => {
    // keep identical reads in flight the whole time, so the checked read always has company
    let stop = false;
    const noise = (async () => {
      while (!stop) await Promise.all(Array.from({ length: 8 }, () => server.gql(NESTED(3))));
    })();
    try {
      for (let i = 0; i < 15; i++) {
        const name = `fresh-${i}`;
        await server.data(CREATE_CLUSTER, { input: { name, instanceGroups: [MASTER], keepAliveWhenNoSteps: false } });
        const [read] = await Promise.all([server.gql(NESTED(3)), server.gql(NESTED(3))]);
        expect(read!.data.clusters.edges[0].node.name).toBe(name);
      }
    } finally {
      stop = true;
      await noise;
    }
  });

  it('are not shared between keys with different permissions', async () => {
    const { createApiKey } = await server.data(
      `mutation { createApiKey(input: { name: "reader", actions: ["clusters:ListClusters"] }) { key } }`,
    );
    const q = '{ apiKeys { id } }';
    const [admin, reader] = await Promise.all([server.gql(q), server.gql(q, {}, createApiKey.key)]);
    expect(admin.errors).toBeUndefined();
    expect(admin.data.apiKeys.length).toBeGreaterThanOrEqual(2);
    expectError(reader, 'FORBIDDEN');
  });

  it('a query with errors runs once and answers with the coded error (and its HTTP status when it failed whole)', async () => {
    // a partial result (a field the key may not read is null): the clusters list is read once, not twice
    const partial = `{ clusters(first: 2) { edges { node { id } } } bucket(name: "not-allowed") { name } }`;
    const reader = (await server.data(`mutation { createApiKey(input: { name: "partial", actions: ["clusters:*"] }) { key } }`))
      .createApiKey.key;
    await server.gql(partial, {}, reader);
    statements.length = 0;
    counting = true;
    const res = await server.gql(partial, {}, reader);
    counting = false;
    expect(res.data!.clusters.edges).toHaveLength(2);
    expect(res.data!.bucket).toBeNull();
    expectError(res, 'FORBIDDEN');
    expect(statements.filter((q) => /from clusters\b/.test(q) && /order by/.test(q) && !/for update|state = any/.test(q))).toHaveLength(1);
    // failed as a whole: the API code decides the HTTP status
    const whole = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.key}` },
      body: JSON.stringify({
        query: `query($id: ID!) { clusterMetrics(clusterId: $id, names: ["IsIdle"], from: "2020-01-01T00:00:00Z", periodSeconds: 60) { name } }`,
        variables: { id: 'j-missing' },
      }),
    });
    expect(whole.status).toBe(404);
    expect(((await whole.json()) as any).errors[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'clusterId' });
  });

  it('mutations are never coalesced: two identical createCluster calls make two clusters', async () => {
    const input = { name: 'twice', instanceGroups: [MASTER], keepAliveWhenNoSteps: false };
    const [a, b] = await Promise.all([server.data(CREATE_CLUSTER, { input }), server.data(CREATE_CLUSTER, { input })]);
    expect(a.createCluster.cluster.id).not.toBe(b.createCluster.cluster.id);
  });
});

describe('concurrent distinct queries', () => {
  // they share their statements (what one turn of the event loop asks for is read at once): each
  // must still get exactly its own answer, as when asked alone
  const NESTED_FIELDS = `id name state instanceGroups { id role } instances { id role state } steps(first: 1) { edges { node { name } } }`;

  it('a cluster by id each: the same answers as one at a time', async () => {
    const { clusters } = await server.data(`{ clusters(first: 6, filter: { nameContains: "read-" }) { edges { node { id } } } }`);
    const ids: string[] = clusters.edges.map((e: any) => e.node.id);
    expect(ids).toHaveLength(6);
    const one = (id: string) => server.data(`query($id: ID!) { cluster(id: $id) { ${NESTED_FIELDS} } }`, { id });
    const alone = [];
    for (const id of ids) alone.push(await one(id));
    const together = await Promise.all([...ids, 'j-missing'].map(one));
    expect(together.slice(0, 6)).toEqual(alone);
    expect(together[6]!.cluster).toBeNull();
  });

  it('pages after different cursors and with different filters: the same pages as one at a time', async () => {
    const PAGE = `query($first: Int, $after: String, $name: String) {
      clusters(first: $first, after: $after, filter: { nameContains: $name }) { edges { cursor node { ${NESTED_FIELDS} } } pageInfo { hasNextPage } } }`;
    const first = await server.data(PAGE, { first: 6, name: 'read-' });
    const cursors: string[] = first.clusters.edges.map((e: any) => e.cursor);
    const asks = [
      ...cursors.map((after) => ({ first: 2, after, name: 'read-' })),
      { first: 3, after: null, name: 'read-' },
      { first: 2, after: cursors[1], name: 'read-1' },
      { first: 1, after: cursors[0], name: 'read-' },
    ];
    const alone = [];
    for (const v of asks) alone.push(await server.data(PAGE, v));
    expect(await Promise.all(asks.map((v) => server.data(PAGE, v)))).toEqual(alone);
    expect(alone[0].clusters.edges.map((e: any) => e.cursor)).toEqual(cursors.slice(1, 3));
  });
});

describe('paging', () => {
  it('lists every cluster exactly once, page after page, however close their creation times', async () => {
    // all created in the same microsecond-precise instant (as rows written in one transaction are):
    // a cursor carries that time through a JavaScript Date, to the millisecond
    const admin = postgres(server.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      await admin`update clusters set created_at = '2026-12-01 10:00:00.123456+00'`;
    } finally {
      await admin.end();
    }
    const all = await server.data(`{ clusters(first: 100) { edges { node { id } } } }`);
    const expected = all.clusters.edges.map((e: any) => e.node.id);
    expect(expected.length).toBeGreaterThanOrEqual(6);
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page <= expected.length; page++) {
      const { clusters }: any = await server.data(
        `query($after: String) { clusters(first: 2, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage } } }`,
        { after },
      );
      seen.push(...clusters.edges.map((e: any) => e.node.id));
      if (!clusters.pageInfo.hasNextPage) break;
      after = clusters.edges.at(-1).cursor;
    }
    expect(seen).toEqual(expected);
  });
});
