// The API edge: standard tooling (introspection), hostile documents refused before they cost
// anything, client mistakes never INTERNAL, INTERNAL errors carry the request id.
import { buildClientSchema, getIntrospectionQuery, printSchema } from 'graphql';
import type { Client } from 'graphql-ws';
import pino from 'pino';
import postgres from 'postgres';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../support/api.js';
import { CREATE_FUNCTION } from '../support/functions.js';
import { deepJsonText, HOSTILE_REQUESTS, payloadText } from '../support/hostile-documents.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
// the server's log lines, to check what INTERNAL errors log
const logLines: Array<Record<string, any>> = [];
beforeAll(async () => {
  const log = pino(
    { level: 'warn' },
    {
      write: (line: string) => {
        logLines.push(JSON.parse(line));
      },
    },
  );
  server = await startTestServer({}, {}, log);
});
afterAll(async () => {
  await server?.close();
});

const FULL_INTROSPECTION = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
  oneOf: true,
});

async function post(body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.key}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text), requestId: res.headers.get('x-request-id') };
}

/** One operation over a fresh (or given) graphql-ws client: its first result, or its errors. */
async function wsOnce(query: string, variables?: Record<string, unknown>, client?: Client): Promise<{ data?: any; errors?: any[] }> {
  const c = client ?? server.ws();
  try {
    return await new Promise((resolve) => {
      c.subscribe(
        { query, variables },
        {
          next: (v) => resolve(v as any),
          error: (e) => resolve({ errors: Array.isArray(e) ? e : [e] }),
          complete: () => resolve({ errors: [{ message: 'completed without a result' }] }),
        },
      );
    });
  } finally {
    if (!client) await c.dispose();
  }
}

/** A graphql-ws `subscribe` message written by hand (its payload as JSON text) on a raw socket: the first result or error message. */
async function wsRaw(payloadJson: string): Promise<{ type: string; payload: any }> {
  const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  try {
    const messages: Array<{ type: string; payload: any }> = [];
    let wake = () => {};
    socket.on('message', (data) => {
      messages.push(JSON.parse(String(data)));
      wake();
    });
    const next = async (type: string) => {
      while (!messages.some((m) => m.type === type))
        await new Promise<void>((r) => {
          wake = r;
        });
      return messages.find((m) => m.type === type)!;
    };
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${server.key}` } }));
    await next('connection_ack');
    socket.send(`{"id":"1","type":"subscribe","payload":${payloadJson}}`);
    await Promise.race([next('next'), next('error')]);
    return messages.find((m) => m.type === 'next' || m.type === 'error')!;
  } finally {
    socket.close();
  }
}

describe('standard tooling', () => {
  it('graphql-js getIntrospectionQuery() with every option works over HTTP, and its result builds a client schema', async () => {
    const res = await post({ query: FULL_INTROSPECTION });
    expect(res.status, res.text.slice(0, 500)).toBe(200);
    expect(res.json.errors).toBeUndefined();
    const schema = buildClientSchema(res.json.data);
    expect(schema.getQueryType()?.getFields().clusters).toBeDefined();
    expect(printSchema(schema)).toContain('type Subscription');
  });

  it('and over WebSocket', async () => {
    const result = await wsOnce(FULL_INTROSPECTION);
    expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    expect(result.data.__schema.types.length).toBeGreaterThan(100);
  });
});

describe('hostile documents are refused before they run', () => {
  for (const hostile of HOSTILE_REQUESTS) {
    it(`${hostile.name}: BAD_USER_INPUT over HTTP and WebSocket`, async () => {
      const res = await post(payloadText(hostile));
      expect(res.status, res.text.slice(0, 500)).toBe(400);
      expectError(res.json, 'BAD_USER_INPUT');
      expect(res.json.errors[0].message).toMatch(hostile.refusal);
      expect(res.json.data).toBeUndefined();
      const ws = await wsRaw(payloadText(hostile));
      const errors = ws.type === 'error' ? ws.payload : ws.payload.errors;
      expectError({ errors }, 'BAD_USER_INPUT');
      expect(errors[0].message).toMatch(hostile.refusal);
    });
  }

  it('the variable nested too deep is named by its path', async () => {
    const res = await post(payloadText(HOSTILE_REQUESTS.find((h) => h.variablesJson)!));
    expect(res.json.errors[0].extensions.field).toMatch(/^p(\.0)+$/);
  });

  it('a body over the 2 MiB limit is 413 PAYLOAD_TOO_LARGE, pointing large function code to the objects route', async () => {
    const res = await post({ query: '{ __typename }', variables: { code: 'x'.repeat(2 * 1024 * 1024) } });
    expect(res.status).toBe(413);
    expectError(res.json, 'PAYLOAD_TOO_LARGE');
    expect(res.json.errors[0].message).toMatch(/s3Uri/);
  });

  it('a WebSocket message over the 2 MiB limit closes that socket with 1009 (message too big)', async () => {
    const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    socket.send(
      JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${server.key}`, pad: 'x'.repeat(2 * 1024 * 1024) } }),
    );
    expect(await closed).toBe(1009);
  });
});

