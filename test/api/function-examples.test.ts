// The examples in examples/functions, deployed with examples/functions/deploy.sh (curl, jq and a
// real `zip`) against a test server, and invoked with their event.json.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../support/functions.js';
import { startTestServer, type TestServer } from '../support/server.js';

const run = promisify(execFile);
const SCRIPT = path.resolve('examples/functions/deploy.sh');

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

async function deployExample(name: string, runtime: string, handler: string): Promise<any> {
  const { stdout } = await run('bash', [SCRIPT, name, runtime, handler], {
    env: { ...process.env, EMBERPLANE_URL: server.url, EMBERPLANE_API_KEY: server.key },
    timeout: 60_000,
  });
  // the script prints the created function, then the invocation
  const docs = stdout
    .trim()
    .split(/\n(?=\{)/)
    .map((d) => JSON.parse(d));
  expect(docs[0].data.createFunction.function).toMatchObject({ name, state: 'PENDING' });
  return docs[1];
}

describe('examples/functions', () => {
  it('node-greeter: an ESM handler answering an HTTP API event', async () => {
    const out = await deployExample('node-greeter', 'NODEJS20', 'index.handler');
    expect(out.statusCode).toBe(200);
    expect(out.functionError).toBeNull();
    expect(out.payload.statusCode).toBe(200);
    expect(JSON.parse(out.payload.body)).toMatchObject({ message: 'Hello, Ada!', requestId: out.invocation.id, version: '$LATEST' });
    expect(out.log).toMatch(/INFO\tgreeting Ada \(\d+ ms left\)/);
    expect(out.invocation.coldStart).toBe(true);
  });

  it('python-wordcount: a Python handler over SQS-style records', async () => {
    const out = await deployExample('python-wordcount', 'PYTHON311', 'app.handler');
    expect(out.payload).toEqual({
      top: [
        ['the', 3],
        ['fox', 2],
        ['quick', 1],
      ],
      total: 10,
    });
    expect(out.log).toContain(`"request": "${out.invocation.id}"`);
  });

  it('provided-bash: a custom runtime in bash + curl, including its error path', async () => {
    const out = await deployExample('provided-bash', 'PROVIDED', 'function.handler');
    expect(out.payload).toEqual({ length: JSON.stringify({ hello: 'from bash' }).length, kernel: 'Linux' });
    expect(out.log).toContain('received: {"hello":"from bash"}');
    const failed = await invoke(server, { functionName: 'provided-bash', payload: { fail: true } });
    expect(failed.functionError).toBe('Unhandled');
    expect(failed.payload).toEqual({ errorType: 'HandlerError', errorMessage: expect.stringContaining('asked to fail') });
  });
});
