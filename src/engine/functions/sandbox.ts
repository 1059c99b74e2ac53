// Where instances run and as whom. Layout of a server's runtime root (a cache: rebuilt from the
// stored packages after a restart; <base>/emberplane-fn-<server id>, see roots.ts):
//   <root>/            0711 root        traversable, not listable
//   <root>/owner.json  0600 root        who owns the root (the start-up sweep of dead roots reads it)
//   <root>/runtime/    0755 root        the project's bootstraps (LAMBDA_RUNTIME_DIR)
//   <root>/code/<fn>/<hash>/  0750 root:<function gid>   unpacked code (LAMBDA_TASK_ROOT)
//   <root>/tmp/<instance>/    0700 <instance uid>        an unconfined instance's /tmp (SANDBOX=off only)
//   <root>/spares/            0711 root        spare sandboxes' staging dirs (see spares.ts)
// Confined (the default), an instance runs in bubblewrap (../sandbox/confine.js) and sees Lambda's
// paths: its code read-only at /var/task, the bootstraps at /var/runtime, a private tmpfs /tmp of
// its ephemeral storage size, an empty read-only /opt, and the system read-only; nothing else of the
// host (no DATA_DIR, no other function's code, no other process). Nothing of an instance is then
// writable on the host. As root, every instance also runs under its own uid, in its function's gid,
// in a control group of its own (memory, processes, CPU); a server run by a normal user runs
// instances as that user, still in their own namespaces, without control groups.
import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listEntries, readEntry, type ZipEntry } from './zip.js';
import { sandboxedCommand, type Mount, type SandboxTool } from '../sandbox/confine.js';
import { probeLimits, type LimitGroup, type Limits, type LimitSpec } from '../sandbox/limits.js';
import { InstanceKeeper } from './keeper.js';
import { removeTree, rootOf, sweepDeadRoots, touchOwner, TOUCH_MS, writeOwner } from './roots.js';
import { PERL, SparePool } from './spares.js';
import type { RuntimeName } from './types.js';
import { type CommittedOf, outputDirOf, recoverOutput } from './output.js';

// from the source tree (src/ and dist/ are equally deep): the build does not copy the Python file
const BOOTSTRAP_DIR = fileURLToPath(new URL('../../../src/engine/functions/bootstrap', import.meta.url));
const UID_BASE = 1_000_000;
/** Lambda's limit on processes and threads in one execution environment */
export const MAX_PROCESSES = 1_024;
/** Lambda gives one vCPU at this memory size, and CPU in proportion */
const MB_PER_VCPU = 1_769;
/** memory of the sandbox's own processes (sh, setpriv, the two bwraps), on top of the function's */
const SANDBOX_OVERHEAD_BYTES = 16 << 20;
/** where an instance finds things, inside its sandbox */
export const TASK_ROOT = '/var/task';
export const RUNTIME_DIR = '/var/runtime';
/** where a confined instance sees its function's layers, as on Lambda */
const OPT = '/opt';
/** where a confined instance sees the runtime's Python packages (boto3), as on Lambda */
const PYTHON_SDK_PATH = '/var/lang/lib/python3.11/site-packages';
/** where a confined instance sees the runtime's Node modules (the AWS SDK for JavaScript v3), as on Lambda */
const NODE_SDK_PATH = `${RUNTIME_DIR}/node_modules`;
const ANCESTOR_MODULES = '/node_modules';
// the host's system directories, which the sandbox repeats read-only (confine.js)
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc'];

export class PackageError extends Error {}

/** An absolute path every user can execute: each directory on the way must be searchable by others. */
function executableByOthers(file: string): boolean {
  try {
    if ((fs.statSync(file).mode & 0o001) === 0) return false;
    for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
      if ((fs.statSync(dir).mode & 0o001) === 0) return false;
      if (dir === path.dirname(dir)) return true;
    }
  } catch {
    return false;
  }
}

/** The real interpreter behind a command on PATH (following symlinks and pyenv-style shims). */
function resolveInterpreter(command: string, probe: string[]): string | null {
  try {
    const out = execFileSync(command, probe, { encoding: 'utf8', timeout: 10_000 }).trim();
    return out ? fs.realpathSync(out) : null;
  } catch {
    return null;
  }
}

