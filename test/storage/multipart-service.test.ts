// The multipart service on real Postgres and a real data dir: the rules below the S3 surface
// (validation of CompleteMultipartUpload, the multipart ETag, races of complete and abort, the sweep).
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Sql } from '../../src/platform/db/client.js';
import { AppError } from '../../src/platform/errors.js';
import { MIN_PART_BYTES, MultipartService, multipartEtag } from '../../src/storage/multipart-service.js';
import { StorageService } from '../../src/storage/service.js';
import { createTestDatabase } from '../support/db.js';

let sql: Sql;
let dataDir: string;
let storage: StorageService;
let multipart: MultipartService;
const log = pino({ level: 'silent' });
const bucket = 'mp-service';
const MAX_BYTES = 40 * 1024 * 1024;

beforeAll(async () => {
  sql = connect(await createTestDatabase(), { max: 8 });
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'emberplane-mp-'));
  storage = new StorageService(sql, { dataDir, bucketsDir: path.join(dataDir, 'buckets'), objectMaxBytes: MAX_BYTES }, log);
  multipart = new MultipartService(sql, storage, { dataDir, expirySeconds: 3600 }, log);
  await storage.start();
  await multipart.start();
  await storage.createBucket(bucket);
});
afterAll(async () => {
  multipart?.stop();
  storage?.stop();
  await sql?.end();
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
});

const md5 = (b: Buffer) => `"${crypto.createHash('md5').update(b).digest('hex')}"`;
const bytes = (n: number, seed: number) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 4096) b.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  return b;
};
/** The S3 error code a call fails with. */
async function s3CodeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e) => e,
  );
  expect(err, 'expected the call to fail').toBeInstanceOf(AppError);
  return ((err as AppError).extensions?.s3Code as string) ?? (err as AppError).code;
}
const objectFile = (key: string) => path.join(dataDir, 'buckets', bucket, key);
const uploadDirs = async () => (await fs.readdir(multipart.partsDir)).sort();

async function uploadParts(key: string, sizes: number[]) {
  const upload = await multipart.create({ bucket, key, contentType: 'application/x-test' });
  const datas = sizes.map((n, i) => bytes(n, i + 1));
  const parts = [];
  for (const [i, data] of datas.entries()) {
    const part = await multipart.uploadPart({ bucket, key, uploadId: upload.id, partNumber: i + 1 }, [data]);
    parts.push({ partNumber: part.partNumber, etag: part.etag });
  }
  return { upload, datas, parts };
}

