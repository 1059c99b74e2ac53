// Function code packages: checked (Lambda's size limits, entries that stay inside the code dir)
// and stored content-addressed, <dataDir>/functions/packages/<hex sha256>.zip.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { listEntries, writeZip, ZipError, type ZipEntry } from '../engine/functions/zip.js';
import { authorize, type Principal } from '../platform/authorization.js';
import { AppError, badInput } from '../platform/errors.js';
import type { StorageService } from '../storage/service.js';

export const CodeLimits = {
  zippedBytes: 50 * 1024 * 1024,
  unzippedBytes: 250 * 1024 * 1024,
  entries: 20_000,
  files: 256,
  fileBytes: 1024 * 1024,
  /** a path inside the package, and each of its names: what Linux can create (PATH_MAX 4096, NAME_MAX 255) */
  pathBytes: 1024,
  nameBytes: 255,
} as const;

/** Why a package path cannot be unpacked on Linux, or null. */
function pathLengthProblem(name: string): string | null {
  if (Buffer.byteLength(name) > CodeLimits.pathBytes) return `is longer than ${CodeLimits.pathBytes} bytes`;
  if (name.split('/').some((part) => Buffer.byteLength(part) > CodeLimits.nameBytes))
    return `has a name longer than ${CodeLimits.nameBytes} bytes`;
  return null;
}

export interface CodeInput {
  zipBase64?: string | null;
  s3Uri?: string | null;
  files?: Array<{ path: string; content: string; executable?: boolean | null }> | null;
}

export interface StoredCode {
  /** Lambda's CodeSha256: base64 of the zip's sha256 */
  sha256: string;
  /** the hex digest: the package's file name */
  hash: string;
  size: number;
  path: string;
  hasBootstrap: boolean;
}

function checkEntries(zip: Buffer, field: string): { hasBootstrap: boolean; unzipped: number } {
  let entries: ZipEntry[];
  try {
    entries = listEntries(zip);
  } catch (err) {
    if (err instanceof ZipError) throw badInput(field, `is not a usable zip: ${err.message}`);
    throw err;
  }
  if (entries.length > CodeLimits.entries) throw badInput(field, `has more than ${CodeLimits.entries} entries`);
  let unzipped = 0;
  const files = new Set<string>();
  const dirs = new Set<string>();
  for (const e of entries) {
    const parts = e.name.split('/');
    if (e.name.includes('\0') || e.name.includes('\\') || e.name.startsWith('/') || parts.includes('..')) {
      throw badInput(field, `zip entry ${JSON.stringify(e.name)} would be written outside the code directory`);
    }
    const tooLong = pathLengthProblem(e.name);
    if (tooLong) throw badInput(field, `zip entry ${JSON.stringify(e.name.slice(0, 64))}… ${tooLong}`);
    // a file named for the directory itself ("." or "./"): unpacked, it would take the code dir's (or /opt's) place
    if (!e.isDirectory && path.posix.normalize(e.name).replace(/\/$/, '') === '.')
      throw badInput(field, `zip entry ${JSON.stringify(e.name)} is a file without a name`);
    if ((e.mode & 0o170000) === 0o120000)
      throw badInput(field, `zip entry ${JSON.stringify(e.name)} is a symbolic link, which packages may not contain`);
    unzipped += e.size;
    const names = e.name.replace(/\/+$/, '').split('/');
    if (!e.isDirectory) files.add(names.join('/'));
    for (let i = e.isDirectory ? names.length : names.length - 1; i > 0; i--) dirs.add(names.slice(0, i).join('/'));
  }
  // a name that is a file and a directory can't be unpacked
  for (const name of files)
    if (dirs.has(name)) throw badInput(field, `zip entry ${JSON.stringify(name)} is a file and, in other entries, a directory`);
  if (unzipped > CodeLimits.unzippedBytes) {
    throw new AppError('PAYLOAD_TOO_LARGE', `Unzipped size must be smaller than ${CodeLimits.unzippedBytes} bytes`, field);
  }
  return { hasBootstrap: entries.some((e) => e.name === 'bootstrap' && !e.isDirectory), unzipped };
}

