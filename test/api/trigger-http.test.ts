// HTTP triggers through real HTTP and real Node functions: routes with {params} and {proxy+}, the
// API Gateway payload 2.0 event, response mapping (structured, plain values, binary, bad results,
// errors), body limits, auth NONE / API_KEY, CORS, function URLs, disabled and deleted triggers.
import fs from 'node:fs/promises';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../support/api.js';
import { checkAwsEvent } from '../support/aws-events.js';
import { deploy, DELETE_FUNCTION } from '../support/functions.js';
import { pidsWithEnvPrefix, sandboxedProcessesUnder, waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { CREATE_TRIGGER, DELETE_TRIGGER, deliveriesOf, SET_TRIGGER_ENABLED, UPDATE_TRIGGER } from '../support/triggers.js';

let server: TestServer;

// one function answers every route; ?mode= picks what it returns
const HANDLER = `
exports.handler = async (event) => {
  const mode = (event.queryStringParameters || {}).mode || 'echo';
  switch (mode) {
    case 'echo': return { statusCode: 200, headers: { 'content-type': 'application/json', 'x-route': event.routeKey }, body: JSON.stringify(event) };
    case 'plain': return { hello: 'world', n: 1 };
    case 'string': return 'Hello from Lambda!';
    case 'binary': return { statusCode: 200, headers: { 'content-type': 'application/octet-stream' }, isBase64Encoded: true,
      body: event.isBase64Encoded ? event.body : Buffer.from(event.body || '').toString('base64') };
    case 'full': return { statusCode: 201, headers: { 'x-one': 'a', 'access-control-allow-origin': 'https://ignored.example' },
      multiValueHeaders: { 'x-many': ['1', '2'] }, cookies: ['a=1; Path=/', 'b=2'], body: 'made' };
    case 'bad-status': return { statusCode: 'ok', body: 'x' };
    case 'interim': return { statusCode: 103, body: 'x' };
    case 'no-content': return { statusCode: 204, headers: { 'x-done': 'yes' }, body: 'dropped' };
    case 'bad-body': return { statusCode: 200, body: { not: 'a string' } };
    case 'bad-base64': return { statusCode: 200, body: '%%%', isBase64Encoded: true };
    case 'bad-headers': return { statusCode: 200, headers: { 'x-a': { nested: true } }, body: '' };
    case 'error': throw new Error('boom');
    case 'slow': await new Promise((r) => setTimeout(r, 5000)); return 'late';
  }
  return { statusCode: 400, body: 'unknown mode' };
};`;

// a custom runtime that answers with bytes that are not JSON
const NOT_JSON_BOOTSTRAP = `#!/bin/bash
set -euo pipefail
API="http://\${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  curl -sS -o /dev/null -LD "$HEADERS" "$API/invocation/next"
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  curl -sS -o /dev/null -X POST "$API/invocation/$REQUEST_ID/response" -d "this is not json"
done
`;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json: () => any;
}

