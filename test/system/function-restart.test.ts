// kill -9 of the server with functions: accepted async events are in Postgres and run after a
// restart; instances die with their server (its keeper kills them), none is left behind.
import fs from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { instanceProcesses, isAlive, waitUntil } from '../support/processes.js';
import { functionsDirOf, processesOf } from '../support/server.js';
import { api, SystemTest, TEST_KEY } from './harness.js';

let t: SystemTest;
afterEach(async () => {
  await t?.cleanup();
  if (t?.dataDir) await fs.rm(functionsDirOf(t.dataDir), { recursive: true, force: true });
}, 90_000);

const CREATE = `mutation($input: CreateFunctionInput!) { createFunction(input: $input) { function { name } } }`;
const INVOKE = `mutation($input: InvokeFunctionInput!) { invokeFunction(input: $input) { statusCode payload invocation { id status } } }`;
const STATE = `query($name: String!) { function(name: $name) { state } }`;

describe('kill -9 of a server running functions', { timeout: 120_000 }, () => {
  it('queued events survive and run after the restart (one the dead server held too); the instances die with the server', async () => {
    t = await new SystemTest().init('emberplane-fn-restart-');
    const env = {
      DATABASE_URL: await createTestDatabase(),
      ADMIN_API_KEY: TEST_KEY,
      FUNCTIONS_RUNTIME_DIR: functionsDirOf(t.dataDir),
      PORT: '0',
    };
    const first = await t.start(env);
    const a = api(first);
    const code = {
      files: [
        { path: 'index.js', content: 'exports.handler = async (e) => ({ n: e.n, stream: process.env.AWS_LAMBDA_LOG_STREAM_NAME });' },
      ],
    };
    await a.data(CREATE, { input: { name: 'durable', runtime: 'NODEJS20', handler: 'index.handler', code, reservedConcurrency: 0 } });
    // warm leaves a setsid child behind, which must not outlive the server either
    await a.data(CREATE, {
      input: {
        name: 'warm',
        runtime: 'NODEJS20',
        handler: 'index.handler',
        code: {
          files: [
            {
              path: 'index.js',
              content: `
const { spawn } = require('child_process');
spawn('setsid', ['sleep', '600'], { detached: true, stdio: 'ignore' }).unref();
exports.handler = async (e) => ({ n: e.n, stream: process.env.AWS_LAMBDA_LOG_STREAM_NAME });`,
            },
          ],
        },
      },
    });
    for (const name of ['durable', 'warm'])
      await waitUntil(async () => (await a.data(STATE, { name })).function.state === 'ACTIVE', `${name} ACTIVE`);
    const warm = (await a.data(INVOKE, { input: { functionName: 'warm', payload: { n: 0 } } })).invokeFunction.payload;
    // the runtime and its setsid child
    const warmPids = await waitUntil(() => {
      const p = instanceProcesses(warm.stream);
      return p.length >= 2 ? p : null;
    }, 'the warm instance and its child');
    // reserved concurrency 0: the events are accepted and wait in the queue
    const ids: string[] = [];
    for (let n = 1; n <= 3; n++)
      ids.push(
        (await a.data(INVOKE, { input: { functionName: 'durable', invocationType: 'EVENT', payload: { n } } })).invokeFunction.invocation
          .id,
      );

    await first.kill('SIGKILL');
    await waitUntil(() => warmPids.every((pid) => !isAlive(pid)), 'the warm instance to exit with its server', 10_000);
    // and every other sandbox of the server (its waiting spares die as their own sandboxes, just as surely)
    await waitUntil(() => processesOf(t.dataDir).length === 0, 'every sandbox of the server to exit with it', 10_000);

    const second = await t.start(env);
    const b = api(second);
    await b.data(
      `mutation { updateFunctionConfiguration(input: { functionName: "durable", reservedConcurrency: -1 }) { function { name } } }`,
    );
    const done = await waitUntil(
      async () => {
        const rows = await Promise.all(
          ids.map(async (id) => (await b.data(`query($id: ID!) { invocation(id: $id) { status response attempts } }`, { id })).invocation),
        );
        return rows.every((r) => r.status === 'SUCCEEDED') ? rows : null;
        // an event the dead server had claimed is taken back once its heartbeat is 30 s old
      },
      'the queued events to run on the new server',
      60_000,
      250,
    );
    expect(done.map((r) => r.response.n)).toEqual([1, 2, 3]);
    // attempts count claims: one the dead server made may count, never more
    for (const r of done) expect(r.attempts).toBeLessThanOrEqual(2);
    // the package is in DATA_DIR: the new server unpacks it again for its own instances
    expect((await b.data(INVOKE, { input: { functionName: 'warm', payload: { n: 9 } } })).invokeFunction.payload.n).toBe(9);
  });
});
