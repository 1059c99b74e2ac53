// The sandbox at start-up and for a server started by a normal user (docs/security.md):
// without bubblewrap the server refuses to start and says what to install; SANDBOX=off starts it
// with a warning and runs functions unconfined; a normal user's server confines its instances in
// unprivileged user namespaces, as that user.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { instanceProcesses, isAlive, waitUntil } from '../support/processes.js';
import { functionsDirOf } from '../support/server.js';
import { api, type Api, SystemTest, TEST_KEY } from './harness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NOBODY = { uid: 65534, gid: 65534 };

let t: SystemTest | null = null;
afterEach(async () => {
  await t?.cleanup();
  if (t?.dataDir) await fs.rm(functionsDirOf(t.dataDir), { recursive: true, force: true });
  t = null;
}, 90_000);

const CREATE = `mutation($input: CreateFunctionInput!) { createFunction(input: $input) { function { name } } }`;
const INVOKE = `mutation($input: InvokeFunctionInput!) { invokeFunction(input: $input) { payload } }`;
const STATE = `query($name: String!) { function(name: $name) { state stateReason } }`;

async function deploy(a: Api, name: string, body: string): Promise<void> {
  await a.data(CREATE, {
    input: { name, runtime: 'NODEJS20', handler: 'index.handler', code: { files: [{ path: 'index.js', content: body }] } },
  });
  await waitUntil(async () => (await a.data(STATE, { name })).function.state === 'ACTIVE', `${name} ACTIVE`);
}

// what an instance reports about itself, and a setsid child it leaves behind
const PROBE = `const fs = require('fs'); const { spawn } = require('child_process');
exports.handler = async () => {
  const pids = fs.readdirSync('/proc').filter((n) => /^\\d+$/.test(n)).length;
  spawn('setsid', ['sleep', '600'], { detached: true, stdio: 'ignore' }).unref();
  const tmp = fs.statfsSync(process.env.TMPDIR);
  return {
    uid: process.getuid(), task: process.env.LAMBDA_TASK_ROOT, pid: process.pid, stream: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    pids, tmpMb: tmp.blocks * tmp.bsize / 1048576,
  };
};`;

describe('the sandbox at start-up', { timeout: 120_000 }, () => {
  it('without bubblewrap, npm start refuses to start and says what to install and how to opt out', async () => {
    const dataDir = await fs.mkdtemp(path.join(root, '.sandbox-test-'));
    try {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        DATA_DIR: dataDir,
        PORT: '0',
        SANDBOX_BWRAP: '/nonexistent/bwrap',
        LOG_LEVEL: 'warn',
      };
      delete env.SANDBOX;
      delete env.DATABASE_URL;
      const proc = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/main.ts')], {
        cwd: root,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      proc.stdout.on('data', (d) => {
        stdout += d;
      });
      proc.stderr.on('data', (d) => {
        stderr += d;
      });
      const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
      expect(code).toBe(1);
      expect(stderr).toContain(
        'Refusing to start: tenant code runs in a sandbox, and bubblewrap (bwrap) is not installed (SANDBOX_BWRAP=/nonexistent/bwrap is not an executable).',
      );
      expect(stderr).toContain('apt-get install -y bubblewrap util-linux');
      expect(stderr).toContain('SANDBOX=off npm start');
      // a plain message, not a stack; and nothing was started (no embedded Postgres in DATA_DIR)
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(stdout).not.toContain('GraphQL API on');
      expect(await fs.readdir(dataDir)).toEqual([]);
    } finally {
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });

  it('SANDBOX=off starts with a warning, and runs functions unconfined', async () => {
    t = await new SystemTest().init('emberplane-sbx-off-');
    const server = await t.start({
      DATABASE_URL: await createTestDatabase(),
      ADMIN_API_KEY: TEST_KEY,
      FUNCTIONS_RUNTIME_DIR: functionsDirOf(t.dataDir),
      PORT: '0',
      SANDBOX: 'off',
    });
    expect(server.output()).toContain('SANDBOX=off: tenant code (function instances, cluster steps) runs unconfined');
    const a = api(server);
    await deploy(a, 'open', PROBE);
    const out = (await a.data(INVOKE, { input: { functionName: 'open' } })).invokeFunction.payload;
    expect(out.task.startsWith(functionsDirOf(t.dataDir))).toBe(true);
    expect(out.pids).toBeGreaterThan(2);
    // unconfined, nothing ends its setsid child: that is what the warning is about. setsid(1) forks
    // once more when it already leads a session, so the `sleep` is waited for before the processes are killed
    const sleeping = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep\0');
    await waitUntil(
      () =>
        instanceProcesses(out.stream).some((pid) => {
          try {
            return sleeping(pid);
          } catch {
            return false;
          }
        }),
      'the instance’s setsid child to be running',
    );
    for (const pid of instanceProcesses(out.stream))
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
  });
});

describe('a server started by a normal user', { timeout: 120_000 }, () => {
  it("confines instances in unprivileged user namespaces, as its own uid: Lambda's paths, its own pids and /tmp, nothing left behind", async () => {
    if (process.getuid!() !== 0) {
      // the suite itself runs as a normal user then: every other function test already covers this case
      return;
    }
    t = await new SystemTest().init('emberplane-sbx-user-');
    // the user owns its data dir and runtime dir (and a HOME, for npm/tsx caches)
    const fnDir = functionsDirOf(t.dataDir);
    await fs.mkdir(fnDir, { recursive: true });
    const home = path.join(t.dataDir, 'home');
    await fs.mkdir(home);
    for (const dir of [t.dataDir, fnDir, home]) await fs.chown(dir, NOBODY.uid, NOBODY.gid);
    const server = await t.start(
      {
        DATABASE_URL: await createTestDatabase(),
        ADMIN_API_KEY: TEST_KEY,
        FUNCTIONS_RUNTIME_DIR: fnDir,
        PORT: '0',
        HOME: home,
        TMPDIR: home,
      },
      NOBODY,
    );
    const a = api(server);
    await deploy(a, 'mine', PROBE);
    const out = (await a.data(INVOKE, { input: { functionName: 'mine' } })).invokeFunction.payload;
    expect(out.uid).toBe(NOBODY.uid);
    expect(out.task).toBe('/var/task');
    expect(out.pid).toBe(2);
    expect(out.pids).toBe(2);
    expect(out.tmpMb).toBe(512);
    const pids = await waitUntil(() => {
      const p = instanceProcesses(out.stream);
      return p.length >= 2 ? p : null;
    }, 'the instance and its child');
    await a.data(`mutation { deleteFunction(input: { functionName: "mine" }) { functionName } }`);
    await waitUntil(() => pids.every((p) => !isAlive(p)), 'the instance and its setsid child to end', 10_000);
  });
});
