// Where instances run and as whom. Layout of a server's runtime root (a cache: rebuilt from the
// stored packages after a restart; <base>/emberplane-fn-<server id>, see roots.ts):
//   <root>/            0711 root        traversable, not listable
//   <root>/owner.json  0600 root        who owns the root (the start-up sweep of dead roots reads it)
//   <root>/runtime/    0755 root        the project's bootstraps (LAMBDA_RUNTIME_DIR)
//   <root>/code/<fn>/<hash>/  0750 root:<function gid>   unpacked code (LAMBDA_TASK_ROOT)
//   <root>/tmp/<instance>/    0700 <instance uid>        the instance's /tmp (TMPDIR)
// As root, every instance runs under its own uid, in its function's gid: it can read its own code
// and nothing of another function's, nor the server's environment (/proc/<pid>/environ is
// owner-only) nor the data dir (0700). Without root everything runs as the server's user.
import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listEntries, readEntry } from '../../lib/zip.js';
import { InstanceKeeper } from './keeper.js';
import { rootOf, sweepDeadRoots, touchOwner, TOUCH_MS, writeOwner } from './roots.js';

// from the source tree (src/ and dist/ are equally deep): the build does not copy the Python file
const BOOTSTRAP_DIR = fileURLToPath(new URL('../../../src/engine/functions/bootstrap', import.meta.url));
const UID_BASE = 1_000_000;

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

export interface Interpreters { node: string; python: string | null }

export class Sandbox {
  readonly root: string;
  readonly runtimeDir: string;
  readonly isolated: boolean;
  private found: Interpreters | null = null;
  private nextUid: number;
  private readonly preparing = new Map<string, Promise<string>>();
  private pythonEntry: Promise<string> | null = null;
  private keeperOf: InstanceKeeper | null = null;
  private toucher: NodeJS.Timeout | null = null;

