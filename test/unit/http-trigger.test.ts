// The pure parts of HTTP triggers: route templates and matching precedence, the payload 2.0 event,
// the result → response rules and CORS headers. End to end through real servers and functions in
// test/api/trigger-http.test.ts.
import { describe, expect, it } from 'vitest';
import { corsResponseHeaders, parseCors, preflightHeaders } from '../../src/triggers/sources/http/cors.js';
import { apiGatewayTime, buildHttpEvent } from '../../src/triggers/sources/http/event.js';
import { replyFor } from '../../src/triggers/sources/http/result.js';
import { RouteTable, requireRouteMethod, routeTemplate, type RouteMethod } from '../../src/triggers/sources/http/route-keys.js';
import { AppError } from '../../src/platform/errors.js';
import { isHttpTriggerUrl } from '../../src/triggers/sources/http/request-handler.js';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err.field;
    throw err;
  }
  return undefined;
}

describe('route templates', () => {
  it('parses literals, params and a last greedy param into a shape', () => {
    const t = routeTemplate('GET', '/items/{id}/files/{rest+}');
    expect(t.shape).toBe('/items/{}/files/{+}');
    expect(t.routeKey).toBe('GET /items/{id}/files/{rest+}');
    expect(routeTemplate('ANY', '/').shape).toBe('/');
    expect(routeTemplate('GET', '/fn/my-fn:prod/{proxy+}').shape).toBe('/fn/my-fn:prod/{+}');
  });

  it('refuses bad paths and methods, naming the field', () => {
    for (const bad of ['items', '/a//b', '/a/', '/{a}/{a}', '/{rest+}/x', '/a{id}', '/a b', '/{1x}', `/${'a'.repeat(1100)}`]) {
      expect(
        fieldOf(() => routeTemplate('GET', bad, 'input.http.path')),
        bad,
      ).toBe('input.http.path');
    }
    expect(requireRouteMethod('get', 'm')).toBe('GET');
    expect(fieldOf(() => requireRouteMethod('TRACE', 'input.http.method'))).toBe('input.http.method');
  });
});

it('the /http prefix: /http, /http/… and /http?…, nothing else', () => {
  expect(['/http', '/http/', '/http/items/1', '/http?x=1'].map(isHttpTriggerUrl)).toEqual([true, true, true, true]);
  expect(['/httpx', '/graphql', '/', undefined, '/objects/http'].map(isHttpTriggerUrl)).toEqual([false, false, false, false, false]);
});

describe('route matching', () => {
  const table = new RouteTable<string>();
  const add = (method: RouteMethod, path: string) => table.add(routeTemplate(method, path), `${method} ${path}`);
  add('GET', '/items');
  add('GET', '/items/{id}');
  add('ANY', '/items/{id}');
  add('DELETE', '/items/special');
  add('GET', '/items/{id}/files/{path+}');
  add('ANY', '/{proxy+}');
  add('GET', '/a/{x}/c');
  add('GET', '/a/b/{y}');
  add('POST', '/');

  it('same method and shape is a conflict, whatever the parameter names', () => {
    expect(table.add(routeTemplate('GET', '/items/{other}'), 'dup')).toBe(false);
    expect(table.add(routeTemplate('ANY', '/{anything+}'), 'dup')).toBe(false);
    expect(table.add(routeTemplate('PUT', '/items/{other}'), 'put')).toBe(true);
  });

  it('exact beats params beats greedy; a specific method beats ANY', () => {
    expect(table.match('GET', '/items')?.route).toBe('GET /items');
    expect(table.match('GET', '/items/42')).toMatchObject({ route: 'GET /items/{id}', params: { id: '42' } });
    expect(table.match('PATCH', '/items/42')?.route).toBe('ANY /items/{id}');
    expect(table.match('DELETE', '/items/special')?.route).toBe('DELETE /items/special');
    // the literal route has no GET: the param route takes it
    expect(table.match('GET', '/items/special')?.route).toBe('GET /items/{id}');
    expect(table.match('GET', '/items/7/files/a/b%20c.txt')).toMatchObject({
      route: 'GET /items/{id}/files/{path+}',
      params: { id: '7', path: 'a/b c.txt' },
    });
    expect(table.match('GET', '/other/x/y')).toMatchObject({ route: 'ANY /{proxy+}', params: { proxy: 'other/x/y' } });
    // at the first segment where routes differ, the literal wins
    expect(table.match('GET', '/a/b/c')?.route).toBe('GET /a/b/{y}');
    expect(table.match('POST', '/')?.route).toBe('POST /');
    expect(table.match('GET', '/')).toBeNull();
    expect(table.match('GET', '/items/%E2%9C%93')?.params).toEqual({ id: '✓' });
    // a param matches a whole non-empty segment; a trailing slash leaves only greedy routes
    expect(table.match('GET', '/items/')?.route).toBe('ANY /{proxy+}');
  });
});

