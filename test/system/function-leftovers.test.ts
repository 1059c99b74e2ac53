// What a server's functions leave behind when it ends: nothing. kill -9 of the server: its keeper
// kills the instances and removes its runtime root; kill -9 of both: the next server on the same
// runtime dir sweeps the dead root (and never a live one). SIGTERM with a long async invocation
// running: the server stops after a short grace, and the invocation runs again after the restart.
import { readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChildServer } from '../support/child-server.js';
import { createTestDatabase } from '../support/db.js';
import { isAlive, waitUntil } from '../support/processes.js';
import { functionsDirOf, processesOf } from '../support/server.js';
import { api, type Api, SystemTest, TEST_KEY } from './harness.js';

let t: SystemTest;
let markerDir: string | null = null;
afterEach(async () => {
  await t?.cleanup();
  if (t?.dataDir) await fs.rm(functionsDirOf(t.dataDir), { recursive: true, force: true });
  if (markerDir) await fs.rm(markerDir, { recursive: true, force: true });
  markerDir = null;
}, 90_000);

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
  curl -sS -o /dev/null -X POST "$API/invocation/$REQUEST_ID/response" -d "{\\"pid\\":$$}"
done
`;

async function deploy(a: Api, input: Record<string, unknown>): Promise<void> {
  await a.data(CREATE, { input });
  await waitUntil(async () => (await a.data(STATE, { name: input.name })).function.state === 'ACTIVE', `${input.name} ACTIVE`);
}

const deploySpin = (a: Api) => deploy(a, { name: 'spin', runtime: 'PROVIDED', handler: 'x', code: { files: [{ path: 'bootstrap', content: SPIN_BOOTSTRAP, executable: true }] } });

/** The runtime roots under a functions dir. */
const rootsIn = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('emberplane-fn-srv-')).map((n) => path.join(dir, n));

/** The keeper shell a server started (its child with the keeper's name on its command line). */
function keeperOf(server: ChildServer): number {
  const pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number).filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === server.pid
        && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('emberplane-fn-keeper');
    } catch {
      return false;
    }
  });
  expect(pids).toHaveLength(1);
  return pids[0]!;
}

async function serverEnv(t: SystemTest, extra: Record<string, string> = {}) {
  return { DATABASE_URL: await createTestDatabase(), ADMIN_API_KEY: TEST_KEY, FUNCTIONS_RUNTIME_DIR: functionsDirOf(t.dataDir), PORT: '0', ...extra };
}

describe('function instances and runtime roots of a server that ends', { timeout: 120_000 }, () => {
  it('kill -9 of the server: its idle and busy instances die, its runtime root goes', async () => {
    t = await new SystemTest().init('emberplane-fn-left-');
    const server = await t.start(await serverEnv(t));
    const a = api(server);
    await deploySpin(a);
    await deploy(a, { name: 'busy', runtime: 'NODEJS20', handler: 'index.handler', timeoutSeconds: 300,
      code: { files: [{ path: 'index.js', content: 'exports.handler = () => new Promise((r) => setTimeout(r, 120000));' }] } });
    const spin = (await a.data(INVOKE, { input: { functionName: 'spin' } })).invokeFunction.payload;
    expect(isAlive(spin.pid)).toBe(true);
    const busy = (await a.data(INVOKE, { input: { functionName: 'busy', invocationType: 'EVENT' } })).invokeFunction.invocation.id;
    await waitUntil(async () => (await a.data(INVOCATION, { id: busy })).invocation.status === 'RUNNING', 'the busy invocation to run');
    const instances = await waitUntil(() => { const p = processesOf(t.dataDir); return p.length >= 2 ? p : null; }, 'both instances');
    // this server has made its one runtime root
    const roots = rootsIn(functionsDirOf(t.dataDir));
    expect(roots).toHaveLength(1);

    await server.kill('SIGKILL');
    await waitUntil(() => processesOf(t.dataDir).length === 0, 'the instances to die with their server', 10_000);
    for (const pid of instances) expect(isAlive(pid)).toBe(false);
    await waitUntil(() => rootsIn(functionsDirOf(t.dataDir)).length === 0, 'the root to be removed', 10_000);
  });

  it('kill -9 of the server and its keeper: the next server sweeps the dead root and its instances, not a live root', async () => {
    t = await new SystemTest().init('emberplane-fn-sweep-');
    const env = await serverEnv(t);
    const first = await t.start(env);
    const a = api(first);
    await deploySpin(a);
    const spin = (await a.data(INVOKE, { input: { functionName: 'spin' } })).invokeFunction.payload;
    const [deadRoot] = rootsIn(functionsDirOf(t.dataDir));
    process.kill(keeperOf(first), 'SIGKILL');
    await first.kill('SIGKILL');
    // nothing took them down: the runtime loops on its failing /next
    await new Promise((r) => setTimeout(r, 500));
    expect(isAlive(spin.pid)).toBe(true);
    expect(rootsIn(functionsDirOf(t.dataDir))).toEqual([deadRoot]);

    const second = await t.start(env);
    await waitUntil(() => !isAlive(spin.pid), 'the dead root\'s instance to be killed', 5_000);
    const after = rootsIn(functionsDirOf(t.dataDir));
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(deadRoot);
    const b = api(second);
    const again = (await b.data(INVOKE, { input: { functionName: 'spin' } })).invokeFunction.payload;
    expect(isAlive(again.pid)).toBe(true);

    // a server starting beside a live one leaves its root and instances alone
    const third = await t.start(env);
    const both = rootsIn(functionsDirOf(t.dataDir));
    expect(both).toHaveLength(2);
    expect(both).toContain(after[0]);
    expect(isAlive(again.pid)).toBe(true);
    expect((await b.data(INVOKE, { input: { functionName: 'spin' } })).invokeFunction.payload.pid).toBe(again.pid);
    await third.kill('SIGTERM');
  });

  it('SIGTERM with a long async invocation running: stops after the grace; the invocation runs again after the restart, no attempt spent', async () => {
    t = await new SystemTest().init('emberplane-fn-grace-');
    // the function sleeps on its first run only: a marker file says it ran before
    markerDir = await fs.mkdtemp(path.join(os.tmpdir(), 'emberplane-marker-'));
    await fs.chmod(markerDir, 0o1777);
    const marker = path.join(markerDir, 'ran');
    const env = await serverEnv(t, { FUNCTION_SHUTDOWN_GRACE_MS: '1000' });
    const first = await t.start(env);
    const a = api(first);
    await deploy(a, {
      name: 'slow', runtime: 'NODEJS20', handler: 'index.handler', timeoutSeconds: 300, environment: { MARKER: marker },
      eventInvokeConfig: { maximumRetryAttempts: 0 },
      code: { files: [{ path: 'index.js', content: `const fs = require('fs');
