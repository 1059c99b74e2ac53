// Functions: create, configure, code packages, states, and synchronous invocation with real
// Node, Python and PROVIDED (bash + curl) runtime processes.
import { createHash } from 'node:crypto';
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
    expect(Array.isArray(failed.payload.stackTrace)).toBe(true);
    expect(failed.invocation.status).toBe('FAILED');
    expect(failed.invocation.errorType).toBe('TypeError');
  });

  it('reports a thrown error as Unhandled with errorType, errorMessage and stackTrace', async () => {
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
    expect(res.payload.stackTrace[0]).toMatch(/index\.js/);
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
    ];
    for (const [extra, field] of cases) {
      expectError(await server.gql(CREATE_FUNCTION, { input: { ...base, ...extra } }), 'BAD_USER_INPUT', field);
    }
    for (const name of ['m', 's', 't', 'e', 'r', 'h', 'a']) expect((await server.data(GET_FUNCTION, { name })).function).toBeNull();
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
