import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** pids of processes whose environment has `name` starting with `prefix` (e.g. agents of one test's data dir). */
export function pidsWithEnvPrefix(name: string, prefix: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      if (state === 'Z') continue;
      if (env.some((kv) => kv.startsWith(`${name}=${prefix}`))) out.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number);
}

function pidNamespaceOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

/**
 * Sandboxes (function instances) whose outer process names something under `dir` on its command
 * line (bwrap's mounts of the code and runtime dirs), with every process inside them: those share
 * the pid namespace of the outer process's child, bwrap's init.
 */
export function sandboxedProcessesUnder(dir: string): number[] {
  const outer = allPids().filter((pid) => {
    if (pid === process.pid) return false;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
        .split('\0')
        .some((arg) => arg.startsWith(`${dir}/`));
    } catch {
      return false;
    }
  });
  if (outer.length === 0) return [];
  const own = pidNamespaceOf(process.pid);
  const namespaces = new Set(outer.map(pidNamespaceOf).filter((ns) => ns !== null && ns !== own));
  const all = allPids();
  for (const pid of all) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (outer.includes(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))) namespaces.add(pidNamespaceOf(pid));
    } catch {
      // gone meanwhile
    }
  }
  namespaces.delete(own);
  namespaces.delete(null);
  return [...new Set([...outer, ...all.filter((pid) => namespaces.has(pidNamespaceOf(pid)) && isAlive(pid))])];
}

/** The host pids of one function instance's processes (its children inherit its environment). */
export const instanceProcesses = (logStreamName: string) => pidsWithEnvPrefix('AWS_LAMBDA_LOG_STREAM_NAME', logStreamName);

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * A process as it is now: its pid and start time (clock ticks since boot). On a busy machine a pid
 * comes back within seconds (pid_max is often 32768): a later check by pid alone can see another process.
 */
export function processIdentity(pid: number): { pid: number; start: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return { pid, start: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]! };
  } catch {
    return null;
  }
}

/** Whether that very process (not one that got its pid since) is still alive. */
export function isStillAlive(identity: { pid: number; start: string }): boolean {
  return isAlive(identity.pid) && processIdentity(identity.pid)?.start === identity.start;
}

export async function waitUntil<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 20_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await fn();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A program to its end (2 minutes at most): its exit code and output; rejects only when it could not run. */
export function run(file: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { env, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      if (err && code === -1) reject(err);
      else resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}
