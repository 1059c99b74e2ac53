// Functions: create, configure, code packages, states, and synchronous invocation with real
// Node, Python and PROVIDED (bash + curl) runtime processes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeZip } from '../../src/lib/zip.js';
import { expectError } from '../support/api.js';
import { CREATE_FUNCTION, createFunction, deploy, expectReport, GET_FUNCTION, GET_INVOCATION, invoke, INVOKE, logText, waitForActive } from '../support/functions.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => { server = await startTestServer(); });
afterAll(async () => { await server?.close(); });

const NODE_ECHO = {
  runtime: 'NODEJS20', handler: 'index.handler',
  code: { files: [{ path: 'index.js', content: `exports.handler = async (event, context) => {
    console.log('got', JSON.stringify(event));
    return { echo: event, requestId: context.awsRequestId, fn: context.functionName, version: context.functionVersion,
      memory: context.memoryLimitInMB, group: context.logGroupName, stream: context.logStreamName,
      remaining: context.getRemainingTimeInMillis(), pid: process.pid };
  };` }] },
};

describe('sync invocation', () => {
  it('runs a CommonJS async handler, cold then warm on the same instance', async () => {
    const fn = await createFunction(server, { name: 'echo', ...NODE_ECHO });
    expect(fn.state).toBe('PENDING');
    expect(fn.codeSha256).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    await waitForActive(server, 'echo');
    const first = await invoke(server, { functionName: 'echo', payload: { a: 1 }, logType: 'TAIL' });
    expect(first.statusCode).toBe(200);
    expect(first.functionError).toBeNull();
    expect(first.executedVersion).toBe('$LATEST');
    expect(first.payload.echo).toEqual({ a: 1 });
    expect(first.payload.requestId).toBe(first.invocation.id);
    expect(first.payload.fn).toBe('echo');
    expect(first.payload.version).toBe('$LATEST');
    expect(first.payload.memory).toBe('128');
    expect(first.payload.group).toBe('/aws/lambda/echo');
    expect(first.payload.stream).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    expect(first.payload.remaining).toBeGreaterThan(2_000);
    expect(first.payload.remaining).toBeLessThanOrEqual(3_000);
    expect(first.invocation.coldStart).toBe(true);
    expect(first.invocation.initDurationMs).toBeGreaterThan(0);
    expect(first.invocation.status).toBe('SUCCEEDED');
    const tail = Buffer.from(first.logResult, 'base64').toString('utf8').trimEnd().split('\n');
    expect(tail[0]).toBe(`START RequestId: ${first.invocation.id} Version: $LATEST`);
    expect(tail[1]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\t${first.invocation.id}\\tINFO\\tgot {"a":1}$`));
    expect(tail[2]).toBe(`END RequestId: ${first.invocation.id}`);
    expectReport(tail[3], 128, true);

    const second = await invoke(server, { functionName: 'echo', payload: [1, 2] });
    expect(second.invocation.coldStart).toBe(false);
    expect(second.invocation.initDurationMs).toBeNull();
    expect(second.invocation.instanceId).toBe(first.invocation.instanceId);
    expect(second.payload.pid).toBe(first.payload.pid);
    expect(second.logResult).toBeNull();
    expectReport(second.invocation.logs.at(-1).text, 128, false);
    const stored = (await server.data(GET_INVOCATION, { id: second.invocation.id })).invocation;
    expect(stored.billedDurationMs).toBe(Math.ceil(stored.durationMs));
    expect(stored.maxMemoryUsedMb).toBeGreaterThan(0);
  });
});