describe('client mistakes are never INTERNAL', () => {
  it("a list variable with 200 invalid items (over graphql-js's 50-error limit) is BAD_USER_INPUT", async () => {
    const ids = Array.from({ length: 200 }, () => ({ not: 'an id' }));
    const res = await post({
      query: 'mutation($ids: [ID!]!) { terminateClusters(input: { ids: $ids }) { clusters { id } } }',
      variables: { ids },
    });
    expectError(res.json, 'BAD_USER_INPUT');
    const ws = await wsOnce('mutation($ids: [ID!]!) { terminateClusters(input: { ids: $ids }) { clusters { id } } }', { ids });
    expectError(ws, 'BAD_USER_INPUT');
  });

  it('a code file path of 65,536 bytes is BAD_USER_INPUT naming the file', async () => {
    const res = await post({
      query: CREATE_FUNCTION,
      variables: {
        input: {
          name: 'longpath',
          runtime: 'NODEJS20',
          handler: 'index.handler',
          code: { files: [{ path: 'a'.repeat(65_536), content: 'x' }] },
        },
      },
    });
    expectError(res.json, 'BAD_USER_INPUT', 'input.code.files.0.path');
  });

  it('an invocation payload nested 70 levels deep (past the JSON depth limit, under any stack limit) is BAD_USER_INPUT', async () => {
    const res = await post({
      query: 'mutation($p: JSON) { invokeFunction(input: { functionName: "nope", payload: $p }) { statusCode } }',
      variables: { p: JSON.parse(deepJsonText(70)) },
    });
    expectError(res.json, 'BAD_USER_INPUT');
    expect(res.json.errors[0].extensions.field).toMatch(/^p\.0/);
  });
});

describe('INTERNAL errors', () => {
  it('carry the request id in the message (the one in the x-request-id header)', async () => {
    // a real fault: the table the query reads is gone (then put back)
    const admin = postgres(server.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      await admin`alter table clusters rename to clusters_hidden`;
      const res = await post({ query: '{ clusters(first: 1) { edges { node { id } } } }' }, { 'x-request-id': 'edge-test-42' });
      expectError(res.json, 'INTERNAL');
      expect(res.requestId).toBe('edge-test-42');
      expect(res.json.errors[0].message).toContain('edge-test-42');
      expect(res.text).not.toContain('clusters_hidden');
      const mutation = await post(
        { query: 'mutation { terminateClusters(input: { ids: ["j-x"] }) { clusters { id } } }' },
        { 'x-request-id': 'edge-test-43' },
      );
      expectError(mutation.json, 'INTERNAL');
      expect(mutation.json.errors[0].message).toContain('edge-test-43');
      // over WebSocket the request id is <connection>/<operation>
      const ws = await wsOnce('{ clusters(first: 1) { edges { node { id } } } }');
      expectError(ws, 'INTERNAL');
      const wsId = /request id ([\w-]+\/[\w-]+)\)/.exec(ws.errors![0].message)?.[1];
      expect(wsId, ws.errors![0].message).toBeDefined();
      // each one's log line carries the same id, and the cause the client was not shown
      for (const id of ['edge-test-42', 'edge-test-43', wsId]) {
        const line = logLines.find((l) => l.level === 50 && l.requestId === id);
        expect(line, `a log line with requestId ${id}`).toBeDefined();
        expect(line!.err.message).toContain('clusters');
      }
    } finally {
      await admin`alter table clusters_hidden rename to clusters`;
      await admin.end();
    }
  });
});

describe('the GraphQL explorer', () => {
  it('GET /graphql from a browser is GraphiQL, its script and styles bundled by the server (nothing from a CDN)', async () => {
    const page = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<div id="graphiql">');
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(sources).toEqual(['/graphql/explorer/explorer.css', '/graphql/explorer/explorer.js']);
    const js = await fetch(`${server.url}/graphql/explorer/explorer.js`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    const code = await js.text();
    expect(code).toContain('graphql-transport-ws'); // graphql-ws is in the bundle, for subscriptions
    expect(code).not.toMatch(/https:\/\/(unpkg|cdn\.jsdelivr|embeddable-sandbox)/);
    const css = await fetch(`${server.url}/graphql/explorer/explorer.css`);
    expect(css.headers.get('content-type')).toMatch(/css/);
    expect((await css.text()).length).toBeGreaterThan(1000);
  });

  it('GraphQL over GET still reaches the API', async () => {
    const res = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { authorization: `Bearer ${server.key}`, 'apollo-require-preflight': 'true' },
    });
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('is off when EXPLORER is off (the production default)', async () => {
    const off = await startTestServer({ explorer: false });
    try {
      const page = await fetch(`${off.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(await page.text()).not.toContain('graphiql');
      const js = await fetch(`${off.url}/graphql/explorer/explorer.js`);
      expect(js.status).toBe(400); // a GraphQL request without a query, as Apollo sees it
      expect(js.headers.get('content-type')).not.toMatch(/javascript/);
    } finally {
      await off.close();
    }
  });
});

describe('per-key rate of expensive fields', () => {
  const PREVIEW = `query { sqlPreview(clusterId: "j-none", query: "SELECT 1") { truncated } }`;
  const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }`;
  const newKey = async (name: string) => (await server.data(CREATE_KEY, { input: { name, actions: ['*'] } })).createApiKey.key as string;

  it('sqlPreview: 10 calls at once per key, the 11th is THROTTLED with a retry time; another key is not affected; aliases count', async () => {
    const key = await newKey('rate-a');
    const other = await newKey('rate-b');
    for (let i = 0; i < 10; i++) expectError(await server.gql(PREVIEW, {}, key), 'NOT_FOUND');
    const throttled = await server.gql(PREVIEW, {}, key);
    expectError(throttled, 'THROTTLED');
    expect(throttled.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
    expectError(await server.gql(PREVIEW, {}, other), 'NOT_FOUND');
    // aliases each run the field: 11 in one document spend the whole burst and one more
    const aliased = await server.gql(
      `query { ${Array.from({ length: 11 }, (_, i) => `p${i}: sqlPreview(clusterId: "j-none", query: "SELECT 1") { truncated }`).join(' ')} }`,
      {},
      await newKey('rate-c'),
    );
    expect(aliased.errors!.map((e) => e.extensions!.code)).toContain('THROTTLED');
  });
});