  constructor(private readonly base: string, serverId: string, private readonly options: { pythonCommand?: string } = {}) {
    this.isolated = process.getuid?.() === 0;
    this.root = rootOf(base, serverId);
    this.runtimeDir = path.join(this.root, 'runtime');
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
    const node = [fs.realpathSync(process.execPath), '/usr/bin/node', '/usr/local/bin/node'].find(usable) ?? process.execPath;
    const pythons = [
      resolveInterpreter(pythonCommand, ['-c', 'import sys; print(sys.executable)']),
      '/usr/bin/python3', '/usr/local/bin/python3',
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

  /** Sweeps the roots of dead servers, then makes this server's root; returns the roots swept. */
  async init(): Promise<string[]> {
    await fsp.mkdir(this.base, { recursive: true });
    // the instances' users pass through the base to their code
    if (this.isolated) {
      const mode = (await fsp.stat(this.base)).mode;
      if ((mode & 0o001) === 0) await fsp.chmod(this.base, (mode & 0o7777) | 0o001);
    }
    const swept = await sweepDeadRoots(this.base);
    await fsp.mkdir(this.root, { recursive: true });
    await fsp.chmod(this.root, 0o711);
    await writeOwner(this.root);
    this.keeperOf = new InstanceKeeper(this.root);
    this.toucher = setInterval(() => void touchOwner(this.root), TOUCH_MS);
    this.toucher.unref();
    for (const dir of ['code', 'tmp']) {
      await fsp.mkdir(path.join(this.root, dir), { recursive: true });
      await fsp.chmod(path.join(this.root, dir), 0o711);
    }
    await fsp.mkdir(this.runtimeDir, { recursive: true });
    for (const file of await fsp.readdir(BOOTSTRAP_DIR)) {
      await fsp.copyFile(path.join(BOOTSTRAP_DIR, file), path.join(this.runtimeDir, file));
      await fsp.chmod(path.join(this.runtimeDir, file), 0o644);
    }
    await fsp.chmod(this.runtimeDir, 0o755);
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
        fsp.chmod(compiled, 0o644).then(() => resolve(compiled), () => resolve(source));
      });
    });
    return this.pythonEntry;
  }

  /** The group of a function's instances (stable for the function). */
  gidOf(functionId: string): number {
    return this.isolated ? UID_BASE + (crypto.createHash('sha256').update(functionId).digest().readUInt32BE(0) % 900_000_000) : process.getgid!();
  }

  allocateUid(): number {
    return this.isolated ? this.nextUid++ : process.getuid!();
  }

  codeDir(functionId: string, codeHash: string): string {
    return path.join(this.root, 'code', functionId, codeHash);
  }

  /** Unpacks a package once (concurrent callers share the work); returns the code dir. */
  prepare(functionId: string, codeHash: string, packagePath: string): Promise<string> {
    const dir = this.codeDir(functionId, codeHash);
    let p = this.preparing.get(dir);
    if (!p) {
      p = this.unpack(functionId, dir, packagePath);
      this.preparing.set(dir, p);
      p.catch(() => this.preparing.delete(dir));
    }
    return p;
  }

  private async unpack(functionId: string, dir: string, packagePath: string): Promise<string> {
    if (fs.existsSync(dir)) return dir;
    const gid = this.gidOf(functionId);
    const fnDir = path.dirname(dir);
    await fsp.mkdir(fnDir, { recursive: true });
    await fsp.chown(fnDir, 0, gid).catch(() => {});
    await fsp.chmod(fnDir, 0o750);
    const tmp = `${dir}.tmp-${crypto.randomBytes(4).toString('hex')}`;
    try {
      const zip = await fsp.readFile(packagePath);
      let entries;
      try {
        entries = listEntries(zip);
      } catch (err) {
        throw new PackageError((err as Error).message);
      }
      await fsp.mkdir(tmp, { mode: 0o750 });
      for (const entry of entries) {
        const target = safeTarget(tmp, entry.name);
        if (entry.isDirectory) {
          await fsp.mkdir(target, { recursive: true, mode: 0o750 });
          continue;
        }
        let data: Buffer;
        try {
          data = readEntry(zip, entry);
        } catch (err) {
          throw new PackageError((err as Error).message);
        }
        await fsp.mkdir(path.dirname(target), { recursive: true, mode: 0o750 });
        // group-readable only; executables keep their execute bit (a PROVIDED bootstrap)
        await fsp.writeFile(target, data, { mode: entry.mode & 0o111 ? 0o750 : 0o640 });
      }
      if (this.isolated) await chownTree(tmp, gid);
      await fsp.chmod(tmp, 0o750);
      await fsp.rename(tmp, dir);
      return dir;
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /** A fresh /tmp for an instance, owned by its user. */
  async makeTmp(instanceId: string, uid: number, gid: number): Promise<string> {
    const dir = path.join(this.root, 'tmp', instanceId);
    await fsp.mkdir(dir, { mode: 0o700 });
    if (this.isolated) await fsp.chown(dir, uid, gid);
    return dir;
  }

  async removeTmp(instanceId: string): Promise<void> {
    await fsp.rm(path.join(this.root, 'tmp', instanceId), { recursive: true, force: true });
  }

  async removeFunction(functionId: string): Promise<void> {
    await fsp.rm(path.join(this.root, 'code', functionId), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    if (this.toucher) clearInterval(this.toucher);
    await fsp.rm(this.root, { recursive: true, force: true });
    await this.keeperOf?.close();
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
  if (name.includes('\0') || name.includes('\\') || path.posix.isAbsolute(name)) throw new PackageError(`zip entry ${JSON.stringify(name)} is not a relative path`);
  const target = path.resolve(base, name);
  if (target !== base && !target.startsWith(base + path.sep)) throw new PackageError(`zip entry ${JSON.stringify(name)} escapes the code directory`);
  return target;
}

async function chownTree(dir: string, gid: number): Promise<void> {
  await fsp.chown(dir, 0, gid);
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(p, gid);
    else await fsp.chown(p, 0, gid);
  }
}