export interface Interpreters {
  node: string;
  python: string | null;
}

export interface SandboxOptions {
  pythonCommand?: string;
  /** the AWS SDK for Python (boto3) that PYTHON311 instances import, as Lambda's runtime has it (a
   *  `pip install --target` directory; absent: none) */
  pythonSdkDir?: string | null;
  /** the AWS SDK for JavaScript v3 that NODEJS20 instances import, as Lambda's runtime has it (a directory
   *  with the packages in its node_modules; absent: none) */
  nodeSdkDir?: string | null;
  /** bubblewrap and setpriv; null runs instances unconfined (SANDBOX=off) */
  tool: SandboxTool | null;
  /** spare sandboxes kept started for cold starts (0: none; see spares.ts) */
  spares?: number;
  /** where the sandbox says what it chose (e.g. no spares, and why) */
  debug?: (msg: string) => void;
}

/** Where an instance's paths are, as it sees them. */
export interface InstancePaths {
  taskRoot: string;
  runtimeDir: string;
  tmp: string;
  /** the runtime's Python packages (null: none on this host) */
  pythonSdk: string | null;
  /** the runtime's Node modules, a node_modules directory (null: none on this host) */
  nodeSdk: string | null;
  /** the function's layers (confined: /opt, as on Lambda; unconfined: their unpacked dir, null without layers) */
  opt: string | null;
}

/**
 * Where an instance's runtime looks for programs, libraries and modules, as Lambda's runtimes do:
 * PATH ends with the layers' bin; LD_LIBRARY_PATH has the code's and the layers' lib; NODE_PATH (the bootstrap applies it to ES modules too) is the function's
 * own, the layers' nodejs/node20/node_modules and nodejs/node_modules, the runtime's modules (the AWS
 * SDK), the runtime and the code; PYTHONPATH (after /var/task, which the bootstrap puts first) the
 * function's own, the layers' python/lib/python3.11/site-packages and python, then the runtime's boto3.
 */
export function searchPaths(runtime: RuntimeName, own: Record<string, string>, paths: InstancePaths): Record<string, string> {
  const join = (dirs: Array<string | null | undefined>) => dirs.filter(Boolean).join(':');
  const opt = paths.opt;
  const env: Record<string, string> = {
    PATH: join(['/usr/local/bin:/usr/bin:/bin', opt && `${opt}/bin`]),
    // native libraries a package or layer ships (Lambda's: …:$LAMBDA_TASK_ROOT:$LAMBDA_TASK_ROOT/lib:/opt/lib)
    LD_LIBRARY_PATH: join([own.LD_LIBRARY_PATH, paths.taskRoot, `${paths.taskRoot}/lib`, opt && `${opt}/lib`]),
  };
  if (runtime === 'NODEJS20') {
    env.NODE_PATH = join([
      own.NODE_PATH,
      opt && `${opt}/nodejs/node20/node_modules`,
      opt && `${opt}/nodejs/node_modules`,
      paths.nodeSdk,
      paths.runtimeDir,
      paths.taskRoot,
    ]);
  } else if (runtime === 'PYTHON311') {
    const pythonPath = join([own.PYTHONPATH, opt && `${opt}/python/lib/python3.11/site-packages`, opt && `${opt}/python`, paths.pythonSdk]);
    if (pythonPath) env.PYTHONPATH = pythonPath;
  }
  return env;
}

/** An instance's unpacked code, and its unpacked layers (null: none). */
export interface InstanceDirs {
  codeDir: string;
  optDir: string | null;
}

/** How to start one instance's runtime process. */
export interface Launch {
  file: string;
  args: string[];
  cwd: string;
  /** the uid/gid spawn switches to (unconfined instances of a root server) */
  as: { uid: number; gid: number } | null;
  /** the instance's control group (confined instances of a root server) */
  group: LimitGroup | null;
}