/** A real HTTP request (node:http, so headers like Cookie and Origin go as given). */
function request(
  path: string,
  opts: { method?: string; headers?: Record<string, string | string[]>; body?: Buffer | string; base?: string } = {},
): Promise<Reply> {
  const url = new URL(`/http${path}`, opts.base ?? server.url);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, body, text: body.toString(), json: () => JSON.parse(body.toString()) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const createTrigger = async (input: Record<string, unknown>) => (await server.data(CREATE_TRIGGER, { input })).createTrigger.trigger;
const HTTP_FIELDS =
  'name enabled http { method path routeKey auth url functionUrl cors { allowOrigins allowMethods allowHeaders exposeHeaders maxAge allowCredentials } }';
const GET_HTTP = `query($name: String!) { trigger(name: $name) { ${HTTP_FIELDS} } }`;

/** Routes serve once every server has reloaded its table (NOTIFY): wait for this one's. */
async function route(input: Record<string, unknown>, probe: { path: string; method?: string; headers?: Record<string, string> }) {
  const t = await createTrigger(input);
  await waitUntil(
    async () => (await request(probe.path, { method: probe.method, headers: probe.headers })).status !== 404,
    `route ${input.name} to serve`,
    10_000,
  );
  return t;
}

beforeAll(async () => {
  server = await startTestServer();
  await deploy(server, {
    name: 'web',
    runtime: 'NODEJS20',
    handler: 'index.handler',
    code: { files: [{ path: 'index.js', content: HANDLER }] },
  });
  await route({ name: 'items-get', functionName: 'web', http: { method: 'GET', path: '/items/{id}' } }, { path: '/items/1' });
  await route(
    { name: 'items-any', functionName: 'web', http: { method: 'ANY', path: '/items/{id}' } },
    { path: '/items/1', method: 'POST' },
  );
  await route({ name: 'items-exact', functionName: 'web', http: { method: 'GET', path: '/items/special' } }, { path: '/items/special' });
  await route({ name: 'files', functionName: 'web', http: { method: 'ANY', path: '/files/{owner}/{path+}' } }, { path: '/files/a/b' });
});
afterAll(async () => {
  await server?.close();
});

describe('routing and the event', () => {
  it('path parameters and precedence: exact > {param} > greedy, a method > ANY', async () => {
    const byId = await request('/items/42');
    expect(byId.status).toBe(200);
    expect(byId.headers['x-route']).toBe('GET /items/{id}');
    expect(byId.json().pathParameters).toEqual({ id: '42' });
    expect((await request('/items/42', { method: 'DELETE' })).headers['x-route']).toBe('ANY /items/{id}');
    expect((await request('/items/special')).headers['x-route']).toBe('GET /items/special');
    const greedy = (await request('/files/ann/2024/report%20final.csv')).json();
    expect(greedy.routeKey).toBe('ANY /files/{owner}/{path+}');
    expect(greedy.pathParameters).toEqual({ owner: 'ann', path: '2024/report final.csv' });
    expect(greedy.rawPath).toBe('/files/ann/2024/report%20final.csv');
  });

  it('no route: 404 {"message":"Not Found"}, like API Gateway', async () => {
    for (const path of ['/nothing', '/items', '/files/only-owner', '/']) {
      const r = await request(path);
      expect(r.status, path).toBe(404);
      expect(r.json()).toEqual({ message: 'Not Found' });
      expect(r.headers['content-type']).toBe('application/json');
      // nothing left unread: the connection stays open for the next request
      expect(r.headers.connection).toBe('keep-alive');
    }
  });

  it('the function gets the API Gateway HTTP API 2.0 event', async () => {
    const sent = Date.now();
    const r = await request('/items/7?mode=echo&tag=a&tag=b&q=x%20y', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'trigger-test/1',
        'x-multi': ['one', 'two'],
        cookie: 'session=abc; theme=dark',
        // hop-by-hop: they stay with this connection
        connection: 'keep-alive, x-conn-only',
        'keep-alive': 'timeout=5',
        'x-conn-only': 'per-hop',
        // a client's claims: its chain is kept (its own address appended), its protocol and port are not
        'x-forwarded-for': '203.0.113.9',
        'x-forwarded-proto': 'https',
        'x-forwarded-port': '443',
      },
      body: '{"name":"widget"}',
    });
    expect(r.status).toBe(200);
    const e = r.json();
    expect(e).toMatchObject({
      version: '2.0',
      routeKey: 'ANY /items/{id}',
      rawPath: '/items/7',
      rawQueryString: 'mode=echo&tag=a&tag=b&q=x%20y',
      cookies: ['session=abc', 'theme=dark'],
      queryStringParameters: { mode: 'echo', tag: 'a,b', q: 'x y' },
      headers: {
        'content-type': 'application/json',
        'user-agent': 'trigger-test/1',
        'x-multi': 'one,two',
        host: new URL(server.url).host,
        'x-forwarded-for': '203.0.113.9, 127.0.0.1',
        'x-forwarded-proto': 'http',
        'x-forwarded-port': new URL(server.url).port,
      },
      requestContext: {
        accountId: '000000000000',
        apiId: expect.stringMatching(/^trg-/),
        // the host without its port, as API Gateway's
        domainName: '127.0.0.1',
        domainPrefix: '127',
        http: { method: 'POST', path: '/items/7', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'trigger-test/1' },
        requestId: expect.any(String),
        routeKey: 'ANY /items/{id}',
        stage: '$default',
        time: expect.stringMatching(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/),
        timeEpoch: expect.any(Number),
      },
      body: '{"name":"widget"}',
      pathParameters: { id: '7' },
      isBase64Encoded: false,
    });
    expect(e.headers.cookie).toBeUndefined();
    for (const name of ['connection', 'keep-alive', 'x-conn-only', 'transfer-encoding']) expect(e.headers[name]).toBeUndefined();
    // API Gateway's payload 2.0 as AWS's published model has it: every field but stage variables
    // (none here) and authorizers (NONE auth)
    expect(await checkAwsEvent('APIGatewayProxyEventV2Model', e)).toEqual({
      error: null,
      missing: ['requestContext.authorizer', 'stageVariables'],
    });
    // the time the request arrived: within the request's round trip
    expect(e.requestContext.timeEpoch).toBeGreaterThanOrEqual(sent);
    expect(e.requestContext.timeEpoch).toBeLessThanOrEqual(Date.now());
    expect(r.headers['apigw-requestid']).toBe(e.requestContext.requestId);
  });

  it('every request is a delivery: an invocation attributed to the trigger, with the request id as event id', async () => {
    const r = await request('/items/special?mode=plain');
    const id = r.headers['apigw-requestid'];
    const list = await deliveriesOf(server, 'items-exact');
    const mine = list.find((d) => d.eventId === id);
    expect(mine).toMatchObject({
      status: 'SUCCEEDED',
      attempts: 1,
      invocation: { functionName: 'web', invocationType: 'REQUEST_RESPONSE' },
    });
  });
});

