// Function instances in their sandbox (docs/functions.md "Instances and isolation"): what an instance sees
// (Lambda's paths, nothing of the host), its private capped /tmp, its limits, and that nothing it
// starts outlives it. The attacks are those of issue 10, tried through the API as a function would.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy, GET_FUNCTION, invoke, UPDATE_CONFIG, waitForActive } from '../support/functions.js';
import { instanceProcesses, isAlive, waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const asRoot = process.getuid!() === 0;
const MB = 1024 * 1024;
const node = (s: TestServer, name: string, body: string, extra: Record<string, unknown> = {}) =>
  deploy(s, {
    name,
    runtime: 'NODEJS20',
    handler: 'index.handler',
    code: { files: [{ path: 'index.js', content: body }] },
    ...extra,
  });
const deleteFunction = (s: TestServer, name: string) =>
  s.data(`mutation($n: String!) { deleteFunction(input: { functionName: $n }) { functionName } }`, { n: name });
const ATTEMPT = `const attempt = (f) => { try { return { ok: f() }; } catch (e) { return { err: e.code || e.message }; } };`;

describe('what an instance sees', () => {
  it("runs as its own unprivileged uid in Lambda's paths: /var/task read-only, /var/runtime, /opt; no host path, no other process", async () => {
    const hostFile = path.join(os.tmpdir(), `emberplane-host-${process.pid}-${Date.now()}`);
    fs.writeFileSync(hostFile, 'host');
    try {
      await node(
        server,
        'looker',
        `const fs = require('fs'); ${ATTEMPT}
        exports.handler = async (e) => ({
          uid: process.getuid(), gid: process.getgid(), cwd: process.cwd(), pid: process.pid,
          env: { task: process.env.LAMBDA_TASK_ROOT, runtime: process.env.LAMBDA_RUNTIME_DIR, home: process.env.HOME, tmpdir: process.env.TMPDIR },
          writeTask: attempt(() => fs.writeFileSync('/var/task/x', '1')),
          writeOpt: attempt(() => fs.writeFileSync('/opt/x', '1')),
          writeRoot: attempt(() => fs.writeFileSync('/x', '1')),
          writeUsr: attempt(() => fs.writeFileSync('/usr/x', '1')),
          writeDev: attempt(() => fs.writeFileSync('/dev/shm/x', '1')),
          opt: attempt(() => fs.readdirSync('/opt')),
          runtime: attempt(() => fs.readdirSync('/var/runtime').includes('node-bootstrap.mjs')),
          vars: fs.readdirSync('/var').sort(),
          pids: fs.readdirSync('/proc').filter((n) => /^\\d+$/.test(n)).map(Number).sort((a, b) => a - b),
          serverProc: attempt(() => fs.readdirSync('/proc/' + e.serverPid)),
          dataDir: attempt(() => fs.readdirSync(e.dataDir)),
          runtimeRoot: attempt(() => fs.readdirSync(e.runtimeRoot)),
          hostFile: attempt(() => fs.readFileSync(e.hostFile, 'utf8')),
          rootHome: attempt(() => fs.readdirSync('/root')),
        });`,
      );
      const res = await invoke(server, {
        functionName: 'looker',
        payload: {
          serverPid: process.pid,
          dataDir: server.dataDir,
          runtimeRoot: server.app.modules.functions.runtime.sandbox.root,
          hostFile,
        },
      });
      const out = res.payload;
      expect(out.env).toEqual({ task: '/var/task', runtime: '/var/runtime', home: '/tmp', tmpdir: '/tmp' });
      expect(out.cwd).toBe('/var/task');
      if (asRoot) {
        expect(out.uid).toBeGreaterThanOrEqual(1_000_000);
        expect(out.gid).toBeGreaterThanOrEqual(1_000_000);
      } else {
        expect(out.uid).toBe(process.getuid!());
      }
      for (const what of ['writeTask', 'writeOpt', 'writeRoot', 'writeUsr', 'writeDev']) expect(out[what], what).toEqual({ err: 'EROFS' });
      expect(out.opt).toEqual({ ok: [] });
      expect(out.runtime).toEqual({ ok: true });
      // /var/lang holds the runtime's boto3 where `npm run functions:install` put it on this host
      const sdk = fs.existsSync('/usr/local/share/emberplane/python-sdk/boto3');
      expect(out.vars).toEqual(sdk ? ['lang', 'runtime', 'task'] : ['runtime', 'task']);
      // its own pid namespace: bwrap's init and the runtime, nothing of the host
      expect(out.pid).toBe(2);
      expect(out.pids).toEqual([1, 2]);
      for (const what of ['serverProc', 'dataDir', 'runtimeRoot', 'hostFile', 'rootHome'])
        expect(out[what], what).toEqual({ err: 'ENOENT' });
    } finally {
      fs.rmSync(hostFile, { force: true });
    }
  });

  it("/tmp is the instance's own: not another function's, not the host's, and gone with the instance", async () => {
    const name = `emberplane-mark-${process.pid}-${Date.now()}`;
    const body = `const fs = require('fs'); ${ATTEMPT}
      exports.handler = async (e) => ({
        write: e.write ? attempt(() => fs.writeFileSync('/tmp/' + e.name, 'mine')) : null,
        read: attempt(() => fs.readFileSync('/tmp/' + e.name, 'utf8')),
        instance: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      });`;
    await node(server, 'tmp-a', body);
    await node(server, 'tmp-b', body);
    const a = (await invoke(server, { functionName: 'tmp-a', payload: { name, write: true } })).payload;
    expect(a.write).toEqual({ ok: undefined });
    expect(a.read).toEqual({ ok: 'mine' });
    // warm: the same instance keeps its /tmp, as Lambda's
    expect((await invoke(server, { functionName: 'tmp-a', payload: { name } })).payload).toMatchObject({
      read: { ok: 'mine' },
      instance: a.instance,
    });
    expect((await invoke(server, { functionName: 'tmp-b', payload: { name } })).payload.read).toEqual({ err: 'ENOENT' });
    expect(fs.existsSync(path.join('/tmp', name))).toBe(false);
    expect(fs.existsSync(path.join(os.tmpdir(), name))).toBe(false);
    // a new instance of the same function starts with an empty /tmp
    await server.data(UPDATE_CONFIG, { input: { functionName: 'tmp-a', description: 'new revision' } });
    await waitForActive(server, 'tmp-a');
    const fresh = (await invoke(server, { functionName: 'tmp-a', payload: { name } })).payload;
    expect(fresh.instance).not.toBe(a.instance);
    expect(fresh.read).toEqual({ err: 'ENOENT' });
  });

  it('/tmp is capped at ephemeralStorageMb: writing past it fails with ENOSPC in the handler; an update resizes it', async () => {
    await node(
      server,
      'filler',
      `const fs = require('fs');
      exports.handler = async (e) => {
        const size = fs.statfsSync('/tmp');
        if (!e.fill) return { sizeMb: size.blocks * size.bsize / ${MB} };
        const chunk = Buffer.alloc(${16 * MB}, 1);
        const fd = fs.openSync('/tmp/fill', 'w');
        let written = 0;
        try {
          for (;;) written += fs.writeSync(fd, chunk);
        } catch (err) {
          return { written, err: err.code };
        } finally {
          fs.closeSync(fd);
          fs.rmSync('/tmp/fill');
        }
      };`,
      { timeoutSeconds: 60, memoryMb: 256 },
    );
    expect((await server.data(GET_FUNCTION, { name: 'filler' })).function.ephemeralStorageMb).toBe(512);
    expect((await invoke(server, { functionName: 'filler' })).payload).toEqual({ sizeMb: 512 });
    const full = (await invoke(server, { functionName: 'filler', payload: { fill: true } })).payload;
    expect(full.err).toBe('ENOSPC');
    expect(full.written).toBeLessThanOrEqual(512 * MB);
    expect(full.written).toBeGreaterThan(400 * MB);
    const updated = (await server.data(UPDATE_CONFIG, { input: { functionName: 'filler', ephemeralStorageMb: 1024 } }))
      .updateFunctionConfiguration.function;
    expect(updated.ephemeralStorageMb).toBe(1024);
    await waitForActive(server, 'filler');
    expect((await invoke(server, { functionName: 'filler' })).payload).toEqual({ sizeMb: 1024 });
    // a published version keeps the size it was published with
    const version = (
      await server.data(`mutation { publishVersion(input: { functionName: "filler" }) { version { version ephemeralStorageMb } } }`)
    ).publishVersion.version;
    expect(version.ephemeralStorageMb).toBe(1024);
  });
});

describe('nothing outlives its instance', () => {
  // a setsid child and a double-forked one, which a process-group kill alone would miss
  const ESCAPER = `const { spawn, execSync } = require('child_process');
    exports.handler = async (e) => {
      spawn('setsid', ['sleep', '600'], { detached: true, stdio: 'ignore' }).unref();
      execSync("sh -c '(setsid sleep 600 >/dev/null 2>&1 &) &'");
      if (e.hang) await new Promise(() => {});
      return { instance: process.env.AWS_LAMBDA_LOG_STREAM_NAME };
    };`;

  it('a setsid or double-forked child dies when its instance is stopped (timeout), and when its function is deleted', async () => {
    await node(server, 'escaper', ESCAPER, { timeoutSeconds: 2 });
    const first = (await invoke(server, { functionName: 'escaper' })).payload.instance;
    // the runtime and both sleeps (the host sees them, by the environment they inherit)
    const pids = await waitUntil(() => {
      const p = instanceProcesses(first);
      return p.length >= 3 ? p : null;
    }, 'the children to run');
    // the next invocation hangs: the timeout kills the instance, the children with it
    const timedOut = await invoke(server, { functionName: 'escaper', payload: { hang: true } });
    expect(timedOut.payload.errorType).toBe('Sandbox.Timedout');
    await waitUntil(() => pids.every((p) => !isAlive(p)), 'every process of the stopped instance to end', 10_000);

    const second = (await invoke(server, { functionName: 'escaper' })).payload.instance;
    expect(second).not.toBe(first);
    const more = await waitUntil(() => {
      const p = instanceProcesses(second);
      return p.length >= 3 ? p : null;
    }, 'the children to run');
    await deleteFunction(server, 'escaper');
    await waitUntil(() => more.every((p) => !isAlive(p)), "every process of the deleted function's instance to end", 10_000);
  });

  it('200 children are contained: the process count is limited, and they all end with the instance', async () => {
    await deploy(server, {
      name: 'forker',
      runtime: 'PYTHON311',
      handler: 'app.handler',
      memoryMb: 2048,
      timeoutSeconds: 60,
      code: {
        files: [
          {
            path: 'app.py',
            content: `import errno, os
def handler(event, context):
    spawned = 0
    error = None
    while spawned < event["max"]:
        try:
            os.posix_spawn("/bin/sleep", ["sleep", "600"], os.environ)
            spawned += 1
        except OSError as e:
            error = errno.errorcode.get(e.errno, str(e.errno))
            break
    return {"spawned": spawned, "error": error, "instance": os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]}
`,
          },
        ],
      },
    });
    const res = (await invoke(server, { functionName: 'forker', payload: { max: 1500 } })).payload;
    expect(res.spawned).toBeGreaterThanOrEqual(200);
    if (asRoot) {
      // 1,024 processes and threads per instance (Lambda's limit): the runtime's own threads count too
      expect(res.spawned).toBeLessThan(1024);
      expect(res.error).toBe('EAGAIN');
    }
    const pids = instanceProcesses(res.instance);
    expect(pids.length).toBeGreaterThan(res.spawned);
    await deleteFunction(server, 'forker');
    await waitUntil(() => pids.every((p) => !isAlive(p)), 'all the children to end with the instance', 20_000);
  });
});

describe('memory', () => {
  it('past its memory (with /tmp filled, faster than sampling sees): Runtime.OutOfMemory, and the next invoke runs on a fresh instance', async () => {
    await node(
      server,
      'hog',
      `const fs = require('fs');
      exports.handler = async (e) => {
        if (!e.hog) return { instance: process.env.AWS_LAMBDA_LOG_STREAM_NAME };
        // /tmp (tmpfs, charged to the instance's memory) nearly full, then a burst of native memory
        const chunk = Buffer.alloc(${16 * MB}, 1);
        const fd = fs.openSync('/tmp/fill', 'w');
        for (let i = 0; i < 30; i++) fs.writeSync(fd, chunk);
        const keep = [];
        for (let i = 0; i < 64; i++) keep.push(Buffer.alloc(${16 * MB}, 2));
        return { kept: keep.length };
      };`,
      { timeoutSeconds: 60 },
    );
    const before = (await invoke(server, { functionName: 'hog' })).payload.instance;
    const res = await invoke(server, { functionName: 'hog', payload: { hog: true } });
    expect(res.functionError).toBe('Unhandled');
    expect(res.payload.errorType).toBe('Runtime.OutOfMemory');
    expect(res.payload.errorMessage).toBe(
      `RequestId: ${res.invocation.id} Error: Runtime exited with error: out of memory (memory size 128 MB exceeded)`,
    );
    expect(res.invocation.maxMemoryUsedMb).toBe(128);
    const next = await invoke(server, { functionName: 'hog' });
    expect(next.invocation.coldStart).toBe(true);
    expect(next.payload.instance).not.toBe(before);
  });
});

describe('cleanup follows no link an instance made', () => {
  // The instance swaps a directory it may write for a symlink to a root-owned canary dir, in a
  // tight loop, from a process that outlives the runtime when it can (setsid: unconfined, nothing
  // kills it), while the server ends the instance and removes what it left.
  const SWAPPER = (canary: string) => `const { spawn } = require('child_process');
    // many directories, each flipping between a directory (with a file) and the link by atomic renames
    const loop = \`const fs = require('fs'); const t = process.env.TMPDIR;
      const dirs = Array.from({ length: 4 }, (_, i) => t + '/d' + i);
      for (const d of dirs) { fs.mkdirSync(d); fs.writeFileSync(d + '/f', 'x'); fs.symlinkSync(${JSON.stringify(canary)}, d + '.link'); }
      fs.writeFileSync(t + '/ready', '');
      for (;;) {
        for (const d of dirs) {
          try { fs.renameSync(d, d + '.dir'); fs.renameSync(d + '.link', d); } catch {}
          try { fs.renameSync(d, d + '.link'); fs.renameSync(d + '.dir', d); } catch {}
          try { if (!fs.existsSync(d)) { fs.mkdirSync(d); fs.writeFileSync(d + '/f', 'x'); } } catch {}
          try { if (!fs.lstatSync(d + '.link').isSymbolicLink()) throw 0; } catch { try { fs.symlinkSync(${JSON.stringify(canary)}, d + '.link'); } catch {} }
        }
      }\`;
    exports.handler = async () => {
      spawn('setsid', [process.execPath, '-e', loop], { detached: true, stdio: 'ignore' }).unref();
      // the instance ends once the swapping is under way
      while (!require('fs').existsSync(process.env.TMPDIR + '/ready')) await new Promise((r) => setTimeout(r, 5));
      return { instance: process.env.AWS_LAMBDA_LOG_STREAM_NAME };
    };`;

  async function attack(s: TestServer, rounds: number): Promise<void> {
    const canary = fs.mkdtempSync(path.join(os.tmpdir(), 'emberplane-canary-'));
    fs.chmodSync(canary, 0o755);
    const files = ['a', 'b', 'c'].map((n) => path.join(canary, n));
    for (const f of files) fs.writeFileSync(f, 'canary', { mode: 0o644 });
    try {
      for (let i = 0; i < rounds; i++) {
        const fn = await node(s, `swap-${i}`, SWAPPER(canary));
        const instances = [(await invoke(s, { functionName: `swap-${i}` })).payload.instance];
        // ended by deletion on even rounds, by a new revision (the old instance is retired) on odd ones
        if (i % 2 === 1) {
          await s.data(UPDATE_CONFIG, { input: { functionName: `swap-${i}`, description: 'again' } });
          await waitForActive(s, `swap-${i}`);
          instances.push((await invoke(s, { functionName: `swap-${i}` })).payload.instance);
          await waitUntil(() => s.app.modules.functions.runtime.pids(fn.id).length <= 1, "the old revision's instance to be ended");
        }
        await deleteFunction(s, `swap-${i}`);
        await waitUntil(() => s.app.modules.functions.runtime.pids(fn.id).length === 0, 'the instances to be ended');
        // unconfined, the swapper survives its instance (that is what SANDBOX=off means): stop it here
        for (const pid of instances.flatMap(instanceProcesses))
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        for (const f of files) expect(fs.readFileSync(f, 'utf8'), `round ${i}: ${f}`).toBe('canary');
      }
    } finally {
      fs.rmSync(canary, { recursive: true, force: true });
    }
  }

  it("confined: the instance's /tmp is in its sandbox, nothing of it is removed on the host", async () => {
    await attack(server, 6);
  });

  it('unconfined (SANDBOX=off): the host-side /tmp is removed without following the swapped-in link', async () => {
    const open = await startTestServer({ sandbox: false });
    try {
      await attack(open, 12);
    } finally {
      await open.close();
    }
  });
});