/** The install prefix of an interpreter outside the system dirs (…/bin/node → …), mounted read-only at its own path. */
function interpreterMounts(file: string): Mount[] {
  if (SYSTEM_DIRS.some((d) => file.startsWith(`${d}/`))) return [];
  const prefix = path.dirname(path.dirname(file));
  if (prefix === '/' || prefix === '/root' || prefix.startsWith('/root/')) {
    throw new Error(
      `the interpreter ${file} is not in a directory a sandbox may show (install it under /usr, e.g. apt-get install -y nodejs python3)`,
    );
  }
  return [{ type: 'ro-bind', source: prefix, target: prefix }];
}

export class Sandbox {
  readonly root: string;
  readonly runtimeDir: string;
  readonly outputDir: string;
  readonly isolated: boolean;
  readonly tool: SandboxTool | null;
  /** Start new instances in the sandbox. An engine switch, not a setting: the bench turns it off
   *  for an unconfined baseline beside the confined figure. */
  confine: boolean;
  /** one control group per confined instance (null: not root, or unconfined) */
  limits: Limits | null = null;
  /** spare sandboxes for confined cold starts (null: none, e.g. SANDBOX=off) */
  spares: SparePool | null = null;
  /** unpacked size of each code dir this server unpacked (a spare serves only small code) */
  private readonly codeBytes = new Map<string, number>();
  private found: Interpreters | null = null;
  private sdkFound: boolean | null = null;
  private nodeSdkFound: boolean | null = null;
  private nextUid: number;
  private readonly preparing = new Map<string, Promise<string>>();
  private pythonEntry: Promise<string> | null = null;
  private keeperOf: InstanceKeeper | null = null;
  private toucher: NodeJS.Timeout | null = null;

  constructor(
    private readonly base: string,
    private readonly serverId: string,
    private readonly options: SandboxOptions,
  ) {
    this.isolated = process.getuid?.() === 0;
    this.tool = options.tool;
    this.confine = options.tool !== null;
    this.root = rootOf(base, serverId);
    this.runtimeDir = path.join(this.root, 'runtime');
    this.outputDir = outputDirOf(this.root);
    // a random block of uids per server, so that two servers on one host don't hand out the same
    this.nextUid = UID_BASE + crypto.randomInt(0, 4_000) * 100_000;
  }

  /** Resolved once, on first use (finding python runs it). */
  get interpreters(): Interpreters {
    this.found ??= this.findInterpreters(this.options.pythonCommand ?? 'python3');
    return this.found;
  }

  private findInterpreters(pythonCommand: string): Interpreters {
    const usable = (p: string | null) => p !== null && (!this.isolated || executableByOthers(p));
    const node = [fs.realpathSync(process.execPath), '/usr/bin/node', '/usr/local/bin/node'].find(usable);
    if (!node)
      throw new Error(
        `no node interpreter that function instances' users can execute (${process.execPath} is not): install one under /usr, e.g. apt-get install -y nodejs`,
      );
    const pythons = [
      resolveInterpreter(pythonCommand, ['-c', 'import sys; print(sys.executable)']),
      '/usr/bin/python3',
      '/usr/local/bin/python3',
    ];
    // an interpreter under /root (pyenv) is not reachable by the instances' users: take one that is
    const python = pythons.find((p) => usable(p) && fs.existsSync(p!)) ?? null;
    return { node, python };
  }

  /** Told the process group of every instance (see keeper.ts). */
  get keeper(): InstanceKeeper {
    if (!this.keeperOf) throw new Error('the sandbox is not initialised');
    return this.keeperOf;
  }

