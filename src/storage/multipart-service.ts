import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { joinFiles } from '../engine/files/join.js';
import type { Logger } from 'pino';
import type { Sql } from '../platform/db/client.js';
import { AppError, type ErrorCode, notFound } from '../platform/errors.js';
import { requireContentType, contentTypeOf } from './content-types.js';
import * as q from './queries.js';
import { requireBucketName, requireKeyPrefix, requireObjectKey } from './s3-uri.js';
import { NO_CHECK, prefixEnd, type Body, type StorageService } from './service.js';
import type { BodyCheck } from './digests.js';
import type { MultipartPartRow, MultipartUploadRow, ObjectRow, ObjectChecksum, ObjectMetadata } from './tables.js';
import { requireObjectMetadata } from './object-metadata.js';

// S3 multipart uploads over the storage service. An upload is a row (bucket, key, content type and
// metadata given at create); each part is a file at <dataDir>/multipart/<upload id>/<part number>,
// written like an object (streamed to a temp file, fsynced, then renamed into place in the
// transaction that upserts its row, holding the upload row FOR SHARE so that no complete or abort
// runs meanwhile). CompleteMultipartUpload holds the upload row FOR UPDATE while it concatenates the
// chosen parts into a temp file, then commits it as the object through the storage's own commit
// (object row + ObjectCreated:CompleteMultipartUpload event + rename) in the same transaction that
// deletes the upload: a racing second complete or abort waits and then finds no upload
// (NoSuchUpload), and a crash at any point leaves either the upload or the object, never half of one.
// Part directories whose upload is gone (completed, aborted, swept, or its bucket deleted) are
// removed after the commit, or by the sweep.

const MIN_PART_NUMBER = 1;
const MAX_PART_NUMBER = 10_000;
/** S3's smallest part but the last (EntityTooSmall) */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
const MAX_LIST_PARTS = 1000;
const MAX_LIST_UPLOADS = 1000;
const UPLOAD_ID = /^[A-Za-z0-9_-]{32}$/;
const CHECKSUM_ALGORITHMS: ReadonlyArray<ObjectChecksum['algorithm']> = ['crc32', 'crc32c', 'sha1', 'sha256'];
const COPY_BATCH_BYTES = 1024 * 1024;

/** S3's error codes of multipart operations, beside those of the storage's own errors. */
export type MultipartS3Code =
  | 'NoSuchUpload'
  | 'InvalidPart'
  | 'InvalidPartOrder'
  | 'EntityTooSmall'
  | 'EntityTooLarge'
  | 'MalformedXML'
  | 'InvalidArgument';

/** An AppError that also says which S3 error it is (the S3 surface answers `s3Code`). */
function multipartError(code: ErrorCode, s3Code: MultipartS3Code, message: string, field?: string): AppError {
  return new AppError(code, message, field, { s3Code });
}

const noSuchUpload = (id: string) =>
  multipartError(
    'NOT_FOUND',
    'NoSuchUpload',
    `upload ${JSON.stringify(id)} does not exist: it may have been aborted or completed, or the key differs`,
    'uploadId',
  );

export interface CompletedPart {
  partNumber: number;
  etag: string;
  /** a checksum the client lists for the part (must match the one stored with it, when both exist) */
  checksum?: ObjectChecksum | null;
}

