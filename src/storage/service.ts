import crypto from 'node:crypto';
import type { Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Db, Sql, Tx } from '../platform/db/client.js';
import * as q from './queries.js';
import { type BodyCheck, type DigestAlgorithm, DigestPool, type Digests, type PooledUpload, startDigests } from './digests.js';
import type { BucketRow, ObjectChecksum, ObjectEventKind, ObjectMetadata, ObjectRow } from './tables.js';
import { requireObjectMetadata } from './object-metadata.js';
import { contentTypeOf, requireContentType } from './content-types.js';
import { AppError, badInput, conflict, notFound } from '../platform/errors.js';
import { pageSize } from '../platform/paging.js';
import {
  isDirectoryMarker,
  MAX_KEY_BYTES,
  objectFilePath,
  parseS3Uri,
  requireBucketName,
  requireKeyPrefix,
  requireObjectKey,
  requireStoredKey,
  s3Uri,
} from './s3-uri.js';

// Buckets and objects: metadata in Postgres, bytes at <bucketsDir>/<bucket>/<key>.
//
// A write streams to a temp file under <dataDir>/tmp-objects (same filesystem), fsyncs it, then in
// ONE transaction upserts the row (which locks it: writers of a key take turns), records the
// event and renames the file into place; a file without a row is invisible, so a crash never shows
// a half object. Readers lock the row for share while they open the file, so the bytes they stream
// always match the size and ETag they report.
//
// Keys are paths: "a" and "a/b" cannot both exist (a file cannot also be a directory). Such a put is
// refused with CONFLICT, by a check of the rows and, for racing writers, by the filesystem itself.
// A directory marker "a/" (a zero-byte key ending in "/") is a row only, with the directory "a" made
// for the local path mapping: it may hold "a/b", and clashes with a file "a".

export interface StorageOptions {
  dataDir: string;
  bucketsDir: string;
  /** largest object accepted by a streamed upload */
  objectMaxBytes: number;
}

export interface ObjectListing {
  objects: ObjectRow[];
  commonPrefixes: string[];
  hasNextPage: boolean;
  /** cursor after the last object or common prefix of this page */
  endCursor: string | null;
  /** the key or common prefix the page ends with (S3 ListObjects' NextMarker) */
  lastEntry: string | null;
  cursorOf: (row: ObjectRow) => string;
}

export interface OpenedObject {
  row: ObjectRow;
  file: fs.FileHandle;
  size: number;
}

export interface ResolvedUri {
  bucket: string;
  /** the key, or for a prefix the prefix (may be "" or end with "/") */
  key: string;
  /** the local file (an object) or directory (a prefix) */
  path: string;
}

/** What put() stores: a request stream, or chunks in memory (small inline objects). */
type Chunk = Buffer | Uint8Array | string;
export type Body = AsyncIterable<Chunk> | Iterable<Chunk>;

/** How put() stores an object besides its bytes. */
export interface PutOptions {
  contentType?: string | null;
  /** user metadata and stored headers (S3's x-amz-meta-*, Content-Encoding, …) */
  metadata?: ObjectMetadata;
  maxBytes?: number;
  /** the event the write records: a copy is `ObjectCreated:Copy` */
  event?: ObjectEventKind;
  fields?: { bucket: string; key: string; contentType: string; body: string };
  /** the client's checks of the bytes (S3's SHA-256, Content-MD5, x-amz-checksum-*), run before the commit */
  check?: BodyCheck;
  /** the body's size as the client announced it (Content-Length), when known */
  declaredBytes?: number | null;
}

/** A write that checks nothing of its body beyond its size. */
export const NO_CHECK: BodyCheck = { digests: [], verify: () => null };

/** Objects at most this large go through GraphQL putObject; larger ones through the HTTP route. */
export const INLINE_OBJECT_MAX_BYTES = 1024 * 1024;
const WRITE_BATCH_BYTES = 1024 * 1024;
/** a body this small costs less to read than the checks that would refuse it before reading */
const SMALL_BODY_BYTES = 64 * 1024;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// A temp entry untouched this long belongs to no live upload (uploads time out after a minute idle).
const STALE_TEMP_MS = 15 * 60_000;

/** The smallest string above every string that starts with `prefix` (null: there is none). UTF-8 byte
 *  order is code point order, so bumping the last code point gives the bound of a COLLATE "C" range. */
export function prefixEnd(prefix: string): string | null {
  const points = Array.from(prefix);
  while (points.length > 0) {
    let next = points.pop()!.codePointAt(0)! + 1;
    if (next === 0xd800) next = 0xe000; // skip the surrogates, which no string holds alone
    if (next <= 0x10ffff) return points.join('') + String.fromCodePoint(next);
  }
  return null;
}

const etagOf = (md5: crypto.Hash) => `"${md5.digest('hex')}"`;

function encodeCursor(kind: 'k' | 'p', value: string): string {
  return Buffer.from(`${kind}:${value}`, 'utf8').toString('base64url');
}

/** S3 order: UTF-8 bytes (JS `<` compares UTF-16 units, which differs above U+FFFF). */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

