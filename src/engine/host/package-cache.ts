// A joined host's copies of code packages (docs/hosts.md "Functions on hosts"): fetched from the
// control plane by hash the first time an instance here needs one, kept as <dir>/<hash>.zip, and
// removed once unused for a grace period. Only a cache: while the host is connected, any package
// can be fetched again by its hash (the control plane's own packages: functions/code-store.ts).
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

const CODE_HASH = /^[0-9a-f]{64}$/;
/** `<hash>.zip` or a fetch's temporary file `<hash>.zip.<pid>.<random>.tmp` (hash: group 1) */
const CACHE_FILE = /^([0-9a-f]{64})\.zip(\.\d+\.[0-9a-f]{8}\.tmp)?$/;

export interface PackageCacheOptions {
  dir: string;
  /** a package unused this long is removed, and so is the temporary file of a fetch cut short this long ago */
  graceMs: number;
  /** the package's bytes, from the control plane (checked against the hash here) */
  download: (hash: string) => Promise<Buffer>;
  log: (line: string) => void;
}

export class PackageCache {
  /** packages held by work under way (an instance starting or invoked with them), with how many hold each: never swept */
  private readonly held = new Map<string, number>();
  /** packages being fetched, by hash */
  private readonly fetching = new Map<string, Promise<string>>();
  private timer: NodeJS.Timeout | null = null;
  private sweeping = false;

  constructor(private readonly options: PackageCacheOptions) {}

  private fileOf(hash: string): string {
    return path.join(this.options.dir, `${hash}.zip`);
  }

  /**
   * Runs `work` with the packages of `hashes` on disk (fetched if absent) and each counted as used
   * now; none of them is removed until `work` settles. `pathOf` gives a package's file.
   */
  async holding<T>(hashes: readonly string[], work: (pathOf: (hash: string) => string) => Promise<T>): Promise<T> {
    const bad = hashes.find((h) => !CODE_HASH.test(h));
    if (bad !== undefined) throw new Error(`not a code hash: ${bad}`);
    const unique = [...new Set(hashes)];
    // held before the first await: a sweep from here on leaves them
    for (const h of unique) this.held.set(h, (this.held.get(h) ?? 0) + 1);
    try {
      const files = new Map(await Promise.all(unique.map(async (h) => [h, this.present(h) ?? (await this.fetch(h))] as const)));
      return await work((h) => files.get(h)!);
    } finally {
      for (const h of unique) {
        const n = this.held.get(h)! - 1;
        if (n > 0) this.held.set(h, n);
        else this.held.delete(h);
      }
    }
  }

  /**
   * The package's file if it is on disk, its modification time (the last use the sweep reads)
   * freshened when older than a tenth of the grace: one utimes per package in that time, not one per
   * invocation. Synchronous, as the sweep's check-and-unlink: see sweep().
   */
  private present(hash: string): string | null {
    const file = this.fileOf(hash);
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (!stat) return null;
    const now = Date.now();
    if (now - stat.mtimeMs > this.options.graceMs / 10) fs.utimesSync(file, now / 1_000, now / 1_000);
    return file;
  }

  private fetch(hash: string): Promise<string> {
    let p = this.fetching.get(hash);
    if (!p) {
      p = this.fetchNow(hash).finally(() => this.fetching.delete(hash));
      this.fetching.set(hash, p);
    }
    return p;
  }

  private async fetchNow(hash: string): Promise<string> {
    const body = await this.options.download(hash);
    const got = crypto.createHash('sha256').update(body).digest('hex');
    if (got !== hash) throw new Error(`the code package fetched for ${hash} has hash ${got}: refused`);
    await fsp.mkdir(this.options.dir, { recursive: true, mode: 0o700 });
    const file = this.fileOf(hash);
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    await fsp.writeFile(tmp, body, { mode: 0o600 });
    await fsp.rename(tmp, file);
    return file;
  }

  /**
   * Removes the packages unused for the grace (not held, so not being fetched either), and the temporary
   * files of fetches cut short (a crash between write and rename) as old.
   */
  async sweep(): Promise<{ files: number; bytes: number }> {
    const names = await fsp.readdir(this.options.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    const unusedSince = Date.now() - this.options.graceMs;
    let files = 0;
    let bytes = 0;
    for (const name of names) {
      const hash = CACHE_FILE.exec(name)?.[1];
      if (hash === undefined) continue;
      // From the check to the unlink, synchronous: no holding() (which marks a package held, then
      // freshens it, both before its first await) can come between on this event loop. Either it came
      // first and the package (or the fetch's temporary file: a fetch runs held) is left, or the unlink
      // came first and it finds no file and fetches the package again. A package handed out stays held
      // until the work it was handed to settles: its instance has read it (unpacked it) by then.
      if (this.held.has(hash)) continue;
      const file = path.join(this.options.dir, name);
      const stat = fs.statSync(file, { throwIfNoEntry: false });
      if (!stat?.isFile() || stat.mtimeMs >= unusedSince) continue;
      fs.unlinkSync(file);
      files++;
      bytes += stat.size;
    }
    return { files, bytes };
  }

  /** Sweeps every `intervalMs` (an unref'd timer: it keeps no process alive) until stop(). */
  start(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(() => this.sweepOnce(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** one sweep at a time; a failed one is logged, and the next tick tries again */
  private sweepOnce(): void {
    if (this.sweeping) return;
    this.sweeping = true;
    this.sweep()
      .then(
        (swept) => {
          if (swept.files > 0) this.options.log(`removed ${swept.files} code package file(s) unused here (${swept.bytes} bytes)`);
        },
        (err: Error) => this.options.log(`sweeping the code package cache failed (the next sweep tries again): ${err.message}`),
      )
      .finally(() => {
        this.sweeping = false;
      });
  }
}
