// Function instances as OS processes: concurrency and throttling, timeouts, memory limits,
// crashes, idle reaping, code updates, and isolation between functions and from the server.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../support/api.js';
import { deploy, GET_FUNCTION, invoke, INVOKE, logText, UPDATE_CODE, UPDATE_CONFIG, waitForActive } from '../support/functions.js';
import { instanceProcesses, waitUntil } from '../support/processes.js';

/** Whether any process of the instance that wrote this log stream name is still running. */
const isAlive = (logStreamName: string) => instanceProcesses(logStreamName).length > 0;
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ functionIdleSeconds: 2 });
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
const SLEEPER = `exports.handler = async (e) => { await new Promise((r) => setTimeout(r, e.ms ?? 0)); return { stream: process.env.AWS_LAMBDA_LOG_STREAM_NAME }; };`;

describe('concurrency', () => {
  it('N parallel invokes run on N instances; one more over a reserved concurrency of N is THROTTLED', async () => {
    await node('par', SLEEPER, { reservedConcurrency: 3, timeoutSeconds: 30 });
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => server.gql(INVOKE, { input: { functionName: 'par', payload: { ms: 2_500 } } })),
    );
    const ok = results.filter((r) => !r.errors);
    const throttled = results.filter((r) => r.errors);
    expect(ok).toHaveLength(3);
    expect(throttled).toHaveLength(1);
    expectError(throttled[0]!, 'THROTTLED', 'input.functionName');
    expect(throttled[0]!.errors![0]!.extensions!.reason).toBe('ReservedFunctionConcurrentInvocationLimitExceeded');
    expect(throttled[0]!.errors![0]!.message).toBe('Rate Exceeded. Reason: ReservedFunctionConcurrentInvocationLimitExceeded');
    expect(new Set(ok.map((r) => r.data.invokeFunction.payload.stream)).size).toBe(3);
    expect(new Set(ok.map((r) => r.data.invokeFunction.invocation.instanceId)).size).toBe(3);
    const fn = (await server.data(GET_FUNCTION, { name: 'par' })).function;
    expect(fn.instances).toEqual({ busy: 0, total: 3 });
    // the throttle is recorded too
    const list = await server.data(
      `{ invocations(filter: { functionName: "par", status: [THROTTLED] }) { edges { node { status errorMessage } } } }`,
    );
    expect(list.invocations.edges.map((e: any) => e.node)).toEqual([
      { status: 'THROTTLED', errorMessage: 'ReservedFunctionConcurrentInvocationLimitExceeded' },
    ]);
  });

  it('reserved concurrency 0 throttles everything; reservations must leave 100 unreserved', async () => {
    await node('zero', SLEEPER);
    await server.data(UPDATE_CONFIG, { input: { functionName: 'zero', reservedConcurrency: 0 } });
    const res = await server.gql(INVOKE, { input: { functionName: 'zero' } });
    expectError(res, 'THROTTLED');
    const tooMuch = await server.gql(UPDATE_CONFIG, { input: { functionName: 'zero', reservedConcurrency: 898 } });
    expectError(tooMuch, 'BAD_USER_INPUT', 'input.reservedConcurrency'); // 'par' holds 3: 1000 - 100 - 3 = 897
    await server.data(UPDATE_CONFIG, { input: { functionName: 'zero', reservedConcurrency: 897 } });
    await server.data(UPDATE_CONFIG, { input: { functionName: 'zero', reservedConcurrency: -1 } });
    expect((await invoke(server, { functionName: 'zero' })).payload.stream).toMatch(/\[\$LATEST\]/);
  });

  it('the account limit throttles unreserved functions with ConcurrentInvocationLimitExceeded', async () => {
    const small = await startTestServer({ functionConcurrencyLimit: 2 });
    try {
      await deploy(small, {
        name: 'a',
        runtime: 'NODEJS20',
        handler: 'index.handler',
        timeoutSeconds: 30,
        code: { files: [{ path: 'index.js', content: SLEEPER }] },
      });
      const results = await Promise.all([1, 2, 3].map(() => small.gql(INVOKE, { input: { functionName: 'a', payload: { ms: 2_500 } } })));
      const throttled = results.filter((r) => r.errors);
      expect(throttled).toHaveLength(1);
      expect(throttled[0]!.errors![0]!.extensions!.reason).toBe('ConcurrentInvocationLimitExceeded');
    } finally {
      await small.close();
    }
  });
});

