// Spare sandboxes (docs/functions.md "Instances and isolation"): a cold start takes a pre-started sandbox,
// and the instance it makes is like any other: its own uid, Lambda's paths, only its own code.
// A spare serves one instance; one killed while waiting is replaced, never handed out.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeZip } from '../../src/engine/functions/zip.js';
import { deploy, DELETE_FUNCTION, invoke } from '../support/functions.js';
import { isAlive, waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const asRoot = process.getuid!() === 0;
const pool = () => server.app.modules.functions.runtime.sandbox.spares!;
const sparesDir = () => path.join(server.app.modules.functions.runtime.sandbox.root, 'spares');
/** Every spare of the pool started and waiting. */
const poolFull = () =>
  waitUntil(
    () => {
      const c = pool().counts();
      return c.ready === c.size && c.starting === 0;
    },
    'the spares to be ready',
    20_000,
  );

// what an instance sees of itself and of /var/task
const LOOKER = `const fs = require('fs');
  exports.handler = async () => ({
    uid: process.getuid(), gid: process.getgid(), pid: process.pid, cwd: process.cwd(),
    pids: fs.readdirSync('/proc').filter((n) => /^\\d+$/.test(n)).map(Number).sort((a, b) => a - b),
    task: fs.readdirSync('/var/task').sort(),
    mine: fs.readdirSync('/var/task').filter((n) => n.endsWith('.txt')).map((n) => fs.readFileSync('/var/task/' + n, 'utf8')),
    tmpSize: fs.statfsSync('/tmp').blocks * fs.statfsSync('/tmp').bsize,
    env: { task: process.env.LAMBDA_TASK_ROOT, pwd: process.env.PWD, name: process.env.AWS_LAMBDA_FUNCTION_NAME, mine: process.env.MINE },
    writeTask: (() => { try { fs.writeFileSync('/var/task/x', '1'); return 'written'; } catch (e) { return e.code; } })(),
  });`;
const looker = (name: string, files: Array<{ path: string; content: string }> = []) =>
  deploy(server, {
    name,
    runtime: 'NODEJS20',
    handler: 'index.handler',
    environment: { MINE: name },
    code: { files: [{ path: 'index.js', content: LOOKER }, ...files] },
  });

/** The pool fills once a cold start wanted it (the first test shows that): for the tests run alone. */
let primed: Promise<unknown> | null = null;
const primePool = () => (primed ??= looker('spare-primer').then(() => invoke(server, { functionName: 'spare-primer' })));

/** Invokes a function's cold start and tells whether its instance was a spare waiting before. */
async function coldFromSpare(name: string): Promise<{ payload: any; fromSpare: boolean }> {
  await primePool();
  await poolFull();
  const waiting = pool().pids();
  const claimed = pool().counts().claimed;
  const before = new Set(server.app.modules.functions.runtime.pids());
  const res = await invoke(server, { functionName: name });
  expect(res.invocation.coldStart).toBe(true);
  const mine = server.app.modules.functions.runtime.pids().filter((p) => !before.has(p));
  expect(mine).toHaveLength(1);
  const fromSpare = waiting.includes(mine[0]!);
  expect(pool().counts().claimed).toBe(claimed + (fromSpare ? 1 : 0));
  if (res.functionError) throw new Error(JSON.stringify(res.payload) + res.logResult);
  return { payload: res.payload, fromSpare };
}

describe('spare sandboxes', () => {
  it('the pool fills once a function was wanted; a cold start then runs in a spare, as any instance would', async () => {
    expect(pool().counts()).toMatchObject({ size: 2, ready: 0, starting: 0, claimed: 0 });
    primed = looker('spare-first');
    await primed;
    // the first cold start is the one that wants the pool: it starts the normal way
    expect((await invoke(server, { functionName: 'spare-first' })).invocation.coldStart).toBe(true);
    expect(pool().counts().claimed).toBe(0);
    await poolFull();
    expect(pool().pids()).toHaveLength(2);
    await looker('spare-one', [{ path: 'one.txt', content: 'one' }]);
    const { payload, fromSpare } = await coldFromSpare('spare-one');
    expect(fromSpare).toBe(true);
    expect(payload.pid).toBe(2);
    expect(payload.pids).toEqual([1, 2]);
    expect(payload.cwd).toBe('/var/task');
    expect(payload.task).toEqual(['index.js', 'one.txt']);
    expect(payload.mine).toEqual(['one']);
    expect(payload.writeTask).toBe('EROFS');
    expect(payload.tmpSize).toBe(512 * 1024 * 1024);
    expect(payload.env).toEqual({ task: '/var/task', pwd: '/var/task', name: 'spare-one', mine: 'spare-one' });
    if (asRoot) {
      expect(payload.uid).toBeGreaterThanOrEqual(1_000_000);
      expect(payload.gid).toBe(payload.uid);
      // on the host: the copy is the server's, readable inside, and only the spare's gid may pass to it
      const dir = fs
        .readdirSync(sparesDir())
        .map((id) => path.join(sparesDir(), id))
        .find((d) => fs.existsSync(path.join(d, 'task', 'one.txt')))!;
      expect(fs.statSync(dir)).toMatchObject({ uid: 0, gid: payload.uid });
      expect(fs.statSync(dir).mode & 0o7777).toBe(0o710);
      expect(fs.statSync(path.join(dir, 'task')).mode & 0o7777).toBe(0o755);
      expect(fs.statSync(path.join(dir, 'task', 'one.txt'))).toMatchObject({ uid: 0 });
      expect(fs.statSync(path.join(dir, 'task', 'one.txt')).mode & 0o7777).toBe(0o644);
    }
    // warm: the same instance
    const warm = await invoke(server, { functionName: 'spare-one' });
    expect(warm.invocation.coldStart).toBe(false);
  });

  it('two functions never share a spare: each sees only its own code, and the copy goes with the instance', async () => {
    await looker('spare-a', [{ path: 'a.txt', content: 'secret of a' }]);
    await looker('spare-b', [{ path: 'b.txt', content: 'secret of b' }]);
    const a = await coldFromSpare('spare-a');
    const b = await coldFromSpare('spare-b');
    expect([a.fromSpare, b.fromSpare]).toEqual([true, true]);
    expect(a.payload.task).toEqual(['a.txt', 'index.js']);
    expect(b.payload.task).toEqual(['b.txt', 'index.js']);
    expect(b.payload.mine).toEqual(['secret of b']);
    if (asRoot) expect(b.payload.uid).not.toBe(a.payload.uid);
    const holding = (file: string) => fs.readdirSync(sparesDir()).filter((id) => fs.existsSync(path.join(sparesDir(), id, 'task', file)));
    expect(holding('a.txt')).toHaveLength(1);
    await server.data(DELETE_FUNCTION, { name: 'spare-a' });
    await waitUntil(() => holding('a.txt').length === 0, "spare-a's copy to be removed");
    expect(holding('b.txt')).toHaveLength(1);
    // what is left: the waiting spares and spare-b's (and the other tests') instances
    expect((await invoke(server, { functionName: 'spare-b' })).payload.mine).toEqual(['secret of b']);
  });

  it('a spare killed while waiting is replaced, and never handed out', async () => {
    await looker('spare-after-kill');
    await primePool();
    await poolFull();
    const waiting = pool().pids();
    expect(waiting).toHaveLength(2);
    // one killed from outside, the other's runtime-to-be (its launcher) killed inside the sandbox
    process.kill(waiting[0]!, 'SIGKILL');
    const launcher = Number(fs.readFileSync(`/proc/${waiting[1]}/task/${waiting[1]}/children`, 'utf8').trim().split(' ')[0]);
    const inner = Number(fs.readFileSync(`/proc/${launcher}/task/${launcher}/children`, 'utf8').trim().split(' ')[0]);
    expect(fs.readFileSync(`/proc/${inner}/cmdline`, 'utf8').split('\0')[0]).toBe('/usr/bin/perl');
    process.kill(inner, 'SIGKILL');
    // at once: the killed ones are not taken, the invocation runs (in a fresh sandbox, or in a
    // replacement spare if one was ready by then)
    const before = new Set(server.app.modules.functions.runtime.pids());
    const res = await invoke(server, { functionName: 'spare-after-kill' });
    expect(res.statusCode).toBe(200);
    expect(res.functionError).toBeNull();
    expect(res.payload.env.name).toBe('spare-after-kill');
    const served = server.app.modules.functions.runtime.pids().filter((p) => !before.has(p));
    expect(served).toHaveLength(1);
    expect(waiting).not.toContain(served[0]);
    await waitUntil(() => !isAlive(waiting[0]!) && !isAlive(waiting[1]!), 'the killed spares to be gone');
    await poolFull();
    expect(
      pool()
        .pids()
        .filter((p) => waiting.includes(p)),
    ).toEqual([]);
    // and the replacements serve
    await looker('spare-replaced');
    expect((await coldFromSpare('spare-replaced')).fromSpare).toBe(true);
  });

  it("functions a spare can't serve start the normal way: another /tmp size, code over the cap", async () => {
    await deploy(server, {
      name: 'spare-big-tmp',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      ephemeralStorageMb: 1024,
      code: { files: [{ path: 'index.js', content: LOOKER }] },
    });
    const big = await coldFromSpare('spare-big-tmp');
    expect(big.fromSpare).toBe(false);
    expect(big.payload.tmpSize).toBe(1024 * 1024 * 1024);
    // 11 MB unpacked (over the 10 MB cap): a zip compresses it to little
    const zip = writeZip([
      { path: 'index.js', content: Buffer.from(LOOKER) },
      { path: 'filler.bin', content: Buffer.alloc(11 * 1024 * 1024, 120) },
    ]);
    await deploy(server, {
      name: 'spare-big-code',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      code: { zipBase64: zip.toString('base64') },
    });
    const code = await coldFromSpare('spare-big-code');
    expect(code.fromSpare).toBe(false);
    expect(code.payload.task).toEqual(['filler.bin', 'index.js']);
  });

  it('the code a spare gets keeps its tree and which files are executable, small or over a megabyte', async () => {
    // a small package is copied at once, one over 1 MiB on the thread pool (spares.ts): both the same way
    const TREE = `const fs = require('fs');
      const walk = (d) => fs.readdirSync(d).sort().flatMap((n) => {
        const p = d + '/' + n; const s = fs.statSync(p);
        return s.isDirectory() ? [[p, (s.mode & 0o777).toString(8)], ...walk(p)] : [[p, (s.mode & 0o777).toString(8), s.size]];
      });
      exports.handler = async () => ({ tree: walk('/var/task'), helper: require('./lib/helper.js') });`;
    const HELPER = "module.exports = 'helped';";
    const TOOL = '#!/bin/sh\necho tool\n';
    const files = (filler: number) => [
      { path: 'index.js', content: Buffer.from(TREE) },
      { path: 'lib/helper.js', content: Buffer.from(HELPER) },
      { path: 'bin/tool', content: Buffer.from(TOOL), mode: 0o755 },
      { path: 'data/filler.bin', content: Buffer.alloc(filler, 120) },
    ];
    for (const [name, filler] of [
      ['spare-tree-small', 1_000],
      ['spare-tree-large', 2 * 1024 * 1024],
    ] as const) {
      await deploy(server, {
        name,
        runtime: 'NODEJS20',
        handler: 'index.handler',
        code: { zipBase64: writeZip(files(filler)).toString('base64') },
      });
      const { payload, fromSpare } = await coldFromSpare(name);
      expect(fromSpare).toBe(true);
      expect(payload.helper).toBe('helped');
      expect(payload.tree).toEqual([
        ['/var/task/bin', '755'],
        ['/var/task/bin/tool', '755', TOOL.length],
        ['/var/task/data', '755'],
        ['/var/task/data/filler.bin', '644', filler],
        ['/var/task/index.js', '644', TREE.length],
        ['/var/task/lib', '755'],
        ['/var/task/lib/helper.js', '644', HELPER.length],
      ]);
    }
  });

  it('a Python function from a spare', async () => {
    await deploy(server, {
      name: 'spare-py',
      runtime: 'PYTHON311',
      handler: 'app.handler',
      code: {
        files: [
          {
            path: 'app.py',
            content:
              'import os\ndef handler(event, context):\n    return {"pid": os.getpid(), "cwd": os.getcwd(), "task": sorted(os.listdir("/var/task"))}\n',
          },
        ],
      },
    });
    const { payload, fromSpare } = await coldFromSpare('spare-py');
    expect(fromSpare).toBe(true);
    expect(payload).toEqual({ pid: 2, cwd: '/var/task', task: ['app.py'] });
  });
});