  /**
   * Sweeps the roots of dead servers (their instances' output not yet stored goes to `recovered`,
   * which resolves once it is stored, with the dead root for what else it holds: journal.ts), then
   * makes this server's root; returns the roots swept.
   */
  async init(
    recovered: (leftovers: Awaited<ReturnType<typeof recoverOutput>>, deadRoot: string) => Promise<void>,
    committedOf: CommittedOf,
  ): Promise<string[]> {
    await fsp.mkdir(this.base, { recursive: true });
    // the instances' users pass through the base to their code
    if (this.isolated) {
      const mode = (await fsp.stat(this.base)).mode;
      if ((mode & 0o001) === 0) await fsp.chmod(this.base, (mode & 0o7777) | 0o001);
    }
    const swept = await sweepDeadRoots(
      this.base,
      (serverId) => this.removeGroupsOf(serverId),
      async (root) => recovered(await recoverOutput(root, committedOf), root),
    );
    await fsp.mkdir(this.root, { recursive: true });
    await fsp.chmod(this.root, 0o711);
    await writeOwner(this.root);
    if (this.tool && this.isolated) this.limits = probeLimits(`emberplane/${this.serverId}`);
    this.keeperOf = new InstanceKeeper(this.root, this.limits?.parents ?? []);
    this.toucher = setInterval(() => void touchOwner(this.root), TOUCH_MS);
    this.toucher.unref();
    await fsp.mkdir(this.outputDir, { recursive: true, mode: 0o700 });
    // tmp/: for unconfined instances (SANDBOX=off, or the bench's baseline)
    for (const dir of ['code', 'tmp']) {
      await fsp.mkdir(path.join(this.root, dir), { recursive: true });
      await fsp.chmod(path.join(this.root, dir), 0o711);
    }
    await fsp.mkdir(this.runtimeDir, { recursive: true });
    for (const file of await fsp.readdir(BOOTSTRAP_DIR)) {
      await fsp.copyFile(path.join(BOOTSTRAP_DIR, file), path.join(this.runtimeDir, file));
      await fsp.chmod(path.join(this.runtimeDir, file), 0o644);
    }
    // the mount point of the runtime's Node modules (NODE_SDK_PATH): the runtime dir is mounted read-only
    await fsp.mkdir(path.join(this.runtimeDir, 'node_modules'), { recursive: true, mode: 0o755 });
    await fsp.chmod(this.runtimeDir, 0o755);
    const spares = this.options.spares ?? 0;
    if (this.tool && spares > 0) {
      if (fs.existsSync(PERL)) {
        await fsp.mkdir(path.join(this.root, 'spares'));
        await fsp.chmod(path.join(this.root, 'spares'), 0o711);
        this.spares = new SparePool(this, spares, (msg) => this.options.debug?.(msg));
      } else {
        this.options.debug?.(`no spare sandboxes: their launcher needs ${PERL} (Debian's perl-base)`);
      }
    }
    return swept;
  }

  /**
   * The Python bootstrap to run: compiled once, by the interpreter that runs it, so that cold
   * starts don't compile it each time (a script is never cached); the source if that fails.
   */
  pythonBootstrap(python: string): Promise<string> {
    const source = path.join(this.runtimeDir, 'python_bootstrap.py');
    const compiled = path.join(this.runtimeDir, 'python_bootstrap.pyc');
    const compile = 'import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)';
    this.pythonEntry ??= new Promise<string>((resolve) => {
      execFile(python, ['-S', '-c', compile, source, compiled], { timeout: 30_000 }, (err) => {
        if (err) return resolve(source);
        fsp.chmod(compiled, 0o644).then(
          () => resolve(compiled),
          () => resolve(source),
        );
      });
    });
    return this.pythonEntry;
  }

  /** The group of a function's instances (stable for the function). */
  gidOf(functionId: string): number {
    return this.isolated
      ? UID_BASE + (crypto.createHash('sha256').update(functionId).digest().readUInt32BE(0) % 900_000_000)
      : process.getgid!();
  }

  allocateUid(): number {
    return this.isolated ? this.nextUid++ : process.getuid!();
  }

  codeDir(functionId: string, codeHash: string): string {
    return path.join(this.root, 'code', functionId, codeHash);
  }

  /** Unpacks a package once (concurrent callers share the work); returns the code dir. */
  prepare(functionId: string, codeHash: string, packagePath: string): Promise<string> {
    return this.unpackOnce(functionId, this.codeDir(functionId, codeHash), [packagePath]);
  }