exports.handler = async (event) => {
  if (fs.existsSync(process.env.MARKER)) return { ok: event.n };
  fs.writeFileSync(process.env.MARKER, String(process.pid));
  await new Promise((r) => setTimeout(r, 60000));
  return { slept: true };
};` }] },
    });
    const id = (await a.data(INVOKE, { input: { functionName: 'slow', invocationType: 'EVENT', payload: { n: 7 } } })).invokeFunction.invocation.id;
    const pid = Number(await waitUntil(async () => (await fs.readFile(marker, 'utf8').catch(() => '')) || null, 'the first run to start'));

    const stopping = Date.now();
    await first.kill('SIGTERM');
    await waitUntil(() => first.proc.exitCode !== null || first.proc.signalCode !== null, 'the exit to be seen', 5_000);
    // a clean exit (a shutdown that waited for the invocation would hit main's 30 s hard stop: exit 1)
    expect(first.proc.exitCode).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(60_000);
    expect(isAlive(pid)).toBe(false);

    const second = await t.start(env);
    const b = api(second);
    const done = await waitUntil(async () => {
      const inv = (await b.data(INVOCATION, { id })).invocation;
      return inv.status === 'SUCCEEDED' || inv.status === 'FAILED' ? inv : null;
    }, 'the invocation to run again', 30_000, 200);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.response).toEqual({ ok: 7 });
    // the cut-short run was the platform's failure: no attempt spent (retries are 0 here)
    expect(done.attempts).toBe(1);
  });
});
