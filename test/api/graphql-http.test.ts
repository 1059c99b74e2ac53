// GraphQL over HTTP at /graphql (src/platform/server/graphql-over-http.ts): the protocol's edges
// that clients written elsewhere rely on (Apollo's CSRF rule, GET, content negotiation, compressed
// bodies, operation names), statuses, a client library we did not write, and a graceful stop.
import { gzipSync } from 'node:zlib';
import { Client, cacheExchange, fetchExchange, gql } from 'urql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const QUERY = '{ instanceTypes { name } }';

async function send(path: string, init: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${server.url}${path}`, { ...init, headers: { authorization: `Bearer ${server.key}`, ...init.headers } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: JSON.parse(text) };
}
const post = (body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  send('/graphql', { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers });
const codeOf = (res: { json: any }) => res.json.errors?.[0]?.extensions?.code;

describe('requests', () => {
  it('answers JSON by default, and application/graphql-response+json to a client that prefers it', async () => {
    const plain = await post({ query: QUERY });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(plain.json.data.instanceTypes.length).toBeGreaterThan(0);
    const spec = await post({ query: QUERY }, { 'content-type': 'application/json', accept: 'application/graphql-response+json' });
    expect(spec.headers.get('content-type')).toBe('application/graphql-response+json; charset=utf-8');
    expect(spec.json).toEqual(plain.json);
    const neither = await post({ query: QUERY }, { 'content-type': 'application/json', accept: 'text/html' });
    expect(neither.status).toBe(406);
    expect(codeOf(neither)).toBe('BAD_USER_INPUT');
  });

  it('echoes a well-formed x-request-id and makes one up otherwise', async () => {
    expect(
      (await post({ query: QUERY }, { 'content-type': 'application/json', 'x-request-id': 'trace.1-a' })).headers.get('x-request-id'),
    ).toBe('trace.1-a');
    expect(
      (await post({ query: QUERY }, { 'content-type': 'application/json', 'x-request-id': 'a b' })).headers.get('x-request-id'),
    ).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('reads a gzip-compressed body; refuses an unknown content encoding', async () => {
    const body = gzipSync(JSON.stringify({ query: QUERY }));
    const res = await send('/graphql', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    });
    expect(res.status).toBe(200);
    expect(res.json.data.instanceTypes.length).toBeGreaterThan(0);
    const odd = await send('/graphql', {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json', 'content-encoding': 'zz' },
    });
    expect(odd.status).toBe(415);
  });

  it('reads a body as UTF-8: raw multi-byte text, \\u escapes and a stray Latin-1 byte', async () => {
    const text = 'é 中 😀';
    const echoed = async (body: Buffer) => {
      const res = await send('/graphql', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(400);
      expect(codeOf(res)).toBe('BAD_USER_INPUT');
      // the error quotes the variable's value as the server read it
      return /got invalid value "(.*?)";/u.exec(res.json.errors[0].message)?.[1];
    };
    const raw = Buffer.from(
      JSON.stringify({ query: 'query($n: Int) { clusters(first: $n) { edges { cursor } } }', variables: { n: text } }),
    );
    expect(raw.some((b) => b > 0x7f)).toBe(true);
    expect(await echoed(raw)).toBe(text);
    // every UTF-16 unit past ASCII as \uXXXX (the emoji as its two surrogates)
    const escaped = raw.toString('utf8').replace(/[\u0080-\uffff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
    expect(Buffer.from(escaped).every((b) => b <= 0x7f)).toBe(true);
    expect(await echoed(Buffer.from(escaped))).toBe(text);
    // 0xE9 is "é" in Latin-1 and no UTF-8 at all: it reads as the replacement character
    const latin1 = Buffer.from(
      JSON.stringify({ query: 'query($n: Int) { clusters(first: $n) { edges { cursor } } }', variables: { n: 'é' } }),
      'latin1',
    );
    expect(await echoed(latin1)).toBe('\uFFFD');
  });

  it('counts the decompressed bytes against the body limit: a small gzip bomb is 413, and the server still answers', async () => {
    // 64 MiB of spaces compress to about 64 KB: well under the limit on the wire, far over it inflated
    const bomb = gzipSync(Buffer.concat([Buffer.from('{"query":"{ __typename }"'), Buffer.alloc(64 << 20, 0x20), Buffer.from('}')]));
    expect(bomb.length).toBeLessThan(1 << 20);
    const res = await send('/graphql', {
      method: 'POST',
      body: bomb,
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    });
    expect(res.status).toBe(413);
    expect(res.json.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect((await post({ query: QUERY })).json.data.instanceTypes.length).toBeGreaterThan(0);
  });

  it('picks the operation named by operationName; an unknown name or several unnamed are BAD_USER_INPUT', async () => {
    const two = 'query A { __typename } query B { instanceTypes { name } }';
    const named = await post({ query: two, operationName: 'B' });
    expect(named.json.data.instanceTypes.length).toBeGreaterThan(0);
    for (const res of [await post({ query: two }), await post({ query: two, operationName: 'C' })]) {
      expect(res.status).toBe(400);
      expect(res.json.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'OPERATION_RESOLUTION_FAILURE' });
    }
  });

  it('refuses malformed request shapes with 400 BAD_USER_INPUT', async () => {
    for (const body of [
      [{ query: QUERY }],
      { query: QUERY, variables: '{}' },
      { query: QUERY, variables: [] },
      { query: QUERY, operationName: 5 },
      { query: QUERY, extensions: 'x' },
      { variables: {}, extensions: { persistedQuery: { version: 1, sha256Hash: 'ab' } } },
      '',
    ]) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(codeOf(res), res.text).toBe('BAD_USER_INPUT');
    }
  });

  it('variables of the wrong type are 400; a mutation that fails as a whole gets its error code`s status', async () => {
    const bad = await post({ query: 'query($f: Int) { clusters(first: $f) { edges { node { id } } } }', variables: { f: 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.json.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'f' });
    const missing = await post({ query: 'mutation { terminateClusters(input: { ids: ["j-nope"] }) { clusters { id } } }' });
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ data: null, errors: [{ extensions: { code: 'NOT_FOUND' } }] });
  });

  it('other methods are 405 naming GET and POST', async () => {
    const res = await send('/graphql', {
      method: 'PUT',
      body: JSON.stringify({ query: QUERY }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST');
  });
});

describe("Apollo Server's CSRF prevention", () => {
  it('a POST without a content type, or a simple one, needs a preflight header', async () => {
    const body = JSON.stringify({ query: QUERY });
    const bare = await send('/graphql', { method: 'POST', body: Buffer.from(body) });
    expect(bare.status).toBe(400);
    expect(bare.json.errors[0].message).toMatch(/Cross-Site Request Forgery/);
    // with the header it passes CSRF and is judged as a body that is not JSON
    const form = await send('/graphql', {
      method: 'POST',
      body: 'query=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'apollo-require-preflight': '1' },
    });
    expect(form.status).toBe(400);
    expect(form.json.errors[0].message).toMatch(/POST body missing/);
  });

  it('a GET needs a preflight header; with one a query runs, with its variables', async () => {
    const q = encodeURIComponent('query($f: Int) { clusters(first: $f) { edges { node { id } } } }');
    const vars = encodeURIComponent('{"f":1}');
    expect((await send(`/graphql?query=${q}&variables=${vars}`)).status).toBe(400);
    const res = await send(`/graphql?query=${q}&variables=${vars}`, { headers: { 'x-apollo-operation-name': 'x' } });
    expect(res.status).toBe(200);
    expect(res.json.data.clusters.edges).toBeInstanceOf(Array);
    const twice = await send(`/graphql?query=${q}&query=${q}`, { headers: { 'apollo-require-preflight': '1' } });
    expect(twice.status).toBe(400);
    const badVars = await send(`/graphql?query=${q}&variables=nope`, { headers: { 'apollo-require-preflight': '1' } });
    expect(badVars.status).toBe(400);
  });
});

describe('introspection switched off', () => {
  let closed: TestServer;
  beforeAll(async () => {
    closed = await startTestServer({ introspection: false, databaseUrl: server.databaseUrl });
  });
  afterAll(async () => {
    await closed?.close();
  });

  it('refuses __schema and __type with one error, and still answers __typename', async () => {
    for (const query of ['{ __schema { queryType { name } types { name } } }', '{ __type(name: "Query") { name } }']) {
      const res = await fetch(`${closed.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${closed.key}` },
        body: JSON.stringify({ query }),
      });
      const json = (await res.json()) as any;
      expect(res.status).toBe(400);
      expect(json.errors).toHaveLength(1);
      expect(json.errors[0].message).toMatch(/introspection has been disabled/);
    }
    expect(await closed.data('{ __typename }')).toEqual({ __typename: 'Query' });
  });
});

