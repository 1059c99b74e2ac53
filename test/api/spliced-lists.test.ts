import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { createEndedCluster } from '../support/api.js';
import { startTestServer, type TestServer } from '../support/server.js';

// A page of clusters whose nested lists are plain columns answers with the JSON Postgres builds
// (src/clusters/graphql/spliced-lists.ts): the same answer as the executor's, field for field.
let server: TestServer;
let db: postgres.Sql;
const statements: string[] = [];
const made: string[] = [];
// strings JSON must escape, and text beyond ASCII
const ODD = 'quote " backslash \\ newline \n tab \t bell \u0007 line sep \u2028 é 中文 😀 </script>';

beforeAll(async () => {
  server = await startTestServer({}, { onQuery: (q) => statements.push(q) });
  db = postgres(server.databaseUrl, { max: 1 });
  for (let i = 0; i < 2; i++) made.push(await createEndedCluster(server, `spliced-${i}`, ['a']));
  // rows no API call makes: an ended cluster with no groups or nodes, and one whose strings need escaping and whose node has no pid
  await db`insert into clusters (id, name, state, applications, keep_alive, step_concurrency)
    values ('j-spliced-empty', 'empty', 'TERMINATED', '{}', false, 1), ('j-spliced-odd', ${ODD}, 'TERMINATED', '{}', false, 1)`;
  await db`insert into instance_groups (id, cluster_id, role, instance_type, requested_count, state)
    values ('ig-spliced-odd', 'j-spliced-odd', 'MASTER', ${ODD}, 1, 'TERMINATED')`;
  await db`insert into instances (id, cluster_id, group_id, role, instance_type, state, token_hash, host)
    values ('i-spliced-odd', 'j-spliced-odd', 'ig-spliced-odd', 'MASTER', ${ODD}, 'TERMINATED', '', ${ODD})`;
  // and a step with that name and a progress whose shortest decimal is long
  await db`insert into steps (id, cluster_id, name, kind, spec, action_on_failure, state, log_stream_id, progress)
    values ('s-spliced-odd', 'j-spliced-odd', ${ODD}, 'COMMAND', '{}', 'CONTINUE', 'CANCELLED', 'ls-spliced-odd', ${0.1 + 0.2})`;
  made.push('j-spliced-empty', 'j-spliced-odd');
});
afterAll(async () => {
  await db?.end();
  await server?.close();
});