describe('limits and failures', () => {
  it("kills an instance at its timeout with Lambda's message; the next call starts a new one", async () => {
    await node('slow', SLEEPER, { timeoutSeconds: 1 });
    const warm = await invoke(server, { functionName: 'slow' });
    const res = await invoke(server, { functionName: 'slow', payload: { ms: 10_000 }, logType: 'TAIL' });
    expect(res.functionError).toBe('Unhandled');
    expect(res.payload.errorType).toBe('Sandbox.Timedout');
    expect(res.payload.errorMessage).toBe(`RequestId: ${res.invocation.id} Error: Task timed out after 1.00 seconds`);
    const tail = Buffer.from(res.logResult, 'base64').toString();
    expect(tail).toMatch(
      new RegExp(`\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z ${res.invocation.id} Task timed out after 1\\.00 seconds\\nEND RequestId`),
    );
    expect(res.invocation.durationMs).toBeGreaterThanOrEqual(1_000);
    expect(isAlive(warm.payload.stream)).toBe(false);
    const next = await invoke(server, { functionName: 'slow' });
    expect(next.invocation.coldStart).toBe(true);
    expect(next.payload.stream).not.toBe(warm.payload.stream);
  });

  it('kills an instance over its memory size: Node heap and native memory, and Python', async () => {
    await node('heap', `exports.handler = async () => { const keep = []; for (;;) keep.push(new Array(1e6).fill(Math.random())); };`, {
      timeoutSeconds: 30,
    });
    const heap = await invoke(server, { functionName: 'heap' });
    expect(heap.payload.errorType).toBe('Runtime.OutOfMemory');
    expect(heap.payload.errorMessage).toContain('out of memory');
    expect(heap.invocation.maxMemoryUsedMb).toBe(128);

    await node(
      'native',
      `exports.handler = async () => { const keep = []; for (;;) { keep.push(Buffer.alloc(16 * 1024 * 1024, 1)); await new Promise((r) => setTimeout(r, 5)); } };`,
      { timeoutSeconds: 30 },
    );
    const native = await invoke(server, { functionName: 'native' });
    expect(native.payload.errorType).toBe('Runtime.OutOfMemory');

    await deploy(server, {
      name: 'py-mem',
      runtime: 'PYTHON311',
      handler: 'app.handler',
      timeoutSeconds: 30,
      code: {
        files: [
          {
            path: 'app.py',
            content: `import time
def handler(event, context):
    keep = []
    while True:
        keep.append(b"x" * (16 * 1024 * 1024))
        time.sleep(0.005)
`,
          },
        ],
      },
    });
    const py = await invoke(server, { functionName: 'py-mem' });
    expect(py.payload.errorType).toBe('Runtime.OutOfMemory');
    // the function still works afterwards, on a new instance
    await server.data(UPDATE_CONFIG, { input: { functionName: 'native', memoryMb: 512 } });
    await waitForActive(server, 'native');
  });

  it("counts the memory of the processes a function starts, each invocation's new ones too", async () => {
    // each invocation starts a process that fills `chunks` × 16 MiB, holds it half a second and ends
    await node(
      'kids',
      `const { spawn } = require('node:child_process');
const GROW = 'const keep = []; const n = Number(process.argv[1]); const grow = () => { keep.push(Buffer.alloc(16 << 20, 1)); if (keep.length < n) setTimeout(grow, 5); else setTimeout(() => {}, 500); }; grow();';
exports.handler = async (e) => {
  const child = spawn(process.execPath, ['-e', GROW, String(e.chunks)], { stdio: 'ignore' });
  await new Promise((r) => child.on('exit', r));
  return 'done';
};`,
      { timeoutSeconds: 30, memoryMb: 256 },
    );
    const small = await invoke(server, { functionName: 'kids', payload: { chunks: 2 } });
    expect(small.payload).toBe('done');
    // the child's 32 MiB of buffers are in the invocation's memory, on top of the runtime's own
    expect(small.invocation.maxMemoryUsedMb).toBeGreaterThanOrEqual(64);
    const large = await invoke(server, { functionName: 'kids', payload: { chunks: 24 } });
    expect(large.payload.errorType).toBe('Runtime.OutOfMemory');
    expect(large.invocation.maxMemoryUsedMb).toBe(256);
  });

  it('a crashing runtime fails its invocation with Runtime.ExitError and is replaced', async () => {
    await node(
      'crash',
      `exports.handler = async (e) => { if (e.crash) setTimeout(() => process.exit(3), 0); await new Promise((r) => setTimeout(r, 50)); return process.env.AWS_LAMBDA_LOG_STREAM_NAME; };`,
    );
    const before = await invoke(server, { functionName: 'crash' });
    const res = await invoke(server, { functionName: 'crash', payload: { crash: true } });
    expect(res.functionError).toBe('Unhandled');
    expect(res.payload).toEqual({
      errorType: 'Runtime.ExitError',
      errorMessage: `RequestId: ${res.invocation.id} Error: Runtime exited with error: exit status 3`,
    });
    expect(isAlive(before.payload)).toBe(false);
    const after = await invoke(server, { functionName: 'crash' });
    expect(after.invocation.coldStart).toBe(true);
    expect(after.payload).not.toBe(before.payload);
  });

  it('reaps idle instances after the configured time', async () => {
    await node('idle', SLEEPER);
    const res = await invoke(server, { functionName: 'idle' });
    expect(isAlive(res.payload.stream)).toBe(true);
    await waitUntil(() => !isAlive(res.payload.stream), 'the idle instance to be reaped', 10_000);
    expect((await server.data(GET_FUNCTION, { name: 'idle' })).function.instances.total).toBe(0);
  });

  it('a code update is applied to new instances; updates in progress refuse another', async () => {
    await node('upd', `exports.handler = async () => ({ v: 1, stream: process.env.AWS_LAMBDA_LOG_STREAM_NAME });`);
    const v1 = await invoke(server, { functionName: 'upd' });
    const updated = (
      await server.data(UPDATE_CODE, {
        input: {
          functionName: 'upd',
          code: {
            files: [
              { path: 'index.js', content: `exports.handler = async () => ({ v: 2, stream: process.env.AWS_LAMBDA_LOG_STREAM_NAME });` },
            ],
          },
        },
      })
    ).updateFunctionCode.function;
    expect(updated.lastUpdateStatus).toBe('IN_PROGRESS');
    const again = await server.gql(UPDATE_CONFIG, { input: { functionName: 'upd', memoryMb: 256 } });
    if (again.errors) expectError(again, 'CONFLICT', 'input.functionName'); // unless the unpacking was already done
    await waitForActive(server, 'upd');
    const v2 = await invoke(server, { functionName: 'upd' });
    expect(v2.payload.v).toBe(2);
    expect(v2.invocation.coldStart).toBe(true);
    await waitUntil(() => !isAlive(v1.payload.stream), "the old revision's instance to stop", 5_000);
  });

  it('deleting a function stops its instances', async () => {
    await node('gone', SLEEPER);
    const res = await invoke(server, { functionName: 'gone' });
    await server.data(`mutation { deleteFunction(input: { functionName: "gone" }) { functionName } }`);
    await waitUntil(() => !isAlive(res.payload.stream), "the deleted function's instance to stop", 5_000);
    expectError(await server.gql(INVOKE, { input: { functionName: 'gone' } }), 'NOT_FOUND', 'input.functionName');
  });
});

