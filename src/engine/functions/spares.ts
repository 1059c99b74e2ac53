// Spare sandboxes: a few sandboxes started ahead of need, so that a cold start skips what costs
// most before the interpreter runs (joining the control groups: each cgroup v1 write waits on an RCU
// grace period; bubblewrap building the namespaces and mounts). Lambda and Firecracker-based
// platforms keep pre-provisioned environments for the same reason.
//
// A spare is a confined instance without a function yet: its own fresh uid and gid, its own limit
// group (placeholder limits), bubblewrap with the standard mounts (system, /var/runtime, an empty
// /opt, a private /tmp of the default ephemeral size) and /var/task a read-only bind of its own empty
// staging dir on the host. Inside, pid 2 is a tiny Perl launcher waiting on fd 3 (a socket pair):
// it says "R" once started, then reads NUL-separated fields to the end of its input: the number of
// environment entries, the entries, the argv; it sets exactly that environment, points stdout and
// stderr at the output files it was given as fds 4 and 5 (output.ts; until then they are pipes, which
// carry what bubblewrap and the launcher say), enters /var/task and execs the runtime (same pid: the
// instance finds its runtime as pid 2 of the sandbox, as ever).
//
// A claim copies the function's unpacked code into the staging dir (the sandbox sees the same
// directory at once), root-owned and readable by others (the spare's uid is not in the function's
// group), writes the function's limits into the spare's group and hands the launcher its environment
// and argv. A spare serves one instance only and goes with it (its group, its staging dir).
//
// Host layout, under the server's runtime root (0711):
//   <root>/spares/              0711 root
//   <root>/spares/<id>/         0710 root:<spare gid>  only the spare's own gid may pass
//   <root>/spares/<id>/task/    0755 root              the staging dir, bound at /var/task
// Every tenant runs in a mount namespace without the runtime root; an unconfined instance (SANDBOX=off
// has no spares, but the bench's unconfined baseline runs beside them) runs with its function's gid,
// which can't pass <id>/.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable, Duplex } from 'node:stream';
import { sandboxedCommand, type Mount, type SandboxTool } from '../sandbox/confine.js';
import type { LimitGroup, Limits, LimitSpec } from '../sandbox/limits.js';
import type { InstanceKeeper } from './keeper.js';
import { removeTree } from './roots.js';
import { InstanceOutput } from './output.js';

export const PERL = '/usr/bin/perl';
/** the ephemeral storage spares are made with (the default); functions with another size start the normal way */
export const SPARE_EPHEMERAL_MB = 512;
/** code bigger than this (unpacked) starts the normal way: copying it would cost more than a spare saves */
export const SPARE_CODE_MAX_BYTES = 10 << 20;
/**
 * code up to this size (unpacked) is copied into a claimed spare at once, on the event loop: each
 * step of a copy on the thread pool is a round trip that cost 1–11 ms per one-file package on a
 * busy server (most of a Python cold start's time over the bare interpreter), the copy itself tens
 * of microseconds; larger code goes on the thread pool, not to hold the event loop
 */
const COPY_AT_ONCE_BYTES = 1 << 20;
/** spares that die before they are ready, in a row, before the pool gives up (a broken host must not spawn forever) */
const MAX_FAILED_STARTS = 3;

// fd 3: "R" once running, then the fields until the server closes its end; an empty input (the
// server let the spare go) exits quietly
const LAUNCHER = `open(my $c, "+<&=", 3) or die "spare launcher: fd 3: $!\\n"; syswrite($c, "R");
local $/; my $d = <$c>; close $c; exit 0 if !defined $d || $d eq "";
my @f = split /\\0/, $d, -1; pop @f; my $n = shift @f;
%ENV = (); for (splice(@f, 0, $n)) { my ($k, $v) = split /=/, $_, 2; $ENV{$k} = $v; }
open(STDOUT, ">&4") or die "spare launcher: fd 4: $!\\n"; open(STDERR, ">&5") or die "spare launcher: fd 5: $!\\n";
for my $fd (4, 5) { open(my $h, ">&=", $fd) and close($h); }
chdir "/var/task" or die "chdir /var/task: $!\\n"; exec { $f[0] } @f or die "exec $f[0]: $!\\n";`;

/** What the pool needs of the sandbox it serves. */
export interface SpareHost {
  readonly root: string;
  /** where instances' output files go (output.ts) */
  readonly outputDir: string;
  readonly tool: SandboxTool | null;
  /** running as root: spares get uids of their own and limit groups */
  readonly isolated: boolean;
  readonly limits: Limits | null;
  readonly keeper: InstanceKeeper;
  allocateUid(): number;
  /** the mounts of a confined instance whose code is `taskSource` */
  mountsFor(taskSource: string, command: string, ephemeralStorageMb: number): Mount[];
  /** the limit group spec of an instance of that size */
  limitsFor(memoryMb: number, ephemeralStorageMb: number): LimitSpec;
}

/** One pre-started sandbox, claimed: the instance takes its process and finishes the start. */
export class Spare {
  /** set when its process has exited, or its launcher's end of the control socket closed */
  exited = false;
  ready = false;