describe('multipart service', () => {
  it('completes into one object with S3 multipart ETag, content type from create, and one event', async () => {
    const { upload, datas, parts } = await uploadParts('big/one.bin', [MIN_PART_BYTES, MIN_PART_BYTES, 1234]);
    expect(parts.map((p) => p.etag)).toEqual(datas.map(md5));
    const [{ seq: before }] = await sql<{ seq: number }[]>`select coalesce(max(seq), 0)::int as seq from object_events`;
    const row = await multipart.complete({ bucket, key: 'big/one.bin', uploadId: upload.id, parts });
    const whole = Buffer.concat(datas);
    const expected = `"${crypto
      .createHash('md5')
      .update(Buffer.concat(datas.map((d) => crypto.createHash('md5').update(d).digest())))
      .digest('hex')}-3"`;
    expect(row).toMatchObject({ size: whole.length, etag: expected, contentType: 'application/x-test' });
    expect(multipartEtag(parts.map((p) => p.etag))).toBe(expected);
    expect((await fs.readFile(objectFile('big/one.bin'))).equals(whole)).toBe(true);
    const events = await sql`select kind, key, size, etag from object_events where seq > ${before}`;
    expect(events).toEqual([{ kind: 'ObjectCreated:CompleteMultipartUpload', key: 'big/one.bin', size: whole.length, etag: expected }]);
    // upload rows and part files are gone
    expect(await sql`select 1 from multipart_uploads where id = ${upload.id}`).toHaveLength(0);
    expect(await uploadDirs()).not.toContain(upload.id);
    // completing again: the upload no longer exists
    expect(await s3CodeOf(multipart.complete({ bucket, key: 'big/one.bin', uploadId: upload.id, parts }))).toBe('NoSuchUpload');
  });

  it('uses a chosen subset of the parts and replaces a part uploaded twice', async () => {
    const key = 'subset.bin';
    const upload = await multipart.create({ bucket, key });
    const first = bytes(MIN_PART_BYTES, 7);
    const replaced = bytes(MIN_PART_BYTES, 8);
    const last = Buffer.from('tail');
    await multipart.uploadPart({ bucket, key, uploadId: upload.id, partNumber: 2 }, [first]);
    const p2 = await multipart.uploadPart({ bucket, key, uploadId: upload.id, partNumber: 2 }, [replaced]);
    await multipart.uploadPart({ bucket, key, uploadId: upload.id, partNumber: 3 }, [Buffer.from('never used')]);
    const p7 = await multipart.uploadPart({ bucket, key, uploadId: upload.id, partNumber: 7 }, [last]);
    const listed = await multipart.listParts({ bucket, key, uploadId: upload.id });
    expect(listed.parts.map((p) => [p.partNumber, p.size])).toEqual([
      [2, MIN_PART_BYTES],
      [3, 10],
      [7, 4],
    ]);
    // the old ETag of part 2 no longer names it
    expect(
      await s3CodeOf(
        multipart.complete({
          bucket,
          key,
          uploadId: upload.id,
          parts: [
            { partNumber: 2, etag: md5(first) },
            { partNumber: 7, etag: p7.etag },
          ],
        }),
      ),
    ).toBe('InvalidPart');
    const row = await multipart.complete({
      bucket,
      key,
      uploadId: upload.id,
      parts: [
        { partNumber: 2, etag: p2.etag },
        { partNumber: 7, etag: p7.etag },
      ],
    });
    expect(row.size).toBe(MIN_PART_BYTES + 4);
    expect((await fs.readFile(objectFile(key))).equals(Buffer.concat([replaced, last]))).toBe(true);
    expect(row.contentType).toBe('application/octet-stream');
  });

  it('refuses bad lists without changing anything', async () => {
    const key = 'refused.bin';
    const { upload, parts } = await uploadParts(key, [1000, MIN_PART_BYTES]);
    const complete = (list: typeof parts) => multipart.complete({ bucket, key, uploadId: upload.id, parts: list });
    expect(await s3CodeOf(complete([]))).toBe('MalformedXML');
    expect(await s3CodeOf(complete([parts[1]!, parts[0]!]))).toBe('InvalidPartOrder');
    expect(await s3CodeOf(complete([parts[0]!, parts[0]!]))).toBe('InvalidPartOrder');
    expect(await s3CodeOf(complete([{ ...parts[0]!, etag: '"0123456789abcdef0123456789abcdef"' }]))).toBe('InvalidPart');
    expect(await s3CodeOf(complete([parts[0]!, { partNumber: 3, etag: parts[1]!.etag }]))).toBe('InvalidPart');
    expect(await s3CodeOf(complete(parts))).toBe('EntityTooSmall');
    expect(await s3CodeOf(complete([{ partNumber: 0, etag: parts[0]!.etag }]))).toBe('InvalidArgument');
    expect(await s3CodeOf(multipart.uploadPart({ bucket, key, uploadId: upload.id, partNumber: 10_001 }, [Buffer.from('x')]))).toBe(
      'InvalidArgument',
    );
    expect(await s3CodeOf(multipart.uploadPart({ bucket, key: 'other-key', uploadId: upload.id, partNumber: 1 }, [Buffer.from('x')]))).toBe(
      'NoSuchUpload',
    );
    expect(await s3CodeOf(multipart.uploadPart({ bucket, key, uploadId: '../../etc', partNumber: 1 }, [Buffer.from('x')]))).toBe(
      'NoSuchUpload',
    );
    // a single small part is fine (the last part may be small): the upload is still whole
    expect(await storage.head(bucket, key)).toBeNull();
    expect((await multipart.listParts({ bucket, key, uploadId: upload.id })).parts).toHaveLength(2);
    const row = await complete([parts[0]!]);
    expect(row.size).toBe(1000);
  });

  it('refuses parts and objects above OBJECT_MAX_BYTES (EntityTooLarge)', async () => {
    const key = 'too-large.bin';
    const upload = await multipart.create({ bucket, key });
    const big = bytes(MAX_BYTES / 2, 3);
    expect(await s3CodeOf(multipart.uploadPart({ bucket, key, uploadId: upload.id, partNumber: 1 }, [big, big, Buffer.from('x')]))).toBe(
      'EntityTooLarge',
    );
    const parts = [];
    for (const n of [1, 2, 3]) {
      const { partNumber, etag } = await multipart.uploadPart({ bucket, key, uploadId: upload.id, partNumber: n }, [big]);
      parts.push({ partNumber, etag });
    }
    expect(await s3CodeOf(multipart.complete({ bucket, key, uploadId: upload.id, parts }))).toBe('EntityTooLarge');
    await multipart.abort({ bucket, key, uploadId: upload.id });
  });

  it('abort removes the upload and its parts; complete and abort racing: exactly one wins, never half an object', async () => {
    for (let round = 0; round < 4; round++) {
      const key = `race/${round}.bin`;
      const { upload, datas, parts } = await uploadParts(key, [MIN_PART_BYTES, 100]);
      const results = await Promise.allSettled([
        multipart.complete({ bucket, key, uploadId: upload.id, parts }),
        multipart.abort({ bucket, key, uploadId: upload.id }),
        multipart.complete({ bucket, key, uploadId: upload.id, parts }),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won, JSON.stringify(results)).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as AppError).extensions?.s3Code).toBe('NoSuchUpload');
      const head = await storage.head(bucket, key);
      if (results[1]!.status === 'fulfilled') {
        expect(head).toBeNull();
      } else {
        expect((await fs.readFile(objectFile(key))).equals(Buffer.concat(datas))).toBe(true);
      }
      expect(await uploadDirs()).not.toContain(upload.id);
      expect(await s3CodeOf(multipart.abort({ bucket, key, uploadId: upload.id }))).toBe('NoSuchUpload');
    }
  });

  it('lists uploads by key then initiation, with prefix, delimiter and markers', async () => {
    const b = 'mp-listing';
    await storage.createBucket(b);
    const made: Array<{ key: string; id: string }> = [];
    for (const key of ['a/1', 'a/2', 'b', 'b', 'c/x/y', 'd']) made.push({ key, id: (await multipart.create({ bucket: b, key })).id });
    const all = await multipart.listUploads(b, {});
    expect(all.uploads.map((u) => u.key)).toEqual(['a/1', 'a/2', 'b', 'b', 'c/x/y', 'd']);
    expect(all.uploads.filter((u) => u.key === 'b').map((u) => u.id)).toEqual([made[2]!.id, made[3]!.id]);
    expect(all.isTruncated).toBe(false);

    // pages of two, through key and upload id markers
    const seen: string[] = [];
    let markers: { keyMarker: string | null; uploadIdMarker: string | null } = { keyMarker: null, uploadIdMarker: null };
    for (let pages = 0; pages < 10; pages++) {
      const page = await multipart.listUploads(b, { maxUploads: 2, ...markers });
      seen.push(...page.uploads.map((u) => u.id));
      if (!page.isTruncated) break;
      markers = { keyMarker: page.nextKeyMarker, uploadIdMarker: page.nextUploadIdMarker };
    }
    expect(seen).toEqual(all.uploads.map((u) => u.id));

    const rolled = await multipart.listUploads(b, { delimiter: '/' });
    expect(rolled.commonPrefixes).toEqual(['a/', 'c/']);
    expect(rolled.uploads.map((u) => u.key)).toEqual(['b', 'b', 'd']);
    // a page ending with a common prefix continues after it
    const first = await multipart.listUploads(b, { delimiter: '/', maxUploads: 1 });
    expect(first).toMatchObject({ commonPrefixes: ['a/'], uploads: [], isTruncated: true, nextKeyMarker: 'a/' });
    const second = await multipart.listUploads(b, { delimiter: '/', maxUploads: 1, keyMarker: 'a/' });
    expect(second.uploads.map((u) => u.key)).toEqual(['b']);
    expect(second.commonPrefixes).toEqual([]);

    const prefixed = await multipart.listUploads(b, { prefix: 'c/', delimiter: '/' });
    expect(prefixed).toMatchObject({ commonPrefixes: ['c/x/'], uploads: [] });

    // deleting the bucket takes its uploads and their part files (S3 refuses a delete only for objects)
    await multipart.uploadPart({ bucket: b, key: 'd', uploadId: made[5]!.id, partNumber: 1 }, [Buffer.from('part')]);
    expect(await uploadDirs()).toContain(made[5]!.id);
    await storage.deleteBucket(b, false);
    expect(await sql`select 1 from multipart_uploads where bucket = ${b}`).toHaveLength(0);
    expect(await uploadDirs()).not.toContain(made[5]!.id);
  });

  it('a complete refused at commit (the key became a "directory" meanwhile) keeps the upload and leaves no temp file', async () => {
    const { upload, parts } = await uploadParts('clash/x', [100]);
    await storage.put(bucket, 'clash/x/y', [Buffer.from('y')]);
    expect(await s3CodeOf(multipart.complete({ bucket, key: 'clash/x', uploadId: upload.id, parts }))).toBe('CONFLICT');
    expect((await multipart.listParts({ bucket, key: 'clash/x', uploadId: upload.id })).parts).toHaveLength(1);
    expect((await fs.readdir(storage.tmpDir)).filter((name) => name.startsWith('complete-'))).toEqual([]);
    await storage.deleteObject(bucket, 'clash/x/y');
    expect((await multipart.complete({ bucket, key: 'clash/x', uploadId: upload.id, parts })).size).toBe(100);
  });

  it('a part still arriving when the upload completes is refused (NoSuchUpload) and leaves no file', async () => {
    const { upload, parts } = await uploadParts('late-part.bin', [100]);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started!: () => void;
    const receiving = new Promise<void>((resolve) => {
      started = resolve;
    });
    async function* slowBody() {
      yield Buffer.from('first bytes');
      started();
      await gate;
      yield Buffer.from('the rest');
    }
    const late = multipart.uploadPart({ bucket, key: 'late-part.bin', uploadId: upload.id, partNumber: 2 }, slowBody());
    await receiving;
    await multipart.complete({ bucket, key: 'late-part.bin', uploadId: upload.id, parts });
    release();
    expect(await s3CodeOf(late)).toBe('NoSuchUpload');
    expect(await uploadDirs()).not.toContain(upload.id);
    expect((await fs.readdir(storage.tmpDir)).filter((name) => name.startsWith('part-'))).toEqual([]);
    expect((await fs.readFile(objectFile('late-part.bin'))).length).toBe(100);
  });

  it('the sweep aborts uploads older than the expiry and leaves newer ones', async () => {
    const old = await uploadParts('sweep/old.bin', [10]);
    const fresh = await uploadParts('sweep/fresh.bin', [10]);
    await sql`update multipart_uploads set initiated_at = now() - interval '2 hours' where id = ${old.upload.id}`;
    expect(await multipart.sweep()).toBe(1);
    expect(await uploadDirs()).not.toContain(old.upload.id);
    expect(await uploadDirs()).toContain(fresh.upload.id);
    expect(await s3CodeOf(multipart.listParts({ bucket, key: 'sweep/old.bin', uploadId: old.upload.id }))).toBe('NoSuchUpload');
    expect((await multipart.listParts({ bucket, key: 'sweep/fresh.bin', uploadId: fresh.upload.id })).parts).toHaveLength(1);
  });

  it('lists parts in pages', async () => {
    const key = 'paged-parts.bin';
    const upload = await multipart.create({ bucket, key });
    for (const n of [1, 2, 3, 5, 8])
      await multipart.uploadPart({ bucket, key, uploadId: upload.id, partNumber: n }, [Buffer.from(`p${n}`)]);
    const first = await multipart.listParts({ bucket, key, uploadId: upload.id, maxParts: 2 });
    expect(first.parts.map((p) => p.partNumber)).toEqual([1, 2]);
    expect(first).toMatchObject({ isTruncated: true, nextPartNumberMarker: 2 });
    const rest = await multipart.listParts({ bucket, key, uploadId: upload.id, partNumberMarker: 2 });
    expect(rest.parts.map((p) => p.partNumber)).toEqual([3, 5, 8]);
    expect(rest.isTruncated).toBe(false);
  });

  it('copies a range of an existing object into a part', async () => {
    const source = bytes(MIN_PART_BYTES + 10, 42);
    await storage.put(bucket, 'copy/source.bin', [source]);
    const key = 'copy/target.bin';
    const upload = await multipart.create({ bucket, key });
    const a = await multipart.copyPart(
      { bucket, key, uploadId: upload.id, partNumber: 1 },
      { bucket, key: 'copy/source.bin', range: { first: 0, last: MIN_PART_BYTES - 1 } },
    );
    const b = await multipart.copyPart(
      { bucket, key, uploadId: upload.id, partNumber: 2 },
      { bucket, key: 'copy/source.bin', range: null },
    );
    expect(a.part.etag).toBe(md5(source.subarray(0, MIN_PART_BYTES)));
    expect(
      await s3CodeOf(
        multipart.copyPart(
          { bucket, key, uploadId: upload.id, partNumber: 3 },
          { bucket, key: 'copy/source.bin', range: { first: 0, last: source.length } },
        ),
      ),
    ).toBe('InvalidArgument');
    expect(
      await s3CodeOf(
        multipart.copyPart({ bucket, key, uploadId: upload.id, partNumber: 3 }, { bucket, key: 'copy/missing.bin', range: null }),
      ),
    ).toBe('NOT_FOUND');
    await multipart.complete({
      bucket,
      key,
      uploadId: upload.id,
      parts: [a.part, b.part].map(({ partNumber, etag }) => ({ partNumber, etag })),
    });
    expect((await fs.readFile(objectFile(key))).equals(Buffer.concat([source.subarray(0, MIN_PART_BYTES), source]))).toBe(true);
  });
});
