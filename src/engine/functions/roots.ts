// Runtime roots: every server unpacks code and gives instances their /tmp under a root of its own,
// <base>/emberplane-fn-<server id>, removed when the server stops. A server killed with kill -9
// (and its keeper with it) leaves its root behind; each server sweeps such roots when it starts.
//
// When is a root dead? Several servers may share the base (replicas on one host, or on hosts or
// containers sharing a volume), so a wrong guess deletes a live server's code under its instances.
// The root's owner.json records the server's pid, the process's start time, the kernel boot id and
// the pid namespace:
//  - same boot and same pid namespace as the sweeper: the owner is alive exactly when a process
//    with that pid and that start time exists (a recycled pid has another start time). Exact.
//  - otherwise (another host, container or boot) pids say nothing here: the owner touches
//    owner.json every minute, and a root untouched for 15 minutes is dead. A live server misses
//    that only with its event loop stalled for 15 minutes.
// flock would be simpler but Node has none; the servers table would tie the sweep to one database
// when servers of different deployments may share the base.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { isPidAlive, processesWithEnv } from '../local/processes.js';

const PREFIX = 'emberplane-fn-';
const OWNER = 'owner.json';
export const TOUCH_MS = 60_000;
const STALE_MS = 15 * 60_000;

interface Owner {
  pid: number;
  startTime: string;
  bootId: string;
  pidNs: string;
}

export const rootOf = (base: string, serverId: string) => path.join(base, `${PREFIX}${serverId}`);

function read(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function startTimeOf(pid: number | 'self'): string {
  const stat = read(`/proc/${pid}/stat`);
  return stat ? (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '') : '';
}

function pidNamespace(): string {
  try {
    return fs.readlinkSync('/proc/self/ns/pid');
  } catch {
    return '';
  }
}

function here(): Owner {
  return { pid: process.pid, startTime: startTimeOf('self'), bootId: read('/proc/sys/kernel/random/boot_id'), pidNs: pidNamespace() };
}

export async function writeOwner(root: string): Promise<void> {
  await fsp.writeFile(path.join(root, OWNER), JSON.stringify(here()), { mode: 0o600 });
}

export async function touchOwner(root: string): Promise<void> {
  const now = new Date();
  await fsp.utimes(path.join(root, OWNER), now, now).catch(() => {});
}

/** A root whose owner is gone for sure; false when in doubt. */
function isDead(root: string, me: Owner): boolean {
  const file = path.join(root, OWNER);
  let owner: Owner | null = null;
  let touched: number;
  try {
    touched = fs.statSync(file).mtimeMs;
    owner = JSON.parse(fs.readFileSync(file, 'utf8')) as Owner;
  } catch {
    // no owner file yet (a server between mkdir and writing it) or an unreadable one: by age only
    try {
      touched = fs.statSync(root).mtimeMs;
    } catch {
      return false;
    }
  }
  if (owner && me.bootId && me.pidNs && owner.bootId === me.bootId && owner.pidNs === me.pidNs) {
    return !isPidAlive(owner.pid) || startTimeOf(owner.pid) !== owner.startTime;
  }
  return Date.now() - touched > STALE_MS;
}

/**
 * Removes a tree without following a link in it: coreutils' rm walks it by file descriptor
 * (openat with O_NOFOLLOW, checking each directory it enters is the one it listed), so a directory
 * an instance swaps for a symlink while the walk runs is unlinked as a link, never followed.
 * Node's fs.rm checks a path, then opens it by name again: that is the race this avoids.
 */
export function removeTree(dir: string): Promise<void> {
  return new Promise((resolve) => {
    execFile('/bin/rm', ['-rf', '--one-file-system', '--', dir], () => resolve());
  });
}

/** The outer processes of confined instances of a root: their command lines name its dirs. */
function sandboxesOf(root: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (
        fs
          .readFileSync(`/proc/${name}/cmdline`, 'utf8')
          .split('\0')
          .some((arg) => arg.startsWith(`${root}/`))
      )
        out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Removes the roots under `base` whose server is gone, after killing any instance process still
 * running from one (their keeper died too), and tells `onDead` the server's id (for its control
 * groups). Returns the roots removed.
 */
export async function sweepDeadRoots(
  base: string,
  onDead: (serverId: string) => void = () => {},
  beforeRemoval: (root: string) => Promise<void> = async () => {},
): Promise<string[]> {
  const me = here();
  const names = await fsp.readdir(base).catch(() => [] as string[]);
  const swept: string[] = [];
  for (const name of names) {
    if (!name.startsWith(`${PREFIX}srv-`)) continue;
    const root = path.join(base, name);
    if (!isDead(root, me)) continue;
    // unconfined instances carry their root in LAMBDA_RUNTIME_DIR, and their children inherit it;
    // a confined one ends with its sandbox's outer process, whose arguments name the root's dirs
    for (const pid of [...processesWithEnv('LAMBDA_RUNTIME_DIR', path.join(root, 'runtime')), ...sandboxesOf(root)]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
    }
    onDead(name.slice(PREFIX.length));
    await beforeRemoval(root);
    // two servers starting at once may sweep the same root
    await removeTree(root);
    swept.push(root);
  }
  return swept;
}
