// kill -9 of the server with functions: accepted async events are in Postgres and run after a
// restart (an attempt the crash cut short not counted); instances die with their server (its keeper
// kills them), none is left behind; every line an instance wrote before it died is stored.
import fs from 'node:fs/promises';
import net from 'node:net';
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
const LOGS = `query($name: String!, $after: String) { function(name: $name) {
  logs(first: 100, after: $after) { edges { node { stream text } } pageInfo { hasNextPage endCursor } } } }`;

// Writes "tick <n>" lines to stdout and then each n to the test's socket, until it is killed; run
// again after the restart (the socket gone) it returns at once.
const CHATTY = `const net = require('net');
exports.handler = (event) => new Promise((resolve) => {
  const socket = net.connect(event.port, '127.0.0.1');
  socket.on('error', () => resolve({ rerun: true }));
  socket.on('connect', () => {
    let n = 0;
    const tick = () => { console.log('tick ' + n); socket.write(n + '\\n'); n++; setTimeout(tick, 2); };
    tick();
  });
});`;

/** Every line of a function's log, oldest first. */
async function allLogLines(a: ReturnType<typeof api>, name: string): Promise<Array<{ stream: string; text: string }>> {
  const out: Array<{ stream: string; text: string }> = [];
  let after: string | null = null;
  for (;;) {
    const page: any = (await a.data(LOGS, { name, after })).function.logs;
    out.push(...page.edges.map((e: any) => e.node));
    if (!page.pageInfo.hasNextPage) return out;
    after = page.pageInfo.endCursor;
  }
}

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
    // no retries: were the attempt the crash cuts short counted, the event would have none left
    await a.data(CREATE, {
      input: {
        name: 'chatty',
        runtime: 'NODEJS20',
        handler: 'index.handler',
        timeoutSeconds: 120,
        eventInvokeConfig: { maximumRetryAttempts: 0 },
        code: { files: [{ path: 'index.js', content: CHATTY }] },
      },
    });
    for (const name of ['durable', 'warm', 'chatty'])
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

    // the chatty instance ticks on the socket after each line it writes
    let ticked = -1;
    let connected: net.Socket | null = null;
    const ticks = net.createServer((socket) => {
      connected = socket;
      let buf = '';
      socket.on('data', (d) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) ticked = Number(l);
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => ticks.listen(0, '127.0.0.1', resolve));
    const port = (ticks.address() as net.AddressInfo).port;
    const chatty = (await a.data(INVOKE, { input: { functionName: 'chatty', invocationType: 'EVENT', payload: { port } } })).invokeFunction
      .invocation.id;
    await waitUntil(() => ticked >= 20, 'the chatty instance to tick', 30_000);
    // stopped, the server reads nothing more: the lines written meanwhile are only where the instance wrote them
    first.proc.kill('SIGSTOP');
    const stoppedAt = ticked;
    await waitUntil(() => ticked >= stoppedAt + 50, 'ticks while the server is stopped', 10_000);

    await first.kill('SIGKILL');
    await waitUntil(() => (connected as net.Socket | null)?.closed === true, 'the chatty instance to die with its server', 10_000);
    const lastTick = ticked;
    await new Promise<void>((resolve) => ticks.close(() => resolve()));
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
    // a claim the dead server made is not counted
    for (const r of done) expect(r.attempts).toBe(1);
    // the package is in DATA_DIR: the new server unpacks it again for its own instances
    expect((await b.data(INVOKE, { input: { functionName: 'warm', payload: { n: 9 } } })).invokeFunction.payload.n).toBe(9);

    // every tick the instance wrote before it said so on the socket is in the function's log, once
    const logged = (await allLogLines(b, 'chatty')).filter((l) => l.stream === 'STDOUT').map((l) => /\ttick (\d+)$/.exec(l.text)?.[1]);
    const numbers = logged.filter((n) => n !== undefined).map(Number);
    expect(numbers.slice(0, lastTick + 1)).toEqual(Array.from({ length: lastTick + 1 }, (_, i) => i));
    // the cut attempt runs again and is not counted: one attempt, none of the (zero) retries spent
    const rerun = await waitUntil(
      async () => {
        const r = (await b.data(`query($id: ID!) { invocation(id: $id) { status response attempts } }`, { id: chatty })).invocation;
        return r.status === 'SUCCEEDED' ? r : null;
      },
      'the cut chatty event to run again',
      60_000,
      250,
    );
    expect(rerun).toEqual({ status: 'SUCCEEDED', response: { rerun: true }, attempts: 1 });
  });
});