function decodeCursor(cursor: string, field: string): { from: string; inclusive: boolean } {
  const raw = /^[A-Za-z0-9_-]{1,2000}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const kind = raw.slice(0, 2);
  const value = raw.slice(2);
  try {
    if (kind === 'k:') return { from: requireStoredKey(value, field), inclusive: false };
    // S3 listings roll up at any delimiter: a common prefix is any string ≤ a key's length
    if (kind === 'p:' && value !== '' && Buffer.byteLength(value, 'utf8') <= MAX_KEY_BYTES) {
      // after a common prefix: skip every key in it
      const end = prefixEnd(value);
      if (end !== null) return { from: end, inclusive: true };
    }
  } catch {
    // falls through to the one message below
  }
  throw badInput(field, 'is not a cursor returned by this API');
}

function requireDelimiter(delimiter: string, field: string): string {
  if (delimiter.length === 0 || delimiter.length > 16) throw badInput(field, 'must be 1 to 16 characters');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(delimiter)) throw badInput(field, 'must not contain control characters');
  return delimiter;
}

/** writev until every byte is on the file: a write may be short (e.g. a disk filling up). */
async function writeAll(handle: fs.FileHandle, buffers: Buffer[]): Promise<void> {
  let rest = buffers.filter((b) => b.length > 0);
  while (rest.length) {
    const { bytesWritten } = await handle.writev(rest);
    if (bytesWritten === 0) throw new Error('the disk accepted no more bytes');
    let skip = bytesWritten;
    while (rest.length && skip >= rest[0]!.length) {
      skip -= rest[0]!.length;
      rest = rest.slice(1);
    }
    if (skip > 0) rest = [rest[0]!.subarray(skip), ...rest.slice(1)];
  }
}

/**
 * mkdir -p where each new directory has its parent's group rights: the buckets directory is shared
 * with the nodes' group (setgid, group-writable: engine/local/local-driver.ts) so that sandboxed
 * steps write objects by path, whatever the server's umask.
 */
async function makeDir(dir: string): Promise<void> {
  const first = await fs.mkdir(dir, { recursive: true });
  if (first === undefined) return;
  const made: string[] = [];
  for (let d = dir; ; d = path.dirname(d)) {
    made.unshift(d);
    if (d === first || d === path.dirname(d)) break;
  }
  for (const d of made) {
    const group = (await fs.stat(path.dirname(d))).mode & 0o2070;
    if (group) await fs.chmod(d, 0o700 | group);
  }
}

const isErrno = (err: unknown, ...codes: string[]) => codes.includes((err as NodeJS.ErrnoException)?.code ?? '');

export class StorageService {
  readonly tmpDir: string;
  /** hashes and writes large uploads off the event loop */
  private readonly digestPool = new DigestPool();
  private sweeper: NodeJS.Timeout | null = null;
  /** what other parts of storage keep per bucket outside its directory (multipart uploads' parts) */
  private readonly bucketDeletedListeners: Array<(bucket: string) => Promise<void>> = [];

  constructor(
    private readonly sql: Sql,
    readonly options: StorageOptions,
    private readonly log: Logger,
  ) {
    this.tmpDir = path.join(options.dataDir, 'tmp-objects');
  }

  /** Creates the directories and removes temp files a crash left behind; sweeps again now and then. */
  async start(): Promise<void> {
    await fs.mkdir(this.options.bucketsDir, { recursive: true });
    await fs.mkdir(this.tmpDir, { recursive: true });
    this.digestPool.start();
    await this.sweepTemp();
    this.sweeper = setInterval(() => {
      this.sweepTemp().catch((err) => this.log.warn({ err }, 'temp sweep failed'));
    }, STALE_TEMP_MS);
    this.sweeper.unref();
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    void this.digestPool.close();
  }

  /** Several servers may share the data dir: only entries no upload touched for a while are removed. */
  async sweepTemp(now = Date.now()): Promise<number> {
    let removed = 0;
    for (const name of await fs.readdir(this.tmpDir)) {
      const entry = path.join(this.tmpDir, name);
      const stat = await fs.lstat(entry).catch(() => null);
      if (!stat || now - Math.max(stat.mtimeMs, stat.ctimeMs) < STALE_TEMP_MS) continue;
      await fs.rm(entry, { recursive: true, force: true });
      removed++;
    }
    if (removed) this.log.info({ removed }, 'removed stale temp objects');
    return removed;
  }

  /** Runs `listener` after each bucket delete has committed (its failures are logged, not thrown). */
  onBucketDeleted(listener: (bucket: string) => Promise<void>): void {
    this.bucketDeletedListeners.push(listener);
  }

  private bucketDir(bucket: string): string {
    return path.join(this.options.bucketsDir, bucket);
  }

  /** A new path in the temp dir (same filesystem as the buckets: renamed into place, never copied). */
  tempPath(label: string): string {
    return path.join(this.tmpDir, `${label}-${crypto.randomBytes(8).toString('hex')}`);
  }

  // ---- buckets ----

  async createBucket(name: string, field = 'name'): Promise<BucketRow> {
    requireBucketName(name, field);
    return this.sql.begin(async (tx) => {
      const row = await q.insertBucket(tx, name);
      if (!row) throw conflict(`bucket "${name}" already exists`, field);
      // before the commit (no put can see the bucket yet): leftovers of an earlier bucket of this
      // name, such as a file a crash kept from its commit, must not show through
      await fs.rm(this.bucketDir(name), { recursive: true, force: true });
      await makeDir(this.bucketDir(name));
      return row;
    });
  }