  constructor(
    readonly id: string,
    readonly uid: number | null,
    readonly gid: number | null,
    readonly proc: ChildProcess,
    readonly group: LimitGroup | null,
    readonly dir: string,
    /** the runtime's stdout and stderr once it runs (the instance's from its claim) */
    readonly output: InstanceOutput,
  ) {}

  get stagingDir(): string {
    return path.join(this.dir, 'task');
  }

  private get control(): Duplex {
    return this.proc.stdio[3] as Duplex;
  }

  /**
   * Gives the spare its function: the code (copied into the staging dir), the limits, then the
   * environment and argv, upon which the launcher execs the runtime.
   */
  async start(
    codeDir: string,
    codeBytes: number,
    limits: { limits: Limits; spec: LimitSpec } | null,
    env: Record<string, string>,
    argv: string[],
  ): Promise<void> {
    const fields = [...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv];
    // what spawn refuses (a NUL would shift the launcher's fields)
    if (fields.some((f) => f.includes('\0'))) throw new TypeError('environment and arguments must be strings without null bytes');
    await copyReadable(codeDir, this.stagingDir, codeBytes <= COPY_AT_ONCE_BYTES ? atOnce : onThreadPool);
    // the group exists (the spare is in it): this sets the function's limits on it
    if (limits && this.group) limits.limits.create(path.basename(this.group.dirs[0]!), limits.spec);
    this.control.end([String(Object.keys(env).length), ...fields, ''].join('\0'));
  }

  /** Its group and staging dir, once its process is gone. */
  async release(): Promise<void> {
    await this.group?.killAndRemove();
    await removeTree(this.dir);
  }
}

/** The file operations a copy makes: synchronous ones (settled at once) or the thread pool's. */
interface CopyOps {
  readdir(dir: string): fs.Dirent[] | Promise<fs.Dirent[]>;
  mkdir(dir: string): unknown;
  chmod(file: string, mode: number): unknown;
  copyFile(from: string, to: string): unknown;
  mode(file: string): number | Promise<number>;
}

const atOnce: CopyOps = {
  readdir: (dir) => fs.readdirSync(dir, { withFileTypes: true }),
  mkdir: (dir) => fs.mkdirSync(dir),
  chmod: (file, mode) => fs.chmodSync(file, mode),
  copyFile: (from, to) => fs.copyFileSync(from, to),
  mode: (file) => fs.statSync(file).mode,
};

const onThreadPool: CopyOps = {
  readdir: (dir) => fsp.readdir(dir, { withFileTypes: true }),
  mkdir: (dir) => fsp.mkdir(dir),
  chmod: (file, mode) => fsp.chmod(file, mode),
  copyFile: (from, to) => fsp.copyFile(from, to),
  mode: async (file) => (await fsp.stat(file)).mode,
};

/**
 * Copies an unpacked code dir into `target` (an existing empty dir): root-owned (the server's
 * files), directories 0755, files 0644 or 0755 when executable, whatever the umask.
 */
async function copyReadable(source: string, target: string, ops: CopyOps): Promise<void> {
  for (const entry of await ops.readdir(source)) {
    const from = path.join(source, entry.name);
    const to = path.join(target, entry.name);
    if (entry.isDirectory()) {
      await ops.mkdir(to);
      await ops.chmod(to, 0o755);
      await copyReadable(from, to, ops);
    } else if (entry.isFile()) {
      await ops.copyFile(from, to);
      await ops.chmod(to, (await ops.mode(from)) & 0o100 ? 0o755 : 0o644);
    }
  }
}

/** Which spare pool events a caller may watch (tests and the bench). */
export interface SpareCounts {
  size: number;
  ready: number;
  starting: number;
  claimed: number;
}

export class SparePool {
  private readonly spares = new Set<Spare>();
  /** how many spares to keep (0: none); the bench sets it to 0 for its figure without spares */
  size: number;
  /** spares handed to instances so far */
  claimed = 0;
  /** the pool fills only once an instance was wanted: an idle server spends nothing */
  private wanted = false;
  private failedStarts = 0;
  private closed = false;

  constructor(
    private readonly host: SpareHost,
    size: number,
    private readonly log: (msg: string) => void,
  ) {
    this.size = size;
  }

  counts(): SpareCounts {
    const all = [...this.spares];
    return {
      size: this.size,
      ready: all.filter((s) => s.ready).length,
      starting: all.filter((s) => !s.ready).length,
      claimed: this.claimed,
    };
  }

  /** The outer pids of the spares waiting (tests kill one to see it replaced). */
  pids(): number[] {
    return [...this.spares].map((s) => s.proc.pid).filter((p): p is number => p !== undefined);
  }

