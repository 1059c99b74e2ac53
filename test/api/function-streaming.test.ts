// Response streaming as Lambda does it, through the API with real runtimes: Node handlers wrapped
// in awslambda.streamifyResponse (HttpResponseStream metadata), a bash + curl custom runtime
// streaming with the Runtime API's streaming mode, function URLs in RESPONSE_STREAM mode, and
// invokeFunctionWithResponseStream. "As they are written" is shown without timing: the handler
// writes its first bytes, then waits at a gate (an HTTP server of this test) that opens only once
// the client has those bytes; then the rest comes.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../support/api.js';
import { Subscription } from '../support/client.js';
import { deploy, INVOCATION_FIELDS, invoke, logText } from '../support/functions.js';
import { waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;

// event.gate: a URL that answers once the test opens it
const HANDLER = `
const gate = (url) => fetch(url).then((r) => r.text());
const params = (event) => ({ ...(event.queryStringParameters || {}), ...(event.rawPath ? {} : event) });

exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  const { mode, gate: gateUrl } = params(event);
  switch (mode) {
    case 'chunks': {
      const stream = awslambda.HttpResponseStream.from(responseStream, {
        statusCode: 201, headers: { 'content-type': 'text/plain', 'x-streamed': 'yes' }, cookies: ['s=1; Path=/'],
      });
      console.log('streaming for', context.awsRequestId);
      stream.write('first;');
      await gate(gateUrl);
      stream.write('second;');
      stream.end('third');
      return;
    }
    case 'text':
      responseStream.setContentType('text/plain');
      responseStream.write('one;');
      await gate(gateUrl);
      responseStream.end('two');
      return;
    case 'fail':
      responseStream.setContentType('text/plain');
      responseStream.write('partial;');
      await gate(gateUrl);
      throw new Error('mid-stream boom');
    case 'pipeline': {
      // AWS's sample: a readable piped into the response stream
      const { Readable } = require('node:stream');
      const { pipeline } = require('node:stream/promises');
      await pipeline(Readable.from(['piped ', 'in ', 'three']), responseStream);
      return;
    }
    case 'early-fail':
      throw new Error('before any byte');
    case 'stall':
      responseStream.write('stalling;');
      return new Promise(() => {});
    case 'flood': {
      // as fast as the stream takes it, until it refuses (a careless handler would go on)
      const piece = Buffer.alloc(64 * 1024, 'x');
      for (;;) {
        const ok = await new Promise((resolve) => responseStream.write(piece, (err) => resolve(!err)));
        if (!ok) return;
      }
    }
  }
  responseStream.end('unknown mode');
});

exports.buffered = async (event) => ({ statusCode: 202, headers: { 'x-buffered': 'yes' }, body: 'all at once' });
`;

// a custom runtime streaming with curl: its body is a pipe, written in two steps around the gate
const CURL_BOOTSTRAP = `#!/bin/bash
set -euo pipefail
API="http://\${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  EVENT="$(mktemp)"
  curl -sS -o "$EVENT" -D "$HEADERS" "$API/invocation/next"
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  GATE=$(grep -o '"gate":"[^"]*"' "$EVENT" | head -1 | cut -d'"' -f4)
  { printf 'curl-first;'; curl -sS -o /dev/null "$GATE"; printf 'curl-second'; } |
    curl -sS -o /dev/null -X POST -T - -H 'Transfer-Encoding: chunked' -H 'Content-Type: text/csv' \\
      -H 'Lambda-Runtime-Function-Response-Mode: streaming' "$API/invocation/$REQUEST_ID/response"
done
`;

/** Gates the handlers wait at: each opens when the test says so (a handler arriving later passes at once). */
class Gates {
  private server = http.createServer((req, res) => {
    const name = req.url!.slice('/gate/'.length);
    this.arrived.add(name);
    if (this.opened.has(name)) res.end('go');
    else this.waiting.set(name, res);
  });
  private waiting = new Map<string, http.ServerResponse>();
  private opened = new Set<string>();
  readonly arrived = new Set<string>();

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
  }

  url(name: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/gate/${name}`;
  }

  open(name: string): void {
    this.opened.add(name);
    this.waiting.get(name)?.end('go');
    this.waiting.delete(name);
  }

  close(): Promise<void> {
    for (const res of this.waiting.values()) res.destroy();
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}
const gates = new Gates();

/** A streamed HTTP response being read: what arrived so far, and how it ended. */
interface Reading {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: () => string;
  bytes: () => number;
  /** 'end': complete; 'cut': the connection closed before the body's end */
  ended: Promise<'end' | 'cut'>;
  /** resolves once the body so far includes `s` */
  until(s: string): Promise<void>;
}

function open(url: string): Promise<Reading> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let waiters: Array<() => void> = [];
        res.on('data', (c: Buffer) => {
          size += c.length;
          // a flood is only counted
          if (chunks.length < 64) chunks.push(c);
          for (const w of waiters) w();
        });
        const text = () => Buffer.concat(chunks).toString();
        const ended = new Promise<'end' | 'cut'>((r) => {
          res.on('end', () => r('end'));
          res.on('error', () => r('cut'));
          res.on('aborted', () => r('cut'));
          res.on('close', () => r(res.complete ? 'end' : 'cut'));
        });
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          text,
          bytes: () => size,
          ended,
          until: (s) =>
            new Promise<void>((r, fail) => {
              const check = () => {
                if (text().includes(s)) {
                  waiters = waiters.filter((w) => w !== check);
                  r();
                }
              };
              waiters.push(check);
              void ended.then(() => (text().includes(s) ? r() : fail(new Error(`ended without ${s}; got ${text()}`))));
              check();
            }),
        });
      })
      .on('error', reject);
  });
}

const createUrl = async (functionName: string, invokeMode?: string) =>
  (
    await server.data(
      `mutation($input: CreateFunctionUrlInput!) { createFunctionUrl(input: $input) { url trigger { http { invokeMode } } } }`,
      { input: { functionName, auth: 'NONE', ...(invokeMode ? { invokeMode } : {}) } },
    )
  ).createFunctionUrl;

const lastInvocation = async (functionName: string) =>
  (
    await server.data(
      `query($f: String!) { invocations(first: 1, filter: { functionName: $f }) { edges { node { ${INVOCATION_FIELDS} } } } }`,
      {
        f: functionName,
      },
    )
  ).invocations.edges[0].node;

let streamUrl: string;

beforeAll(async () => {
  server = await startTestServer();
  await gates.start();
  const code = { files: [{ path: 'index.js', content: HANDLER }] };
  // one at a time: a stream holds its concurrency slot until it ends
  await deploy(server, {
    name: 'streamer',
    runtime: 'NODEJS20',
    handler: 'index.handler',
    timeoutSeconds: 4,
    reservedConcurrency: 1,
    code,
  });
  await deploy(server, { name: 'buffered', runtime: 'NODEJS20', handler: 'index.buffered', code });
  await deploy(server, {
    name: 'curl-streamer',
    runtime: 'PROVIDED',
    handler: 'unused',
    code: { files: [{ path: 'bootstrap', content: CURL_BOOTSTRAP, executable: true }] },
  });
  const made = await createUrl('streamer', 'RESPONSE_STREAM');
  expect(made.trigger.http.invokeMode).toBe('RESPONSE_STREAM');
  streamUrl = made.url;
});
afterAll(async () => {
  await server?.close();
  await gates.close();
});

describe('function URLs in RESPONSE_STREAM mode', () => {
  it('chunks reach the client as the handler writes them, with the status, headers and cookies of its metadata', async () => {
    const reading = await open(`${streamUrl}?mode=chunks&gate=${encodeURIComponent(gates.url('chunks'))}`);
    expect(reading.status).toBe(201);
    expect(reading.headers['content-type']).toBe('text/plain');
    expect(reading.headers['x-streamed']).toBe('yes');
    expect(reading.headers['set-cookie']).toEqual(['s=1; Path=/']);
    expect(reading.headers['transfer-encoding']).toBe('chunked');
    await reading.until('first;');
    // the handler is still at its gate: nothing after the first write exists yet
    expect(reading.text()).toBe('first;');
    // and it still holds the function's one concurrency slot
    expect((await fetch(`${streamUrl}?mode=early-fail`)).status).toBe(429);
    gates.open('chunks');
    expect(await reading.ended).toBe('end');
    expect(reading.text()).toBe('first;second;third');

    // logged, measured and recorded like a buffered invocation
    const inv = await lastInvocation('streamer');
    expect(inv).toMatchObject({ status: 'SUCCEEDED', functionError: null, response: null });
    expect(inv.durationMs).toBeGreaterThan(0);
    expect(inv.billedDurationMs).toBeGreaterThanOrEqual(Math.ceil(inv.durationMs));
    const log = logText(inv);
    expect(log).toContain(`streaming for ${inv.id}`);
    expect(log).toMatch(/^START RequestId: /);
    expect(log).toMatch(/\nREPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms/);
  });

  it('a failure after the first bytes cuts the response short; before them it is a 500', async () => {
    const reading = await open(`${streamUrl}?mode=fail&gate=${encodeURIComponent(gates.url('fail'))}`);
    expect(reading.status).toBe(200);
    await reading.until('partial;');
    gates.open('fail');
    expect(await reading.ended).toBe('cut');
    expect(reading.text()).toBe('partial;');
    expect(await lastInvocation('streamer')).toMatchObject({
      status: 'FAILED',
      functionError: 'Unhandled',
      errorType: 'Error',
      errorMessage: 'mid-stream boom',
    });

    const early = await fetch(`${streamUrl}?mode=early-fail`);
    expect(early.status).toBe(500);
    expect(await early.json()).toEqual({ message: 'Internal Server Error' });
    expect(await lastInvocation('streamer')).toMatchObject({ status: 'FAILED', errorMessage: 'before any byte' });
  });

  it('a handler not wrapped in streamifyResponse is answered at once, as a buffered URL would', async () => {
    const { url } = await createUrl('buffered', 'RESPONSE_STREAM');
    const res = await fetch(url);
    expect(res.status).toBe(202);
    expect(res.headers.get('x-buffered')).toBe('yes');
    expect(await res.text()).toBe('all at once');
  });

  it('a bash + curl custom runtime streams through the Runtime API streaming mode', async () => {
    const { url } = await createUrl('curl-streamer', 'RESPONSE_STREAM');
    const reading = await open(`${url}?gate=${encodeURIComponent(gates.url('curl'))}`);
    expect(reading.status).toBe(200);
    expect(reading.headers['content-type']).toBe('text/csv');
    await reading.until('curl-first;');
    expect(reading.text()).toBe('curl-first;');
    gates.open('curl');
    expect(await reading.ended).toBe('end');
    expect(reading.text()).toBe('curl-first;curl-second');
    expect(await lastInvocation('curl-streamer')).toMatchObject({ status: 'SUCCEEDED' });
  });

  it("a custom runtime's Content-Type that no header may carry is a 502, and the server serves on", async () => {
    // the response posted over a raw socket: curl (and Node) refuse to send such a header
    const bootstrap = `#!/bin/bash
API="\${AWS_LAMBDA_RUNTIME_API}"
while true; do
  HEADERS="$(mktemp)"
  curl -sS -o /dev/null -D "$HEADERS" "http://$API/2018-06-01/runtime/invocation/next"
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  exec 3<>"/dev/tcp/\${API%:*}/\${API#*:}"
  printf 'POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\\r\\nHost: runtime\\r\\nLambda-Runtime-Function-Response-Mode: streaming\\r\\nTransfer-Encoding: chunked\\r\\nContent-Type: text/plain\\001\\r\\n\\r\\n5\\r\\nhello\\r\\n0\\r\\n\\r\\n' "$REQUEST_ID" >&3
  read -r -u 3 _status
  exec 3>&-
done
`;
    await deploy(server, {
      name: 'raw-streamer',
      runtime: 'PROVIDED',
      handler: 'unused',
      code: { files: [{ path: 'bootstrap', content: bootstrap, executable: true }] },
    });
    const { url } = await createUrl('raw-streamer', 'RESPONSE_STREAM');
    const res = await fetch(url);
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ message: 'Bad Gateway' });
    // the function's bytes were dropped, not the server
    expect((await fetch(url)).status).toBe(502);
  });

  it('invokeMode is for function URLs only', async () => {
    expectError(
      await server.gql(
        `mutation { createTrigger(input: { name: "r", functionName: "streamer", http: { method: GET, path: "/r", invokeMode: RESPONSE_STREAM } }) { trigger { name } } }`,
      ),
      'BAD_USER_INPUT',
      'input.http.invokeMode',
    );
    // updateTrigger changes a function URL's mode (Lambda's UpdateFunctionUrlConfig)
    const updated = await server.data(
      `mutation { updateTrigger(input: { name: "buffered-url", http: { method: ANY, path: "/fn/buffered/{proxy+}", invokeMode: BUFFERED } }) { trigger { http { invokeMode } } } }`,
    );
    expect(updated.updateTrigger.trigger.http.invokeMode).toBe('BUFFERED');
  });
});

describe('invokeFunctionWithResponseStream', () => {
  const SUBSCRIBE = `subscription($input: InvokeWithResponseStreamInput!) { invokeFunctionWithResponseStream(input: $input) {
    payloadChunk { payload }
    invokeComplete { errorCode errorDetails logResult executedVersion responseStreamContentType invocation { id status } } } }`;
  const text = (events: any[]) =>
    events
      .filter((e) => e.payloadChunk)
      .map((e) => Buffer.from(e.payloadChunk.payload, 'base64').toString())
      .join('');

  it('sent over HTTP instead of the WebSocket, it is a coded error and invokes nothing', async () => {
    const before = await lastInvocation('buffered');
    expectError(await server.gql(SUBSCRIBE, { input: { functionName: 'buffered', payload: {} } }), 'BAD_USER_INPUT');
    expect((await lastInvocation('buffered')).id).toBe(before.id);
  });

  it('yields payload chunks as the function writes them, then invokeComplete', async () => {
    const client = server.ws();
    const sub = new Subscription(
      client,
      SUBSCRIBE,
      { input: { functionName: 'streamer', payload: { mode: 'text', gate: gates.url('api') }, logType: 'TAIL' } },
      (d) => d.invokeFunctionWithResponseStream,
    );
    await sub.waitFor((v) => text(v) === 'one;', 'the first chunk');
    expect(sub.values.some((e) => e.invokeComplete)).toBe(false);
    gates.open('api');
    await sub.waitForComplete();
    expect(text(sub.values)).toBe('one;two');
    const done = sub.values.at(-1).invokeComplete;
    expect(done).toMatchObject({ errorCode: null, executedVersion: '$LATEST', responseStreamContentType: 'text/plain' });
    expect(done.invocation.status).toBe('SUCCEEDED');
    expect(Buffer.from(done.logResult, 'base64').toString()).toContain('REPORT RequestId');

    const piped = new Subscription(
      client,
      SUBSCRIBE,
      { input: { functionName: 'streamer', payload: { mode: 'pipeline' } } },
      (d) => d.invokeFunctionWithResponseStream,
    );
    await piped.waitForComplete();
    expect(text(piped.values)).toBe('piped in three');
    expect(piped.values.at(-1).invokeComplete).toMatchObject({ errorCode: null, responseStreamContentType: 'application/octet-stream' });

    // invoked the buffered way, a streamified function's response comes whole
    const buffered = await invoke(server, { functionName: 'streamer', payload: { mode: 'text', gate: gates.url('api') } });
    expect(buffered).toMatchObject({ functionError: null, payload: 'one;two' });

    // a function that isn't streamified: its response in one chunk
    const whole = new Subscription(client, SUBSCRIBE, { input: { functionName: 'buffered' } }, (d) => d.invokeFunctionWithResponseStream);
    await whole.waitForComplete();
    expect(JSON.parse(text(whole.values))).toMatchObject({ statusCode: 202, body: 'all at once' });
    expect(whole.values.at(-1).invokeComplete.responseStreamContentType).toBeNull();

    // a failure mid-stream: the chunks so far, then invokeComplete with the error
    const failing = new Subscription(
      client,
      SUBSCRIBE,
      { input: { functionName: 'streamer', payload: { mode: 'fail', gate: gates.url('api-fail') } } },
      (d) => d.invokeFunctionWithResponseStream,
    );
    gates.open('api-fail');
    await failing.waitForComplete();
    expect(text(failing.values)).toBe('partial;');
    expect(failing.values.at(-1).invokeComplete).toMatchObject({ errorCode: 'Error', errorDetails: 'mid-stream boom' });

    // refusals are the subscription's error
    const missing = new Subscription(client, SUBSCRIBE, { input: { functionName: 'nope' } }, (d) => d);
    expect(JSON.stringify(await missing.waitForError())).toContain('NOT_FOUND');
    await client.dispose();
  });
});

describe('hostile streams', () => {
  it('a stream past 20 MB is cut at the limit; the invocation fails with Function.ResponseSizeTooLarge; its instance is replaced', async () => {
    const reading = await open(`${streamUrl}?mode=flood`);
    expect(await reading.ended).toBe('cut');
    expect(reading.bytes()).toBeLessThanOrEqual(20 * 1024 * 1024);
    expect(reading.bytes()).toBeGreaterThan(19 * 1024 * 1024);
    const inv = await lastInvocation('streamer');
    expect(inv).toMatchObject({ status: 'FAILED', errorType: 'Function.ResponseSizeTooLarge' });
    expect(logText(inv)).toMatch(/REPORT RequestId/);
    gates.open('after-flood');
    const again = await open(`${streamUrl}?mode=chunks&gate=${encodeURIComponent(gates.url('after-flood'))}`);
    expect(await again.ended).toBe('end');
    expect((await lastInvocation('streamer')).instanceId).not.toBe(inv.instanceId);
  });

  it('a stream that never ends is cut at the timeout; the invocation is Sandbox.Timedout and its instance is gone', async () => {
    const reading = await open(`${streamUrl}?mode=stall`);
    await reading.until('stalling;');
    expect(await reading.ended).toBe('cut');
    const inv = await waitUntil(async () => {
      const last = await lastInvocation('streamer');
      return last.errorType ? last : null;
    }, 'the stalled invocation to be recorded');
    expect(inv).toMatchObject({ status: 'FAILED', errorType: 'Sandbox.Timedout' });
    expect(logText(inv)).toMatch(/Task timed out after 4\.00 seconds/);
    expect(logText(inv)).toMatch(/REPORT RequestId/);
    const fn = (await server.data(`query { function(name: "streamer") { instances { busy total } } }`)).function;
    expect(fn.instances.busy).toBe(0);
  });
});