describe('the payload 2.0 event', () => {
  const now = new Date(Date.UTC(2020, 2, 9, 19, 3, 58, 123));
  const base = {
    method: 'POST',
    rawPath: '/items/42',
    rawQueryString: 'a=1&a=2&b=x%20y&c',
    rawHeaders: [
      'Host',
      'api.example.com:4000',
      'User-Agent',
      'curl/8',
      'X-Multi',
      'one',
      'x-multi',
      'two',
      'Cookie',
      's=1; t=2',
      'Content-Type',
      'application/json',
      'Authorization',
      'Bearer k',
      'Connection',
      'keep-alive, X-Hop',
      'Keep-Alive',
      'timeout=5',
      'X-Hop',
      'per-connection',
      'Transfer-Encoding',
      'chunked',
    ],
    httpVersion: '1.1',
    sourceIp: '::ffff:127.0.0.1',
    localPort: 4000,
  };
  const ctx = { requestId: 'req-1', apiId: 'tr-1', routeKey: 'POST /items/{id}', pathParameters: { id: '42' }, now };

  it("has API Gateway's fields", () => {
    const e = buildHttpEvent(base, Buffer.from('{"x":1}'), ctx) as any;
    expect(e).toMatchObject({
      version: '2.0',
      routeKey: 'POST /items/{id}',
      rawPath: '/items/42',
      rawQueryString: 'a=1&a=2&b=x%20y&c',
      cookies: ['s=1', 't=2'],
      headers: {
        host: 'api.example.com:4000',
        'user-agent': 'curl/8',
        'x-multi': 'one,two',
        'content-type': 'application/json',
        authorization: 'Bearer k',
        'x-forwarded-for': '127.0.0.1',
        'x-forwarded-proto': 'http',
        'x-forwarded-port': '4000',
      },
      queryStringParameters: { a: '1,2', b: 'x y', c: '' },
      requestContext: {
        accountId: '000000000000',
        apiId: 'tr-1',
        domainName: 'api.example.com',
        domainPrefix: 'api',
        http: { method: 'POST', path: '/items/42', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'curl/8' },
        requestId: 'req-1',
        routeKey: 'POST /items/{id}',
        stage: '$default',
        time: '09/Mar/2020:19:03:58 +0000',
        timeEpoch: now.getTime(),
      },
      body: '{"x":1}',
      pathParameters: { id: '42' },
      isBase64Encoded: false,
    });
    expect(e.headers.cookie).toBeUndefined();
    // hop-by-hop headers, and the ones Connection names, stay with the connection
    for (const name of ['connection', 'keep-alive', 'x-hop', 'transfer-encoding']) expect(e.headers[name]).toBeUndefined();
    expect(apiGatewayTime(new Date(Date.UTC(2021, 11, 31, 1, 2, 3)))).toBe('31/Dec/2021:01:02:03 +0000');
  });

  it('binary or untyped bodies are base64; empty parts are left out; dropped headers are dropped', () => {
    const bytes = Buffer.from([0, 255, 1, 2]);
    const bin = buildHttpEvent({ ...base, rawHeaders: ['Content-Type', 'application/octet-stream'] }, bytes, ctx) as any;
    expect(bin).toMatchObject({ body: bytes.toString('base64'), isBase64Encoded: true });
    // declared text, but not UTF-8: base64 too (nothing is lost)
    expect(buildHttpEvent({ ...base, rawHeaders: ['Content-Type', 'text/plain'] }, bytes, ctx)).toMatchObject({ isBase64Encoded: true });
    const bare = buildHttpEvent({ ...base, rawQueryString: '', rawHeaders: ['Authorization', 'Bearer k'] }, Buffer.alloc(0), {
      ...ctx,
      pathParameters: {},
      dropHeaders: ['authorization'],
      apiKey: { keyId: 'ak-1', name: 'k' },
    }) as any;
    expect(Object.keys(bare)).toEqual(['version', 'routeKey', 'rawPath', 'rawQueryString', 'headers', 'requestContext', 'isBase64Encoded']);
    expect(bare.headers).toEqual({ 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http', 'x-forwarded-port': '4000' });
    expect(bare.isBase64Encoded).toBe(false);
    expect(bare.requestContext.authorizer).toEqual({ apiKey: { keyId: 'ak-1', name: 'k' } });
  });
});

describe('result → response', () => {
  const ok = (payload: unknown) => replyFor({ payload, response: JSON.stringify(payload), functionError: null, errorType: null });
  const text = (r: { body: Buffer }) => r.body.toString();

  it('a structured result becomes the response', () => {
    const r = ok({
      statusCode: 201,
      headers: { 'X-A': 'b', 'Content-Length': '999', n: 5 },
      multiValueHeaders: { 'x-m': ['1', '2'] },
      cookies: ['a=1; Path=/', 'b=2'],
      body: 'hi',
    });
    expect(r.status).toBe(201);
    expect(r.headers).toEqual([
      ['x-a', 'b'],
      ['n', '5'],
      ['x-m', '1'],
      ['x-m', '2'],
      ['set-cookie', 'a=1; Path=/'],
      ['set-cookie', 'b=2'],
    ]);
    expect(text(r)).toBe('hi');
    const bin = ok({ statusCode: 200, body: Buffer.from([1, 2, 255]).toString('base64'), isBase64Encoded: true });
    expect([...bin.body]).toEqual([1, 2, 255]);
    expect(ok({ statusCode: 204 }).body.length).toBe(0);
  });

  it('anything else is 200 JSON with the value as body (a string as it is)', () => {
    expect(ok({ message: 'hi' })).toMatchObject({ status: 200, headers: [['content-type', 'application/json']] });
    expect(text(ok({ message: 'hi' }))).toBe('{"message":"hi"}');
    expect(text(ok('Hello from Lambda!'))).toBe('Hello from Lambda!');
    expect(text(ok([1, 2]))).toBe('[1,2]');
    expect(text(ok(null))).toBe('null');
    expect(text(ok(7))).toBe('7');
  });

  it('invalid responses are 502 with a reason for the log', () => {
    const bad = [
      { statusCode: '200' },
      { statusCode: 99 },
      { statusCode: 100 },
      { statusCode: 199 },
      { statusCode: 600 },
      { statusCode: 200.5 },
      { statusCode: 200, headers: ['x'] },
      { statusCode: 200, headers: { a: { b: 1 } } },
      { statusCode: 200, headers: { 'bad name': 'x' } },
      { statusCode: 200, headers: { a: 'x\r\ny: z' } },
      { statusCode: 200, body: { a: 1 } },
      { statusCode: 200, body: 'not base64!', isBase64Encoded: true },
      { statusCode: 200, cookies: 'a=1' },
      { statusCode: 200, isBase64Encoded: 'yes' },
      { statusCode: 200, multiValueHeaders: { a: 'x' } },
    ];
    for (const doc of bad) {
      const r = ok(doc);
      expect(r.status, JSON.stringify(doc)).toBe(502);
      expect(JSON.parse(text(r))).toEqual({ message: 'Bad Gateway' });
      expect(r.reason).toMatch(/not a valid HTTP response: /);
    }
    const notJson = replyFor({ payload: 'abc', response: 'abc', functionError: null, errorType: null });
    expect(notJson).toMatchObject({ status: 502, reason: "the function's result is not JSON" });
  });

  it('function errors: 500, a timeout 504', () => {
    const failed = replyFor({ payload: { errorMessage: 'boom' }, response: '{}', functionError: 'Unhandled', errorType: 'Error' });
    expect(failed.status).toBe(500);
    expect(JSON.parse(failed.body.toString())).toEqual({ message: 'Internal Server Error' });
    expect(replyFor({ payload: {}, response: '{}', functionError: 'Unhandled', errorType: 'Sandbox.Timedout' }).status).toBe(504);
  });
});

describe('CORS', () => {
  it('checks settings with field paths', () => {
    expect(fieldOf(() => parseCors({ allowOrigins: ['*'], allowCredentials: true }, 'input.http.cors'))).toBe(
      'input.http.cors.allowOrigins',
    );
    expect(fieldOf(() => parseCors({ allowOrigins: ['example.com'] }, 'c'))).toBe('c.allowOrigins.0');
    expect(fieldOf(() => parseCors({ allowMethods: ['GET', 'FETCH'] }, 'c'))).toBe('c.allowMethods.1');
    expect(fieldOf(() => parseCors({ allowHeaders: ['x y'] }, 'c'))).toBe('c.allowHeaders.0');
    expect(fieldOf(() => parseCors({ maxAge: 90_000 }, 'c'))).toBe('c.maxAge');
    expect(parseCors(null, 'c')).toBeNull();
  });

  it('preflight and response headers', () => {
    const cors = parseCors(
      {
        allowOrigins: ['https://app.example.com'],
        allowMethods: ['GET', 'post'],
        allowHeaders: ['X-Token'],
        exposeHeaders: ['X-Id'],
        maxAge: 600,
        allowCredentials: true,
      },
      'c',
    )!;
    expect(Object.fromEntries(preflightHeaders(cors, 'https://app.example.com', 'POST', 'x-token'))).toEqual({
      'access-control-allow-origin': 'https://app.example.com',
      vary: 'Origin',
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'x-token',
      'access-control-allow-credentials': 'true',
      'access-control-max-age': '600',
    });
    expect(preflightHeaders(cors, 'https://evil.example.com', 'POST', undefined)).toEqual([]);
    expect(preflightHeaders(cors, 'https://app.example.com', 'DELETE', undefined)).toEqual([]);
    expect(preflightHeaders(cors, 'https://app.example.com', 'GET', 'x-other')).toEqual([]);
    expect(Object.fromEntries(corsResponseHeaders(cors, 'https://app.example.com'))).toEqual({
      'access-control-allow-origin': 'https://app.example.com',
      vary: 'Origin',
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'x-id',
    });
    expect(corsResponseHeaders(cors, undefined)).toEqual([]);
    const any = parseCors({ allowOrigins: ['*'], allowMethods: ['*'], allowHeaders: ['*'] }, 'c')!;
    expect(Object.fromEntries(preflightHeaders(any, 'https://x.test', 'PUT', 'a, b'))).toMatchObject({
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'PUT',
      'access-control-allow-headers': 'a, b',
    });
  });
});
