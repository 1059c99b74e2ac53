// Functions: create, configure, code packages, states, and synchronous invocation with real
// Node, Python and PROVIDED (bash + curl) runtime processes.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeZip } from '../../src/engine/functions/zip.js';
import { expectError } from '../support/api.js';
import {
  CREATE_FUNCTION,
  createFunction,
  deploy,
  expectReport,
  GET_FUNCTION,
  GET_INVOCATION,
  invoke,
  INVOKE,
  logText,
  UPDATE_CONFIG,
  waitForActive,
} from '../support/functions.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { run } from '../support/processes.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const NODE_ECHO = {
  runtime: 'NODEJS20',
  handler: 'index.handler',
  code: {
    files: [
      {
        path: 'index.js',
        content: `exports.handler = async (event, context) => {
    console.log('got', JSON.stringify(event));
    return { echo: event, requestId: context.awsRequestId, fn: context.functionName, version: context.functionVersion,
      memory: context.memoryLimitInMB, group: context.logGroupName, stream: context.logStreamName,
      remaining: context.getRemainingTimeInMillis() };
  };`,
      },
    ],
  },
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
    expect(second.payload.stream).toBe(first.payload.stream);
    expect(second.logResult).toBeNull();
    expectReport(second.invocation.logs.at(-1).text, 128, false);
    const stored = (await server.data(GET_INVOCATION, { id: second.invocation.id })).invocation;
    expect(stored.billedDurationMs).toBe(Math.ceil(stored.durationMs));
    expect(stored.maxMemoryUsedMb).toBeGreaterThan(0);
  });
});

const PROVIDED_BOOTSTRAP = `#!/bin/bash
# A custom runtime in bash + curl, straight from the Lambda docs' tutorial
set -euo pipefail
API="http://\${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  EVENT_DATA=$(curl -sS -LD "$HEADERS" "$API/invocation/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  echo "handling $REQUEST_ID with $_HANDLER"
  RESPONSE="{\\"got\\":$EVENT_DATA,\\"handler\\":\\"$_HANDLER\\",\\"task\\":\\"$LAMBDA_TASK_ROOT\\"}"
  curl -sS -o /dev/null -X POST "$API/invocation/$REQUEST_ID/response" -d "$RESPONSE"
done
`;