export interface UploadListing {
  uploads: MultipartUploadRow[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** the page size used (max-uploads, capped) */
  maxUploads: number;
  nextKeyMarker: string | null;
  nextUploadIdMarker: string | null;
}

export interface PartListing {
  upload: MultipartUploadRow;
  parts: MultipartPartRow[];
  isTruncated: boolean;
  /** the page size used (max-parts, capped) */
  maxParts: number;
  nextPartNumberMarker: number | null;
}

export interface MultipartOptions {
  dataDir: string;
  /** uploads initiated longer ago than this are aborted by the sweep (0: kept until aborted) */
  expirySeconds: number;
}

function requirePartNumber(value: number, field = 'partNumber'): number {
  if (!Number.isInteger(value) || value < MIN_PART_NUMBER || value > MAX_PART_NUMBER) {
    throw multipartError(
      'BAD_USER_INPUT',
      'InvalidArgument',
      `Part number must be an integer between ${MIN_PART_NUMBER} and ${MAX_PART_NUMBER}, inclusive`,
      field,
    );
  }
  return value;
}

/** x-amz-checksum-algorithm (CRC32, CRC32C, SHA1, SHA256; any case) as stored. */
function requireChecksumAlgorithm(value: string, field: string): ObjectChecksum['algorithm'] {
  const lower = value.toLowerCase() as ObjectChecksum['algorithm'];
  if (!CHECKSUM_ALGORITHMS.includes(lower)) {
    throw multipartError('BAD_USER_INPUT', 'InvalidArgument', `must be one of ${CHECKSUM_ALGORITHMS.join(', ').toUpperCase()}`, field);
  }
  return lower;
}

const unquote = (etag: string) => etag.trim().replace(/^"(.*)"$/, '$1');
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** S3's ETag of a multipart object: the MD5 of the parts' binary MD5s, then "-" and how many parts. */
export function multipartEtag(partEtags: string[]): string {
  const md5 = crypto.createHash('md5');
  for (const etag of partEtags) md5.update(Buffer.from(unquote(etag), 'hex'));
  return `"${md5.digest('hex')}-${partEtags.length}"`;
}

export class MultipartService {
  readonly partsDir: string;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly sql: Sql,
    private readonly storage: StorageService,
    private readonly options: MultipartOptions,
    private readonly log: Logger,
  ) {
    this.partsDir = path.join(options.dataDir, 'multipart');
    // a deleted bucket's uploads went with it (foreign key cascade): their parts go now
    storage.onBucketDeleted(() => this.removeOrphanParts());
  }