  /**
   * Unpacks a function's layers once, in order, into one directory (a later layer's file replaces an
   * earlier one's): what its confined instances see at /opt. Null without layers.
   */
  async prepareLayers(functionId: string, layers: ReadonlyArray<{ hash: string; packagePath: string }>): Promise<string | null> {
    if (layers.length === 0) return null;
    const key = crypto
      .createHash('sha256')
      .update(layers.map((l) => l.hash).join(','))
      .digest('hex');
    return this.unpackOnce(
      functionId,
      path.join(this.root, 'code', functionId, `opt-${key}`),
      layers.map((l) => l.packagePath),
    );
  }

  private unpackOnce(functionId: string, dir: string, packagePaths: string[]): Promise<string> {
    let p = this.preparing.get(dir);
    if (!p) {
      p = this.unpack(functionId, dir, packagePaths);
      this.preparing.set(dir, p);
      p.catch(() => this.preparing.delete(dir));
    }
    return p;
  }

  /** Unpacks zips into `dir`, in order: a later zip's entry replaces what an earlier one put there. */
  private async unpack(functionId: string, dir: string, packagePaths: string[]): Promise<string> {
    if (fs.existsSync(dir)) return dir;
    const gid = this.gidOf(functionId);
    const fnDir = path.dirname(dir);
    await fsp.mkdir(fnDir, { recursive: true });
    await fsp.chown(fnDir, 0, gid).catch(() => {});
    await fsp.chmod(fnDir, 0o750);
    const tmp = `${dir}.tmp-${crypto.randomBytes(4).toString('hex')}`;
    try {
      await fsp.mkdir(tmp, { mode: 0o750 });
      let bytes = 0;
      for (const [layer, packagePath] of packagePaths.entries()) {
        const zip = await fsp.readFile(packagePath);
        let entries: ZipEntry[];
        try {
          entries = listEntries(zip);
        } catch (err) {
          throw new PackageError((err as Error).message);
        }
        // a later layer's directory replaces an earlier one's file of that name
        const mkdir = (d: string) => (layer > 0 ? mkdirOverFiles(tmp, d) : fsp.mkdir(d, { recursive: true, mode: 0o750 }));
        for (const entry of entries) {
          const target = safeTarget(tmp, entry.name);
          if (entry.isDirectory) {
            await mkdir(target);
            continue;
          }
          let data: Buffer;
          try {
            data = readEntry(zip, entry);
          } catch (err) {
            throw new PackageError((err as Error).message);
          }
          await mkdir(path.dirname(target));
          // an earlier layer's file (or directory) of that name is replaced
          if (layer > 0) await fsp.rm(target, { recursive: true, force: true });
          // group-readable only; executables keep their execute bit (a PROVIDED bootstrap)
          await fsp.writeFile(target, data, { mode: entry.mode & 0o111 ? 0o750 : 0o640 });
          bytes += data.length;
        }
      }
      if (this.isolated) await chownTree(tmp, gid);
      await fsp.chmod(tmp, 0o750);
      await fsp.rename(tmp, dir);
      this.codeBytes.set(dir, bytes);
      return dir;
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * How to start an instance's runtime: `argv` as it names things inside (see `paths`), confined
   * or not. The caller kills the spawned pid's process group to end it; confined, that ends the
   * whole sandbox, whatever its processes did (setsid, double forks).
   */
  async launch(
    instance: InstanceDirs & { id: string; uid: number; gid: number; memoryMb: number; ephemeralStorageMb: number },
    confined: boolean,
    argv: string[],
  ): Promise<Launch> {
    if (!confined) {
      return {
        file: argv[0]!,
        args: argv.slice(1),
        cwd: instance.codeDir,
        as: this.isolated ? { uid: instance.uid, gid: instance.gid } : null,
        group: null,
      };
    }
    const group = this.limits?.create(`fn-${instance.id}`, this.limitsFor(instance.memoryMb, instance.ephemeralStorageMb)) ?? null;
    const { file, args } = sandboxedCommand({
      tool: this.tool!,
      uid: this.isolated ? instance.uid : null,
      gid: this.isolated ? instance.gid : null,
      mounts: this.mountsFor(instance.codeDir, argv[0]!, instance.ephemeralStorageMb, instance.optDir),
      cwd: TASK_ROOT,
      argv,
      limits: group,
      hostname: 'localhost',
    });
    return { file, args, cwd: '/', as: null, group };
  }

  /** What a confined instance sees besides the system: its code (from `taskSource`), its layers (`optSource`) and Lambda's other paths. */
  mountsFor(taskSource: string, command: string, ephemeralStorageMb: number, optSource: string | null = null): Mount[] {
    return [
      ...this.commandMounts(command),
      { type: 'ro-bind', source: taskSource, target: TASK_ROOT },
      { type: 'ro-bind', source: this.runtimeDir, target: RUNTIME_DIR },
      ...(this.pythonSdkDir ? [{ type: 'ro-bind' as const, source: this.pythonSdkDir, target: PYTHON_SDK_PATH }] : []),
      ...(this.nodeSdkModules ? [{ type: 'ro-bind' as const, source: this.nodeSdkModules, target: NODE_SDK_PATH }] : []),
      // without layers, the SDK is also where Node's own lookup reaches it from /var/task (an ancestor's
      // node_modules, a link, so paths still read /var/runtime/…): an ES module handler imports it
      // without the resolve hook, whose thread costs a cold start tens of milliseconds
      // (bootstrap/module-paths.mjs). With layers it is not: their packages come before the SDK's.
      ...(this.nodeSdkModules && !optSource ? [{ type: 'symlink' as const, source: NODE_SDK_PATH, target: ANCESTOR_MODULES }] : []),
      { type: 'tmpfs', target: '/tmp', sizeBytes: ephemeralStorageMb * 1024 * 1024, mode: 0o1777 },
      // the layers; without any, empty and read-only as the rest of the sandbox's root
      optSource ? { type: 'ro-bind', source: optSource, target: OPT } : { type: 'dir', target: OPT, mode: 0o755 },
    ];
  }

  /** A PROVIDED bootstrap is in the code; an interpreter outside the system dirs is shown at its path. */
  commandMounts(command: string): Mount[] {
    return command.startsWith(`${TASK_ROOT}/`) ? [] : interpreterMounts(command);
  }

  /**
   * The limits of an instance's group. The group holds the function's memory and its /tmp (tmpfs
   * pages are charged to it): the function's own memory is held to memorySize by the instance's
   * sampling of its RSS, the group stops what sampling can't see in time (and /tmp can't exceed its
   * size by itself).
   */
  limitsFor(memoryMb: number, ephemeralStorageMb: number): LimitSpec {
    return {
      memoryBytes: (memoryMb + ephemeralStorageMb) * 1024 * 1024 + SANDBOX_OVERHEAD_BYTES,
      maxProcesses: MAX_PROCESSES,
      cpus: Math.max(1, memoryMb / MB_PER_VCPU),
    };
  }

  /** The unpacked size of a code dir this server unpacked (null: not known here). */
  codeSize(codeDir: string): number | null {
    return this.codeBytes.get(codeDir) ?? null;
  }

  /** The runtime's Python packages, if this host has them (a directory others can read). */
  get pythonSdkDir(): string | null {
    const dir = this.options.pythonSdkDir;
    this.sdkFound ??= dir ? fs.existsSync(path.join(dir, 'boto3')) : false;
    return this.sdkFound ? dir! : null;
  }

  /** The runtime's Node modules (the node_modules of FUNCTION_NODE_SDK_DIR), if this host has them. */
  get nodeSdkModules(): string | null {
    const dir = this.options.nodeSdkDir;
    this.nodeSdkFound ??= dir ? fs.existsSync(path.join(dir, 'node_modules', '@aws-sdk')) : false;
    return this.nodeSdkFound ? path.join(dir!, 'node_modules') : null;
  }

  /** Where an instance finds its code, layers, the runtime, its /tmp and the runtime's SDKs (an unconfined one gets host dirs). */
  async paths(instanceId: string, uid: number, gid: number, dirs: InstanceDirs, confined: boolean): Promise<InstancePaths> {
    const pythonSdk = this.pythonSdkDir === null ? null : confined ? PYTHON_SDK_PATH : this.pythonSdkDir;
    const nodeSdk = this.nodeSdkModules === null ? null : confined ? NODE_SDK_PATH : this.nodeSdkModules;
    if (confined) return { taskRoot: TASK_ROOT, runtimeDir: RUNTIME_DIR, tmp: '/tmp', pythonSdk, nodeSdk, opt: OPT };
    const tmp = path.join(this.root, 'tmp', instanceId);
    await fsp.mkdir(tmp, { mode: 0o700 });
    if (this.isolated) await fsp.chown(tmp, uid, gid);
    return { taskRoot: dirs.codeDir, runtimeDir: this.runtimeDir, tmp, pythonSdk, nodeSdk, opt: dirs.optDir };
  }

  /** An unconfined instance's /tmp: its own to write, so removed without following a link it made. */
  async removeTmp(instanceId: string): Promise<void> {
    await removeTree(path.join(this.root, 'tmp', instanceId));
  }

  /** Kills and removes what is left of the control groups of a server that is gone. */
  private removeGroupsOf(serverId: string): void {
    if (!this.tool || !this.isolated) return;
    const limits = probeLimits(`emberplane/${serverId}`);
    if (!limits) return;
    for (const name of limits.names()) {
      const group = limits.find(name);
      group?.killAll();
      group?.remove();
    }
    removeParents(limits);
  }

  async removeFunction(functionId: string): Promise<void> {
    await removeTree(path.join(this.root, 'code', functionId));
    for (const dir of this.codeBytes.keys())
      if (dir.startsWith(path.join(this.root, 'code', functionId) + path.sep)) this.codeBytes.delete(dir);
  }

  async close(): Promise<void> {
    if (this.toucher) clearInterval(this.toucher);
    await this.spares?.close();
    await removeTree(this.root);
    if (this.limits) removeParents(this.limits);
    await this.keeperOf?.close();
  }
}

/** The server's own level of control groups (empty once its instances are gone). */
function removeParents(limits: Limits): void {
  for (const dir of limits.parents) {
    try {
      fs.rmdirSync(dir);
    } catch {
      /* still in use, or gone */
    }
  }
}

/**
 * Instances run as other users, and DATA_DIR may be enterable by everyone (the embedded Postgres
 * needs that): what the server keeps there must not be readable by "others". Existing entries lose
 * their permissions for others, and the umask keeps new ones (buckets, agent dirs) closed.
 */
export async function closeToOthers(dataDir: string, except: string[]): Promise<void> {
  process.umask(process.umask() | 0o007);
  const entries = await fsp.readdir(dataDir).catch(() => [] as string[]);
  for (const name of entries) {
    if (except.includes(name)) continue;
    const p = path.join(dataDir, name);
    const stat = await fsp.lstat(p);
    if (!stat.isSymbolicLink()) await fsp.chmod(p, stat.mode & 0o7770);
  }
}

/** The path of a zip entry inside `base`; entries that would land outside it are refused. */
export function safeTarget(base: string, name: string): string {
  if (name.includes('\0') || name.includes('\\') || path.posix.isAbsolute(name))
    throw new PackageError(`zip entry ${JSON.stringify(name)} is not a relative path`);
  const target = path.resolve(base, name);
  if (target !== base && !target.startsWith(base + path.sep))
    throw new PackageError(`zip entry ${JSON.stringify(name)} escapes the code directory`);
  return target;
}

/** Makes directory `dir` inside `base`, removing the files (an earlier layer's) that stand where it needs directories. */
async function mkdirOverFiles(base: string, dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir, { recursive: true, mode: 0o750 });
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTDIR') throw err;
  }
  let at = base;
  for (const part of path.relative(base, dir).split(path.sep)) {
    at = path.join(at, part);
    const stat = await fsp.lstat(at).catch(() => null);
    if (!stat) break;
    if (!stat.isDirectory()) {
      await fsp.rm(at, { force: true });
      break;
    }
  }
  await fsp.mkdir(dir, { recursive: true, mode: 0o750 });
}

async function chownTree(dir: string, gid: number): Promise<void> {
  await fsp.chown(dir, 0, gid);
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(p, gid);
    else await fsp.chown(p, 0, gid);
  }
}