describe('runtimes', () => {
  it('runs ESM handlers, callback handlers and sync handlers', async () => {
    await deploy(server, {
      name: 'esm',
      runtime: 'NODEJS20',
      handler: 'src/app.main',
      code: {
        files: [
          {
            path: 'src/app.mjs',
            content: `import { helper } from './lib.mjs';\nexport const main = async (event) => ({ esm: helper(event.n) });`,
          },
          { path: 'src/lib.mjs', content: `export const helper = (n) => n * 2;` },
        ],
      },
    });
    expect((await invoke(server, { functionName: 'esm', payload: { n: 21 } })).payload).toEqual({ esm: 42 });

    await deploy(server, {
      name: 'esm-pkg',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      code: {
        files: [
          { path: 'package.json', content: '{"type":"module"}' },
          { path: 'index.js', content: `export async function handler() { return 'module via package.json'; }` },
        ],
      },
    });
    expect((await invoke(server, { functionName: 'esm-pkg' })).payload).toBe('module via package.json');

    await deploy(server, {
      name: 'callback',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      code: {
        files: [
          {
            path: 'index.js',
            content: `exports.handler = function (event, context, callback) {
        setTimeout(() => event.fail ? callback(new TypeError('bad ' + event.fail)) : callback(null, { cb: true }), 10);
      };`,
          },
        ],
      },
    });
    expect((await invoke(server, { functionName: 'callback' })).payload).toEqual({ cb: true });
    const failed = await invoke(server, { functionName: 'callback', payload: { fail: 'thing' } });
    expect(failed.functionError).toBe('Unhandled');
    expect(failed.payload.errorType).toBe('TypeError');
    expect(failed.payload.errorMessage).toBe('bad thing');
    expect(failed.payload.trace[0]).toBe('TypeError: bad thing');
    expect(failed.invocation.status).toBe('FAILED');
    expect(failed.invocation.errorType).toBe('TypeError');
  });

  it("reports a thrown error as Unhandled with errorType, errorMessage and AWS's trace (the error line first, no runtime frames)", async () => {
    await deploy(server, {
      name: 'thrower',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      code: {
        files: [
          {
            path: 'index.js',
            content: `class ValidationError extends Error { constructor(m) { super(m); this.name = 'ValidationError'; } }
      exports.handler = async () => { throw new ValidationError('no way'); };`,
          },
        ],
      },
    });
    const res = await invoke(server, { functionName: 'thrower', logType: 'TAIL' });
    expect(res.statusCode).toBe(200);
    expect(res.functionError).toBe('Unhandled');
    expect(res.payload).toMatchObject({ errorType: 'ValidationError', errorMessage: 'no way' });
    expect(res.payload.trace[0]).toBe('ValidationError: no way');
    expect(res.payload.trace[1]).toMatch(/^ {4}at .*\/var\/task\/index\.js:2:/);
    expect(res.payload.trace.filter((l: string) => /bootstrap|node:internal/.test(l))).toEqual([]);
    const tail = Buffer.from(res.logResult, 'base64').toString('utf8');
    expect(tail).toMatch(
      new RegExp(
        `\\t${res.invocation.id}\\tERROR\\tInvoke Error \\t\\{"errorType":"ValidationError","errorMessage":"no way","stack":\\["ValidationError: no way",`,
      ),
    );
    // the instance survives a handled error: the next call is warm
    const again = await invoke(server, { functionName: 'thrower' });
    expect(again.invocation.coldStart).toBe(false);
  });

  it('reports init errors through /init/error: missing module, missing handler', async () => {
    await deploy(server, {
      name: 'no-module',
      runtime: 'NODEJS20',
      handler: 'missing.handler',
      code: { files: [{ path: 'index.js', content: '' }] },
    });
    const res = await invoke(server, { functionName: 'no-module' });
    expect(res.functionError).toBe('Unhandled');
    expect(res.payload.errorType).toBe('Runtime.ImportModuleError');
    expect(res.payload.errorMessage).toContain("Cannot find module 'missing'");

    await deploy(server, {
      name: 'no-handler',
      runtime: 'PYTHON311',
      handler: 'app.nothing',
      code: { files: [{ path: 'app.py', content: 'x = 1\n' }] },
    });
    const py = await invoke(server, { functionName: 'no-handler' });
    expect(py.payload.errorType).toBe('Runtime.HandlerNotFound');
    expect(py.invocation.errorType).toBe('Runtime.HandlerNotFound');

    await deploy(server, {
      name: 'py-syntax',
      runtime: 'PYTHON311',
      handler: 'app.handler',
      code: { files: [{ path: 'app.py', content: 'def handler(:\n' }] },
    });
    const syntax = await invoke(server, { functionName: 'py-syntax' });
    expect(syntax.payload.errorType).toBe('Runtime.ImportModuleError');
    expect(syntax.payload.errorMessage).toMatch(/^Unable to import module 'app':/);
  });

  it('runs Python handlers with the Lambda context', async () => {
    await deploy(server, {
      name: 'py',
      runtime: 'PYTHON311',
      handler: 'pkg.app.handler',
      memoryMb: 256,
      code: {
        files: [
          { path: 'pkg/__init__.py', content: '' },
          {
            path: 'pkg/app.py',
            content: `import os
def handler(event, context):
    print("event", event)
    if event.get("boom"):
        raise ValueError("boom!")
    return {"sum": sum(event["xs"]), "request": context.aws_request_id, "name": context.function_name,
            "version": context.function_version, "memory": context.memory_limit_in_mb,
            "remaining": context.get_remaining_time_in_millis(), "arn": context.invoked_function_arn,
            "group": context.log_group_name, "stream": context.log_stream_name}
`,
          },
        ],
      },
    });
    const res = await invoke(server, { functionName: 'py', payload: { xs: [1, 2, 3] } });
    expect(res.payload).toMatchObject({
      sum: 6,
      request: res.invocation.id,
      name: 'py',
      version: '$LATEST',
      memory: '256',
      group: '/aws/lambda/py',
      arn: 'arn:aws:lambda:local:000000000000:function:py',
    });
    expect(res.payload.remaining).toBeGreaterThan(0);
    expect(logText(res.invocation)).toContain("event {'xs': [1, 2, 3]}");
    expectReport(res.invocation.logs.at(-1).text, 256, true);
    const err = await invoke(server, { functionName: 'py', payload: { boom: true } });
    expect(err.functionError).toBe('Unhandled');
    expect(err.payload).toMatchObject({ errorType: 'ValueError', errorMessage: 'boom!' });
    expect(err.payload.stackTrace.join('')).toContain('pkg/app.py');
  });

  it('runs a PROVIDED bootstrap written in bash with curl against the Runtime API', async () => {
    await deploy(server, {
      name: 'bash',
      runtime: 'PROVIDED',
      handler: 'function.handler',
      code: { files: [{ path: 'bootstrap', content: PROVIDED_BOOTSTRAP, executable: true }] },
    });
    const res = await invoke(server, { functionName: 'bash', payload: { hello: 'bash' } });
    expect(res.functionError).toBeNull();
    expect(res.payload.got).toEqual({ hello: 'bash' });
    expect(res.payload.handler).toBe('function.handler');
    expect(res.payload.task).toBe('/var/task');
    expect(logText(res.invocation)).toContain(`handling ${res.invocation.id} with function.handler`);
    const warm = await invoke(server, { functionName: 'bash', payload: 2 });
    expect(warm.payload.got).toBe(2);
    expect(warm.invocation.coldStart).toBe(false);

    await deploy(server, {
      name: 'no-bootstrap',
      runtime: 'PROVIDED',
      handler: 'x',
      code: { files: [{ path: 'handler.sh', content: 'echo' }] },
    });
    const none = await invoke(server, { functionName: 'no-bootstrap' });
    expect(none.functionError).toBe('Unhandled');
    expect(none.payload.errorType).toBe('Runtime.InvalidEntrypoint');
    expect(none.payload.errorMessage).toContain('ENOENT');
  });
});

