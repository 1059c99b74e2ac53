// What a server's functions leave behind when it ends: nothing. kill -9 of the server: its keeper
// kills the instances and removes its runtime root; kill -9 of both: the next server on the same
// runtime dir sweeps the dead root (and never a live one). SIGTERM with a long async invocation
// running: the server stops after a short grace, and the invocation runs again after the restart.
import { readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChildServer } from '../support/child-server.js';
import { createTestDatabase } from '../support/db.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { instanceProcesses, waitUntil } from '../support/processes.js';
import { isAlive as processAlive } from '../support/processes.js';
import { functionsDirOf, processesOf } from '../support/server.js';
import { api, type Api, SystemTest, TEST_KEY } from './harness.js';

let t: SystemTest;
afterEach(async () => {
  await t?.cleanup();
  if (t?.dataDir) await fs.rm(functionsDirOf(t.dataDir), { recursive: true, force: true });
}, 90_000);

/** Whether a process of the instance that wrote this log stream name still runs (pids inside a sandbox are its own). */
const isAlive = (logStreamName: string) => instanceProcesses(logStreamName).length > 0;

const CREATE = `mutation($input: CreateFunctionInput!) { createFunction(input: $input) { function { name } } }`;
const INVOKE = `mutation($input: InvokeFunctionInput!) { invokeFunction(input: $input) { statusCode payload invocation { id status } } }`;
const STATE = `query($name: String!) { function(name: $name) { state } }`;
const INVOCATION = `query($id: ID!) { invocation(id: $id) { status response attempts } }`;

// the Lambda docs' bash runtime: once its Runtime API is gone, curl fails at once and it loops forever
const SPIN_BOOTSTRAP = `#!/bin/bash
API="http://\${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  EVENT_DATA=$(curl -sS -LD "$HEADERS" "$API/invocation/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  curl -sS -o /dev/null -X POST "$API/invocation/$REQUEST_ID/response" -d "{\\"stream\\":\\"$AWS_LAMBDA_LOG_STREAM_NAME\\"}"
done
`;

async function deploy(a: Api, input: Record<string, unknown>): Promise<void> {
  await a.data(CREATE, { input });
  await waitUntil(async () => (await a.data(STATE, { name: input.name })).function.state === 'ACTIVE', `${input.name} ACTIVE`);
}

const deploySpin = (a: Api) =>
  deploy(a, {
    name: 'spin',
    runtime: 'PROVIDED',
    handler: 'x',
    code: { files: [{ path: 'bootstrap', content: SPIN_BOOTSTRAP, executable: true }] },
  });

/** The runtime roots under a functions dir. */
const rootsIn = (dir: string) =>
  readdirSync(dir)
    .filter((n) => n.startsWith('emberplane-fn-srv-'))
    .map((n) => path.join(dir, n));

/** The outer processes of spare sandboxes: they bind a staging dir under <root>/spares/ at /var/task. */
const sparesUnder = (dir: string) =>
  readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
          .split('\0')
          .some((arg) => arg.startsWith(`${dir}/`) && arg.includes('/spares/'));
      } catch {
        return false;
      }
    });

/** The keeper shell a server started (its child with the keeper's name on its command line). */
function keeperOf(server: ChildServer): number {
  const pids = readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return (
          Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === server.pid &&
          readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('emberplane-fn-keeper')
        );
      } catch {
        return false;
      }
    });
  expect(pids).toHaveLength(1);
  return pids[0]!;
}

async function serverEnv(t: SystemTest, extra: Record<string, string> = {}) {
  return {
    DATABASE_URL: await createTestDatabase(),
    ADMIN_API_KEY: TEST_KEY,
    FUNCTIONS_RUNTIME_DIR: functionsDirOf(t.dataDir),
    PORT: '0',
    ...extra,
  };
}

