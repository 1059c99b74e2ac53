import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, MASTER } from '../support/api.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
// the default body limit, 2 MiB
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

interface Raw {
  status: number;
  contentType: string;
  text: string;
  json: any;
}

/** Sends exactly these bytes; the JSON is parsed from the raw text so the text itself can be checked. */
async function send(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Raw> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.key}`, ...headers },
    body,
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* checked by the caller */
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, json };
}

const postJson = (payload: unknown, headers: Record<string, string> = {}) =>
  send('POST', '/graphql', JSON.stringify(payload), { 'content-type': 'application/json', ...headers });

/** An error response: JSON, the given code, and no stack trace anywhere in the raw text. */
function expectErrorResponse(res: Raw, status: number, code: string) {
  expect(res.json, res.text).not.toBeNull();
  expect(res.status, res.text).toBe(status);
  expect(res.contentType).toMatch(/^application\/json/);
  expect(res.json.errors?.[0]?.extensions?.code, res.text).toBe(code);
  expect(res.text).not.toMatch(/stacktrace/i);
  expect(res.text).not.toContain('    at ');
  expect(res.text).not.toMatch(/\.(ts|js):\d+/);
}

/**
 * Runs one operation over graphql-ws and returns its first result or its errors. A closed socket
 * comes back as an error without a code. The raw result must never carry a stack trace.
 */
async function wsOnce(
  query: string,
  shared?: Client,
): Promise<{ data?: any; errors?: Array<{ message: string; extensions?: any }>; raw: string }> {
  const client = shared ?? server.ws();
  try {
    const result = await new Promise<any>((resolve) => {
      const unsubscribe = client.subscribe(
        { query },
        {
          next: (v) => {
            unsubscribe();
            resolve(v);
          },
          error: (e) =>
            resolve({
              errors: Array.isArray(e) ? e : [{ message: String((e as any)?.reason ?? e), extensions: { closeCode: (e as any)?.code } }],
            }),
          complete: () => resolve({ errors: [{ message: 'completed without a result' }] }),
        },
      );
    });
    const raw = JSON.stringify(result);
    expect(raw).not.toMatch(/stacktrace/i);
    expect(raw).not.toContain('    at ');
    return { ...result, raw };
  } finally {
    if (!shared) await client.dispose();
  }
}

const CREATE = `mutation($input: CreateClusterInput!) { createCluster(input: $input) { cluster { id } } }`;

async function clusterCount(): Promise<number> {
  const { clusters } = await server.data(`{ clusters(first: 100) { edges { node { id } } } }`);
  return clusters.edges.length;
}

describe('malformed requests', () => {
  it('a body that is not JSON is 400 BAD_USER_INPUT', async () => {
    const res = await send('POST', '/graphql', '{"query": "{ clusters { edges { node { id } } } }"', {
      'content-type': 'application/json',
    });
    expectErrorResponse(res, 400, 'BAD_USER_INPUT');
    expect(res.json.data).toBeUndefined();
  });

  it('a GraphQL syntax error is BAD_USER_INPUT', async () => {
    const res = await postJson({ query: '{ clusters { edges { node { id } }' });
    expectErrorResponse(res, 400, 'BAD_USER_INPUT');
    expect(res.json.errors[0].message).toMatch(/Syntax Error/);
  });

  it('an unknown field is BAD_USER_INPUT', async () => {
    const res = await postJson({ query: '{ clusters { edges { node { id passwordHash } } } }' });
    expectErrorResponse(res, 400, 'BAD_USER_INPUT');
    expect(res.json.errors[0].message).toContain('passwordHash');
  });

  it('a request without a query is BAD_USER_INPUT', async () => {
    expectErrorResponse(await postJson({ variables: {} }), 400, 'BAD_USER_INPUT');
    expectErrorResponse(await postJson({ query: 42 }), 400, 'BAD_USER_INPUT');
  });

  it('a body over 2 MB is 413 PAYLOAD_TOO_LARGE, and nothing runs', async () => {
    const before = await clusterCount();
    const big = 'x'.repeat(2 * 1024 * 1024 + 1024);
    const res = await postJson({
      query: CREATE,
      variables: { input: { name: 'too-big', instanceGroups: [MASTER], steps: [{ name: 's', command: { args: ['echo', big] } }] } },
    });
    expectErrorResponse(res, 413, 'PAYLOAD_TOO_LARGE');
    expect(await clusterCount()).toBe(before);
  });

  it('a body just under the limit is read (and then judged on its content)', async () => {
    const res = await postJson({
      query: '{ clusters(first: 1) { edges { node { id } } } }',
      variables: { padding: 'x'.repeat(1024 * 1024) },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json.errors).toBeUndefined();
  });
});

describe('query limits', () => {
  // clusters edges node steps edges node cluster steps edges node cluster steps edges node id: depth 15
  const tooDeep = `{ clusters(first: 1) { edges { node { steps(first: 1) { edges { node { cluster { steps(first: 1) { edges { node {
    cluster { steps(first: 1) { edges { node { id } } } } } } } } } } } } } } }`;

  it('a query nested deeper than 12 levels is refused before it runs', async () => {
    const res = await postJson({ query: tooDeep });
    expectErrorResponse(res, 400, 'BAD_USER_INPUT');
    expect(res.json.errors[0].message).toMatch(/depth/i);
    expect(res.json.data).toBeUndefined();
  });

  it('depth counts through fragments', async () => {
    const query = `query { step(id: "s-x") { ...A } }
      fragment A on Step { cluster { steps(first: 1) { edges { node { ...B } } } } }
      fragment B on Step { cluster { steps(first: 1) { edges { node { ...C } } } } }
      fragment C on Step { cluster { steps(first: 1) { edges { node { id } } } } }`;
    const res = await postJson({ query });
    expectErrorResponse(res, 400, 'BAD_USER_INPUT');
    expect(res.json.errors[0].message).toMatch(/depth/i);
  });

  it('a query of depth 12 is allowed', async () => {
    const query = `{ clusters(first: 1) { edges { node { steps(first: 1) { edges { node { cluster { steps(first: 1) { edges { node {
      cluster { id } } } } } } } } } } } }`;
    const res = await postJson({ query });
    expect(res.status, res.text).toBe(200);
    expect(res.json.errors).toBeUndefined();
  });

  it('a query that could touch too many objects is refused for complexity', async () => {
    const query = `{ clusters(first: 100) { edges { node { steps(first: 100) { edges { node {
      logs(first: 100) { edges { node { text } } } } } } } } } }`;
    const res = await postJson({ query });
    expectErrorResponse(res, 400, 'BAD_USER_INPUT');
    expect(res.json.errors[0].message).toMatch(/complexity/i);
    expect(res.json.data).toBeUndefined();
  });

  it('complexity assumes the largest page for a `first` given as a variable', async () => {
    const query = `query($n: Int) { clusters(first: $n) { edges { node { steps(first: $n) { edges { node {
      logs(first: $n) { edges { node { text } } } } } } } } } }`;
    const res = await postJson({ query, variables: { n: 1 } });
    expectErrorResponse(res, 400, 'BAD_USER_INPUT');
    expect(res.json.errors[0].message).toMatch(/complexity/i);
  });

  it('the limits apply over WebSocket too', async () => {
    const result = await wsOnce(tooDeep);
    expectError(result, 'BAD_USER_INPUT');
    expect(result.errors![0]!.message).toMatch(/depth/i);
  });
});

describe('malformed operations over WebSocket', () => {
  it('an unknown field is BAD_USER_INPUT', async () => {
    const result = await wsOnce('subscription { clusterEvents(clusterId: "j-x") { nope } }');
    expectError(result, 'BAD_USER_INPUT');
    expect(result.errors![0]!.message).toContain('nope');
  });

  it('a variable of the wrong type is BAD_USER_INPUT naming the variable', async () => {
    const client = server.ws();
    try {
      const result = await new Promise<any>((resolve) => {
        client.subscribe(
          {
            query: 'subscription($id: ID!, $after: String) { clusterEvents(clusterId: $id, after: $after) { cursor } }',
            variables: { id: 'j-x', after: { not: 'a string' } },
          },
          {
            next: (v) => resolve(v),
            error: (e) => resolve({ errors: e }),
            complete: () => resolve({ errors: [{ message: 'completed without a result' }] }),
          },
        );
      });
      expectError(result, 'BAD_USER_INPUT', 'after');
    } finally {
      await client.dispose();
    }
  });

  it('a syntax error is BAD_USER_INPUT and the connection stays usable', async () => {
    const client = server.ws();
    try {
      const result = await wsOnce('subscription { clusterEvents(clusterId: "j-x") {', client);
      expectError(result, 'BAD_USER_INPUT');
      // the same connection still serves a good operation
      const ok = await wsOnce('{ instanceTypes { name } }', client);
      expect(ok.errors, JSON.stringify(ok)).toBeUndefined();
      expect(ok.data.instanceTypes.length).toBeGreaterThan(0);
    } finally {
      await client.dispose();
    }
  });
});

describe('routes and CSRF', () => {
  it('an unknown route is a 404 JSON error', async () => {
    const res = await send('GET', '/nope');
    expectErrorResponse(res, 404, 'NOT_FOUND');
    const post = await send('POST', '/nope', '{}', { 'content-type': 'application/json' });
    expectErrorResponse(post, 404, 'NOT_FOUND');
  });

  it('a text/plain POST (a "simple" cross-site request) is refused and runs nothing', async () => {
    const before = await clusterCount();
    const body = JSON.stringify({ query: CREATE, variables: { input: { name: 'csrf', instanceGroups: [MASTER] } } });
    const res = await send('POST', '/graphql', body, { 'content-type': 'text/plain' });
    expectErrorResponse(res, 400, 'BAD_USER_INPUT');
    expect(res.json.errors[0].message).toMatch(/Cross-Site Request Forgery/);
    expect(res.json.data).toBeUndefined();
    expect(await clusterCount()).toBe(before);
  });

  it('a mutation over GET is refused and runs nothing', async () => {
    const before = await clusterCount();
    const query = encodeURIComponent(
      `mutation { createCluster(input: { name: "via-get", instanceGroups: [{ role: MASTER, instanceType: "m5.large", count: 1 }] }) { cluster { id } } }`,
    );
    const res = await send('GET', `/graphql?query=${query}`, undefined, { 'apollo-require-preflight': 'true' });
    expectErrorResponse(res, 405, 'BAD_USER_INPUT');
    expect(res.json.data).toBeUndefined();
    expect(await clusterCount()).toBe(before);
  });
});