// The same records logged by a Python handler and by AWS's own runtime interface client
// (awslambdaric's log handler, from PyPI): the formats must agree line for line.
const PY_RECORDS = `import logging


def emit():
    logging.getLogger().info("root info %s", 1)
    app = logging.getLogger("app")
    app.debug("hidden debug")
    app.warning("a warning", extra={"orderId": "o-1"})
    app.info({"structured": True})
    try:
        1 / 0
    except ZeroDivisionError:
        app.exception("failed op")
`;

/** What awslambdaric's log handler writes for PY_RECORDS' records, with `format` (TEXT | JSON) and `level`, one entry per record. */
async function ricLogLines(format: 'TEXT' | 'JSON', level: string, requestId: string): Promise<string[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ric-'));
  try {
    await fs.writeFile(path.join(dir, 'records.py'), PY_RECORDS);
    const script = `import sys, json
sys.path.insert(0, ${JSON.stringify(dir)})
from awslambdaric import bootstrap
from awslambdaric.lambda_runtime_log_utils import LogFormat
out = []
class Sink:
    def log(self, msg, frame_type=None):
        out.append(msg)
bootstrap._setup_logging(LogFormat.${format}, ${JSON.stringify(level)}, Sink())
bootstrap._GLOBAL_AWS_REQUEST_ID = ${JSON.stringify(requestId)}
import records
records.emit()
print(json.dumps(out))`;
    const res = await run('python3', ['-c', script], process.env);
    expect(res.code, res.stderr).toBe(0);
    return JSON.parse(res.stdout);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** A log entry with what differs between two runs made the same: times, and where the code lives. */
const comparable = (line: string) =>
  line
    .replace(/\n$/, '')
    .replace(/\n/g, '\r')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z/g, '<time>')
    .replace(/File \\?"[^"\\]+\/records\.py\\?"/g, 'File records.py')
    .replace(/"location": ?"[^"]+\/records\.py:/g, '"location":"records.py:');