  listBuckets(): Promise<BucketRow[]> {
    return q.listBuckets(this.sql);
  }

  async bucket(name: string, field = 'name'): Promise<BucketRow | null> {
    requireBucketName(name, field);
    return (await q.bucketByName(this.sql, name)) ?? null;
  }

  async requireBucket(name: string, field: string): Promise<BucketRow> {
    const row = await this.bucket(name, field);
    if (!row) throw notFound('bucket', name, field);
    return row;
  }

  /** Only an empty bucket, unless `force`: then its objects go too (each with its ObjectRemoved event). */
  async deleteBucket(name: string, force: boolean, field = 'name'): Promise<{ name: string; deletedObjects: number }> {
    requireBucketName(name, field);
    const trash = this.tempPath('deleted-bucket');
    let moved = false;
    const deletedObjects = await this.sql
      .begin(async (tx) => {
        if (!(await q.lockBucketExclusive(tx, name))) throw notFound('bucket', name, field);
        if (!force && (await q.hasObjects(tx, name))) {
          throw conflict(`bucket "${name}" is not empty: delete its objects first, or pass force: true`, field);
        }
        const n = force ? await q.deleteAllObjects(tx, name) : 0;
        await q.deleteBucketRow(tx, name);
        // out of sight before the commit; put back if the commit fails
        moved = await fs.rename(this.bucketDir(name), trash).then(
          () => true,
          (err) => {
            if (isErrno(err, 'ENOENT')) return false;
            throw err;
          },
        );
        return n;
      })
      .catch(async (err) => {
        if (moved) await fs.rename(trash, this.bucketDir(name)).catch(() => {});
        throw err;
      });
    if (moved) await fs.rm(trash, { recursive: true, force: true });
    for (const listener of this.bucketDeletedListeners) {
      await listener(name).catch((err) => this.log.warn({ err, bucket: name }, 'cleanup after a bucket delete failed'));
    }
    return { name, deletedObjects };
  }

  // ---- objects: reading ----

  async head(bucket: string, key: string, fields = { bucket: 'bucket', key: 'key' }): Promise<ObjectRow | null> {
    requireBucketName(bucket, fields.bucket);
    requireStoredKey(key, fields.key);
    return (await q.objectByKey(this.sql, bucket, key)) ?? null;
  }