function zipFromFiles(files: NonNullable<CodeInput['files']>, field: string): Buffer {
  if (files.length === 0) throw badInput(field, 'must not be empty');
  if (files.length > CodeLimits.files) throw badInput(field, `must have at most ${CodeLimits.files} files (use a zip for more)`);
  const seen = new Set<string>();
  return writeZip(
    files.map((f, i) => {
      const p = f.path.replace(/^\.\//, '');
      if (!p || p.endsWith('/') || seen.has(p)) throw badInput(`${field}.${i}.path`, seen.has(p) ? 'is given twice' : 'must name a file');
      const tooLong = pathLengthProblem(p);
      if (tooLong) throw badInput(`${field}.${i}.path`, tooLong);
      seen.add(p);
      const content = Buffer.from(f.content, 'utf8');
      if (content.length > CodeLimits.fileBytes)
        throw badInput(`${field}.${i}.content`, `must be at most ${CodeLimits.fileBytes} bytes (use a zip for more)`);
      return { path: p, content, mode: f.executable ? 0o755 : 0o644 };
    }),
  );
}

/** a package a sweep has set aside to remove (this server's: one sweep at a time) */
const SWEEP_TAG = `${crypto.randomBytes(4).toString('hex')}.sweeping`;

/** unzipped sizes of packages kept in memory (a number each; more are read again from their zip) */
const UNZIPPED_SIZES_KEPT = 10_000;

export class FunctionCodeStore {
  readonly dir: string;
  private readonly unzippedSizes = new Map<string, number>();

  constructor(
    dataDir: string,
    private readonly storage: Pick<StorageService, 'resolveUri'>,
  ) {
    this.dir = path.join(dataDir, 'functions', 'packages');
  }

  packagePath(hash: string): string {
    return path.join(this.dir, `${hash}.zip`);
  }

  /**
   * Checks the input (exactly one source) and stores the zip; the same bytes are stored once. A zip
   * from a bucket needs the caller's buckets:GetObject (as Lambda's caller needs s3:GetObject), or
   * a function or layer would launder read access to the bucket.
   */
  async store(input: CodeInput, field: string, caller: Principal): Promise<StoredCode> {
    const given = (['zipBase64', 's3Uri', 'files'] as const).filter((k) => input[k] !== undefined && input[k] !== null);
    if (given.length !== 1) throw badInput(field, 'give exactly one of zipBase64, s3Uri, files');
    let zip: Buffer;
    let source = field;
    if (input.zipBase64 != null) {
      source = `${field}.zipBase64`;
      if (!/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(input.zipBase64)) throw badInput(source, 'is not base64');
      zip = Buffer.from(input.zipBase64, 'base64');
    } else if (input.s3Uri != null) {
      source = `${field}.s3Uri`;
      authorize(caller, 'buckets:GetObject');
      const { path: file } = await this.storage.resolveUri(input.s3Uri, source);
      const stat = await fs.stat(file).catch(() => null);
      if (!stat?.isFile()) throw new AppError('NOT_FOUND', `object ${input.s3Uri} does not exist`, source);
      if (stat.size > CodeLimits.zippedBytes)
        throw new AppError('PAYLOAD_TOO_LARGE', `Zipped size must be smaller than ${CodeLimits.zippedBytes} bytes`, source);
      zip = await fs.readFile(file);
    } else {
      source = `${field}.files`;
      zip = zipFromFiles(input.files!, source);
    }
    if (zip.length > CodeLimits.zippedBytes)
      throw new AppError('PAYLOAD_TOO_LARGE', `Zipped size must be smaller than ${CodeLimits.zippedBytes} bytes`, source);
    const { hasBootstrap, unzipped } = checkEntries(zip, source);
    const digest = crypto.createHash('sha256').update(zip).digest();
    const hash = digest.toString('hex');
    const target = this.packagePath(hash);
    const now = new Date();
    // the same bytes already stored: marked as just used, so that the sweep (which takes only packages
    // unused for a while) leaves them to the row about to refer to them, as git freshens an object it writes again
    const kept = await fs.utimes(target, now, now).then(
      () => true,
      () => false,
    );
    if (!kept) {
      await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
      const tmp = `${target}.${crypto.randomBytes(4).toString('hex')}.tmp`;
      await fs.writeFile(tmp, zip, { mode: 0o600 });
      await fs.rename(tmp, target);
    }
    this.remember(hash, unzipped);
    return { sha256: digest.toString('base64'), hash, size: zip.length, path: target, hasBootstrap };
  }

  private remember(hash: string, unzipped: number): void {
    if (this.unzippedSizes.size >= UNZIPPED_SIZES_KEPT) this.unzippedSizes.delete(this.unzippedSizes.keys().next().value!);
    this.unzippedSizes.set(hash, unzipped);
  }

  /** The unzipped size of a stored package (its entries' sizes), from memory once known: a package never changes. */
  async unzippedSize(hash: string): Promise<number> {
    const known = this.unzippedSizes.get(hash);
    if (known !== undefined) return known;
    const size = listEntries(await fs.readFile(this.packagePath(hash))).reduce((sum, e) => sum + e.size, 0);
    this.remember(hash, size);
    return size;
  }

  /**
   * Lambda's limit on what an instance unpacks: the function's code and all its layers together at
   * most 250 MB unzipped, as the code alone. `field` names the input that made it too big.
   */
  async assertFitsWithLayers(codeHash: string, layers: ReadonlyArray<{ codeSha256: string }>, field: string): Promise<void> {
    if (layers.length === 0) return;
    const sizes = await Promise.all([codeHash, ...layers.map((l) => hashOf(l.codeSha256))].map((h) => this.unzippedSize(h)));
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total > CodeLimits.unzippedBytes)
      throw new AppError(
        'PAYLOAD_TOO_LARGE',
        `Function code combined with layers exceeds the maximum allowed size of ${CodeLimits.unzippedBytes} bytes. The actual size is ${total} bytes.`,
        field,
      );
  }

  /**
   * Removes the packages no function, version or layer version refers to (`inUse`: hex digests)
   * that were last stored before `unusedSince` (ms since the epoch), and the temporary files of
   * stores cut short (a crash between write and rename) as old. A package is stored before the row
   * that refers to it commits, so a new one is never taken: it is younger than the grace. Several
   * servers sweeping the same DATA_DIR at once only find some files already gone.
   */
  async sweep(inUse: ReadonlySet<string>, unusedSince: number): Promise<{ files: number; bytes: number }> {
    const names = await fs.readdir(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    let files = 0;
    let bytes = 0;
    for (const name of names) {
      const [, hash, aside] = /^([0-9a-f]{64})\.zip(\.[0-9a-f]{8}\.sweeping)?$/.exec(name) ?? [];
      const file = path.join(this.dir, name);
      if (hash && inUse.has(hash)) {
        // set aside by a sweep that did not live to put it back
        if (aside) await fs.rename(file, this.packagePath(hash)).catch(() => {});
        continue;
      }
      if (!hash && !name.endsWith('.tmp')) continue;
      const stat = await fs.stat(file).catch(() => null);
      if (!stat || stat.mtimeMs >= unusedSince) continue;
      if (hash && !aside && !(await this.stillUnused(file, unusedSince))) continue;
      if (
        await fs.rm(hash && !aside ? `${file}.${SWEEP_TAG}` : file).then(
          () => true,
          () => false,
        )
      ) {
        files++;
        bytes += stat.size;
      }
    }
    return { files, bytes };
  }

  /**
   * Moves a package aside and looks at it again: a store() that freshened it since the sweep read
   * it (the row about to refer to it) shows now, and it is put back; a store() after the move writes
   * the package anew. Whether it stays aside, to be removed.
   */
  private async stillUnused(file: string, unusedSince: number): Promise<boolean> {
    const aside = `${file}.${SWEEP_TAG}`;
    if (
      !(await fs.rename(file, aside).then(
        () => true,
        () => false,
      ))
    )
      return false;
    const stat = await fs.stat(aside).catch(() => null);
    if (stat && stat.mtimeMs < unusedSince) return true;
    await fs.rename(aside, file).catch(() => {});
    return false;
  }

  /** Marks packages just used: code an update replaced, which an instance starting now may still fetch. */
  async freshen(hashes: readonly string[]): Promise<void> {
    const now = new Date();
    await Promise.all(hashes.map((h) => fs.utimes(this.packagePath(h), now, now).catch(() => {})));
  }
}

/** The package file name of a stored CodeSha256 (base64 → hex). */
export const hashOf = (codeSha256: string) => Buffer.from(codeSha256, 'base64').toString('hex');