describe('bodies', () => {
  it('a binary body reaches the function as base64 and comes back byte for byte', async () => {
    const bytes = Buffer.from(Array.from({ length: 256 * 64 }, (_, i) => (i * 7) % 256));
    const r = await request('/items/1?mode=binary', {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    expect(r.body.equals(bytes)).toBe(true);
    const echo = (
      await request('/items/1', { method: 'PUT', headers: { 'content-type': 'image/png' }, body: bytes.subarray(0, 10) })
    ).json();
    expect(echo).toMatchObject({ isBase64Encoded: true, body: bytes.subarray(0, 10).toString('base64') });
  });

  it('a body over the 6 MB synchronous limit is refused with 413 (declared or streamed), nothing invoked', async () => {
    const before = (await deliveriesOf(server, 'items-any')).length;
    const big = Buffer.alloc(6 * 1024 * 1024 + 1, 97);
    const declared = await request('/items/1', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: big });
    expect(declared.status).toBe(413);
    expect(declared.json().message).toMatch(/Request Entity Too Large.*6291456-byte limit/);
    // chunked: no Content-Length, the server counts as it reads
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        new URL('/http/items/1', server.url),
        { method: 'POST', headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on('error', (err) => (err.message.includes('EPIPE') || err.message.includes('ECONNRESET') ? undefined : reject(err)));
      const chunk = Buffer.alloc(1024 * 1024, 98);
      for (let i = 0; i < 8; i++) req.write(chunk);
      req.end();
    });
    expect(streamed).toBe(413);
    // within the limit but over it once base64 and the envelope are added: the invocation refuses it
    const binary = await request('/items/1', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(5 * 1024 * 1024),
    });
    expect(binary.status).toBe(413);
    expect((await deliveriesOf(server, 'items-any')).length).toBe(before);
  });
});