describe('function instances and runtime roots of a server that ends', { timeout: 120_000 }, () => {
  it('kill -9 of the server: its idle and busy instances die, its runtime root goes but for output not stored yet', async () => {
    t = await new SystemTest().init('emberplane-fn-left-');
    const server = await t.start(await serverEnv(t));
    const a = api(server);
    await deploySpin(a);
    await deploy(a, {
      name: 'busy',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      timeoutSeconds: 300,
      code: { files: [{ path: 'index.js', content: 'exports.handler = () => new Promise((r) => setTimeout(r, 120000));' }] },
    });
    const spin = (await a.data(INVOKE, { input: { functionName: 'spin' } })).invokeFunction.payload;
    expect(isAlive(spin.stream)).toBe(true);
    const busy = (await a.data(INVOKE, { input: { functionName: 'busy', invocationType: 'EVENT' } })).invokeFunction.invocation.id;
    await waitUntil(async () => (await a.data(INVOCATION, { id: busy })).invocation.status === 'RUNNING', 'the busy invocation to run');
    const instances = await waitUntil(() => {
      const p = processesOf(t.dataDir);
      return p.length >= 2 ? p : null;
    }, 'both instances');
    // this server has made its one runtime root
    const roots = rootsIn(functionsDirOf(t.dataDir));
    expect(roots).toHaveLength(1);

    await server.kill('SIGKILL');
    await waitUntil(() => processesOf(t.dataDir).length === 0, 'the instances to die with their server', 10_000);
    for (const pid of instances) expect(processAlive(pid)).toBe(false);
    // what the instances wrote after their server died (the bash runtime's failing curl) is kept for the
    // next server to store: only output/ (and the owner record saying whose it was) may be left
    await waitUntil(
      () => rootsIn(functionsDirOf(t.dataDir)).every((root) => readdirSync(root).every((n) => n === 'output' || n === 'owner.json')),
      'the root to be removed but for output not stored yet',
      10_000,
    );
  });

  it.each([
    ['confined: its sandboxes die with it all the same (bwrap dies with its parent)', 'on'],
    ['unconfined (SANDBOX=off): the next server kills its instances', 'off'],
  ])('kill -9 of the server and its keeper, %s; the next server sweeps the dead root, not a live one', async (_, sandbox) => {
    t = await new SystemTest().init('emberplane-fn-sweep-');
    const env = await serverEnv(t, { SANDBOX: sandbox });
    const first = await t.start(env);
    const a = api(first);
    await deploySpin(a);
    const spin = (await a.data(INVOKE, { input: { functionName: 'spin' } })).invokeFunction.payload;
    const [deadRoot] = rootsIn(functionsDirOf(t.dataDir));
    process.kill(keeperOf(first), 'SIGKILL');
    await first.kill('SIGKILL');
    if (sandbox === 'on') {
      await waitUntil(() => !isAlive(spin.stream), 'the sandboxed instance to die with its server', 10_000);
    } else {
      // nothing took them down: the runtime loops on its failing /next
      await new Promise((r) => setTimeout(r, 500));
      expect(isAlive(spin.stream)).toBe(true);
    }
    expect(rootsIn(functionsDirOf(t.dataDir))).toEqual([deadRoot]);

    const second = await t.start(env);
    await waitUntil(() => !isAlive(spin.stream), "the dead root's instance to be killed", 5_000);
    const after = rootsIn(functionsDirOf(t.dataDir));
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(deadRoot);
    const b = api(second);
    const again = (await b.data(INVOKE, { input: { functionName: 'spin' } })).invokeFunction.payload;
    expect(isAlive(again.stream)).toBe(true);

    // a server starting beside a live one leaves its root and instances alone
    const third = await t.start(env);
    const both = rootsIn(functionsDirOf(t.dataDir));
    expect(both).toHaveLength(2);
    expect(both).toContain(after[0]);
    expect(isAlive(again.stream)).toBe(true);
    expect((await b.data(INVOKE, { input: { functionName: 'spin' } })).invokeFunction.payload.stream).toBe(again.stream);
    await third.kill('SIGTERM');
  });

  it('kill -9 of the server and its keeper: its waiting spare sandboxes die with it (bwrap dies with its parent)', async () => {
    t = await new SystemTest().init('emberplane-fn-spares-');
    const server = await t.start(await serverEnv(t, { FUNCTION_SPARE_SANDBOXES: '2' }));
    const a = api(server);
    await deploy(a, {
      name: 'wants-spares',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      code: { files: [{ path: 'index.js', content: 'exports.handler = async () => 1;' }] },
    });
    // the first cold start makes the pool fill
    expect((await a.data(INVOKE, { input: { functionName: 'wants-spares' } })).invokeFunction.payload).toBe(1);
    // each spare: its outer bwrap (the server's child) and bwrap's init inside, same command line
    const spares = await waitUntil(() => {
      const p = sparesUnder(functionsDirOf(t.dataDir));
      return p.length === 4 ? p : null;
    }, 'two spare sandboxes');
    process.kill(keeperOf(server), 'SIGKILL');
    await server.kill('SIGKILL');
    await waitUntil(() => spares.every((pid) => !processAlive(pid)), 'the spares to die with their server', 10_000);
    await waitUntil(() => processesOf(t.dataDir).length === 0, 'no sandbox left', 10_000);
  });

  it('SIGTERM with a long async invocation running: stops after the grace; the invocation runs again after the restart, no attempt spent', async () => {
    t = await new SystemTest().init('emberplane-fn-grace-');
    // the function sleeps on its first run only: it asks this little server (on the loopback the
    // sandbox shares) whether it ran before
    let runs = 0;
    const oracle = http.createServer((_req, res) => {
      runs++;
      res.end(runs === 1 ? 'first' : 'again');
    });
    await new Promise<void>((r) => oracle.listen(0, '127.0.0.1', () => r()));
    const oracleUrl = `http://127.0.0.1:${(oracle.address() as AddressInfo).port}/`;
    try {
      const env = await serverEnv(t, { FUNCTION_SHUTDOWN_GRACE_MS: '1000' });
      const first = await t.start(env);
      const a = api(first);
      await deploy(a, {
        name: 'slow',
        runtime: 'NODEJS20',
        handler: 'index.handler',
        timeoutSeconds: 300,
        environment: { ORACLE: oracleUrl },
        eventInvokeConfig: { maximumRetryAttempts: 0 },
        code: {
          files: [
            {
              path: 'index.js',
              content: `const http = require('http');
  const ask = () => new Promise((resolve, reject) => http.get(process.env.ORACLE, (res) => { let b = ''; res.on('data', (c) => { b += c; }); res.on('end', () => resolve(b)); }).on('error', reject));
  exports.handler = async (event) => {
    if ((await ask()) === 'again') return { ok: event.n };
    await new Promise((r) => setTimeout(r, 60000));
    return { slept: true };
  };`,
            },
          ],
        },
      });
      const id = (await a.data(INVOKE, { input: { functionName: 'slow', invocationType: 'EVENT', payload: { n: 7 } } })).invokeFunction
        .invocation.id;
      await waitUntil(() => runs >= 1, 'the first run to start');
      const pids = await waitUntil(() => {
        const p = processesOf(t.dataDir);
        return p.length > 0 ? p : null;
      }, "the instance's processes");

      const stopping = Date.now();
      await first.kill('SIGTERM');
      await waitUntil(() => first.proc.exitCode !== null || first.proc.signalCode !== null, 'the exit to be seen', 5_000);
      // a clean exit (a shutdown that waited for the invocation would hit main's 30 s hard stop: exit 1)
      expect(first.proc.exitCode).toBe(0);
      expect(Date.now() - stopping).toBeLessThan(60_000);
      for (const pid of pids) expect(processAlive(pid)).toBe(false);

      const second = await t.start(env);
      const b = api(second);
      const done = await waitUntil(
        async () => {
          const inv = (await b.data(INVOCATION, { id })).invocation;
          return inv.status === 'SUCCEEDED' || inv.status === 'FAILED' ? inv : null;
        },
        'the invocation to run again',
        30_000,
        200,
      );
      expect(done.status).toBe('SUCCEEDED');
      expect(done.response).toEqual({ ok: 7 });
      // the cut-short run was the platform's failure: no attempt spent (retries are 0 here)
      expect(done.attempts).toBe(1);
    } finally {
      oracle.close();
    }
  });
});
