// The storage service's S3 object rules on real Postgres and a real filesystem: metadata, directory
// markers, copy, delete many, and S3's listing semantics (start-after, markers, roll-up).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Sql } from '../../src/platform/db/client.js';
import { AppError } from '../../src/platform/errors.js';
import { StorageService } from '../../src/storage/service.js';
import { createTestDatabase } from '../support/db.js';

let sql: Sql;
let dir: string;
let storage: StorageService;
const bucket = 'objects-svc';

beforeAll(async () => {
  sql = connect(await createTestDatabase(), { max: 4 });
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'object-service-'));
  storage = new StorageService(
    sql,
    { dataDir: dir, bucketsDir: path.join(dir, 'buckets'), objectMaxBytes: 1024 * 1024 },
    pino({ level: 'silent' }),
  );
  await storage.start();
  await storage.createBucket(bucket);
});
afterAll(async () => {
  storage?.stop();
  await sql?.end();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const text = async (key: string) => {
  const opened = await storage.open(bucket, key);
  try {
    return (await opened.file.readFile()).toString();
  } finally {
    await opened.file.close();
  }
};
const events = async (key: string) =>
  (await sql<{ kind: string }[]>`select kind from object_events where bucket = ${bucket} and key = ${key} order by seq`).map((r) => r.kind);
const expectAppError = async (promise: Promise<unknown>, code: string, message?: RegExp) => {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
  if (message) expect((err as AppError).message).toMatch(message);
};

describe('metadata', () => {
  it('is stored with the object, replaced by the next put, and limited to 2 KB of user metadata', async () => {
    const metadata = { user: { owner: 'ada', 'run-id': '42' }, headers: { 'cache-control': 'max-age=60', 'content-encoding': 'gzip' } };
    const row = await storage.put(bucket, 'meta/a.txt', ['hello'], { metadata });
    expect(row.metadata).toEqual(metadata);
    expect((await storage.head(bucket, 'meta/a.txt'))!.metadata).toEqual(metadata);
    // a new version does not keep the old one's metadata, as S3
    expect((await storage.put(bucket, 'meta/a.txt', ['again'])).metadata).toEqual({});

    const exactly = { user: { big: 'x'.repeat(2048 - 3) } };
    expect((await storage.put(bucket, 'meta/b.txt', ['b'], { metadata: exactly })).metadata).toEqual(exactly);
    await expectAppError(
      storage.put(bucket, 'meta/c.txt', ['c'], { metadata: { user: { big: 'x'.repeat(2048 - 2) } } }),
      'BAD_USER_INPUT',
      /2048 bytes/,
    );
    await expectAppError(storage.put(bucket, 'meta/c.txt', ['c'], { metadata: { user: { 'Upper Case': 'v' } } }), 'BAD_USER_INPUT');
    await expectAppError(storage.put(bucket, 'meta/c.txt', ['c'], { metadata: { user: { a: 'line\nbreak' } } }), 'BAD_USER_INPUT');
    await expectAppError(
      storage.put(bucket, 'meta/c.txt', ['c'], { metadata: { headers: { 'x-other': 'v' } as never } }),
      'BAD_USER_INPUT',
    );
    expect(await storage.head(bucket, 'meta/c.txt')).toBeNull();
  });
});

describe('directory markers', () => {
  it('a key ending in "/" is a zero-byte object with a directory on disk; keys live under it; it lists, opens and deletes', async () => {
    const marker = await storage.put(bucket, 'dirs/empty/', []);
    expect(marker).toMatchObject({ key: 'dirs/empty/', size: 0, etag: '"d41d8cd98f00b204e9800998ecf8427e"' });
    expect((await fs.stat(path.join(dir, 'buckets', bucket, 'dirs', 'empty'))).isDirectory()).toBe(true);
    expect(await text('dirs/empty/')).toBe('');
    await storage.put(bucket, 'dirs/empty/inside.txt', ['in']);
    expect((await storage.listFrom(bucket, { prefix: 'dirs/', delimiter: null, limit: 10 })).objects.map((o) => o.key)).toEqual([
      'dirs/empty/',
      'dirs/empty/inside.txt',
    ]);
    // deleting the file under it keeps the marker's directory
    await storage.deleteObject(bucket, 'dirs/empty/inside.txt');
    expect((await fs.stat(path.join(dir, 'buckets', bucket, 'dirs', 'empty'))).isDirectory()).toBe(true);
    expect((await storage.deleteObject(bucket, 'dirs/empty/'))?.key).toBe('dirs/empty/');
    await expect(fs.stat(path.join(dir, 'buckets', bucket, 'dirs'))).rejects.toThrow(/ENOENT/);
    expect(await events('dirs/empty/')).toEqual(['ObjectCreated:Put', 'ObjectRemoved:Delete']);
  });

  it('a marker must be empty, and clashes with a file of its path (either way round)', async () => {
    await expectAppError(storage.put(bucket, 'm/full/', ['x']), 'BAD_USER_INPUT', /must be empty/);
    expect(await storage.head(bucket, 'm/full/')).toBeNull();
    await storage.put(bucket, 'm/file', ['f']);
    await expectAppError(storage.put(bucket, 'm/file/', []), 'CONFLICT', /m\/file/);
    await storage.put(bucket, 'm/dir/', []);
    await expectAppError(storage.put(bucket, 'm/dir', ['f']), 'CONFLICT', /m\/dir\//);
    await expectAppError(storage.put(bucket, 'm/file/x/', []), 'CONFLICT');
    await expectAppError(storage.put(bucket, 'm//', []), 'BAD_USER_INPUT');
    await expectAppError(storage.put(bucket, '/', []), 'BAD_USER_INPUT');
  });

  it('racing puts of a file and a marker of one path: exactly one wins', async () => {
    for (let i = 0; i < 10; i++) {
      const results = await Promise.allSettled([storage.put(bucket, `race/${i}`, ['f']), storage.put(bucket, `race/${i}/`, [])]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rows = (await storage.listFrom(bucket, { prefix: `race/${i}`, delimiter: null, limit: 10 })).objects;
      expect(rows).toHaveLength(1);
    }
  });

  it('a step output walk keeps markers (they have no file)', async () => {
    await storage.put(bucket, 'out/part/', []);
    await storage.put(bucket, 'out/part/a.txt', ['a']);
    const { removed } = await storage.registerPrefix(bucket, 'out/');
    expect(removed).toEqual([]);
    expect(await storage.head(bucket, 'out/part/')).not.toBeNull();
  });
});

describe('copy', () => {
  it('copies bytes, type and metadata (or replaces them), with an ObjectCreated:Copy event', async () => {
    const metadata = { user: { colour: 'blue' } };
    const source = await storage.put(bucket, 'copy/src.csv', ['a,b\n1,2\n'], { contentType: 'text/csv', metadata });
    const copied = await storage.copy({ bucket, key: 'copy/src.csv' }, { bucket, key: 'copy/dst.csv' });
    expect(copied).toMatchObject({ size: source.size, etag: source.etag, contentType: 'text/csv', metadata });
    expect(await text('copy/dst.csv')).toBe('a,b\n1,2\n');
    expect(await events('copy/dst.csv')).toEqual(['ObjectCreated:Copy']);

    const replaced = await storage.copy(
      { bucket, key: 'copy/src.csv' },
      { bucket, key: 'copy/src.csv' },
      { replace: { contentType: 'text/plain', metadata: {} } },
    );
    expect(replaced).toMatchObject({ etag: source.etag, contentType: 'text/plain', metadata: {} });
    expect(await text('copy/src.csv')).toBe('a,b\n1,2\n');

    await expectAppError(storage.copy({ bucket, key: 'copy/none' }, { bucket, key: 'copy/x' }), 'NOT_FOUND');
    // a check that refuses stops the copy before anything is written
    await expect(
      storage.copy(
        { bucket, key: 'copy/src.csv' },
        { bucket, key: 'copy/checked' },
        {
          check: () => {
            throw new Error('refused');
          },
        },
      ),
    ).rejects.toThrow('refused');
    expect(await storage.head(bucket, 'copy/checked')).toBeNull();
  });
});

describe('delete many', () => {
  it('deletes each key with its event, reports missing keys as deleted and invalid keys as errors', async () => {
    await storage.put(bucket, 'many/1', ['1']);
    await storage.put(bucket, 'many/2', ['2']);
    const results = await storage.deleteMany(bucket, ['many/1', 'many/2', 'many/missing', '../escape']);
    expect(results.map((r) => [r.key, 'error' in r ? r.error.code : r.deleted !== null])).toEqual([
      ['many/1', true],
      ['many/2', true],
      ['many/missing', false],
      ['../escape', 'BAD_USER_INPUT'],
    ]);
    expect(await events('many/1')).toEqual(['ObjectCreated:Put', 'ObjectRemoved:Delete']);
    await expectAppError(storage.deleteMany('no-such-bucket', ['a']), 'NOT_FOUND');
  });
});

describe('listing as S3 does', () => {
  const keys = ['l/a', 'l/b/1', 'l/b/2', 'l/c/1', 'l/d', 'l/sp ace', 'l/ü', 'l/😀'];
  beforeAll(async () => {
    for (const key of keys) await storage.put(bucket, key, [key]);
  });
  const page = (args: { delimiter?: string | null; limit?: number; cursor?: string | null; startAfter?: string | null; prefix?: string }) =>
    storage.listFrom(bucket, {
      prefix: args.prefix ?? 'l/',
      delimiter: args.delimiter ?? null,
      limit: args.limit ?? 1000,
      cursor: args.cursor,
      startAfter: args.startAfter,
    });

  it('start-after skips keys up to and including it, in UTF-8 byte order', async () => {
    expect((await page({ startAfter: 'l/b/1' })).objects.map((o) => o.key)).toEqual(keys.slice(2));
    expect((await page({ startAfter: 'l/c' })).objects.map((o) => o.key)).toEqual(keys.slice(3));
    // before the prefix: the whole prefix; past it: nothing
    expect((await page({ startAfter: 'a' })).objects).toHaveLength(keys.length);
    expect((await page({ startAfter: 'm' })).objects).toHaveLength(0);
    // ü (U+00FC) sorts before 😀 (U+1F600) in bytes and in code points
    expect((await page({ startAfter: 'l/ü' })).objects.map((o) => o.key)).toEqual(['l/😀']);
  });

  it('with a delimiter: a marker inside a common prefix keeps the prefix; the common prefix itself (NextMarker) skips it', async () => {
    const inside = await page({ delimiter: '/', startAfter: 'l/b/1' });
    expect(inside.commonPrefixes).toEqual(['l/b/', 'l/c/']);
    const after = await page({ delimiter: '/', startAfter: 'l/b/' });
    expect(after.commonPrefixes).toEqual(['l/c/']);
    expect(after.objects.map((o) => o.key)).toEqual(['l/d', 'l/sp ace', 'l/ü', 'l/😀']);
  });

  it('pages of 1 through keys and common prefixes meet every entry once; lastEntry is the NextMarker', async () => {
    const seen: string[] = [];
    let marker: string | null = null;
    for (let i = 0; i < 20; i++) {
      const p = await page({ delimiter: '/', limit: 1, startAfter: marker });
      seen.push(...p.objects.map((o) => o.key), ...p.commonPrefixes);
      if (!p.hasNextPage) break;
      marker = p.lastEntry;
    }
    expect(seen).toEqual(['l/a', 'l/b/', 'l/c/', 'l/d', 'l/sp ace', 'l/ü', 'l/😀']);
    const tokens: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 20; i++) {
      const p = await page({ delimiter: '/', limit: 2, cursor });
      tokens.push(...p.objects.map((o) => o.key), ...p.commonPrefixes);
      if (!p.hasNextPage) break;
      cursor = p.endCursor;
    }
    expect(tokens.sort()).toEqual([...seen].sort());
  });

  it('any prefix and delimiter S3 takes: a prefix no key can have lists nothing; a forged token is refused', async () => {
    expect((await page({ prefix: 'l//' })).objects).toEqual([]);
    expect((await page({ prefix: 'l/..' })).objects).toEqual([]);
    const byOne = await page({ prefix: 'l/b', delimiter: '1' });
    expect([byOne.commonPrefixes, byOne.objects.map((o) => o.key)]).toEqual([['l/b/1'], ['l/b/2']]);
    await expectAppError(page({ cursor: 'not-a-token' }), 'BAD_USER_INPUT');
  });
});
