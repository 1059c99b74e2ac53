import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/platform/db/client.js';
import { createEndedCluster } from '../support/api.js';
import { startTestServer, type TestServer } from '../support/server.js';

// The nested cluster reads are planned once per connection for any values (Platform.sqlPlannedOnce):
// their plan must then be the one that reads only a page's rows however large the tables are. A plan
// made without the values sees no LIMIT's value and expects a tenth of the table: with the page size
// a parameter, a page of 20,000 clusters was read by hash joins over every group, node and step.
let server: TestServer;
let db: postgres.Sql;
const statements: string[] = [];
let capturing = false;
const COPIES = 10_000;

beforeAll(async () => {
  server = await startTestServer(
    {},
    {
      onQuery: (q) => {
        if (capturing) statements.push(q);
      },
    },
  );
  db = postgres(server.databaseUrl, { max: 1, onnotice: () => {} });
  for (let i = 0; i < 2; i++) await createEndedCluster(server, `plans-${i}`, ['a', 'b']);
  // 20,000 ended clusters like those two (each copy a minute older), with their groups, nodes and steps
  const copies = async (table: string, changes: string) => {
    await db.unsafe(`insert into ${table} select r.*
      from ${table} t, generate_series(1, ${COPIES}) n, jsonb_populate_record(null::${table}, to_jsonb(t) || ${changes}) r`);
  };
  await copies(
    'clusters',
    `jsonb_build_object('id', t.id || '-' || n, 'client_token', null, 'created_at', t.created_at - n * interval '1 minute')`,
  );
  await copies('instance_groups', `jsonb_build_object('id', t.id || '-' || n, 'cluster_id', t.cluster_id || '-' || n)`);
  await copies(
    'instances',
    `jsonb_build_object('id', t.id || '-' || n, 'cluster_id', t.cluster_id || '-' || n, 'group_id', t.group_id || '-' || n)`,
  );
  await copies(
    'steps',
    `jsonb_build_object('id', t.id || '-' || n, 'cluster_id', t.cluster_id || '-' || n, 'log_stream_id', t.log_stream_id || '-' || n)`,
  );
  await db`analyze clusters, instance_groups, instances, steps`;
}, 120_000);
afterAll(async () => {
  await db?.end();
  await server?.close();
});

const NESTED = `id name instanceGroups { id role } instances { id state } steps(first: 1) { edges { node { name } } }`;

/** What the server sent to read `query`'s clusters (the statements from the clusters table only). */
async function readFor(query: string, variables: Record<string, unknown>): Promise<{ sent: string[]; data: any }> {
  statements.length = 0;
  capturing = true;
  const data = await server.data(query, variables);
  capturing = false;
  return { sent: statements.filter((s) => /from clusters c\b|from clusters\s*where \(created_at, id\)/.test(s)), data };
}

/** Every table a plan reads with a sequential scan. */
function seqScans(plan: any): string[] {
  return [...(plan['Node Type'] === 'Seq Scan' ? [plan['Relation Name']] : []), ...(plan.Plans ?? []).flatMap((p: any) => seqScans(p))];
}

describe('nested reads over 20,000 clusters', () => {
  it('a page after a cursor, alone and beside another: the right rows, by a plan made once that reads only the pages', async () => {
    const ids = (await db`select id from clusters order by created_at desc, id desc`).map((r) => r.id as string);
    expect(ids).toHaveLength(2 * (COPIES + 1));
    const cursors = await server.data(`{ clusters(first: 9) { edges { cursor } } }`);
    const cursor = (i: number) => cursors.clusters.edges[i].cursor;
    const page = (alias: string, after: string) => `${alias}: clusters(first: 5, after: "${after}") { edges { node { ${NESTED} } } }`;
    const expectPage = (edges: any[], from: number) => {
      expect(edges.map((e: any) => e.node.id)).toEqual(ids.slice(from, from + 5));
      for (const { node } of edges) {
        expect(node.instanceGroups.map((g: any) => g.role)).toEqual(['MASTER', 'CORE']);
        expect(node.instances).toHaveLength(2);
        expect(node.steps.edges.map((e: any) => e.node.name)).toEqual(['b']);
      }
    };
    // one page, and two read by one statement (the loader's batch): each plan reads only its pages
    const alone = await readFor(`{ ${page('a', cursor(2))} }`, {});
    expectPage(alone.data.a.edges, 3);
    const beside = await readFor(`{ ${page('a', cursor(2))} ${page('b', cursor(8))} }`, {});
    expectPage(beside.data.a.edges, 3);
    expectPage(beside.data.b.edges, 9);
    for (const sent of [alone.sent, beside.sent]) {
      expect(sent, sent.join('\n----\n')).toHaveLength(1);
      const [{ 'QUERY PLAN': plan }] = await db.unsafe(`explain (generic_plan, format json) ${sent[0]}`);
      expect(seqScans(plan[0].Plan)).toEqual([]);
      // the page's size is part of the statement's text, not a parameter (see above)
      expect(sent[0]).toMatch(/limit 6\b/);
    }
  });

  it('clusters by id, one and two: the same', async () => {
    const [first, second] = (await db`select id from clusters order by created_at limit 2`).map((r) => `${r.id}`);
    const one = await readFor(`query($id: ID!) { cluster(id: $id) { ${NESTED} } }`, { id: first });
    expect(one.data.cluster.id).toBe(first);
    expect(one.data.cluster.instances).toHaveLength(2);
    const two = await readFor(`query($a: ID!, $b: ID!) { a: cluster(id: $a) { ${NESTED} } b: cluster(id: $b) { ${NESTED} } }`, {
      a: first,
      b: second,
    });
    expect([two.data.a, two.data.b]).toEqual([one.data.cluster, expect.objectContaining({ id: second })]);
    expect(two.data.b.instanceGroups.map((g: any) => g.role)).toEqual(['MASTER', 'CORE']);
    for (const sent of [one.sent, two.sent]) {
      expect(sent, sent.join('\n----\n')).toHaveLength(1);
      const [{ 'QUERY PLAN': plan }] = await db.unsafe(`explain (generic_plan, format json) ${sent[0]}`);
      expect(seqScans(plan[0].Plan)).toEqual([]);
    }
  });

  it('are read on the connections that plan once', async () => {
    const { sent } = await readFor(`query($id: ID!) { cluster(id: $id) { ${NESTED} } }`, {
      id: `${(await db`select id from clusters limit 1`)[0]!.id}`,
    });
    // the session that ran it last: its server's pool made with plan_cache_mode force_generic_plan
    // (its text as far as Postgres keeps it: track_activity_query_size)
    const sessions = await db`select application_name from pg_stat_activity
      where length(query) > 500 and starts_with(${sent[0]!}, query) and pid <> pg_backend_pid()`;
    expect(sessions.map((s) => s.application_name)).toEqual([expect.stringMatching(/^srv-[0-9a-f]+-planned-once$/)]);
    const plannedOnce = connect(server.databaseUrl, { max: 1, planOnce: true });
    try {
      expect(await plannedOnce`show plan_cache_mode`).toEqual([{ planCacheMode: 'force_generic_plan' }]);
    } finally {
      await plannedOnce.end();
    }
  });
});