describe('Lambda runtime semantics', () => {
  it("Node: callback, context.succeed/fail/done, callbackWaitsForEmptyEventLoop, unhandled rejections and X-Ray's variables", async () => {
    await deploy(server, {
      name: 'node-sem',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      code: {
        files: [
          {
            path: 'index.js',
            content: `exports.handler = (event, context, callback) => {
  switch (event.mode) {
    case 'env':
      return callback(null, { trace: process.env._X_AMZN_TRACE_ID, missing: process.env.AWS_XRAY_CONTEXT_MISSING });
    case 'wait':
      setTimeout(() => console.log('timer fired'), 100);
      return callback(null, 'waited');
    case 'nowait':
      context.callbackWaitsForEmptyEventLoop = false;
      setTimeout(() => console.log('late timer'), 2500);
      return callback(null, 'at once');
    case 'succeed':
      return context.succeed({ via: 'succeed' });
    case 'fail':
      return context.fail(new RangeError('via fail'));
    case 'done':
      return context.done(null, 'via done');
    case 'reject':
      Promise.reject(new Error('floating'));
      return;
  }
};`,
          },
        ],
      },
    });
    const call = (mode: string) => invoke(server, { functionName: 'node-sem', payload: { mode } });
    const env = [await call('env'), await call('env')];
    for (const r of env) {
      expect(r.invocation.traceId).toMatch(/^1-[0-9a-f]{8}-[0-9a-f]{24}$/);
      expect(r.payload.trace).toMatch(new RegExp(`^Root=${r.invocation.traceId};Parent=[0-9a-f]{16};Sampled=0$`));
      expect(r.payload.missing).toBe('LOG_ERROR');
    }
    expect(env[0].invocation.traceId).not.toBe(env[1].invocation.traceId);
    const byTrace = await server.data(`query($t: String!) { invocations(filter: { traceId: $t }) { edges { node { id } } } }`, {
      t: env[1].invocation.traceId,
    });
    expect(byTrace.invocations.edges.map((e: any) => e.node.id)).toEqual([env[1].invocation.id]);

    // callbackWaitsForEmptyEventLoop (true by default): the timer's line is part of the invocation
    const waited = await call('wait');
    expect(waited.payload).toBe('waited');
    const texts = waited.invocation.logs.map((l: any) => l.text);
    expect(texts.findIndex((t: string) => t.endsWith('\tINFO\ttimer fired'))).toBeGreaterThan(0);
    expect(texts.findIndex((t: string) => t.endsWith('\tINFO\ttimer fired'))).toBeLessThan(
      texts.indexOf(`END RequestId: ${waited.invocation.id}`),
    );

    expect((await call('succeed')).payload).toEqual({ via: 'succeed' });
    expect((await call('done')).payload).toBe('via done');
    const failed = await call('fail');
    expect(failed.functionError).toBe('Unhandled');
    expect(failed.payload).toMatchObject({ errorType: 'RangeError', errorMessage: 'via fail' });
    expect(failed.payload.trace[0]).toBe('RangeError: via fail');

    const rejected = await call('reject');
    expect(rejected.functionError).toBe('Unhandled');
    expect(rejected.payload).toMatchObject({ errorType: 'Runtime.UnhandledPromiseRejection', errorMessage: 'Error: floating' });
    expect(rejected.payload.trace[0]).toBe('Runtime.UnhandledPromiseRejection: Error: floating');
    // the runtime exited: the next invocation starts a new instance
    const fresh = await call('nowait');
    expect(fresh.invocation.coldStart).toBe(true);
    // false: the answer does not wait for the timer (which would run on into the next invocation)
    expect(fresh.payload).toBe('at once');
    expect(logText(fresh.invocation)).not.toContain('late timer');
  });

  it('Python: MarshalError, traces without the runtime frame, X-Ray variables; a timed-out REPORT says the timeout', async () => {
    await deploy(server, {
      name: 'py-sem',
      runtime: 'PYTHON311',
      handler: 'app.handler',
      code: {
        files: [
          {
            path: 'app.py',
            content: `import os
def handler(event, context):
    if event["mode"] == "set":
        return {1, 2}
    if event["mode"] == "raise":
        raise ValueError("boom")
    return {"trace": os.environ.get("_X_AMZN_TRACE_ID"), "missing": os.environ.get("AWS_XRAY_CONTEXT_MISSING")}
`,
          },
        ],
      },
    });
    const env = await invoke(server, { functionName: 'py-sem', payload: { mode: 'env' } });
    expect(env.payload.trace).toMatch(new RegExp(`^Root=${env.invocation.traceId};Parent=[0-9a-f]{16};Sampled=0$`));
    expect(env.payload.missing).toBe('LOG_ERROR');
    const marshal = await invoke(server, { functionName: 'py-sem', payload: { mode: 'set' } });
    expect(marshal.payload).toEqual({
      errorMessage: 'Unable to marshal response: Object of type set is not JSON serializable',
      errorType: 'Runtime.MarshalError',
      requestId: marshal.invocation.id,
      stackTrace: [],
    });
    const raised = await invoke(server, { functionName: 'py-sem', payload: { mode: 'raise' } });
    expect(raised.payload).toMatchObject({ errorType: 'ValueError', errorMessage: 'boom', requestId: raised.invocation.id });
    expect(raised.payload.stackTrace).toEqual(['  File "/var/task/app.py", line 6, in handler\n    raise ValueError("boom")\n']);
    expect(logText(raised.invocation)).toContain(
      '[ERROR] ValueError: boom\rTraceback (most recent call last):\r  File "/var/task/app.py", line 6, in handler\r    raise ValueError("boom")',
    );

    await deploy(server, {
      name: 'hangs',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      timeoutSeconds: 1,
      code: { files: [{ path: 'index.js', content: 'exports.handler = () => new Promise(() => {});' }] },
    });
    const timedOut = await invoke(server, { functionName: 'hangs' });
    expect(timedOut.payload.errorType).toBe('Sandbox.Timedout');
    expect(timedOut.invocation.durationMs).toBe(1000);
    expect(timedOut.invocation.logs.at(-1).text).toMatch(/\tDuration: 1000\.00 ms\tBilled Duration: \d+ ms\t/);
  });

  it("logs as Lambda's runtimes do: Python's log handler (text, then JSON at a level) as awslambdaric writes it; Node's JSON console and system events", async () => {
    await deploy(server, {
      name: 'py-log',
      runtime: 'PYTHON311',
      handler: 'app.handler',
      code: {
        files: [
          { path: 'records.py', content: PY_RECORDS },
          { path: 'app.py', content: 'import records\ndef handler(event, context):\n    records.emit()\n' },
        ],
      },
    });
    const text = await invoke(server, { functionName: 'py-log' });
    const id = text.invocation.id;
    const app = (inv: any) => inv.logs.filter((l: any) => l.stream !== 'SYSTEM').map((l: any) => comparable(l.text));
    // INFO by default, on the root logger
    expect(app(text.invocation)).toEqual((await ricLogLines('TEXT', 'INFO', id)).map(comparable));
    expect(app(text.invocation)[0]).toBe(`[INFO]\t<time>\t${id}\troot info 1`);

    const fn = (
      await server.data(UPDATE_CONFIG, {
        input: { functionName: 'py-log', loggingConfig: { logFormat: 'JSON', applicationLogLevel: 'WARN' } },
      })
    ).updateFunctionConfiguration.function;
    expect(fn.loggingConfig).toEqual({
      logFormat: 'JSON',
      applicationLogLevel: 'WARN',
      systemLogLevel: 'INFO',
      logGroup: '/aws/lambda/py-log',
    });
    const json = await invoke(server, { functionName: 'py-log' });
    const theirs = (await ricLogLines('JSON', 'WARN', json.invocation.id)).map((l) => JSON.parse(l));
    const ours = json.invocation.logs.filter((l: any) => l.stream !== 'SYSTEM').map((l: any) => JSON.parse(l.text));
    expect(ours.map((o: any) => o.level)).toEqual(['WARNING', 'ERROR']);
    const same = (o: any) => ({ ...o, timestamp: undefined, stackTrace: o.stackTrace?.length, location: o.location?.replace(/^.*\//, '') });
    expect(ours.map(same)).toEqual(theirs.map(same));
    for (const o of ours) expect(o.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // the platform's events in JSON
    const system = json.invocation.logs.filter((l: any) => l.stream === 'SYSTEM').map((l: any) => JSON.parse(l.text));
    expect(system.map((s: any) => s.type)).toEqual(['platform.start', 'platform.runtimeDone', 'platform.report']);
    expect(system[0].record).toEqual({
      requestId: json.invocation.id,
      version: '$LATEST',
      tracing: { type: 'X-Amzn-Trace-Id', value: expect.stringMatching(new RegExp(`^Root=${json.invocation.traceId};`)) },
    });
    expect(system[2].record).toMatchObject({
      requestId: json.invocation.id,
      status: 'success',
      metrics: { billedDurationMs: json.invocation.billedDurationMs, memorySizeMB: 128, maxMemoryUsedMB: json.invocation.maxMemoryUsedMb },
    });
    expect(system[2].record.metrics.initDurationMs).toBeGreaterThan(0);
    for (const s of system) expect(s.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    await deploy(server, {
      name: 'node-json',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      loggingConfig: { logFormat: 'JSON', applicationLogLevel: 'INFO', systemLogLevel: 'WARN' },
      code: {
        files: [
          {
            path: 'index.js',
            content: `exports.handler = async (event) => {
  console.debug('hidden');
  console.info('shown', { a: 1 });
  console.warn('multi\\nline');
  if (event.fail) throw new Error('bad');
  return 'ok';
};`,
          },
        ],
      },
    });
    const nodeOk = await invoke(server, { functionName: 'node-json' });
    // system level WARN: a successful invocation's platform events are left out
    expect(nodeOk.invocation.logs.map((l: any) => JSON.parse(l.text))).toEqual([
      { timestamp: expect.stringMatching(/Z$/), level: 'INFO', requestId: nodeOk.invocation.id, message: 'shown { a: 1 }' },
      { timestamp: expect.stringMatching(/Z$/), level: 'WARN', requestId: nodeOk.invocation.id, message: 'multi\nline' },
    ]);
    const nodeFailed = await invoke(server, { functionName: 'node-json', payload: { fail: true } });
    const events = nodeFailed.invocation.logs.map((l: any) => JSON.parse(l.text));
    expect(events.filter((e: any) => e.type).map((e: any) => [e.type, e.record.status, e.record.errorType])).toEqual([
      ['platform.runtimeDone', 'error', 'Error'],
      ['platform.report', 'error', 'Error'],
    ]);
    expect(events.find((e: any) => e.level === 'ERROR')).toMatchObject({
      requestId: nodeFailed.invocation.id,
      message: expect.stringContaining('Invoke Error'),
    });
  });
});

describe('code packages and states', () => {
  const zip = (files: Array<{ path: string; content: string; mode?: number }>) =>
    writeZip(files.map((f) => ({ path: f.path, content: Buffer.from(f.content), mode: f.mode }))).toString('base64');

  it('takes a base64 zip; identical code has the same CodeSha256', async () => {
    const code = { zipBase64: zip([{ path: 'index.js', content: 'exports.handler = async () => "zipped";' }]) };
    const a = await deploy(server, { name: 'zip-a', runtime: 'NODEJS20', handler: 'index.handler', code });
    const b = await deploy(server, { name: 'zip-b', runtime: 'NODEJS20', handler: 'index.handler', code });
    expect(a.codeSha256).toBe(b.codeSha256);
    expect((await invoke(server, { functionName: 'zip-b' })).payload).toBe('zipped');
  });

  it('takes code from a bucket object (s3Uri)', async () => {
    await server.data(`mutation { createBucket(input: { name: "code-bucket" }) { bucket { name } } }`);
    const contentBase64 = zip([{ path: 'app.py', content: 'def handler(e, c):\n    return "from s3"\n' }]);
    await server.data(
      `mutation($b: String!) { putObject(input: { bucket: "code-bucket", key: "fn/app.zip", contentBase64: $b }) { object { key } } }`,
      { b: contentBase64 },
    );
    const fn = await deploy(server, {
      name: 'from-s3',
      runtime: 'PYTHON311',
      handler: 'app.handler',
      code: { s3Uri: 's3://code-bucket/fn/app.zip' },
    });
    expect(fn.codeSha256).toBe(createHash('sha256').update(Buffer.from(contentBase64, 'base64')).digest('base64'));
    expect((await invoke(server, { functionName: 'from-s3' })).payload).toBe('from s3');
  });

  it('refuses zips whose entries escape the code dir, and bad code input', async () => {
    const input = (code: unknown) => ({ name: 'evil', runtime: 'NODEJS20', handler: 'index.handler', code });
    for (const p of ['../evil.js', 'a/../../evil.js', '/etc/evil.js']) {
      const res = await server.gql(CREATE_FUNCTION, { input: input({ zipBase64: zip([{ path: p, content: 'x' }]) }) });
      expectError(res, 'BAD_USER_INPUT', 'input.code.zipBase64');
      expect(res.errors![0]!.message).toMatch(/outside the code directory/);
    }
    const link = await server.gql(CREATE_FUNCTION, {
      input: input({ zipBase64: zip([{ path: 'passwd', content: '/etc/passwd', mode: 0o120777 }]) }),
    });
    expectError(link, 'BAD_USER_INPUT', 'input.code.zipBase64');
    expect(link.errors![0]!.message).toMatch(/symbolic link/);
    expectError(
      await server.gql(CREATE_FUNCTION, { input: input({ zipBase64: Buffer.from('not a zip').toString('base64') }) }),
      'BAD_USER_INPUT',
      'input.code.zipBase64',
    );
    expectError(await server.gql(CREATE_FUNCTION, { input: input({}) }), 'BAD_USER_INPUT', 'input.code');
    expectError(
      await server.gql(CREATE_FUNCTION, {
        input: input({ files: [{ path: 'a', content: '' }], zipBase64: zip([{ path: 'a', content: '' }]) }),
      }),
      'BAD_USER_INPUT',
      'input.code',
    );
    expectError(
      await server.gql(CREATE_FUNCTION, { input: input({ s3Uri: 's3://no-such-bucket/code.zip' }) }),
      'NOT_FOUND',
      'input.code.s3Uri',
    );
    expectError(await server.gql(CREATE_FUNCTION, { input: input({ s3Uri: 'http://x/y' }) }), 'BAD_USER_INPUT', 'input.code.s3Uri');
    expect((await server.data(GET_FUNCTION, { name: 'evil' })).function).toBeNull();
  });

  it('a package that cannot be unpacked leaves the function FAILED with the reason', async () => {
    const good = writeZip([{ path: 'index.js', content: Buffer.from('exports.handler = async () => 1;'.repeat(20)) }]);
    // flip a byte of the compressed data: the central directory still reads, the CRC check fails
    good[40] ^= 0xff;
    await createFunction(server, {
      name: 'corrupt',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      code: { zipBase64: good.toString('base64') },
    });
    const { waitUntil } = await import('../support/processes.js');
    const fn = await waitUntil(async () => {
      const f = (await server.data(GET_FUNCTION, { name: 'corrupt' })).function;
      return f.state === 'FAILED' ? f : null;
    }, 'FAILED state');
    expect(fn.stateReason).toMatch(/Could not unpack the deployment package: corrupt zip/);
    expect(fn.lastUpdateStatus).toBe('FAILED');
    const res = await server.gql(INVOKE, { input: { functionName: 'corrupt' } });
    expectError(res, 'CONFLICT', 'input.functionName');
    expect(res.errors![0]!.message).toContain('The function is currently in the following state: Failed');
  });

  it('validates configuration with Lambda limits, changing nothing', async () => {
    const base = { runtime: 'NODEJS20', handler: 'index.handler', code: NODE_ECHO.code };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ name: 'bad name!' }, 'input.name'],
      [{ name: 'x'.repeat(65) }, 'input.name'],
      [{ name: 'm', memoryMb: 127 }, 'input.memoryMb'],
      [{ name: 'm', memoryMb: 10_241 }, 'input.memoryMb'],
      [{ name: 's', ephemeralStorageMb: 511 }, 'input.ephemeralStorageMb'],
      [{ name: 's', ephemeralStorageMb: 10_241 }, 'input.ephemeralStorageMb'],
      [{ name: 't', timeoutSeconds: 0 }, 'input.timeoutSeconds'],
      [{ name: 't', timeoutSeconds: 901 }, 'input.timeoutSeconds'],
      [{ name: 'e', environment: { BIG: 'x'.repeat(4_096) } }, 'input.environment'],
      [{ name: 'e', environment: { AWS_REGION: 'x' } }, 'input.environment.AWS_REGION'],
      [{ name: 'e', environment: { OK: 1 } }, 'input.environment.OK'],
      [{ name: 'r', reservedConcurrency: 901 }, 'input.reservedConcurrency'],
      [{ name: 'h', handler: 'has space' }, 'input.handler'],
      [{ name: 'a', eventInvokeConfig: { maximumRetryAttempts: 3 } }, 'input.eventInvokeConfig.maximumRetryAttempts'],
      [{ name: 'a', eventInvokeConfig: { maximumEventAgeSeconds: 59 } }, 'input.eventInvokeConfig.maximumEventAgeSeconds'],
      [{ name: 'l', loggingConfig: { applicationLogLevel: 'DEBUG' } }, 'input.loggingConfig.applicationLogLevel'],
      [{ name: 'l', loggingConfig: { logFormat: 'TEXT', systemLogLevel: 'WARN' } }, 'input.loggingConfig.systemLogLevel'],
    ];
    for (const [extra, field] of cases) {
      expectError(await server.gql(CREATE_FUNCTION, { input: { ...base, ...extra } }), 'BAD_USER_INPUT', field);
    }
    for (const name of ['m', 's', 't', 'e', 'r', 'h', 'a', 'l']) expect((await server.data(GET_FUNCTION, { name })).function).toBeNull();
    // an update out of range changes nothing either
    expect((await server.data(GET_FUNCTION, { name: 'echo' })).function.ephemeralStorageMb).toBe(512);
    expectError(
      await server.gql(UPDATE_CONFIG, { input: { functionName: 'echo', ephemeralStorageMb: 10_241 } }),
      'BAD_USER_INPUT',
      'input.ephemeralStorageMb',
    );
    expect((await server.data(GET_FUNCTION, { name: 'echo' })).function.ephemeralStorageMb).toBe(512);
    expectError(await server.gql(CREATE_FUNCTION, { input: { ...base, name: 'echo' } }), 'CONFLICT', 'input.name');
    expectError(await server.gql(INVOKE, { input: { functionName: 'nope' } }), 'NOT_FOUND', 'input.functionName');
  });
});
