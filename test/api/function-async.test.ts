// Async invocation (EVENT): queued durably in Postgres, run by the invoker, retried with backoff,
// reported to on-success / on-failure destinations with Lambda's record; DRY_RUN; payload limits.
import crypto from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../support/api.js';
import { deploy, GET_FUNCTION, GET_INVOCATION, invoke, INVOKE, UPDATE_CONFIG } from '../support/functions.js';
import { waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const node = (name: string, body: string, extra: Record<string, unknown> = {}) =>
  deploy(server, {
    name,
    runtime: 'NODEJS20',
    handler: 'index.handler',
    code: { files: [{ path: 'index.js', content: body }] },
    ...extra,
  });
const getInvocation = async (id: string) => (await server.data(GET_INVOCATION, { id })).invocation;
const waitSettled = (id: string, timeoutMs = 20_000) =>
  waitUntil(
    async () => {
      const inv = await getInvocation(id);
      return inv.status === 'SUCCEEDED' || inv.status === 'FAILED' ? inv : null;
    },
    `invocation ${id} to settle`,
    timeoutMs,
  );
const invocationsOf = async (functionName: string) =>
  (
    await server.data(
      `query($f: String!) { invocations(first: 100, filter: { functionName: $f }) { edges { node { id status payload response attempts sourceInvocationId invocationType } } } }`,
      { f: functionName },
    )
  ).invocations.edges.map((e: any) => e.node);

const RECORDER = `exports.handler = async (event) => ({ recorded: event });`;

describe('EVENT', () => {
  it('accepts at once (202), runs from the queue, and reports success to the on-success destination', async () => {
    await node('sink-ok', RECORDER);
    await node('async-ok', `exports.handler = async (e) => ({ doubled: e.n * 2 });`, { eventInvokeConfig: { onSuccess: 'sink-ok' } });
    const res = await invoke(server, { functionName: 'async-ok', invocationType: 'EVENT', payload: { n: 21 } });
    expect(res.statusCode).toBe(202);
    expect(res.payload).toBeNull();
    expect(res.invocation.status).toBe('QUEUED');
    expect(res.invocation.invocationType).toBe('EVENT');
    const done = await waitSettled(res.invocation.id);
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempts: 1, response: { doubled: 42 }, payload: { n: 21 } });
    const record = await waitUntil(
      async () => (await invocationsOf('sink-ok')).find((i: any) => i.status === 'SUCCEEDED'),
      'the destination to run',
    );
    expect(record.sourceInvocationId).toBe(res.invocation.id);
    expect(record.invocationType).toBe('EVENT');
    const r = record.payload;
    expect(r).toEqual({
      version: '1.0',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      requestContext: {
        requestId: res.invocation.id,
        functionArn: 'arn:aws:lambda:local:000000000000:function:async-ok:$LATEST',
        condition: 'Success',
        approximateInvokeCount: 1,
      },
      requestPayload: { n: 21 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST' },
      responsePayload: { doubled: 42 },
    });
    expect(record.response).toEqual({ recorded: r });
  });

  it('retries a failing event (2 retries by default), then sends it to the on-failure destination', async () => {
    await node('sink-fail', RECORDER);
    await node('async-fail', `exports.handler = async () => { throw new RangeError('always'); };`, {
      eventInvokeConfig: { onFailure: 'sink-fail' },
    });
    const res = await invoke(server, { functionName: 'async-fail', invocationType: 'EVENT', payload: { x: 1 } });
    const done = await waitSettled(res.invocation.id);
    expect(done.status).toBe('FAILED');
    expect(done.attempts).toBe(3);
    expect(done.errorType).toBe('RangeError');
    // three START lines: one per attempt
    expect(done.logs.filter((l: any) => l.text.startsWith('START ')).length).toBe(3);
    const record = await waitUntil(
      async () => (await invocationsOf('sink-fail')).find((i: any) => i.status === 'SUCCEEDED'),
      'the failure destination to run',
    );
    expect(record.payload.requestContext).toMatchObject({
      requestId: res.invocation.id,
      condition: 'RetriesExhausted',
      approximateInvokeCount: 3,
    });
    expect(record.payload.responseContext).toEqual({ statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' });
    expect(record.payload.responsePayload).toMatchObject({ errorType: 'RangeError', errorMessage: 'always' });
    expect(record.payload.requestPayload).toEqual({ x: 1 });
  });

  it('a retry can succeed; maximumRetryAttempts 0 means one attempt', async () => {
    await node(
      'flaky',
      `const fs = require('fs'); exports.handler = async () => {
      const f = process.env.TMPDIR + '/count'; const n = fs.existsSync(f) ? Number(fs.readFileSync(f, 'utf8')) : 0;
      fs.writeFileSync(f, String(n + 1)); if (n === 0) throw new Error('first time'); return n + 1; };`,
    );
    const flaky = await waitSettled((await invoke(server, { functionName: 'flaky', invocationType: 'EVENT' })).invocation.id);
    expect(flaky).toMatchObject({ status: 'SUCCEEDED', attempts: 2, response: 2 });

    await node('once', `exports.handler = async () => { throw new Error('no'); };`, { eventInvokeConfig: { maximumRetryAttempts: 0 } });
    const once = await waitSettled((await invoke(server, { functionName: 'once', invocationType: 'EVENT' })).invocation.id);
    expect(once).toMatchObject({ status: 'FAILED', attempts: 1 });
  });

  it('an event older than maximumEventAgeSeconds is dropped to the on-failure destination', async () => {
    await node('sink-age', RECORDER);
    await node('aging', RECORDER, { reservedConcurrency: 0, eventInvokeConfig: { maximumEventAgeSeconds: 60, onFailure: 'sink-age' } });
    const res = await invoke(server, { functionName: 'aging', invocationType: 'EVENT', payload: { old: true } });
    // two minutes pass while it waits (the clock is moved, not waited for)
    const db = postgres(server.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      await db`update invocations set created_at = created_at - interval '2 minutes' where id = ${res.invocation.id}`;
    } finally {
      await db.end();
    }
    await server.data(UPDATE_CONFIG, { input: { functionName: 'aging', reservedConcurrency: -1 } });
    expect(await waitSettled(res.invocation.id)).toMatchObject({ status: 'FAILED', errorType: 'EventAgeExceeded', attempts: 0 });
    const record = await waitUntil(
      async () => (await invocationsOf('sink-age')).find((i: any) => i.status === 'SUCCEEDED'),
      'the failure destination to run',
    );
    expect(record.payload.requestContext).toMatchObject({
      requestId: res.invocation.id,
      condition: 'EventAgeExceeded',
      approximateInvokeCount: 0,
    });
    expect(record.payload.requestPayload).toEqual({ old: true });
    expect(record.payload.responsePayload).toBeNull();
  });

  it('a throttled event waits in the queue instead of failing', async () => {
    await node('held', RECORDER, { reservedConcurrency: 0 });
    const res = await invoke(server, { functionName: 'held', invocationType: 'EVENT', payload: { wait: true } });
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await getInvocation(res.invocation.id)).status).toBe('QUEUED');
    expect((await getInvocation(res.invocation.id)).attempts).toBe(0);
    await server.data(UPDATE_CONFIG, { input: { functionName: 'held', reservedConcurrency: -1 } });
    expect(await waitSettled(res.invocation.id)).toMatchObject({
      status: 'SUCCEEDED',
      attempts: 1,
      response: { recorded: { wait: true } },
    });
  });
});

