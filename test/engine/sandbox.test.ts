// The sandbox primitives on real processes: bubblewrap as an unprivileged uid, with a cgroup of its
// own. What every piece of tenant code relies on: another uid, nothing of the host but the system,
// a private /tmp, no process outliving the sandbox, and limits the kernel enforces.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findSandboxTool, sandboxedCommand, signalSandbox } from '../../src/engine/sandbox/confine.js';
import { probeLimits, type LimitGroup } from '../../src/engine/sandbox/limits.js';
import { isAlive } from '../support/processes.js';

const { tool } = findSandboxTool();
const asRoot = process.getuid?.() === 0;
const UID = 1_900_000_000 + (process.pid % 1000);
const owner = `emberplane-test/sandbox-${process.pid}`;
const limits = asRoot ? probeLimits(owner) : null;
const dir = mkdtempSync(path.join(os.tmpdir(), 'sandbox-test-'));
chmodSync(dir, 0o755);
const work = path.join(dir, 'work');
mkdirSync(work);
if (asRoot) chownSync(work, UID, UID);
const secret = path.join(dir, 'secret');
writeFileSync(secret, 'not for tenants', { mode: 0o644 });

interface Run {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  pid: number;
}

function run(
  script: string,
  options: { group?: LimitGroup | null; tmpBytes?: number; onStart?: (pid: number) => void; onOutput?: (stdout: string) => void } = {},
): Promise<Run> {
  const cmd = sandboxedCommand({
    tool: tool!,
    uid: asRoot ? UID : null,
    gid: asRoot ? UID : null,
    mounts: [
      { type: 'tmpfs', target: '/tmp', sizeBytes: options.tmpBytes ?? 4 << 20 },
      { type: 'bind', source: work, target: '/work' },
    ],
    cwd: '/work',
    argv: ['/bin/sh', '-c', script],
    limits: options.group ?? null,
  });
  const child = spawn(cmd.file, cmd.args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
    options.onOutput?.(stdout);
  });
  child.stderr.on('data', (d) => (stderr += d));
  child.once('spawn', () => options.onStart?.(child.pid!));
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr, pid: child.pid! })));
}

/** Waits until `cond` holds (processes die asynchronously after their namespace's init). */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 500) throw new Error('condition never held');
    await new Promise((r) => setTimeout(r, 10));
  }
}

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const name of limits?.names() ?? []) limits!.find(name)?.remove();
  limits?.find('.')?.remove();
});

describe.skipIf(!tool)('sandboxed command', () => {
  it('runs as another uid, sees the system and its mounts but not the host, with a private /tmp', async () => {
    const r = await run(
      `id -u; ls /tmp | wc -l; cat ${secret} 2>&1; echo x > /work/w && echo wrote; echo y > /usr/y 2>&1 || echo ro; ls /proc | grep -c '^[0-9]'`,
    );
    const [uid, tmpCount, secretLine, wrote, ro, procCount] = r.stdout.trim().split('\n');
    expect(r.code).toBe(0);
    expect(Number(uid)).toBe(asRoot ? UID : process.getuid!());
    expect(tmpCount).toBe('0');
    expect(secretLine).toMatch(/No such file or directory/);
    expect(wrote).toBe('wrote');
    expect(ro).toBe('ro');
    // only the sandbox's own processes: bwrap's init, the shell and its pipeline
    expect(Number(procCount)).toBeLessThan(8);
  });

  it('ends every process with its command, a setsid child included', async () => {
    const marker = `sandbox-survivor-${process.pid}`;
    const r = await run(`(setsid sh -c 'exec -a ${marker} sleep 300' </dev/null >/dev/null 2>&1 &); echo started`);
    expect(r.stdout.trim()).toBe('started');
    await until(() => !processNamed(marker));
  });

  it('stops gracefully: the command gets SIGTERM and its handler runs', async () => {
    let started = 0;
    let ready = false;
    const pending = run(`trap 'echo graceful; exit 7' TERM; echo ready; while :; do sleep 0.05; done`, {
      onStart: (pid) => (started = pid),
      onOutput: (out) => (ready = out.includes('ready')),
    });
    await until(() => started !== 0 && ready);
    expect(signalSandbox(started, 'SIGTERM')).toBeGreaterThan(0);
    const r = await pending;
    expect(r.stdout).toContain('graceful');
    expect(r.code).toBe(7);
    expect(isAlive(started)).toBe(false);
  });

  it('caps /tmp at its size', async () => {
    const r = await run('head -c 3000000 /dev/zero > /tmp/big; echo "status $?"', { tmpBytes: 1 << 20 });
    expect(r.stdout).toContain('status 1');
    expect(r.stderr).toMatch(/No space left on device/);
  });
});

describe.skipIf(!tool || !limits)('limit groups', () => {
  it('kills a process over the memory limit and counts it', async () => {
    const group = limits!.create('memory', { memoryBytes: 32 << 20, maxProcesses: 32, cpus: 1 });
    const r = await run(`python3 -c 'x = bytearray(256 << 20)' || echo "exit $?"`, { group });
    expect(r.stdout.trim()).toBe('exit 137');
    expect(group.oomKills()).toBeGreaterThanOrEqual(1);
    await until(() => group.pids().length === 0);
    expect(group.remove()).toBe(true);
  });

  it('refuses processes past the limit', async () => {
    const group = limits!.create('pids', { memoryBytes: 64 << 20, maxProcesses: 10, cpus: 1 });
    const r = await run(
      `n=0; for i in $(seq 30); do sleep 30 & n=$((n+1)); done 2>/dev/null; echo "$(jobs -p | wc -l) running"; kill $(jobs -p) 2>/dev/null; true`,
      { group },
    );
    const running = Number(r.stdout.trim().split(' ')[0]);
    expect(running).toBeLessThan(10);
    await until(() => group.pids().length === 0);
    expect(group.remove()).toBe(true);
  });

  it('kills everything in the group at once', async () => {
    const group = limits!.create('kill', { memoryBytes: 64 << 20, maxProcesses: 32, cpus: 1 });
    let started = 0;
    const pending = run('sleep 300 & sleep 300 & wait', { group, onStart: (pid) => (started = pid) });
    await until(() => started !== 0 && group.pids().length >= 4);
    group.killAll();
    const r = await pending;
    expect(r.signal).toBe('SIGKILL');
    await until(() => group.pids().length === 0);
    expect(group.remove()).toBe(true);
  });
});

function processNamed(name: string): boolean {
  // pgrep exits 1 when nothing matches: only its output matters
  return spawnSync('pgrep', ['-f', name], { encoding: 'utf8' }).stdout.trim() !== '';
}