  /** Sweeps now (leftovers of a crash) and then every hour, or sooner when uploads expire sooner. */
  async start(): Promise<void> {
    await fs.mkdir(this.partsDir, { recursive: true });
    await this.sweep();
    const expiryMs = this.options.expirySeconds * 1000;
    const every = expiryMs > 0 ? Math.min(3_600_000, Math.max(1000, expiryMs / 4)) : 3_600_000;
    this.sweeper = setInterval(() => {
      this.sweep().catch((err) => this.log.warn({ err }, 'multipart sweep failed'));
    }, every);
    this.sweeper.unref();
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  private uploadDir(id: string): string {
    return path.join(this.partsDir, id);
  }

  private partFile(id: string, partNumber: number): string {
    return path.join(this.uploadDir(id), String(partNumber));
  }

  private checkUploadId(id: string): void {
    if (!UPLOAD_ID.test(id)) throw noSuchUpload(id);
  }

  // ---- create ----

  async create(input: {
    bucket: string;
    key: string;
    contentType?: string | null;
    metadata?: ObjectMetadata;
    checksumAlgorithm?: string | null;
  }): Promise<MultipartUploadRow> {
    requireBucketName(input.bucket, 'bucket');
    requireObjectKey(input.key, 'key');
    const contentType =
      input.contentType == null || input.contentType === ''
        ? contentTypeOf(input.key)
        : requireContentType(input.contentType, 'contentType');
    const checksumAlgorithm = input.checksumAlgorithm ? requireChecksumAlgorithm(input.checksumAlgorithm, 'checksumAlgorithm') : null;
    // refused now rather than after gigabytes of parts
    await this.storage.requireBucket(input.bucket, 'bucket');
    await this.storage.requireNoPathClash(this.sql, input.bucket, input.key, 'key');
    const id = crypto.randomBytes(24).toString('base64url');
    return q.insertUpload(this.sql, {
      id,
      bucket: input.bucket,
      key: input.key,
      contentType,
      metadata: requireObjectMetadata(input.metadata ?? {}, 'metadata'),
      checksumAlgorithm,
    });
  }

  // ---- parts ----

  /** UploadPart: streams `body` into part `partNumber` (replacing one of that number). */
  async uploadPart(
    target: { bucket: string; key: string; uploadId: string; partNumber: number },
    body: Body,
    /** the client's checks of the bytes (S3's SHA-256, Content-MD5, x-amz-checksum-*), run before the part is kept */
    check: BodyCheck = NO_CHECK,
  ): Promise<MultipartPartRow> {
    const { bucket, key, uploadId } = target;
    requireBucketName(bucket, 'bucket');
    requireObjectKey(key, 'key');
    const partNumber = requirePartNumber(target.partNumber);
    this.checkUploadId(uploadId);
    if (!(await q.uploadOf(this.sql, uploadId, bucket, key))) throw noSuchUpload(uploadId);
    const temp = this.storage.tempPath('part');
    try {
      const written = await this.storage.writeTemp(temp, body, this.storage.options.objectMaxBytes, 'body', check.digests).catch((err) => {
        throw err instanceof AppError && err.code === 'PAYLOAD_TOO_LARGE'
          ? multipartError('PAYLOAD_TOO_LARGE', 'EntityTooLarge', err.message, 'body')
          : err;
      });
      const { size, etag } = written;
      const checksum = check.verify(written.digests);
      return await this.sql.begin(async (tx) => {
        // aborted or completed while the bytes came in: nothing is kept
        if (!(await q.uploadOf(tx, uploadId, bucket, key, 'share'))) throw noSuchUpload(uploadId);
        const row = await q.upsertPart(tx, {
          uploadId,
          partNumber,
          size,
          etag,
          checksum,
        });
        await fs.mkdir(this.uploadDir(uploadId), { recursive: true });
        await fs.rename(temp, this.partFile(uploadId, partNumber));
        return row;
      });
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  /** UploadPartCopy: the bytes `range` (inclusive; null: all) of an existing object become the part. */
  async copyPart(
    target: { bucket: string; key: string; uploadId: string; partNumber: number },
    source: {
      bucket: string;
      key: string;
      range: { first: number; last: number } | null;
      /** throws when the client's conditions on the source (x-amz-copy-source-if-*) do not hold for this version */
      check?: (row: ObjectRow) => void;
    },
  ): Promise<{ part: MultipartPartRow; source: ObjectRow }> {
    requirePartNumber(target.partNumber);
    this.checkUploadId(target.uploadId);
    if (!(await q.uploadOf(this.sql, target.uploadId, target.bucket, target.key))) throw noSuchUpload(target.uploadId);
    if (!(await this.storage.bucket(source.bucket, 'copySourceBucket'))) throw notFound('bucket', source.bucket, 'copySourceBucket');
    const opened = await this.storage.open(source.bucket, source.key, { bucket: 'copySourceBucket', key: 'copySource' });
    try {
      source.check?.(opened.row);
      const range = source.range ?? { first: 0, last: opened.size - 1 };
      if (range.first < 0 || range.last < range.first || range.last >= opened.size) {
        throw multipartError(
          'BAD_USER_INPUT',
          'InvalidArgument',
          `Range specified is not valid for source object of size: ${opened.size}`,
          'copySourceRange',
        );
      }
      const bytes =
        opened.size === 0
          ? []
          : opened.file.createReadStream({ start: range.first, end: range.last, autoClose: false, highWaterMark: COPY_BATCH_BYTES });
      const part = await this.uploadPart(target, bytes as Body);
      return { part, source: opened.row };
    } finally {
      await opened.file.close();
    }
  }

  /** ListParts: parts after `partNumberMarker`, at most `maxParts` (≤ 1000). */
  async listParts(args: {
    bucket: string;
    key: string;
    uploadId: string;
    maxParts?: number | null;
    partNumberMarker?: number | null;
  }): Promise<PartListing> {
    requireBucketName(args.bucket, 'bucket');
    requireObjectKey(args.key, 'key');
    this.checkUploadId(args.uploadId);
    const limit = Math.min(args.maxParts ?? MAX_LIST_PARTS, MAX_LIST_PARTS);
    const marker = args.partNumberMarker ?? 0;
    if (!Number.isInteger(limit) || limit < 0)
      throw multipartError('BAD_USER_INPUT', 'InvalidArgument', 'must be a non-negative integer', 'maxParts');
    if (!Number.isInteger(marker) || marker < 0)
      throw multipartError('BAD_USER_INPUT', 'InvalidArgument', 'must be a non-negative integer', 'partNumberMarker');
    const upload = await q.uploadOf(this.sql, args.uploadId, args.bucket, args.key);
    if (!upload) throw noSuchUpload(args.uploadId);
    const rows = await q.partsOf(this.sql, args.uploadId, marker, limit + 1);
    const parts = rows.slice(0, limit);
    const isTruncated = rows.length > limit;
    return { upload, parts, isTruncated, maxParts: limit, nextPartNumberMarker: parts.length ? parts[parts.length - 1]!.partNumber : null };
  }

  // ---- complete, abort ----

  async complete(args: { bucket: string; key: string; uploadId: string; parts: CompletedPart[] }): Promise<ObjectRow> {
    const { bucket, key, uploadId, parts } = args;
    requireBucketName(bucket, 'bucket');
    requireObjectKey(key, 'key');
    this.checkUploadId(uploadId);
    if (parts.length === 0) {
      throw multipartError('BAD_USER_INPUT', 'MalformedXML', 'CompleteMultipartUpload lists no parts', 'parts');
    }
    parts.forEach((p, i) => {
      requirePartNumber(p.partNumber, `parts.${i}.partNumber`);
      if (i > 0 && p.partNumber <= parts[i - 1]!.partNumber) {
        throw multipartError(
          'BAD_USER_INPUT',
          'InvalidPartOrder',
          'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
          `parts.${i}.partNumber`,
        );
      }
    });
    const temp = this.storage.tempPath('complete');
    try {
      const row = await this.sql.begin(async (tx) => {
        // the bucket before the upload, in the order a bucket delete takes them (no deadlock)
        if (!(await q.lockBucketShared(tx, bucket))) throw noSuchUpload(uploadId);
        const upload = await q.uploadOf(tx, uploadId, bucket, key, 'update');
        if (!upload) throw noSuchUpload(uploadId);
        const stored = new Map(
          (
            await q.partsByNumber(
              tx,
              uploadId,
              parts.map((p) => p.partNumber),
            )
          ).map((r) => [r.partNumber, r]),
        );
        const chosen = parts.map((p, i) => {
          const part = stored.get(p.partNumber);
          const checksumMismatch =
            part &&
            p.checksum &&
            part.checksum !== null &&
            (p.checksum.algorithm !== part.checksum.algorithm || p.checksum.value !== part.checksum.value);
          if (!part || unquote(p.etag) !== unquote(part.etag) || checksumMismatch) {
            throw multipartError(
              'BAD_USER_INPUT',
              'InvalidPart',
              `One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag (part ${p.partNumber})`,
              `parts.${i}.etag`,
            );
          }
          return part;
        });
        chosen.forEach((part, i) => {
          if (i < chosen.length - 1 && part.size < MIN_PART_BYTES) {
            throw multipartError(
              'BAD_USER_INPUT',
              'EntityTooSmall',
              `Your proposed upload is smaller than the minimum allowed size: part ${part.partNumber} has ${part.size} bytes, every part but the last needs at least ${MIN_PART_BYTES}`,
              `parts.${i}`,
            );
          }
        });
        const size = chosen.reduce((sum, p) => sum + p.size, 0);
        const max = this.storage.options.objectMaxBytes;
        if (size > max) {
          throw multipartError(
            'PAYLOAD_TOO_LARGE',
            'EntityTooLarge',
            `objects are limited to ${max} bytes (OBJECT_MAX_BYTES); these parts add up to ${size}`,
            'parts',
          );
        }
        await this.concatenate(uploadId, chosen, temp, size);
        const object = await this.storage.commitFileIn(
          tx,
          'ObjectCreated:CompleteMultipartUpload',
          bucket,
          key,
          temp,
          // no checksum of the whole: S3's own of a multipart object is a checksum of the parts' checksums
          {
            size,
            etag: multipartEtag(chosen.map((p) => p.etag)),
            contentType: upload.contentType,
            metadata: upload.metadata,
            checksum: null,
          },
          { bucket: 'bucket', key: 'key' },
        );
        await q.deleteUpload(tx, uploadId);
        return object;
      });
      await this.removeParts(uploadId);
      return row;
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  /**
   * The parts' files one after the other into `temp` (in the kernel: engine/files/join.ts), fsynced;
   * fails if one is not the size its row says. The parts live in the server's private data
   * directory: no step can have planted a link there.
   */
  private async concatenate(uploadId: string, parts: MultipartPartRow[], temp: string, size: number): Promise<void> {
    const files = parts.map((part) => this.partFile(uploadId, part.partNumber));
    for (const [i, part] of parts.entries()) {
      const onDisk = (await fs.lstat(files[i]!)).size;
      if (onDisk !== part.size)
        throw new Error(`part ${part.partNumber} of upload ${uploadId}: ${onDisk} bytes on disk, ${part.size} recorded`);
    }
    const out = await fs.open(temp, 'wx', 0o644);
    try {
      await joinFiles(files, out.fd).catch((err: Error) => {
        throw new Error(`joining the parts of upload ${uploadId}: ${err.message}`);
      });
      await out.sync();
      const written = (await out.stat()).size;
      if (written !== size) throw new Error(`complete of upload ${uploadId}: ${written} bytes written, ${size} expected`);
    } finally {
      await out.close();
    }
  }

  /** AbortMultipartUpload: the upload and its parts are gone (waits for parts being written). */
  async abort(args: { bucket: string; key: string; uploadId: string }): Promise<void> {
    requireBucketName(args.bucket, 'bucket');
    requireObjectKey(args.key, 'key');
    this.checkUploadId(args.uploadId);
    await this.sql.begin(async (tx) => {
      if (!(await q.uploadOf(tx, args.uploadId, args.bucket, args.key, 'update'))) throw noSuchUpload(args.uploadId);
      await q.deleteUpload(tx, args.uploadId);
    });
    await this.removeParts(args.uploadId);
  }

  private removeParts(uploadId: string): Promise<void> {
    return fs.rm(this.uploadDir(uploadId), { recursive: true, force: true });
  }

  // ---- listing ----

  /**
   * ListMultipartUploads: uploads in progress by key, then initiation; with a delimiter, keys that
   * contain it after the prefix roll up into common prefixes (each counts toward `maxUploads`).
   */
  async listUploads(
    bucket: string,
    args: {
      prefix?: string | null;
      delimiter?: string | null;
      keyMarker?: string | null;
      uploadIdMarker?: string | null;
      maxUploads?: number | null;
    },
  ): Promise<UploadListing> {
    await this.storage.requireBucket(bucket, 'bucket');
    const prefix = requireKeyPrefix(args.prefix ?? '', 'prefix');
    const delimiter = args.delimiter ? args.delimiter : null;
    const limit = Math.min(args.maxUploads ?? MAX_LIST_UPLOADS, MAX_LIST_UPLOADS);
    if (!Number.isInteger(limit) || limit < 0)
      throw multipartError('BAD_USER_INPUT', 'InvalidArgument', 'must be a non-negative integer', 'maxUploads');
    const keyMarker = args.keyMarker || null;
    const end = prefixEnd(prefix);
    let start: q.UploadListingStart = { from: prefix, inclusive: true, end, afterUploadId: null };
    if (keyMarker !== null && byteOrder(keyMarker, prefix) >= 0) {
      const marked = args.uploadIdMarker ? await q.uploadById(this.sql, bucket, args.uploadIdMarker) : undefined;
      start =
        marked && marked.key === keyMarker
          ? { from: keyMarker, inclusive: true, end, afterUploadId: marked.id }
          : { from: keyMarker, inclusive: false, end, afterUploadId: null };
    }

    type Entry = { upload: MultipartUploadRow } | { prefix: string };
    const entries: Entry[] = [];
    let exhausted = false;
    while (!exhausted && entries.length <= limit) {
      const want = limit + 1 - entries.length;
      const rows = await q.uploadsInRange(this.sql, bucket, start, want);
      exhausted = rows.length < want;
      for (const row of rows) {
        const at = delimiter === null ? -1 : row.key.indexOf(delimiter, prefix.length);
        if (at >= 0) {
          const common = row.key.slice(0, at + delimiter!.length);
          // a prefix the previous page ended with (the key marker) is not listed again
          if (keyMarker === null || byteOrder(common, keyMarker) > 0) entries.push({ prefix: common });
          const next = prefixEnd(common);
          exhausted = next === null;
          if (next !== null) start = { from: next, inclusive: true, end, afterUploadId: null };
          break;
        }
        entries.push({ upload: row });
        start = { from: row.key, inclusive: true, end, afterUploadId: row.id };
        if (entries.length > limit) break;
      }
    }
    const isTruncated = entries.length > limit;
    const page = entries.slice(0, limit);
    const last = page[page.length - 1];
    return {
      uploads: page.flatMap((e) => ('upload' in e ? [e.upload] : [])),
      commonPrefixes: page.flatMap((e) => ('prefix' in e ? [e.prefix] : [])),
      isTruncated,
      maxUploads: limit,
      nextKeyMarker: !isTruncated || last === undefined ? null : 'upload' in last ? last.upload.key : last.prefix,
      nextUploadIdMarker: !isTruncated || last === undefined || !('upload' in last) ? null : last.upload.id,
    };
  }

  // ---- sweep ----

  /**
   * Aborts uploads older than the expiry (as S3's AbortIncompleteMultipartUpload lifecycle rule)
   * and removes part directories whose upload is gone (a crash between a commit and the removal). Several servers may sweep at once: locked uploads are skipped.
   */
  async sweep(now = new Date()): Promise<number> {
    let aborted = 0;
    if (this.options.expirySeconds > 0) {
      const before = new Date(now.getTime() - this.options.expirySeconds * 1000);
      for (;;) {
        const gone = await this.sql.begin(async (tx) => {
          const rows = await q.expiredUploads(tx, before, 100);
          for (const row of rows) await q.deleteUpload(tx, row.id);
          return rows;
        });
        for (const row of gone) await this.removeParts(row.id);
        aborted += gone.length;
        if (gone.length < 100) break;
      }
    }
    await this.removeOrphanParts();
    if (aborted) this.log.info({ aborted }, 'aborted expired multipart uploads');
    return aborted;
  }

  /** Removes the part directories whose upload no longer exists. */
  private async removeOrphanParts(): Promise<void> {
    const dirs = (await fs.readdir(this.partsDir).catch(() => [] as string[])).filter((name) => UPLOAD_ID.test(name));
    for (let i = 0; i < dirs.length; i += 500) {
      const batch = dirs.slice(i, i + 500);
      const live = await q.existingUploadIds(this.sql, batch);
      for (const id of batch) if (!live.has(id)) await this.removeParts(id);
    }
  }
}