describe('DRY_RUN and payload limits', () => {
  it('DRY_RUN checks and records, running nothing (204)', async () => {
    await node('dry', RECORDER);
    const res = await invoke(server, { functionName: 'dry', invocationType: 'DRY_RUN' });
    expect(res.statusCode).toBe(204);
    expect(res.invocation.status).toBe('DRY_RUN');
    expect((await server.data(GET_FUNCTION, { name: 'dry' })).function.instances.total).toBe(0);
    expectError(
      await server.gql(INVOKE, { input: { functionName: 'dry', qualifier: 'nope', invocationType: 'DRY_RUN' } }),
      'NOT_FOUND',
      'input.qualifier',
    );
  });

  it('refuses payloads over 1 MB async and over the 2 MiB GraphQL body sync, and takes one just under', async () => {
    await node('big', `exports.handler = async (e) => e.s.length;`);
    const mb = (n: number) => ({ s: 'x'.repeat(n * 1024 * 1024) });
    const asyncRes = await server.gql(INVOKE, { input: { functionName: 'big', invocationType: 'EVENT', payload: mb(1) } });
    expectError(asyncRes, 'PAYLOAD_TOO_LARGE', 'input.payload');
    // Lambda's 6 MB sync limit is reachable through HTTP triggers and function URLs; over GraphQL the
    // request body limit comes first
    const syncRes = await server.gql(INVOKE, { input: { functionName: 'big', payload: mb(6) } });
    expect(syncRes.status).toBe(413);
    expectError(syncRes, 'PAYLOAD_TOO_LARGE');
    const justUnder = 2 * 1024 * 1024 - 4096;
    expect((await invoke(server, { functionName: 'big', payload: { s: 'y'.repeat(justUnder) } })).payload).toBe(justUnder);
    expect(await invocationsOf('big')).toHaveLength(1);
  });

  it('a response of megabytes arrives whole, and the same instance takes the next invocation', async () => {
    // the Node runtime sends a large response and its request for the next event in two writes, a small one in one
    await node('big-out', `exports.handler = async (e) => e.n > 0 ? 'b'.repeat(e.n) : 'small';`, { memoryMb: 512 });
    const big = await invoke(server, { functionName: 'big-out', payload: { n: 3 * 1024 * 1024 } });
    expect(big.functionError).toBeNull();
    expect(big.payload).toBe('b'.repeat(3 * 1024 * 1024));
    const small = await invoke(server, { functionName: 'big-out', payload: { n: 0 } });
    expect(small.payload).toBe('small');
    expect(small.invocation.coldStart).toBe(false);
    expect(small.invocation.instanceId).toBe(big.invocation.instanceId);
  });

  it('an event of megabytes arrives whole, in many reads, and the same instance takes the next one whole', async () => {
    // the Node runtime holds a large event's pieces until all of it is in, then reads the response after it
    await node('big-in', `exports.handler = async (e) => require('node:crypto').createHash('sha256').update(e.s).digest('hex');`, {
      memoryMb: 512,
    });
    const digest = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
    const text = crypto.randomBytes(750 * 1024).toString('base64'); // 1,000 KiB, ~16 reads of the runtime's buffer
    const big = await invoke(server, { functionName: 'big-in', payload: { s: text } });
    expect(big.payload).toBe(digest(text));
    const small = await invoke(server, { functionName: 'big-in', payload: { s: 'small' } });
    expect(small.payload).toBe(digest('small'));
    expect(small.invocation.instanceId).toBe(big.invocation.instanceId);
  });

  it('a response over 6 MB fails the invocation with Function.ResponseSizeTooLarge', async () => {
    await node('huge-out', `exports.handler = async () => 'z'.repeat(7 * 1024 * 1024);`, { memoryMb: 512 });
    const res = await invoke(server, { functionName: 'huge-out' });
    expect(res.functionError).toBe('Unhandled');
    expect(res.payload.errorType).toBe('Function.ResponseSizeTooLarge');
  });
});