describe('isolation', () => {
  it('an instance sees only its documented env and its own code; not other functions, the data dir or the server', async () => {
    await node(
      'victim',
      `const SECRET = 'victim-secret'; exports.handler = async () => ({ root: process.env.LAMBDA_TASK_ROOT, api: process.env.AWS_LAMBDA_RUNTIME_API, uid: process.getuid() });`,
      { environment: { VICTIM_TOKEN: 'abc' } },
    );
    const victim = (await invoke(server, { functionName: 'victim' })).payload;
    const victimId = (await server.data(GET_FUNCTION, { name: 'victim' })).function.id;
    // where the victim's code is on the host
    const victimCode = path.join(server.app.modules.functions.runtime.sandbox.root, 'code', victimId);
    const [hash] = fs.readdirSync(victimCode);
    await node(
      'snoop',
      `const fs = require('fs'); const http = require('http');
      const attempt = (f) => { try { return { ok: f() }; } catch (e) { return { err: e.code || e.message }; } };
      exports.handler = async (e) => ({
        env: Object.keys(process.env).sort(),
        mine: attempt(() => fs.readFileSync(process.env.LAMBDA_TASK_ROOT + '/index.js', 'utf8').length > 0),
        code: attempt(() => fs.readFileSync(e.root + '/index.js', 'utf8')),
        codeDir: attempt(() => fs.readdirSync(e.root)),
        codeRoot: attempt(() => fs.readdirSync(e.root + '/../..')),
        serverEnv: attempt(() => fs.readFileSync('/proc/' + e.serverPid + '/environ', 'utf8')),
        dataDir: attempt(() => fs.readdirSync(e.dataDir)),
        object: attempt(() => fs.readFileSync(e.dataDir + '/buckets/b/key', 'utf8')),
        packages: attempt(() => fs.readdirSync(e.dataDir + '/functions/packages')),
        api: await new Promise((resolve) => {
          const [host, port] = e.api.split(':');
          http.get({ host, port, path: '/2018-06-01/runtime/invocation/next' }, (res) => resolve({ status: res.statusCode }))
            .on('error', (err) => resolve({ err: err.code }));
        }),
        uid: process.getuid(),
      });`,
    );
    // DATA_DIR is enterable by everyone when the embedded Postgres runs in it: what lies inside stays closed
    fs.chmodSync(server.dataDir, 0o711);
    fs.mkdirSync(path.join(server.dataDir, 'buckets', 'b'), { recursive: true });
    fs.writeFileSync(path.join(server.dataDir, 'buckets', 'b', 'key'), 'bucket secret');
    const res = await invoke(server, {
      functionName: 'snoop',
      payload: { root: path.join(victimCode, hash!), api: victim.api, serverPid: process.pid, dataDir: server.dataDir },
    });
    const out = res.payload;
    expect(out.env).toEqual([
      'AWS_DEFAULT_REGION',
      'AWS_ENDPOINT_URL_S3',
      'AWS_EXECUTION_ENV',
      'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
      'AWS_LAMBDA_FUNCTION_NAME',
      'AWS_LAMBDA_FUNCTION_VERSION',
      'AWS_LAMBDA_INITIALIZATION_TYPE',
      'AWS_LAMBDA_LOG_GROUP_NAME',
      'AWS_LAMBDA_LOG_STREAM_NAME',
      'AWS_LAMBDA_RUNTIME_API',
      'AWS_REGION',
      'AWS_XRAY_CONTEXT_MISSING',
      // PWD: bubblewrap's, for the working directory it starts the runtime in (/var/task)
      'HOME',
      'LAMBDA_RUNTIME_DIR',
      'LAMBDA_TASK_ROOT',
      'LANG',
      // the code's and layers' native libraries, as Lambda's
      'LD_LIBRARY_PATH',
      // layers' and the runtime's modules, as Lambda's (docs/functions.md "Layers")
      'NODE_PATH',
      'PATH',
      'PWD',
      'TMPDIR',
      'TZ',
      '_HANDLER',
      // the invocation's trace header, set by the runtime for each invocation
      '_X_AMZN_TRACE_ID',
    ]);
    expect(out.mine).toEqual({ ok: true });
    expect(victim.root).toBe('/var/task');
    // in its sandbox, none of the host's paths is there at all
    for (const what of ['code', 'codeDir', 'codeRoot', 'serverEnv', 'dataDir', 'object', 'packages'])
      expect(out[what]).toEqual({ err: 'ENOENT' });
    if (process.getuid!() === 0) {
      expect(out.uid).not.toBe(0);
      expect(out.uid).not.toBe(victim.uid);
      // another instance's Runtime API refuses the connection
      expect(out.api.err).toMatch(/ECONNRESET|EPIPE|ECONNREFUSED/);
    }
    expect(logText(res.invocation)).not.toContain('victim-secret');
  });
});