/** The answer to `query`, the statements it sent that read spliced lists, and the raw body. */
async function answer(query: string, variables: Record<string, unknown> = {}) {
  statements.length = 0;
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.key}` },
    body: JSON.stringify({ query, variables: { ids: made, ...variables } }),
  });
  const body = await res.text();
  return { status: res.status, body: JSON.parse(body), spliced: statements.filter((s) => s.includes('as raw_list_')).length };
}

// response keys as long as a column's name in Postgres may be (63), and one longer (left to the executor)
const LONGEST = `k${'e'.repeat(61)}y`;
const TOO_LONG = `${LONGEST}s`;

// each with what it answers as sent: `@skip(if: false)` on edges (it means nothing) keeps the rewrite away
const DOCUMENTS: Record<string, string> = {
  'response keys of 63 characters': `query($ids: [ID!]) { clusters(first: 4, filter: { ids: $ids }) { edges @X { node { id
      instanceGroups { ${LONGEST}: id role } instances { ${LONGEST}: host }
      steps(first: 2) { ${LONGEST}: edges { ${LONGEST}: cursor node { ${LONGEST}: name } } } } } } }`,
  'the bench page': `query($ids: [ID!]) { clusters(first: 3, filter: { ids: $ids }) { edges @X { cursor node { id name state
      instanceGroups { id role instanceType state requestedCount }
      instances { id groupId role state pid host }
      steps(first: 5) { edges { node { id state progress } } } } } pageInfo { hasNextPage endCursor } } }`,
  'aliases, __typename, a list with a DateTime left to the executor': `query($ids: [ID!]) { page: clusters(first: 5, filter: { ids: $ids }) {
      e: edges @X { n: node { t: __typename i: id gs: instanceGroups { t: __typename k: id r: role n: requestedCount }
      nodes: instances { __typename pid host lastHeartbeatAt } again: instanceGroups { state } } } } }`,
  'pages of steps: aliases, cursors, __typename, a page after a cursor, and one with pageInfo left to the executor': `query($ids: [ID!], $n: Int, $s: String) {
      clusters(first: 4, filter: { ids: $ids }) { edges @X { node { id
      last: steps(first: $n) { t: __typename list: edges { c: cursor __typename n: node { __typename id name kind state progress exitCode pid logStreamId } } }
      older: steps(first: 2, after: $s) { edges { cursor node { id } } }
      paged: steps(first: 1) { edges { node { id } } pageInfo { hasNextPage endCursor } } } } } }`,
  'two root fields, one after a cursor': `query($ids: [ID!], $after: String) { a: clusters(first: 1, filter: { ids: $ids }) { edges @X { node { id instances { id host pid } } } }
      b: clusters(first: 2, after: $after, filter: { ids: $ids }) { edges @X { node { id instanceGroups { id instanceType } } } } }`,
};

describe('a page with nested lists of plain columns', () => {
  it('answers as the executor does: aliases, nulls, empty lists, escaped and unicode strings', async () => {
    const first = await answer(`query($ids: [ID!]) { clusters(first: 1, filter: { ids: $ids }) { edges { cursor } } }`);
    const after = first.body.data.clusters.edges[0].cursor;
    const steps = await answer(`query($ids: [ID!]) { clusters(filter: { ids: $ids }) { edges { node { steps { edges { cursor } } } } } }`);
    const cursors = steps.body.data.clusters.edges.flatMap((e: any) => e.node.steps.edges.map((s: any) => s.cursor));
    expect(cursors.length).toBeGreaterThan(1);
    for (const [name, document] of Object.entries(DOCUMENTS)) {
      const variables = { after, n: 3, s: cursors[0] };
      const spliced = await answer(document.replaceAll(' @X', ''), variables);
      const sent = await answer(document.replaceAll('@X', '@skip(if: false)'), variables);
      expect(spliced.spliced, name).toBeGreaterThan(0);
      expect(sent.spliced, name).toBe(0);
      expect(spliced.status, name).toBe(200);
      // the same keys in the same order, the same values
      expect(JSON.stringify(spliced.body), name).toBe(JSON.stringify(sent.body));
    }
    const { body } = await answer(DOCUMENTS['the bench page']!.replaceAll(' @X', ''));
    const byName = new Map(body.data.clusters.edges.map((e: any) => [e.node.name, e.node]));
    expect((byName.get('empty') as any).instanceGroups).toEqual([]);
    expect((byName.get(ODD) as any).instanceGroups[0].instanceType).toBe(ODD);
    expect((byName.get(ODD) as any).instances[0]).toMatchObject({ host: ODD, pid: null });
    expect((byName.get(ODD) as any).steps.edges[0].node.progress).toBe(0.1 + 0.2);
  });

  it('a value outside its enum fails the page as the executor fails it', async () => {
    await db`update instance_groups set state = 'ENDED' where id = 'ig-spliced-odd'`;
    try {
      const document = DOCUMENTS['the bench page']!;
      const rewritten = await answer(document.replaceAll(' @X', ''));
      const sent = await answer(document.replaceAll('@X', '@skip(if: false)'));
      expect(rewritten.spliced).toBeGreaterThan(0);
      for (const { body } of [rewritten, sent]) {
        expect(body.data).toBeNull();
        expect(body.errors[0].extensions.code).toBe('INTERNAL');
      }
    } finally {
      await db`update instance_groups set state = 'TERMINATED' where id = 'ig-spliced-odd'`;
    }
  });

  it('a page of steps with arguments its resolver refuses runs as sent, with the same error', async () => {
    const withVariables = `query($ids: [ID!], $n: Int, $s: String) { clusters(filter: { ids: $ids }) { edges @X { node { id steps(first: $n, after: $s) { edges { node { id } } } } } } }`;
    const literal = `query($ids: [ID!]) { clusters(filter: { ids: $ids }) { edges @X { node { id steps(first: 1000) { edges { node { id } } } } } } }`;
    for (const [document, variables] of [
      [withVariables, { n: 1000 }],
      [withVariables, { s: 'nope' }],
      [withVariables, { n: 'five' }],
      [literal, {}],
    ] as const) {
      const rewritten = await answer(document.replaceAll(' @X', ''), variables);
      const sent = await answer(document.replaceAll('@X', '@skip(if: false)'), variables);
      expect(rewritten.spliced).toBe(0);
      expect(rewritten.status).toBe(sent.status);
      // a client's mistake: a code of its own (not INTERNAL), the same code, message and path as the document as sent
      const [error] = rewritten.body.errors;
      expect(error.extensions.code).toMatch(/^(?!INTERNAL$)[A-Z_]+$/);
      expect(error.extensions.code).toBe(sent.body.errors[0].extensions.code);
      expect(error.message).toBe(sent.body.errors[0].message);
      expect(error.path).toEqual(sent.body.errors[0].path);
      expect(rewritten.body.data).toEqual(sent.body.data);
    }
  });

  it('leaves fragments, directives and arguments to the executor', async () => {
    for (const document of [
      `query($ids: [ID!]) { clusters(filter: { ids: $ids }) { edges { node { ...C } } } } fragment C on Cluster { instanceGroups { id } }`,
      `query($ids: [ID!]) { clusters(filter: { ids: $ids }) { edges { node { instanceGroups @include(if: true) { id } } } } }`,
      `query($ids: [ID!]) { clusters(filter: { ids: $ids }) { edges { node { instanceGroups { id ... on InstanceGroup { role } } } } } }`,
      `query($ids: [ID!]) { clusters(filter: { ids: $ids }) { edges { node { instanceGroups { id createdAt } } } } }`,
      `query($ids: [ID!]) { clusters(filter: { ids: $ids }) { edges { node { instanceGroups { ${TOO_LONG}: id } } } } }`,
    ]) {
      const { status, spliced, body } = await answer(document);
      expect(status, document).toBe(200);
      expect(spliced, document).toBe(0);
      expect(body.data.clusters.edges.length, document).toBe(made.length);
    }
    const { body } = await answer(
      `query($ids: [ID!]) { clusters(first: 1, filter: { ids: $ids }) { edges { node { instanceGroups { ${TOO_LONG}: id } } } } }`,
    );
    expect(Object.keys(body.data.clusters.edges[0].node.instanceGroups[0])).toEqual([TOO_LONG]);
  });

  it('a page that fails answers with the same error, at the same place', async () => {
    const document = `query($ids: [ID!]) { clusters(after: "nope", filter: { ids: $ids }) { edges @X { node { id instanceGroups { id role } } } } }`;
    const rewritten = await answer(document.replaceAll(' @X', ''));
    const sent = await answer(document.replaceAll('@X', '@skip(if: false)'));
    expect(rewritten.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(rewritten.status).toBe(sent.status);
    expect(
      JSON.stringify({
        ...rewritten.body,
        errors: rewritten.body.errors.map((e: any) => ({ ...e, extensions: { ...e.extensions, requestId: undefined } })),
      }),
    ).toBe(
      JSON.stringify({
        ...sent.body,
        errors: sent.body.errors.map((e: any) => ({ ...e, extensions: { ...e.extensions, requestId: undefined } })),
      }),
    );
  });
});