  /** The row and an open file of the same version (the caller closes `file`). NOT_FOUND when absent. */
  async open(bucket: string, key: string, fields = { bucket: 'bucket', key: 'key' }): Promise<OpenedObject> {
    requireBucketName(bucket, fields.bucket);
    requireStoredKey(key, fields.key);
    // a directory marker has no bytes of its own: it reads as the empty device
    const file = isDirectoryMarker(key) ? os.devNull : objectFilePath(this.options.bucketsDir, bucket, key);
    return this.sql.begin(async (tx) => {
      const row = await q.objectByKeyShared(tx, bucket, key);
      if (!row) throw new AppError('NOT_FOUND', `object ${s3Uri(bucket, key)} does not exist`, fields.key);
      // never through a symlink a step may have planted in the bucket's directory
      const handle = await fs.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW).catch((err) => {
        if (isErrno(err, 'ENOENT', 'ENOTDIR', 'EISDIR', 'ELOOP'))
          throw new AppError('NOT_FOUND', `object ${s3Uri(bucket, key)} has no data`, fields.key);
        throw err;
      });
      try {
        const stat = await handle.stat();
        return { row, file: handle, size: stat.size };
      } catch (err) {
        await handle.close();
        throw err;
      }
    });
  }

  /**
   * ListObjectsV2: keys under `prefix` in UTF-8 byte order; with a delimiter, keys that contain it
   * after the prefix are rolled up into one common prefix each (counted once toward `first`).
   */
  async list(
    bucket: string,
    args: { prefix?: string | null; delimiter?: string | null; first?: number | null; after?: string | null },
  ): Promise<ObjectListing> {
    await this.requireBucket(bucket, 'bucket');
    const prefix = requireKeyPrefix(args.prefix ?? '', 'prefix');
    const delimiter = args.delimiter == null || args.delimiter === '' ? null : requireDelimiter(args.delimiter, 'delimiter');
    return this.listPage(bucket, prefix, delimiter, pageSize(args.first), args.after ? decodeCursor(args.after, 'after') : null);
  }

  /**
   * S3's ListObjects (V1 and V2): as list, but any prefix and delimiter S3 takes (a prefix no key
   * can have lists nothing), up to `limit` entries, continuing after a cursor of list's (V2's
   * continuation token) or else after `startAfter` (V2's start-after, V1's marker: any string).
   * A `startAfter` that is exactly a common prefix (V1's NextMarker) continues after all its keys.
   */
  async listFrom(
    bucket: string,
    args: { prefix: string; delimiter: string | null; limit: number; cursor?: string | null; startAfter?: string | null },
  ): Promise<ObjectListing> {
    await this.requireBucket(bucket, 'bucket');
    const { prefix, startAfter } = args;
    const delimiter = args.delimiter === '' ? null : args.delimiter;
    let start: { from: string; inclusive: boolean } | null = null;
    if (args.cursor) start = decodeCursor(args.cursor, 'continuationToken');
    else if (startAfter) {
      const rolledUp = delimiter !== null && startAfter.startsWith(prefix) && startAfter.endsWith(delimiter);
      const at = rolledUp ? startAfter.indexOf(delimiter, prefix.length) : -1;
      if (at >= 0 && at + delimiter!.length === startAfter.length) {
        const next = prefixEnd(startAfter);
        if (next === null) return this.listPage(bucket, prefix, delimiter, 0, null);
        start = { from: next, inclusive: true };
      } else start = { from: startAfter, inclusive: false };
    }
    return this.listPage(bucket, prefix, delimiter, args.limit, start);
  }

  private async listPage(
    bucket: string,
    prefix: string,
    delimiter: string | null,
    limit: number,
    start: { from: string; inclusive: boolean } | null,
  ): Promise<ObjectListing> {
    const end = prefixEnd(prefix);
    let range: q.KeyRange = { from: prefix, inclusive: true, end };
    if (start && byteOrder(start.from, prefix) >= 0) range = { ...start, end };

    type Entry = { object: ObjectRow } | { prefix: string };
    const entries: Entry[] = [];
    let exhausted = end !== null && byteOrder(range.from, end) >= 0;
    while (!exhausted && entries.length <= limit) {
      const want = limit + 1 - entries.length;
      const rows = await q.objectsInRange(this.sql, bucket, range, want);
      exhausted = rows.length < want;
      for (const row of rows) {
        const at = delimiter === null ? -1 : row.key.indexOf(delimiter, prefix.length);
        if (at >= 0) {
          const common = row.key.slice(0, at + delimiter!.length);
          entries.push({ prefix: common });
          // the rest of this batch may lie inside the common prefix: seek past it
          const next = prefixEnd(common);
          exhausted = next === null;
          if (next !== null) range = { from: next, inclusive: true, end };
          break;
        }
        entries.push({ object: row });
        range = { from: row.key, inclusive: false, end };
        if (entries.length > limit) break;
      }
    }
    const hasNextPage = entries.length > limit;
    const page = entries.slice(0, limit);
    const last = page[page.length - 1];
    return {
      objects: page.flatMap((e) => ('object' in e ? [e.object] : [])),
      commonPrefixes: page.flatMap((e) => ('prefix' in e ? [e.prefix] : [])),
      hasNextPage,
      endCursor: last === undefined ? null : 'object' in last ? encodeCursor('k', last.object.key) : encodeCursor('p', last.prefix),
      lastEntry: last === undefined ? null : 'object' in last ? last.object.key : last.prefix,
      cursorOf: (row) => encodeCursor('k', row.key),
    };
  }

  // ---- objects: writing ----

  /** putObject through GraphQL: exactly one of UTF-8 `content` and `contentBase64`, at most 1 MiB. */
  async putInline(input: {
    bucket: string;
    key: string;
    content?: string | null;
    contentBase64?: string | null;
    contentType?: string | null;
  }): Promise<ObjectRow> {
    const given = [input.content, input.contentBase64].filter((v) => v !== null && v !== undefined).length;
    if (given !== 1) throw badInput('content', 'give exactly one of content (UTF-8 text) and contentBase64');
    const field = input.content != null ? 'content' : 'contentBase64';
    let body: Buffer;
    if (input.content != null) {
      body = Buffer.from(input.content, 'utf8');
    } else {
      const b64 = input.contentBase64!.replace(/\s+/g, '');
      if (!BASE64.test(b64)) throw badInput(field, 'is not valid base64');
      body = Buffer.from(b64, 'base64');
    }
    if (body.length > INLINE_OBJECT_MAX_BYTES) {
      throw new AppError(
        'PAYLOAD_TOO_LARGE',
        `putObject takes up to ${INLINE_OBJECT_MAX_BYTES} bytes; upload larger objects with PUT /objects/${input.bucket}/${input.key} (streamed, same Authorization header)`,
        field,
      );
    }
    return this.put(input.bucket, input.key, [body], {
      contentType: input.contentType,
      fields: { bucket: 'bucket', key: 'key', contentType: 'contentType', body: field },
    });
  }

  /**
   * Streams `body` into the object (never more than one write batch in memory). PAYLOAD_TOO_LARGE
   * past `maxBytes`; a body that fails midway (client gone) leaves neither object nor temp file.
   * A key ending in "/" is a directory marker: its body must be empty.
   */
  async put(bucket: string, key: string, body: Body, options: PutOptions = {}): Promise<ObjectRow> {
    const fields = options.fields ?? { bucket: 'bucket', key: 'key', contentType: 'contentType', body: 'body' };
    const maxBytes = isDirectoryMarker(key) ? 0 : (options.maxBytes ?? this.options.objectMaxBytes);
    requireBucketName(bucket, fields.bucket);
    requireStoredKey(key, fields.key);
    const contentType =
      options.contentType == null || options.contentType === ''
        ? contentTypeOf(key)
        : requireContentType(options.contentType, fields.contentType);
    const metadata = requireObjectMetadata(options.metadata ?? {}, 'metadata');
    // refuse before reading a byte of what may be gigabytes; a small body is read first, since the
    // commit checks the same again (two round trips fewer per small object)
    if (options.declaredBytes == null || options.declaredBytes > SMALL_BODY_BYTES || isDirectoryMarker(key)) {
      await this.requireBucket(bucket, fields.bucket);
      await this.requireNoPathClash(this.sql, bucket, key, fields.key);
    }

    const temp = this.tempPath('upload');
    try {
      const check = options.check ?? NO_CHECK;
      const { size, etag, digests } = await this.writeTemp(temp, body, maxBytes, fields.body, check.digests).catch((err) => {
        if (err instanceof AppError && err.code === 'PAYLOAD_TOO_LARGE' && isDirectoryMarker(key)) {
          throw badInput(fields.body, 'a directory marker (a key ending in "/") must be empty');
        }
        throw err;
      });
      const event = options.event ?? 'ObjectCreated:Put';
      const checksum = check.verify(digests);
      return await this.commitFile(bucket, key, temp, { size, etag, contentType, metadata, checksum }, event, fields);
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  /**
   * CopyObject: the source's bytes (read from one version, under a share lock while opened) become
   * `target`, with the source's type and metadata or, given `replace`, those. `check` sees the
   * source row first (S3's x-amz-copy-source-if-* conditions).
   */
  async copy(
    source: { bucket: string; key: string },
    target: { bucket: string; key: string },
    options: {
      replace?: { contentType?: string | null; metadata: ObjectMetadata } | null;
      check?: (source: ObjectRow) => void;
    } = {},
  ): Promise<ObjectRow> {
    requireBucketName(target.bucket, 'bucket');
    requireStoredKey(target.key, 'key');
    const opened = await this.open(source.bucket, source.key, { bucket: 'copySource', key: 'copySource' });
    try {
      options.check?.(opened.row);
      const { replace } = options;
      const bytes = opened.size === 0 ? [] : opened.file.createReadStream({ autoClose: false, highWaterMark: WRITE_BATCH_BYTES });
      return await this.put(target.bucket, target.key, bytes, {
        contentType: replace ? replace.contentType : opened.row.contentType,
        metadata: replace ? replace.metadata : opened.row.metadata,
        // the same bytes: the source's checksum holds for the copy
        check: { digests: [], verify: () => opened.row.checksum },
        event: 'ObjectCreated:Copy',
      });
    } finally {
      await opened.file.close();
    }
  }

  /**
   * Streams `body` to a new file `temp`, fsynced: its size, ETag and the `digests` asked for, all from
   * one pass over the bytes (PAYLOAD_TOO_LARGE past `maxBytes`). A body of more than one write batch
   * is hashed and written by a digest pool thread; a smaller one here, where a hand-off would cost
   * more than the hashing.
   */
  async writeTemp(
    temp: string,
    body: Body,
    maxBytes: number,
    field: string,
    digests: readonly DigestAlgorithm[] = [],
  ): Promise<{ size: number; etag: string; digests: Digests }> {
    const algorithms: DigestAlgorithm[] = ['md5', ...digests];
    let size = 0;
    const handle = await fs.open(temp, 'wx', 0o644);
    let pooled: PooledUpload | null = null;
    let computed: Digests;
    try {
      let batch: Buffer[] = [];
      let batched = 0;
      for await (const chunk of body) {
        const buf =
          typeof chunk === 'string'
            ? Buffer.from(chunk)
            : Buffer.isBuffer(chunk)
              ? chunk
              : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        size += buf.length;
        if (size > maxBytes) throw new AppError('PAYLOAD_TOO_LARGE', `objects are limited to ${maxBytes} bytes (OBJECT_MAX_BYTES)`, field);
        batch.push(buf);
        batched += buf.length;
        if (batched >= WRITE_BATCH_BYTES) {
          pooled ??= this.digestPool.open(handle.fd, algorithms);
          // copied into a buffer that moves to the thread; waits while the thread is two batches behind
          await pooled.write(batch, batched);
          batch = [];
          batched = 0;
        }
      }
      if (pooled) {
        if (batched) await pooled.write(batch, batched);
        const done = pooled;
        pooled = null;
        computed = await done.end();
      } else {
        const inline = startDigests(algorithms);
        for (const buf of batch) inline.update(buf);
        computed = inline.digest();
        await writeAll(handle, batch);
      }
      await handle.sync();
      // the row's size and ETag describe what was received: the file must hold exactly that
      const written = (await handle.stat()).size;
      if (written !== size) throw new Error(`upload to ${temp}: ${written} bytes on disk, ${size} received`);
    } finally {
      // the thread may still be writing to this descriptor: it is closed once the thread is done
      if (pooled) await pooled.end().catch(() => {});
      await handle.close();
    }
    return { size, etag: `"${computed.md5!.toString('hex')}"`, digests: computed };
  }

  /** One transaction: row (locked) + event + rename into place (a directory marker: its directory). */
  private commitFile(
    bucket: string,
    key: string,
    temp: string,
    meta: { size: number; etag: string; contentType: string; metadata: ObjectMetadata; checksum: ObjectChecksum | null },
    event: ObjectEventKind,
    fields: { bucket: string; key: string },
  ): Promise<ObjectRow> {
    return this.sql.begin((tx) => this.commitFileIn(tx, event, bucket, key, temp, meta, fields));
  }

  /** The commit of a write, in the caller's transaction: row (locked) + event `kind` + rename into place
   *  (a directory marker: its directory). */
  async commitFileIn(
    tx: Tx,
    event: ObjectEventKind,
    bucket: string,
    key: string,
    temp: string,
    meta: { size: number; etag: string; contentType: string; metadata: ObjectMetadata; checksum: ObjectChecksum | null },
    fields: { bucket: string; key: string },
  ): Promise<ObjectRow> {
    const marker = isDirectoryMarker(key);
    const target = objectFilePath(this.options.bucketsDir, bucket, marker ? key.slice(0, -1) : key);
    if (!(await q.lockBucketAndPath(tx, bucket, marker ? key.slice(0, -1) : key))) throw notFound('bucket', bucket, fields.bucket);
    await this.requireNoPathClash(tx, bucket, key, fields.key);
    const row = await q.upsertObject(tx, { bucket, key, ...meta });
    await q.insertObjectEvent(tx, event, row);
    if (marker) await this.makeMarkerDir(target, bucket, key, fields.key);
    else await this.renameIntoPlace(temp, target, bucket, key, fields.key);
    return row;
  }

  private async makeMarkerDir(dir: string, bucket: string, key: string, field: string): Promise<void> {
    try {
      await makeDir(dir);
    } catch (err) {
      if (isErrno(err, 'EEXIST', 'ENOTDIR')) throw this.pathClash(bucket, key, null, field);
      throw err;
    }
    // a file planted where the directory should be (by a step) is a clash too
    if (!(await fs.lstat(dir)).isDirectory()) throw this.pathClash(bucket, key, null, field);
  }

  private async renameIntoPlace(temp: string, target: string, bucket: string, key: string, field: string): Promise<void> {
    // a delete of a sibling may remove the (empty) parent directory between mkdir and rename: retry
    for (let attempt = 0; ; attempt++) {
      try {
        await makeDir(path.dirname(target));
        await fs.rename(temp, target);
        break;
      } catch (err) {
        if (isErrno(err, 'ENOENT') && attempt < 3) continue;
        // an empty directory left by deleted keys (its pruning may still be under way) is no clash
        if (
          isErrno(err, 'EISDIR') &&
          attempt < 3 &&
          (await fs.rmdir(target).then(
            () => true,
            () => false,
          ))
        )
          continue;
        if (isErrno(err, 'EISDIR', 'ENOTDIR', 'EEXIST', 'ENOTEMPTY')) throw this.pathClash(bucket, key, null, field);
        throw err;
      }
    }
    const dir = await fs.open(path.dirname(target), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  private pathClash(bucket: string, key: string, other: string | null, field: string): AppError {
    const what = other === null ? 'another object' : `object "${other}"`;
    return conflict(
      `key "${key}" clashes with ${what} in bucket "${bucket}": keys are file paths here, so a key cannot also be a "directory" of other keys (like "a" and "a/b")`,
      field,
    );
  }

  /**
   * A file `a/b` clashes with a file at any ancestor (`a`) and with anything under `a/b/` (a marker
   * `a/b/` included); a marker `a/b/` only with files at `a` and `a/b`.
   */
  async requireNoPathClash(db: Db, bucket: string, key: string, field: string): Promise<void> {
    const marker = isDirectoryMarker(key);
    const parts = (marker ? key.slice(0, -1) : key).split('/');
    const ancestors = parts.slice(marker ? 0 : 1).map((_, i) => parts.slice(0, i + 1).join('/'));
    // a marker has nothing below it to clash with: an empty range
    const below = marker ? key : `${key}/`;
    const other = await q.blockingKey(db, bucket, ancestors, below, marker ? key : prefixEnd(below)!);
    if (other !== undefined) throw this.pathClash(bucket, key, other, field);
  }

  /** Idempotent like S3's DeleteObject: deleting a missing key succeeds and says so. */
  async deleteObject(bucket: string, key: string, fields = { bucket: 'bucket', key: 'key' }): Promise<ObjectRow | null> {
    requireBucketName(bucket, fields.bucket);
    requireStoredKey(key, fields.key);
    const marker = isDirectoryMarker(key);
    const file = objectFilePath(this.options.bucketsDir, bucket, marker ? key.slice(0, -1) : key);
    const trash = this.tempPath('deleted');
    let moved = false;
    const row = await this.sql
      .begin(async (tx) => {
        if (!(await q.lockBucketShared(tx, bucket))) throw notFound('bucket', bucket, fields.bucket);
        const row = await q.deleteObjectRow(tx, bucket, key);
        if (!row) return null;
        await q.insertObjectEvent(tx, 'ObjectRemoved:Delete', row);
        if (marker) return row; // its directory goes below, if nothing else lives in it
        // moved aside while the row is locked, so a concurrent put of the key cannot lose its file
        moved = await fs.rename(file, trash).then(
          () => true,
          (err) => {
            if (isErrno(err, 'ENOENT')) return false;
            throw err;
          },
        );
        return row;
      })
      .catch(async (err) => {
        if (moved) await fs.rename(trash, file).catch(() => {});
        throw err;
      });
    if (moved) {
      await fs.rm(trash, { force: true });
      await this.pruneEmptyDirs(bucket, path.dirname(file));
    }
    if (row && marker) await this.pruneEmptyDirs(bucket, file);
    return row;
  }

  /**
   * DeleteObjects: each key deleted as deleteObject does (its own transaction and event); a key that
   * cannot be deleted is reported in its entry, the others still go. NOT_FOUND only for the bucket.
   */
  async deleteMany(
    bucket: string,
    keys: string[],
  ): Promise<Array<{ key: string; deleted: ObjectRow | null } | { key: string; error: AppError }>> {
    await this.requireBucket(bucket, 'bucket');
    const results: Array<{ key: string; deleted: ObjectRow | null } | { key: string; error: AppError }> = [];
    for (const key of keys) {
      try {
        results.push({ key, deleted: await this.deleteObject(bucket, key) });
      } catch (err) {
        if (!(err instanceof AppError) || err.code === 'NOT_FOUND') throw err;
        results.push({ key, error: err });
      }
    }
    return results;
  }

  /** Removes directories left empty by a delete, up to (not including) the bucket's own or a directory marker's. */
  private async pruneEmptyDirs(bucket: string, dir: string): Promise<void> {
    const root = this.bucketDir(bucket);
    while (dir.startsWith(root + path.sep)) {
      const marker = `${path.relative(root, dir).split(path.sep).join('/')}/`;
      if (await q.objectByKey(this.sql, bucket, marker)) return;
      try {
        await fs.rmdir(dir);
      } catch {
        return; // not empty (or already gone): the ones above are not empty either
      }
      dir = path.dirname(dir);
    }
  }

  // ---- for steps ----

  /**
   * `s3://bucket/key` → the object's local file (NOT_FOUND if the object does not exist). With
   * `allowPrefix` (inputs that may be "folders", as Spark reads them), a prefix → its local
   * directory: one that is empty or ends in "/" (the bucket must exist), or a key that is no object
   * but has objects under "<key>/".
   */
  async resolveUri(uri: string, field: string, { allowPrefix = false } = {}): Promise<ResolvedUri> {
    const { bucket, key } = parseS3Uri(uri, field, { allowPrefix });
    if (key === '' || key.endsWith('/')) {
      await this.requireBucket(bucket, field);
      return { bucket, key, path: this.prefixPath(bucket, key) };
    }
    if (await q.objectByKey(this.sql, bucket, key)) return { bucket, key, path: objectFilePath(this.options.bucketsDir, bucket, key) };
    if (allowPrefix) {
      const folder = `${key}/`;
      const [inside] = await q.objectsInRange(this.sql, bucket, { from: folder, inclusive: true, end: prefixEnd(folder) }, 1);
      if (inside) return { bucket, key: folder, path: this.prefixPath(bucket, folder) };
    }
    throw new AppError('NOT_FOUND', `object ${uri} does not exist`, field);
  }

  /**
   * Where a step writes an output URI (`s3://bucket/key` or a prefix, which need not exist yet):
   * the bucket must exist. After the step, `registerOutput` publishes what it wrote.
   */
  async outputLocation(uri: string, field: string): Promise<ResolvedUri> {
    const { bucket, key } = parseS3Uri(uri, field, { allowPrefix: true });
    await this.requireBucket(bucket, field);
    return { bucket, key, path: this.prefixPath(bucket, key) };
  }

  /** Step outputs written back: a file at the URI's path becomes that object; a directory, every file under it. */
  async registerOutput(uri: string, field: string): Promise<{ objects: ObjectRow[]; removed: string[]; skipped: string[] }> {
    const { bucket, key, path: local } = await this.outputLocation(uri, field);
    const stat = key === '' || key.endsWith('/') ? null : await fs.lstat(local).catch(() => null);
    if (stat?.isFile()) {
      const before = await this.head(bucket, key, { bucket: field, key: field });
      if (before && stat.size === before.size && stat.mtimeMs < before.updatedAt.getTime())
        return { objects: [before], removed: [], skipped: [] };
      const file = await this.hashFile(local);
      if (!file) return { objects: [], removed: [], skipped: [key] };
      const row = await this.sql.begin(async (tx) => {
        if (!(await q.lockBucketShared(tx, bucket))) throw notFound('bucket', bucket, field);
        if (!(await this.isFile(bucket, key))) return null; // deleted through the API meanwhile
        const row = await q.upsertObject(tx, { bucket, key, ...file, contentType: contentTypeOf(key) });
        await q.insertObjectEvent(tx, 'ObjectCreated:Put', row);
        return row;
      });
      return row ? { objects: [row], removed: [], skipped: [] } : { objects: [], removed: [], skipped: [key] };
    }
    return this.registerPrefix(bucket, key, field);
  }

  /** The local directory of a validated prefix ("" is the bucket's own directory). */
  prefixPath(bucket: string, prefix: string): string {
    const trimmed = prefix.replace(/\/$/, '');
    return trimmed === '' ? this.bucketDir(bucket) : objectFilePath(this.options.bucketsDir, bucket, trimmed);
  }

  /**
   * Step outputs written back: makes the rows under `prefix` match the files a step (Spark, DuckDB)
   * wrote in its directory — new and changed files become objects (size, streamed MD5, type by
   * extension), rows whose files are gone are removed, each with its event. Symlinks and names that
   * are not valid keys are skipped (and returned), so a step cannot publish files outside its bucket.
   */
  async registerPrefix(
    bucket: string,
    prefix: string,
    field = 'prefix',
  ): Promise<{ objects: ObjectRow[]; removed: string[]; skipped: string[] }> {
    requireBucketName(bucket, field);
    requireKeyPrefix(prefix, field);
    const dirPrefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    const files: Array<{ key: string; size: number; etag: string }> = [];
    const skipped: string[] = [];
    // compared with updated_at, so taken from the same clock: the database's
    const walkedAt = (await q.databaseNow(this.sql)).getTime();
    // files not modified since their row was written keep its ETag without being read again: a
    // step's inputs under the same prefix cost a stat each, not a second pass over their bytes
    const known = await this.rowsUnder(this.sql, bucket, dirPrefix);
    await this.walk(this.prefixPath(bucket, dirPrefix), dirPrefix, known, files, skipped);
    files.sort((a, b) => byteOrder(a.key, b.key));
    return this.sql.begin(async (tx) => {
      if (!(await q.lockBucketShared(tx, bucket))) throw notFound('bucket', bucket, field);
      const existing = await this.rowsUnder(tx, bucket, dirPrefix);
      const objects: ObjectRow[] = [];
      for (const f of files) {
        // deleted through the API since the walk: no row without its file (the removals below
        // drop a row that is still there)
        if (!(await this.isFile(bucket, f.key))) continue;
        const before = existing.get(f.key);
        existing.delete(f.key);
        // unchanged, or written through the API since the walk began (that write is newer)
        if (before && ((before.etag === f.etag && before.size === f.size) || before.updatedAt.getTime() > walkedAt)) {
          objects.push(before);
          continue;
        }
        const row = await q.upsertObject(tx, { bucket, key: f.key, size: f.size, etag: f.etag, contentType: contentTypeOf(f.key) });
        await q.insertObjectEvent(tx, 'ObjectCreated:Put', row);
        objects.push(row);
      }
      const removed: string[] = [];
      for (const gone of existing.values()) {
        // a put that committed after the walk has its file: only rows whose file is missing go
        // (directory markers have none: they stay)
        if (isDirectoryMarker(gone.key) || (await this.isFile(bucket, gone.key))) continue;
        await q.deleteObjectRow(tx, bucket, gone.key);
        await q.insertObjectEvent(tx, 'ObjectRemoved:Delete', gone);
        removed.push(gone.key);
      }
      return { objects, removed, skipped };
    });
  }

  private isFile(bucket: string, key: string): Promise<boolean> {
    return fs.lstat(objectFilePath(this.options.bucketsDir, bucket, key)).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  /** The object rows under a directory prefix, by key. */
  private async rowsUnder(db: Sql | Tx, bucket: string, dirPrefix: string): Promise<Map<string, ObjectRow>> {
    const rows = new Map<string, ObjectRow>();
    const end = prefixEnd(dirPrefix);
    for (let range: q.KeyRange = { from: dirPrefix, inclusive: true, end }; ; ) {
      const page = await q.objectsInRange(db, bucket, range, 1000);
      for (const row of page) rows.set(row.key, row);
      if (page.length < 1000) return rows;
      range = { from: page[page.length - 1]!.key, inclusive: false, end };
    }
  }

  private async walk(
    dir: string,
    keyPrefix: string,
    known: Map<string, ObjectRow>,
    files: Array<{ key: string; size: number; etag: string }>,
    skipped: string[],
  ): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) return;
      throw err;
    }
    for (const entry of entries) {
      // Hadoop/Spark side files are no objects: hidden checksums (.part-00000.crc) and the
      // _temporary/ of unfinished task attempts; _SUCCESS is kept, as on S3 (EMR users test for it)
      if (entry.name.startsWith('.') || (entry.name === '_temporary' && entry.isDirectory())) continue;
      const key = keyPrefix + entry.name;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        await this.walk(full, `${key}/`, known, files, skipped);
        continue;
      }
      try {
        requireObjectKey(key, 'key');
      } catch {
        skipped.push(key);
        continue;
      }
      if (!entry.isFile()) {
        skipped.push(key); // symlinks, sockets, …
        continue;
      }
      const row = known.get(key);
      const stat = row ? await fs.lstat(full).catch(() => null) : null;
      if (row && stat?.isFile() && stat.size === row.size && stat.mtimeMs < row.updatedAt.getTime()) {
        files.push({ key, size: row.size, etag: row.etag });
        continue;
      }
      const file = await this.hashFile(full);
      if (file) files.push({ key, ...file });
      else skipped.push(key);
    }
  }

  /** Size and ETag of a regular file, streamed; null if it is (or became) a symlink or is gone. */
  private async hashFile(file: string): Promise<{ size: number; etag: string } | null> {
    const handle = await fs.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW).catch((err) => {
      if (isErrno(err, 'ELOOP', 'ENOENT')) return null;
      throw err;
    });
    if (!handle) return null;
    const md5 = crypto.createHash('md5');
    let size = 0;
    try {
      for await (const chunk of handle.createReadStream({ autoClose: false, highWaterMark: WRITE_BATCH_BYTES })) {
        md5.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
    } finally {
      await handle.close();
    }
    return { size, etag: etagOf(md5) };
  }
}