  /**
   * A ready spare for an instance of this shape, taken out of the pool; null when none fits (the
   * instance starts the normal way). Starts replacing it (and filling a pool not yet wanted) once
   * `settled` resolves: a replacement spawned at once would take CPU from the cold start it serves.
   */
  claim(want: { ephemeralStorageMb: number; codeBytes: number | null; extraMounts: boolean }, settled: Promise<unknown>): Spare | null {
    if (this.closed || this.size === 0 || this.failedStarts >= MAX_FAILED_STARTS) return null;
    const first = !this.wanted;
    this.wanted = true;
    const fits =
      want.ephemeralStorageMb === SPARE_EPHEMERAL_MB &&
      want.codeBytes !== null &&
      want.codeBytes <= SPARE_CODE_MAX_BYTES &&
      !want.extraMounts;
    const spare = fits ? [...this.spares].find((s) => s.ready && !s.exited && isRunning(s.proc.pid!)) : undefined;
    if (spare) {
      this.spares.delete(spare);
      spare.proc.removeAllListeners('exit');
      (spare.proc.stdio[3] as Readable).removeAllListeners('data').removeAllListeners('close');
      this.claimed++;
    }
    if (spare || first) void settled.finally(() => this.fill());
    return spare ?? null;
  }

  /** Starts spares up to the pool's size. */
  fill(): void {
    while (!this.closed && this.wanted && this.spares.size < this.size && this.failedStarts < MAX_FAILED_STARTS) {
      try {
        this.spares.add(this.spawnSpare());
      } catch (err) {
        this.failedStarts = MAX_FAILED_STARTS;
        this.log(`spare sandboxes are off: ${(err as Error).message}`);
      }
    }
  }

  private spawnSpare(): Spare {
    const { host } = this;
    const id = crypto.randomBytes(8).toString('hex');
    const uid = host.isolated ? host.allocateUid() : null;
    // a group of its own: its staging dir's parent lets only it through
    const gid = uid;
    const dir = path.join(host.root, 'spares', id);
    const staging = path.join(dir, 'task');
    fs.mkdirSync(dir, { mode: 0o700 });
    if (gid !== null) {
      fs.chownSync(dir, 0, gid);
      fs.chmodSync(dir, 0o710);
    }
    fs.mkdirSync(staging);
    fs.chmodSync(staging, 0o755);
    // placeholders as large as any function's (limits can be lowered at claim, never below usage)
    const group = host.limits?.create(`spare-${id}`, host.limitsFor(10_240, SPARE_EPHEMERAL_MB)) ?? null;
    const { file, args } = sandboxedCommand({
      tool: host.tool!,
      uid,
      gid,
      mounts: host.mountsFor(staging, PERL, SPARE_EPHEMERAL_MB),
      cwd: '/var/task',
      argv: [PERL, '-e', LAUNCHER],
      limits: group,
      hostname: 'localhost',
    });
    const output = new InstanceOutput(host.outputDir, `spare-${id}`);
    const fds = output.create();
    let proc: ChildProcess;
    try {
      proc = spawn(file, args, { cwd: '/', env: {}, detached: true, stdio: ['ignore', 'pipe', 'pipe', 'pipe', fds.out, fds.err] });
    } finally {
      fs.closeSync(fds.out);
      fs.closeSync(fds.err);
    }
    const spare = new Spare(id, uid, gid, proc, group, dir, output);
    // what a spare says before its claim is a failure to start (bwrap's, the launcher's)
    let said = '';
    const listen = (chunk: Buffer) => {
      said = (said + chunk.toString('utf8')).slice(-500);
    };
    proc.stdout!.on('data', listen);
    proc.stderr!.on('data', listen);
    if (proc.pid) host.keeper.watch(proc.pid);
    (proc.stdio[3] as Readable).once('data', () => {
      spare.ready = true;
      this.failedStarts = 0;
      proc.stdout!.off('data', listen);
      proc.stderr!.off('data', listen);
    });
    (proc.stdio[3] as Duplex).on('error', () => {});
    // the launcher gone (killed): the sandbox is about to end, never hand it out
    (proc.stdio[3] as Duplex).once('close', () => {
      spare.exited = true;
    });
    proc.on('error', () => {});
    proc.on('exit', () => {
      spare.exited = true;
      this.spares.delete(spare);
      if (proc.pid) host.keeper.unwatch(proc.pid);
      if (!spare.ready && ++this.failedStarts >= MAX_FAILED_STARTS)
        this.log(`spare sandboxes are off: ${MAX_FAILED_STARTS} failed to start (${said.trim() || 'no output'})`);
      // a spare killed while idle is replaced
      spare.output.remove();
      void spare.release().then(() => this.fill());
    });
    return spare;
  }

  /** Kills the waiting spares and waits until they are gone. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      [...this.spares].map(
        (spare) =>
          new Promise<void>((resolve) => {
            if (spare.exited) return resolve();
            spare.proc.removeAllListeners('exit');
            spare.proc.once('exit', () => {
              spare.exited = true;
              if (spare.proc.pid) this.host.keeper.unwatch(spare.proc.pid);
              spare.output.remove();
              void spare.release().then(resolve);
            });
            try {
              process.kill(-spare.proc.pid!, 'SIGKILL');
            } catch {
              resolve();
            }
          }),
      ),
    );
    this.spares.clear();
  }
}

/** Alive and not a zombie waiting to be reaped (whose exit event is still to come). */
function isRunning(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