describe('a client library we did not write (urql, over fetch)', () => {
  it('reads data and gets coded errors', async () => {
    const client = new Client({
      url: `${server.url}/graphql`,
      exchanges: [cacheExchange, fetchExchange],
      fetchOptions: { headers: { authorization: `Bearer ${server.key}` } },
      preferGetMethod: false,
    });
    const ok = await client.query(gql(QUERY), {}).toPromise();
    expect(ok.error).toBeUndefined();
    expect(ok.data.instanceTypes.length).toBeGreaterThan(0);
    // a GET with no body has no content type: Apollo's CSRF rule wants the preflight header
    const viaGet = await client
      .query(
        gql('{ clusters(first: 1) { edges { node { id } } } }'),
        {},
        {
          preferGetMethod: 'force',
          fetchOptions: { headers: { authorization: `Bearer ${server.key}`, 'apollo-require-preflight': 'true' } },
        },
      )
      .toPromise();
    expect(viaGet.error).toBeUndefined();
    const failed = await client
      .mutation(gql('mutation($ids: [ID!]!) { terminateClusters(input: { ids: $ids }) { clusters { id } } }'), { ids: ['j-nope'] })
      .toPromise();
    expect(failed.error?.graphQLErrors[0]?.extensions.code).toBe('NOT_FOUND');
  });
});

describe('stopping the server', () => {
  it('lets a request in flight finish, then refuses new connections', async () => {
    // the request is in flight once the server sends its statement (apiKeys: `order by created_at, id`)
    let sent: () => void;
    const statementSent = new Promise<void>((resolve) => (sent = resolve));
    const own = await startTestServer(
      { databaseUrl: server.databaseUrl },
      {
        onQuery: (query) => {
          if (/from api_keys order by/.test(query)) sent();
        },
      },
    );
    const inFlight = fetch(`${own.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${own.key}` },
      body: JSON.stringify({ query: '{ apiKeys { id } }' }),
    });
    await statementSent;
    await own.close();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).data.apiKeys.length).toBeGreaterThan(0);
    await expect(fetch(`${own.url}/graphql`, { method: 'POST' })).rejects.toThrow();
  });
});