describe('responses', () => {
  it('a structured result: status, headers, multi-value headers and cookies → Set-Cookie', async () => {
    const r = await request('/items/1?mode=full');
    expect(r.status).toBe(201);
    expect(r.text).toBe('made');
    expect(r.headers['x-one']).toBe('a');
    expect(r.headers['x-many']).toBe('1, 2');
    expect(r.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2']);
    expect(r.headers['content-length']).toBe('4');
  });

  it('a plain value → 200 application/json with the value as body (a string as it is)', async () => {
    const plain = await request('/items/1?mode=plain');
    expect(plain.status).toBe(200);
    expect(plain.headers['content-type']).toBe('application/json');
    expect(plain.json()).toEqual({ hello: 'world', n: 1 });
    const str = await request('/items/1?mode=string');
    expect(str.status).toBe(200);
    expect(str.headers['content-type']).toBe('application/json');
    expect(str.text).toBe('Hello from Lambda!');
  });

  it('204 has no body and no Content-Length, whatever the function put in its body', async () => {
    const r = await request('/items/1?mode=no-content');
    expect(r.status).toBe(204);
    expect(r.headers['x-done']).toBe('yes');
    expect(r.headers['content-length']).toBeUndefined();
    expect(r.text).toBe('');
    // the connection is still good for the next request
    expect((await request('/items/1?mode=plain')).json()).toEqual({ hello: 'world', n: 1 });
  });

  it('a result that is not a valid response → 502, no details to the caller', async () => {
    for (const mode of ['bad-status', 'interim', 'bad-body', 'bad-base64', 'bad-headers']) {
      const r = await request(`/items/1?mode=${mode}`);
      expect(r.status, mode).toBe(502);
      expect(r.json(), mode).toEqual({ message: 'Bad Gateway' });
    }
    await deploy(server, {
      name: 'not-json',
      runtime: 'PROVIDED',
      handler: 'x.y',
      code: { files: [{ path: 'bootstrap', content: NOT_JSON_BOOTSTRAP, executable: true }] },
    });
    await route({ name: 'not-json', functionName: 'not-json', http: { method: 'GET', path: '/not-json' } }, { path: '/not-json' });
    const r = await request('/not-json');
    expect(r.status).toBe(502);
    expect(r.json()).toEqual({ message: 'Bad Gateway' });
  });

  it('a function error → 500 {"message":"Internal Server Error"}, no stack; a timeout → 504', async () => {
    const r = await request('/items/1?mode=error');
    expect(r.status).toBe(500);
    expect(r.json()).toEqual({ message: 'Internal Server Error' });
    expect(r.text).not.toContain('boom');
    const [failed] = await deliveriesOf(server, 'items-get');
    expect(failed).toMatchObject({ status: 'FAILED', invocation: { functionError: 'Unhandled', errorMessage: 'boom' } });

    await deploy(server, {
      name: 'web-slow',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      timeoutSeconds: 1,
      code: { files: [{ path: 'index.js', content: HANDLER }] },
    });
    await route({ name: 'slow', functionName: 'web-slow', http: { method: 'GET', path: '/slow' } }, { path: '/slow?mode=plain' });
    const slow = await request('/slow?mode=slow');
    expect(slow.status).toBe(504);
    expect(slow.json()).toEqual({ message: 'Gateway Timeout' });
  });

  it('throttled (reserved concurrency 0) → 429 {"message":"Too Many Requests"}', async () => {
    await deploy(server, {
      name: 'web-throttled',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      reservedConcurrency: 0,
      code: { files: [{ path: 'index.js', content: HANDLER }] },
    });
    await route({ name: 'throttled', functionName: 'web-throttled', http: { method: 'GET', path: '/throttled' } }, { path: '/throttled' });
    const r = await request('/throttled');
    expect(r.status).toBe(429);
    expect(r.json()).toEqual({ message: 'Too Many Requests' });
    const [d] = await deliveriesOf(server, 'throttled');
    expect(d.status).toBe('THROTTLED');
  });
});

describe('auth', () => {
  it('API_KEY: no key 401, a key without triggers:InvokeHttp 403, with it 200 (the key is not passed on)', async () => {
    await route({ name: 'secure', functionName: 'web', http: { method: 'GET', path: '/secure', auth: 'API_KEY' } }, { path: '/secure' });
    const none = await request('/secure');
    expect(none.status).toBe(401);
    expect(none.json()).toEqual({ message: 'Unauthorized' });
    expect((await request('/secure', { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    const make = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }`;
    const reader = (await server.data(make, { input: { name: 'reader', actions: ['clusters:*'] } })).createApiKey.key;
    const invoker = (await server.data(make, { input: { name: 'invoker', actions: ['triggers:InvokeHttp'] } })).createApiKey.key;
    const forbidden = await request('/secure', { headers: { authorization: `Bearer ${reader}` } });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json()).toEqual({ message: 'Forbidden' });
    const ok = await request('/secure', { headers: { authorization: `Bearer ${invoker}` } });
    expect(ok.status).toBe(200);
    const e = ok.json();
    expect(e.headers.authorization).toBeUndefined();
    expect(e.requestContext.authorizer).toEqual({ apiKey: { keyId: expect.stringMatching(/^ak-/), name: 'invoker' } });
    // NONE routes pass Authorization through to the function
    expect((await request('/items/1', { headers: { authorization: 'Bearer app-token' } })).json().headers.authorization).toBe(
      'Bearer app-token',
    );
  });
});

describe('CORS', () => {
  it('preflights are answered without invoking; responses get the CORS headers', async () => {
    await route(
      {
        name: 'cors',
        functionName: 'web',
        http: {
          method: 'POST',
          path: '/cors/{id}',
          cors: {
            allowOrigins: ['https://app.example.com'],
            allowMethods: ['POST'],
            allowHeaders: ['x-token', 'content-type'],
            exposeHeaders: ['x-route'],
            maxAge: 300,
            allowCredentials: true,
          },
        },
      },
      { path: '/cors/1', method: 'POST' },
    );
    const before = (await deliveriesOf(server, 'cors')).length;
    const pre = await request('/cors/1', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'X-Token' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': 'x-token, content-type',
      'access-control-allow-credentials': 'true',
      'access-control-max-age': '300',
    });
    const refused = await request('/cors/1', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
    });
    expect(refused.status).toBe(204);
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    expect((await deliveriesOf(server, 'cors')).length).toBe(before);

    const real = await request('/cors/1?mode=full', { method: 'POST', headers: { origin: 'https://app.example.com' } });
    expect(real.status).toBe(201);
    // the route's settings decide (the function's own access-control-* headers are dropped)
    expect(real.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'x-route',
    });
    const other = await request('/cors/1?mode=plain', { method: 'POST', headers: { origin: 'https://evil.example.com' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();

    const t = (await server.data(GET_HTTP, { name: 'cors' })).trigger;
    expect(t.http).toMatchObject({
      method: 'POST',
      path: '/cors/{id}',
      routeKey: 'POST /cors/{id}',
      auth: 'NONE',
      url: `${server.url}/http/cors/{id}`,
      functionUrl: false,
      cors: {
        allowOrigins: ['https://app.example.com'],
        allowMethods: ['POST'],
        allowHeaders: ['x-token', 'content-type'],
        exposeHeaders: ['x-route'],
        maxAge: 300,
        allowCredentials: true,
      },
    });
  });
});

describe('function URLs', () => {
  it('createFunctionUrl makes an ANY /fn/<name>/{proxy+} trigger, served at once; Function.url shows it', async () => {
    await deploy(server, {
      name: 'site',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      code: { files: [{ path: 'index.js', content: HANDLER }] },
    });
    const res = await server.data(
      `mutation($input: CreateFunctionUrlInput!) { createFunctionUrl(input: $input) { url trigger { ${HTTP_FIELDS} sourceType functionName } } }`,
      { input: { functionName: 'site', auth: 'NONE', cors: { allowOrigins: ['*'] } } },
    );
    const { url, trigger } = res.createFunctionUrl;
    expect(url).toBe(`${server.url}/http/fn/site/`);
    expect(trigger).toMatchObject({
      name: 'site-url',
      sourceType: 'HTTP',
      functionName: 'site',
      http: { method: 'ANY', path: '/fn/site/{proxy+}', url, functionUrl: true },
    });
    const r = await fetch(`${url}some/page?mode=echo`, { method: 'PATCH', headers: { origin: 'https://x.example' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(((await r.json()) as any).pathParameters).toEqual({ proxy: 'some/page' });
    expect((await fetch(`${url}?mode=plain`)).status).toBe(200);
    // the root without its trailing slash is the root too
    const bare = (await (await fetch(`${url.slice(0, -1)}?mode=echo`)).json()) as any;
    expect(bare).toMatchObject({ rawPath: '/fn/site', routeKey: 'ANY /fn/site/{proxy+}', pathParameters: { proxy: '' } });
    expect((await fetch(`${server.url}/http/fn/sitex`)).status).toBe(404);
    expect((await server.data(`query { function(name: "site") { url } }`)).function.url).toBe(url);
    expect((await server.data(`query { function(name: "web") { url } }`)).function.url).toBeNull();

    // one URL per function and qualifier
    expectError(
      await server.gql(`mutation { createFunctionUrl(input: { functionName: "site", auth: NONE, name: "again" }) { url } }`),
      'CONFLICT',
      'input.functionName',
    );
    expectError(
      await server.gql(`mutation { createFunctionUrl(input: { functionName: "site", qualifier: "nope", auth: NONE }) { url } }`),
      'NOT_FOUND',
      'input.qualifier',
    );
    // an alias gets its own URL: /fn/<function>:<alias>/
    await server.data(`mutation { publishVersion(input: { functionName: "site" }) { version { version } } }`);
    await server.data(`mutation { createAlias(input: { functionName: "site", name: "live", functionVersion: "1" }) { alias { name } } }`);
    const live = (
      await server.data(
        `mutation { createFunctionUrl(input: { functionName: "site", qualifier: "live", auth: NONE }) { url trigger { name qualifier } } }`,
      )
    ).createFunctionUrl;
    expect(live).toEqual({ url: `${server.url}/http/fn/site:live/`, trigger: { name: 'site-live-url', qualifier: 'live' } });
    const viaAlias = await fetch(`${live.url}x?mode=plain`);
    expect(viaAlias.status).toBe(200);
    const [delivery] = await deliveriesOf(server, 'site-live-url');
    expect(delivery.invocation).toMatchObject({ qualifier: 'live', executedVersion: '1' });
    // the alias deleted under the route: the integration is broken, 500 (API Gateway's answer to a missing Lambda)
    await server.data(`mutation { deleteAlias(input: { functionName: "site", name: "live" }) { __typename } }`);
    await waitUntil(async () => (await fetch(`${live.url}x`)).status === 500, 'the broken route to answer 500', 10_000);
    expect(await (await fetch(`${live.url}x`)).json()).toEqual({ message: 'Internal Server Error' });
    // /fn/ is the function URLs' namespace
    expectError(
      await server.gql(CREATE_TRIGGER, { input: { name: 'squat', functionName: 'web', http: { method: 'GET', path: '/fn/site/x' } } }),
      'BAD_USER_INPUT',
      'input.http.path',
    );
  });
});

describe('lifecycle', () => {
  it('validation names the field and creates nothing', async () => {
    const bad = async (http: Record<string, unknown>, field: string, code = 'BAD_USER_INPUT') =>
      expectError(await server.gql(CREATE_TRIGGER, { input: { name: 'bad-route', functionName: 'web', http } }), code, field);
    await bad({ method: 'GET', path: 'items' }, 'input.http.path');
    await bad({ method: 'GET', path: '/a/{rest+}/b' }, 'input.http.path');
    await bad({ method: 'GET', path: '/a//b' }, 'input.http.path');
    await bad({ method: 'FETCH', path: '/a' }, 'input.http.method');
    await bad({ method: 'GET', path: '/a', cors: { allowOrigins: ['*'], allowCredentials: true } }, 'input.http.cors.allowOrigins');
    await bad({ method: 'GET', path: '/a', cors: { maxAge: -1 } }, 'input.http.cors.maxAge');
    expect((await server.data(`query { trigger(name: "bad-route") { name } }`)).trigger).toBeNull();
  });

  it('a route with the same method and shape is a CONFLICT; another method is not', async () => {
    expectError(
      await server.gql(CREATE_TRIGGER, { input: { name: 'clash', functionName: 'web', http: { method: 'GET', path: '/items/{other}' } } }),
      'CONFLICT',
      'input.http.path',
    );
    expect((await server.data(`query { trigger(name: "clash") { name } }`)).trigger).toBeNull();
    await createTrigger({ name: 'items-put', functionName: 'web', http: { method: 'PUT', path: '/items/{key}' } });
    // updating onto a taken route is refused too
    expectError(
      await server.gql(UPDATE_TRIGGER, { input: { name: 'items-put', http: { method: 'GET', path: '/items/{x}' } } }),
      'CONFLICT',
      'input.http.path',
    );
  });

  it('a disabled trigger answers 404 (its route is out of the table) until enabled again', async () => {
    await route({ name: 'toggle', functionName: 'web', http: { method: 'GET', path: '/toggle' } }, { path: '/toggle' });
    await server.data(SET_TRIGGER_ENABLED, { name: 'toggle', enabled: false });
    await waitUntil(async () => (await request('/toggle')).status === 404, 'disabled route to be gone', 10_000);
    expect((await request('/toggle')).json()).toEqual({ message: 'Not Found' });
    await server.data(SET_TRIGGER_ENABLED, { name: 'toggle', enabled: true });
    await waitUntil(async () => (await request('/toggle')).status === 200, 'route to serve again', 10_000);
  });

  it('updating a trigger moves its route; deleting it (or its function) removes it from the running server', async () => {
    await route({ name: 'moving', functionName: 'web', http: { method: 'GET', path: '/before' } }, { path: '/before' });
    await server.data(UPDATE_TRIGGER, { input: { name: 'moving', http: { method: 'GET', path: '/after/{x}' } } });
    await waitUntil(async () => (await request('/after/1')).status === 200, 'moved route to serve', 10_000);
    expect((await request('/before')).status).toBe(404);
    await server.data(DELETE_TRIGGER, { name: 'moving' });
    await waitUntil(async () => (await request('/after/1')).status === 404, 'deleted route to be gone', 10_000);
    // the route is free again
    await route({ name: 'moving-2', functionName: 'web', http: { method: 'GET', path: '/after/{y}' } }, { path: '/after/2' });

    await deploy(server, {
      name: 'doomed',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      code: { files: [{ path: 'index.js', content: HANDLER }] },
    });
    await route({ name: 'doomed', functionName: 'doomed', http: { method: 'GET', path: '/doomed' } }, { path: '/doomed' });
    await server.data(DELETE_FUNCTION, { name: 'doomed' });
    await waitUntil(async () => (await request('/doomed')).status === 404, "the deleted function's route to be gone", 10_000);
    expect((await server.data(`query { trigger(name: "doomed") { name } }`)).trigger).toBeNull();
  });
});

describe('two servers on one database', () => {
  it('a route created through one server is served by the other (NOTIFY), and so is its deletion', async () => {
    // a replica on the same host: same data dir and database, its own function instances
    const instancesDir = `${server.dataDir}-fn2`;
    const other = await startTestServer({
      dataDir: server.dataDir,
      databaseUrl: server.databaseUrl,
      adminApiKey: server.key,
      functionsRuntimeDir: instancesDir,
    });
    try {
      // routes made before it started are loaded at its start
      expect((await request('/items/special?mode=plain', { base: other.url })).json()).toEqual({ hello: 'world', n: 1 });
      await createTrigger({ name: 'replicated', functionName: 'web', http: { method: 'GET', path: '/replicated/{id}' } });
      await waitUntil(
        async () => (await request('/replicated/5', { base: other.url })).status === 200,
        'the other server to serve the new route',
        10_000,
      );
      const served = (await request('/replicated/5', { base: other.url })).json();
      expect(served).toMatchObject({ routeKey: 'GET /replicated/{id}', pathParameters: { id: '5' } });
      await server.data(DELETE_TRIGGER, { name: 'replicated' });
      await waitUntil(
        async () => (await request('/replicated/5', { base: other.url })).status === 404,
        'the other server to drop the route',
        10_000,
      );
    } finally {
      // not other.close(): that would remove the shared data dir
      await other.app.close();
      await waitUntil(
        () => pidsWithEnvPrefix('LAMBDA_TASK_ROOT', instancesDir).length === 0 && sandboxedProcessesUnder(instancesDir).length === 0,
        "the other server's instances to exit",
        10_000,
      );
      await fs.rm(instancesDir, { recursive: true, force: true });
    }
  });
});