describe('provisioned concurrency', () => {
  const PUT = `mutation($input: PutProvisionedConcurrencyConfigInput!) { putProvisionedConcurrencyConfig(input: $input) { config {
    qualifier requestedProvisionedConcurrentExecutions availableProvisionedConcurrentExecutions status statusReason } } }`;
  const CONFIGS = `query($name: String!) { function(name: $name) { instances { busy total } provisionedConcurrency {
    qualifier requestedProvisionedConcurrentExecutions availableProvisionedConcurrentExecutions status statusReason } } }`;
  const waitStatus = (name: string, status: string) =>
    waitUntil(async () => {
      const fn = (await server.data(CONFIGS, { name })).function;
      return fn.provisionedConcurrency[0]?.status === status ? fn : null;
    }, `provisioned concurrency of ${name} to be ${status}`);

  it('keeps N instances of an alias initialised: invocations start warm, idle reaping spares them', async () => {
    await node(
      'prov',
      `exports.handler = async (e) => { await new Promise((r) => setTimeout(r, e.ms ?? 0)); return { stream: process.env.AWS_LAMBDA_LOG_STREAM_NAME, init: process.env.AWS_LAMBDA_INITIALIZATION_TYPE }; };`,
      { timeoutSeconds: 10 },
    );
    await server.data(`mutation { publishVersion(input: { functionName: "prov" }) { version { version } } }`);
    await server.data(`mutation { createAlias(input: { functionName: "prov", name: "live", functionVersion: "1" }) { alias { name } } }`);
    const put = (await server.data(PUT, { input: { functionName: 'prov', qualifier: 'live', provisionedConcurrentExecutions: 2 } }))
      .putProvisionedConcurrencyConfig.config;
    expect(put).toMatchObject({ qualifier: 'live', requestedProvisionedConcurrentExecutions: 2, status: 'IN_PROGRESS' });
    const ready = await waitStatus('prov', 'READY');
    expect(ready.provisionedConcurrency[0].availableProvisionedConcurrentExecutions).toBe(2);
    expect(ready.instances).toEqual({ busy: 0, total: 2 });
    const both = await Promise.all([1, 2].map(() => invoke(server, { functionName: 'prov', qualifier: 'live', payload: { ms: 300 } })));
    for (const r of both) {
      expect(r.invocation.coldStart).toBe(false);
      expect(r.payload.init).toBe('provisioned-concurrency');
    }
    expect(new Set(both.map((r) => r.payload.stream)).size).toBe(2);
    // the idle time here is 2 s: provisioned instances outlive it
    await new Promise((r) => setTimeout(r, 3_000));
    for (const r of both) expect(isAlive(r.payload.stream)).toBe(true);
    // removing the setting turns them into ordinary warm instances, reaped when idle
    await server.data(`mutation { deleteProvisionedConcurrencyConfig(input: { functionName: "prov", qualifier: "live" }) { qualifier } }`);
    for (const r of both) await waitUntil(() => !isAlive(r.payload.stream), 'the formerly provisioned instance to be reaped', 10_000);
  });

  it('reports FAILED with the init error, and validates the setting', async () => {
    await node('prov-bad', `throw new Error('cannot start');`);
    await server.data(`mutation { publishVersion(input: { functionName: "prov-bad" }) { version { version } } }`);
    await server.data(PUT, { input: { functionName: 'prov-bad', qualifier: '1', provisionedConcurrentExecutions: 1 } });
    const failed = await waitStatus('prov-bad', 'FAILED');
    expect(failed.provisionedConcurrency[0].statusReason).toMatch(/^Runtime\.ImportModuleError: Error: cannot start/);
    const input = (extra: Record<string, unknown>) => ({
      input: { functionName: 'prov-bad', qualifier: '1', provisionedConcurrentExecutions: 1, ...extra },
    });
    expectError(await server.gql(PUT, input({ qualifier: '$LATEST' })), 'BAD_USER_INPUT', 'input.qualifier');
    expectError(await server.gql(PUT, input({ qualifier: '7' })), 'NOT_FOUND', 'input.qualifier');
    expectError(
      await server.gql(PUT, input({ provisionedConcurrentExecutions: 0 })),
      'BAD_USER_INPUT',
      'input.provisionedConcurrentExecutions',
    );
    await server.data(UPDATE_CONFIG, { input: { functionName: 'prov-bad', reservedConcurrency: 1 } });
    expectError(
      await server.gql(PUT, input({ provisionedConcurrentExecutions: 2 })),
      'BAD_USER_INPUT',
      'input.provisionedConcurrentExecutions',
    );
  });
});
