import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../support/api.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const CREATE = `mutation($name: String!) { createBucket(input: { name: $name }) { bucket { name uri createdAt } } }`;
const DELETE = `mutation($name: String!, $force: Boolean) { deleteBucket(input: { name: $name, force: $force }) { name deletedObjects } }`;
const BUCKETS = `{ buckets { name uri } }`;
const BUCKET = `query($name: String!) { bucket(name: $name) { name } }`;
const PUT = `mutation($input: PutObjectInput!) { putObject(input: $input) { object { bucket key uri size etag contentType lastModified } } }`;
const DELETE_OBJECT = `mutation($bucket: String!, $key: String!) { deleteObject(input: { bucket: $bucket, key: $key }) { bucket key deleted } }`;
const OBJECT = `query($bucket: String!, $key: String!) { object(bucket: $bucket, key: $key) { key size etag contentType uri lastModified } }`;
const LIST = `query($bucket: String!, $prefix: String, $delimiter: String, $first: Int, $after: String) {
  objects(bucket: $bucket, prefix: $prefix, delimiter: $delimiter, first: $first, after: $after) {
    edges { cursor node { key size } } commonPrefixes pageInfo { hasNextPage hasPreviousPage endCursor } } }`;

const md5 = (data: string | Buffer) => `"${crypto.createHash('md5').update(data).digest('hex')}"`;
const uniqueBucket = (label: string) => `${label}-${crypto.randomBytes(4).toString('hex')}`;

async function createBucket(label: string): Promise<string> {
  const name = uniqueBucket(label);
  await server.data(CREATE, { name });
  return name;
}

async function put(bucket: string, key: string, content = key, contentType?: string) {
  return (await server.data(PUT, { input: { bucket, key, content, contentType } })).putObject.object;
}

/** Every entry (objects and common prefixes, in page order) of a listing, page by page. */
async function listAll(bucket: string, args: { prefix?: string; delimiter?: string; first: number }) {
  const pages: Array<{ keys: string[]; prefixes: string[] }> = [];
  let after: string | null = null;
  for (;;) {
    const { objects }: { objects: any } = await server.data(LIST, { bucket, ...args, after });
    expect(objects.edges.length + objects.commonPrefixes.length).toBeLessThanOrEqual(args.first);
    expect(objects.pageInfo.hasPreviousPage).toBe(after !== null);
    pages.push({ keys: objects.edges.map((e: any) => e.node.key), prefixes: objects.commonPrefixes });
    if (!objects.pageInfo.hasNextPage) return pages;
    after = objects.pageInfo.endCursor;
  }
}

describe('buckets', () => {
  it('are created, listed, found by name and deleted', async () => {
    const name = uniqueBucket('life');
    const { createBucket: created } = await server.data(CREATE, { name });
    expect(created.bucket).toMatchObject({ name, uri: `s3://${name}/` });
    expect((await server.data(BUCKETS)).buckets).toContainEqual({ name, uri: `s3://${name}/` });
    expect((await server.data(BUCKET, { name })).bucket).toEqual({ name });
    expect((await fs.stat(path.join(server.dataDir, 'buckets', name))).isDirectory()).toBe(true);

    expect((await server.data(DELETE, { name })).deleteBucket).toEqual({ name, deletedObjects: 0 });
    expect((await server.data(BUCKET, { name })).bucket).toBeNull();
    expect((await server.data(BUCKETS)).buckets.map((b: any) => b.name)).not.toContain(name);
    await expect(fs.stat(path.join(server.dataDir, 'buckets', name))).rejects.toThrow();
  });

  it('a taken name is a CONFLICT; a missing bucket NOT_FOUND', async () => {
    const name = await createBucket('dup');
    expectError(await server.gql(CREATE, { name }), 'CONFLICT', 'input.name');
    expectError(await server.gql(DELETE, { name: uniqueBucket('nope') }), 'NOT_FOUND', 'input.name');
    expectError(await server.gql(PUT, { input: { bucket: uniqueBucket('nope'), key: 'k', content: 'x' } }), 'NOT_FOUND', 'input.bucket');
    expectError(await server.gql(LIST, { bucket: uniqueBucket('nope') }), 'NOT_FOUND', 'bucket');
  });

  it('names are validated like S3 bucket names, and nothing is created', async () => {
    const bad = [
      'ab',
      'a'.repeat(64),
      'Upper-case',
      'under_score',
      '-starts-with-hyphen',
      'ends-with-hyphen-',
      'two..dots',
      '192.168.1.1',
      'xn--punycode',
      'x-s3alias',
      'white space',
      'a/b',
      '../etc',
    ];
    for (const name of bad) expectError(await server.gql(CREATE, { name }), 'BAD_USER_INPUT', 'input.name');
    const names = (await server.data(BUCKETS)).buckets.map((b: any) => b.name);
    for (const name of bad) expect(names).not.toContain(name);
    expect(await fs.readdir(path.join(server.dataDir, 'buckets'))).not.toContain('etc');
    expectError(await server.gql(BUCKET, { name: 'Bad_Name' }), 'BAD_USER_INPUT', 'name');
  });

  it('only an empty bucket is deleted, unless force: true deletes its objects too', async () => {
    const name = await createBucket('force');
    await put(name, 'a.txt');
    await put(name, 'dir/b.txt');
    const refused = await server.gql(DELETE, { name });
    expectError(refused, 'CONFLICT', 'input.name');
    expect(refused.errors![0]!.message).toMatch(/not empty.*force/);
    expect((await server.data(BUCKET, { name })).bucket).toEqual({ name });
    expect((await server.data(OBJECT, { bucket: name, key: 'a.txt' })).object).not.toBeNull();

    expect((await server.data(DELETE, { name, force: true })).deleteBucket).toEqual({ name, deletedObjects: 2 });
    expect((await server.data(BUCKET, { name })).bucket).toBeNull();
    await expect(fs.stat(path.join(server.dataDir, 'buckets', name))).rejects.toThrow();
    // a new bucket of the same name starts empty
    await server.data(CREATE, { name });
    expect((await server.data(LIST, { bucket: name })).objects.edges).toEqual([]);
  });
});

describe('putObject', () => {
  let bucket: string;
  beforeAll(async () => {
    bucket = await createBucket('put');
  });

  it('stores UTF-8 text: metadata, ETag (MD5 in quotes), bytes on disk at the mapped path', async () => {
    const content = 'héllo, wörld ✓\n';
    const obj = await put(bucket, 'docs/hello.txt', content);
    expect(obj).toMatchObject({
      bucket,
      key: 'docs/hello.txt',
      uri: `s3://${bucket}/docs/hello.txt`,
      size: Buffer.byteLength(content),
      etag: md5(content),
      contentType: 'text/plain; charset=utf-8',
    });
    expect(await fs.readFile(path.join(server.dataDir, 'buckets', bucket, 'docs', 'hello.txt'), 'utf8')).toBe(content);
    expect((await server.data(OBJECT, { bucket, key: 'docs/hello.txt' })).object).toMatchObject({ size: obj.size, etag: obj.etag });
  });

  it('stores base64 bytes, with the given content type', async () => {
    const bytes = crypto.randomBytes(3000);
    const { putObject } = await server.data(PUT, {
      input: { bucket, key: 'bin/blob', contentBase64: bytes.toString('base64'), contentType: 'image/png' },
    });
    expect(putObject.object).toMatchObject({ size: 3000, etag: md5(bytes), contentType: 'image/png' });
    expect(await fs.readFile(path.join(server.dataDir, 'buckets', bucket, 'bin', 'blob'))).toEqual(bytes);
  });

  it('content type defaults by extension, else application/octet-stream', async () => {
    expect((await put(bucket, 't/data.csv', 'a,b\n')).contentType).toBe('text/csv; charset=utf-8');
    expect((await put(bucket, 't/data.json', '{}')).contentType).toBe('application/json');
    expect((await put(bucket, 't/noext', 'x')).contentType).toBe('application/octet-stream');
    expectError(
      await server.gql(PUT, { input: { bucket, key: 'x', content: 'x', contentType: 'not a type' } }),
      'BAD_USER_INPUT',
      'input.contentType',
    );
  });

  it('overwrites: the same key gets the new bytes and ETag; lastModified moves', async () => {
    const first = await put(bucket, 'over.txt', 'one');
    const second = await put(bucket, 'over.txt', 'two!');
    expect(second).toMatchObject({ size: 4, etag: md5('two!') });
    expect(new Date(second.lastModified).getTime()).toBeGreaterThanOrEqual(new Date(first.lastModified).getTime());
    expect(await fs.readFile(path.join(server.dataDir, 'buckets', bucket, 'over.txt'), 'utf8')).toBe('two!');
  });

  it('an empty object is fine', async () => {
    expect(await put(bucket, 'empty.txt', '')).toMatchObject({ size: 0, etag: md5('') });
  });

  it('needs exactly one of content and contentBase64, valid base64', async () => {
    expectError(await server.gql(PUT, { input: { bucket, key: 'k' } }), 'BAD_USER_INPUT', 'input.content');
    expectError(
      await server.gql(PUT, { input: { bucket, key: 'k', content: 'a', contentBase64: 'YQ==' } }),
      'BAD_USER_INPUT',
      'input.content',
    );
    expectError(
      await server.gql(PUT, { input: { bucket, key: 'k', contentBase64: 'not base64!' } }),
      'BAD_USER_INPUT',
      'input.contentBase64',
    );
    expect((await server.data(OBJECT, { bucket, key: 'k' })).object).toBeNull();
  });

  it('over 1 MiB is PAYLOAD_TOO_LARGE, pointing to the HTTP route', async () => {
    const res = await server.gql(PUT, {
      input: { bucket, key: 'big.bin', contentBase64: Buffer.alloc(1024 * 1024 + 1).toString('base64') },
    });
    expectError(res, 'PAYLOAD_TOO_LARGE', 'input.contentBase64');
    expect(res.errors![0]!.message).toContain(`PUT /objects/${bucket}/big.bin`);
    expect((await server.data(OBJECT, { bucket, key: 'big.bin' })).object).toBeNull();
  });

  it('a key cannot also be a "directory" of other keys: CONFLICT, nothing changed', async () => {
    await put(bucket, 'tree/leaf', 'leaf');
    const asDir = await server.gql(PUT, { input: { bucket, key: 'tree', content: 'x' } });
    expectError(asDir, 'CONFLICT', 'input.key');
    expect(asDir.errors![0]!.message).toMatch(/"tree\/leaf".*directory/);
    expectError(await server.gql(PUT, { input: { bucket, key: 'tree/leaf/deeper', content: 'x' } }), 'CONFLICT', 'input.key');
    expect((await server.data(OBJECT, { bucket, key: 'tree' })).object).toBeNull();
    expect(await fs.readFile(path.join(server.dataDir, 'buckets', bucket, 'tree', 'leaf'), 'utf8')).toBe('leaf');
    // once the deeper key is gone, the name is free (the empty directory went with it)
    await server.data(DELETE_OBJECT, { bucket, key: 'tree/leaf' });
    expect((await put(bucket, 'tree', 'now a file')).size).toBe(10);
  });

  it("an empty directory left at a key's path is no clash", async () => {
    await fs.mkdir(path.join(server.dataDir, 'buckets', bucket, 'hollow', 'deeper'), { recursive: true });
    await expect(put(bucket, 'hollow/deeper', 'file now')).resolves.toMatchObject({ size: 8 });
  });

  it('racing writers of one key: one wins whole, bytes and metadata agree', async () => {
    const contents = Array.from({ length: 8 }, (_, i) => `writer ${i} `.repeat(1000 + i));
    await Promise.all(contents.map((c) => put(bucket, 'race.txt', c)));
    const meta = (await server.data(OBJECT, { bucket, key: 'race.txt' })).object;
    const onDisk = await fs.readFile(path.join(server.dataDir, 'buckets', bucket, 'race.txt'));
    expect(contents).toContain(onDisk.toString());
    expect(meta).toMatchObject({ size: onDisk.length, etag: md5(onDisk) });
  });
});

describe('deleteObject', () => {
  it('removes metadata and bytes; deleting again says deleted: false', async () => {
    const bucket = await createBucket('del');
    await put(bucket, 'a/b/c.txt', 'c');
    expect((await server.data(DELETE_OBJECT, { bucket, key: 'a/b/c.txt' })).deleteObject).toEqual({
      bucket,
      key: 'a/b/c.txt',
      deleted: true,
    });
    expect((await server.data(OBJECT, { bucket, key: 'a/b/c.txt' })).object).toBeNull();
    // the directories it left empty are gone too
    expect(await fs.readdir(path.join(server.dataDir, 'buckets', bucket))).toEqual([]);
    expect((await server.data(DELETE_OBJECT, { bucket, key: 'a/b/c.txt' })).deleteObject.deleted).toBe(false);
  });
});

describe('listing (ListObjectsV2)', () => {
  let bucket: string;
  const keys = [
    'a.txt',
    'b/1.txt',
    'b/2.txt',
    'b/sub/3.txt',
    'b/sub/4.txt',
    'b-side.txt',
    'c/x/y/z.txt',
    'logs/2024/01.log',
    'logs/2024/02.log',
    'logs/2025/01.log',
    'logs/readme',
    'zeta',
    'Ä-umlaut',
    'é',
    '日本/語.txt',
    '😀.txt',
  ];
  // S3 order is UTF-8 byte order
  const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

  beforeAll(async () => {
    bucket = await createBucket('list');
    for (const key of keys) await put(bucket, key);
  });

  it('lists every key in UTF-8 byte order, paged by `first`', async () => {
    for (const first of [1, 3, 100]) {
      const pages = await listAll(bucket, { first });
      expect(pages.flatMap((p) => p.keys)).toEqual(sorted);
      expect(pages.length).toBe(Math.ceil(keys.length / first));
    }
  });

  it('a prefix is a range: only keys that start with it', async () => {
    const pages = await listAll(bucket, { prefix: 'b', first: 2 });
    expect(pages.flatMap((p) => p.keys)).toEqual(sorted.filter((k) => k.startsWith('b')));
    expect((await listAll(bucket, { prefix: 'logs/2024/', first: 10 })).flatMap((p) => p.keys)).toEqual([
      'logs/2024/01.log',
      'logs/2024/02.log',
    ]);
    expect(await listAll(bucket, { prefix: 'nothing/', first: 10 })).toEqual([{ keys: [], prefixes: [] }]);
  });

  it('delimiter "/" rolls deeper keys into common prefixes, like folders', async () => {
    const [top] = await listAll(bucket, { delimiter: '/', first: 100 });
    expect(top!.keys).toEqual(['a.txt', 'b-side.txt', 'zeta', 'Ä-umlaut', 'é', '😀.txt']);
    expect(top!.prefixes).toEqual(['b/', 'c/', 'logs/', '日本/']);
    const [logs] = await listAll(bucket, { prefix: 'logs/', delimiter: '/', first: 100 });
    expect(logs).toEqual({ keys: ['logs/readme'], prefixes: ['logs/2024/', 'logs/2025/'] });
    const [b] = await listAll(bucket, { prefix: 'b/', delimiter: '/', first: 100 });
    expect(b).toEqual({ keys: ['b/1.txt', 'b/2.txt'], prefixes: ['b/sub/'] });
  });

  it('pages with a delimiter count objects and prefixes together and never repeat one', async () => {
    const expected = ['a.txt', 'b-side.txt', 'b/', 'c/', 'logs/', 'zeta', 'Ä-umlaut', 'é', '日本/', '😀.txt'];
    for (const first of [1, 2, 3]) {
      const pages = await listAll(bucket, { delimiter: '/', first });
      const entries = pages.flatMap((p) => [...p.keys, ...p.prefixes].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
      expect(entries).toEqual(expected);
    }
  });

  it('a delimiter other than "/" works too', async () => {
    const [page] = await listAll(bucket, { prefix: 'logs/', delimiter: '.', first: 100 });
    expect(page).toEqual({ keys: ['logs/readme'], prefixes: ['logs/2024/01.', 'logs/2024/02.', 'logs/2025/01.'] });
  });

  it('bad arguments are BAD_USER_INPUT with the field', async () => {
    expectError(await server.gql(LIST, { bucket, first: 101 }), 'BAD_USER_INPUT', 'first');
    expectError(await server.gql(LIST, { bucket, first: -1 }), 'BAD_USER_INPUT', 'first');
    expectError(await server.gql(LIST, { bucket, after: 'garbage!' }), 'BAD_USER_INPUT', 'after');
    expectError(await server.gql(LIST, { bucket, after: Buffer.from('k:../x').toString('base64url') }), 'BAD_USER_INPUT', 'after');
    expectError(await server.gql(LIST, { bucket, prefix: '../' }), 'BAD_USER_INPUT', 'prefix');
    expectError(await server.gql(LIST, { bucket, prefix: '/abs' }), 'BAD_USER_INPUT', 'prefix');
    expectError(await server.gql(LIST, { bucket, delimiter: '\u0000' }), 'BAD_USER_INPUT', 'delimiter');
  });
});

describe('keys that would escape the bucket', () => {
  const escapes = [
    '../x',
    'a/../../x',
    '/etc/passwd',
    'a\u0000b',
    'a\\..\\b',
    'a//b',
    './a',
    'a/.',
    'a/../',
    'a//',
    '',
    'a\nb',
    'x'.repeat(1025),
  ];

  it('are refused by putObject, object and deleteObject, and nothing is written', async () => {
    const bucket = await createBucket('escape');
    for (const key of escapes) {
      expectError(await server.gql(PUT, { input: { bucket, key, content: 'pwned' } }), 'BAD_USER_INPUT', 'input.key');
      expectError(await server.gql(OBJECT, { bucket, key }), 'BAD_USER_INPUT', 'key');
      expectError(await server.gql(DELETE_OBJECT, { bucket, key }), 'BAD_USER_INPUT', 'input.key');
    }
    expect(await fs.readdir(path.join(server.dataDir, 'buckets', bucket))).toEqual([]);
    expect(await fs.readdir(path.join(server.dataDir, 'buckets'))).not.toContain('x');
    expect((await server.data(LIST, { bucket })).objects.edges).toEqual([]);
  });
});

describe('directory markers', () => {
  it('a key ending in "/" is an empty object that keys can live under; with content it is refused', async () => {
    const bucket = await createBucket('marker');
    expectError(await server.gql(PUT, { input: { bucket, key: 'folder/', content: 'x' } }), 'BAD_USER_INPUT', 'input.content');
    expect((await server.data(OBJECT, { bucket, key: 'folder/' })).object).toBeNull();
    await server.data(PUT, { input: { bucket, key: 'folder/', content: '' } });
    await server.data(PUT, { input: { bucket, key: 'folder/a.txt', content: 'a' } });
    expect((await server.data(OBJECT, { bucket, key: 'folder/' })).object).toMatchObject({ key: 'folder/', size: 0 });
    expect((await server.data(LIST, { bucket })).objects.edges.map((e: any) => e.node.key)).toEqual(['folder/', 'folder/a.txt']);
    expect((await server.data(DELETE_OBJECT, { bucket, key: 'folder/' })).deleteObject.deleted).toBe(true);
    expect((await server.data(LIST, { bucket })).objects.edges.map((e: any) => e.node.key)).toEqual(['folder/a.txt']);
  });
});

describe('auth', () => {
  const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }`;

  it('no key: UNAUTHENTICATED; a key without the action: FORBIDDEN; nothing done', async () => {
    const name = uniqueBucket('auth');
    expectError(await server.gql(CREATE, { name }, null), 'UNAUTHENTICATED');
    expectError(await server.gql(BUCKETS, {}, null), 'UNAUTHENTICATED');
    const { createApiKey } = await server.data(CREATE_KEY, { input: { name: 'reader', actions: ['buckets:List*', 'buckets:GetObject'] } });
    const reader = createApiKey.key;
    expectError(await server.gql(CREATE, { name }, reader), 'FORBIDDEN');
    expect((await server.data(BUCKET, { name })).bucket).toBeNull();

    await server.data(CREATE, { name });
    await put(name, 'k.txt', 'v');
    expect((await server.gql(LIST, { bucket: name }, reader)).data.objects.edges).toHaveLength(1);
    expect((await server.gql(OBJECT, { bucket: name, key: 'k.txt' }, reader)).data.object.size).toBe(1);
    expectError(await server.gql(PUT, { input: { bucket: name, key: 'k.txt', content: 'changed' } }, reader), 'FORBIDDEN');
    expectError(await server.gql(DELETE_OBJECT, { bucket: name, key: 'k.txt' }, reader), 'FORBIDDEN');
    expectError(await server.gql(DELETE, { name, force: true }, reader), 'FORBIDDEN');
    expect((await server.data(OBJECT, { bucket: name, key: 'k.txt' })).object.size).toBe(1);
  });
});

describe('object events outbox', () => {
  it('records ObjectCreated:Put and ObjectRemoved:Delete in order, with size and ETag', async () => {
    const bucket = await createBucket('events');
    await put(bucket, 'e1.txt', 'one');
    await put(bucket, 'e1.txt', 'uno');
    await put(bucket, 'e2.txt', 'two');
    await server.data(DELETE_OBJECT, { bucket, key: 'e1.txt' });
    await server.data(DELETE, { name: bucket, force: true });
    const sql = postgres(server.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql`select kind, key, size, etag from object_events where bucket = ${bucket} order by seq`;
      expect(rows.map((r) => [r.kind, r.key, Number(r.size), r.etag])).toEqual([
        ['ObjectCreated:Put', 'e1.txt', 3, md5('one')],
        ['ObjectCreated:Put', 'e1.txt', 3, md5('uno')],
        ['ObjectCreated:Put', 'e2.txt', 3, md5('two')],
        ['ObjectRemoved:Delete', 'e1.txt', 3, md5('uno')],
        ['ObjectRemoved:Delete', 'e2.txt', 3, md5('two')],
      ]);
    } finally {
      await sql.end();
    }
  });
});

describe('step outputs written back (storage.registerPrefix) and URIs resolved (storage.resolveUri)', () => {
  it('files a step wrote under a prefix become objects; removed files stop being objects; symlinks are skipped', async () => {
    const bucket = await createBucket('outputs');
    const { storage } = server.app.modules.storage;
    const dir = storage.prefixPath(bucket, 'out/');
    await fs.mkdir(path.join(dir, 'part'), { recursive: true });
    await fs.writeFile(path.join(dir, 'part', 'part-00000.csv'), 'a,b\n1,2\n');
    await fs.writeFile(path.join(dir, '_SUCCESS'), '');
    await fs.writeFile(path.join(dir, 'stale.txt'), 'old');
    await fs.symlink('/etc/passwd', path.join(dir, 'leak'));
    // Spark's side files: checksums and the attempts of unfinished tasks are no objects
    await fs.writeFile(path.join(dir, 'part', '.part-00000.csv.crc'), 'crc');
    await fs.mkdir(path.join(dir, '_temporary', '0', 'task_1'), { recursive: true });
    await fs.writeFile(path.join(dir, '_temporary', '0', 'task_1', 'part-00001.csv'), 'half');

    const first = await storage.registerPrefix(bucket, 'out');
    expect(first.objects.map((o) => [o.key, o.size, o.etag, o.contentType])).toEqual([
      ['out/_SUCCESS', 0, md5(''), 'application/octet-stream'],
      ['out/part/part-00000.csv', 8, md5('a,b\n1,2\n'), 'text/csv; charset=utf-8'],
      ['out/stale.txt', 3, md5('old'), 'text/plain; charset=utf-8'],
    ]);
    expect(first.skipped).toEqual(['out/leak']);
    expect((await server.data(OBJECT, { bucket, key: 'out/part/part-00000.csv' })).object.etag).toBe(md5('a,b\n1,2\n'));

    await fs.rm(path.join(dir, 'stale.txt'));
    const second = await storage.registerPrefix(bucket, 'out/');
    expect(second.removed).toEqual(['out/stale.txt']);
    expect((await server.data(OBJECT, { bucket, key: 'out/stale.txt' })).object).toBeNull();

    const resolved = await storage.resolveUri(`s3://${bucket}/out/_SUCCESS`, 'uri');
    expect(resolved).toEqual({ bucket, key: 'out/_SUCCESS', path: path.join(server.dataDir, 'buckets', bucket, 'out', '_SUCCESS') });
    expect((await storage.resolveUri(`s3://${bucket}/out/`, 'uri', { allowPrefix: true })).path).toBe(dir);
    // a "folder" named without its slash, as Spark inputs often are
    expect(await storage.resolveUri(`s3://${bucket}/out/part`, 'uri', { allowPrefix: true })).toEqual({
      bucket,
      key: 'out/part/',
      path: path.join(dir, 'part'),
    });
    await expect(storage.resolveUri(`s3://${bucket}/out/part`, 'uri')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(storage.resolveUri(`s3://${bucket}/out/missing`, 'uri')).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'uri' });
    await expect(storage.resolveUri(`s3://${bucket}/../x`, 'uri')).rejects.toMatchObject({ code: 'BAD_USER_INPUT', field: 'uri' });
    await expect(storage.resolveUri(`s3://${uniqueBucket('gone')}/`, 'uri', { allowPrefix: true })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('an output URI names where a step writes; registerOutput publishes a single file or a directory', async () => {
    const bucket = await createBucket('outuri');
    const { storage } = server.app.modules.storage;
    const single = await storage.outputLocation(`s3://${bucket}/result/rows.parquet`, 'outputUri');
    expect(single.path).toBe(path.join(server.dataDir, 'buckets', bucket, 'result', 'rows.parquet'));
    await fs.mkdir(path.dirname(single.path), { recursive: true });
    await fs.writeFile(single.path, 'PAR1');
    const one = await storage.registerOutput(`s3://${bucket}/result/rows.parquet`, 'outputUri');
    expect(one.objects.map((o) => [o.key, o.size, o.etag, o.contentType])).toEqual([
      ['result/rows.parquet', 4, md5('PAR1'), 'application/vnd.apache.parquet'],
    ]);

    const dir = await storage.outputLocation(`s3://${bucket}/spark-out`, 'outputUri');
    await fs.mkdir(dir.path, { recursive: true });
    await fs.writeFile(path.join(dir.path, 'part-0.csv'), 'x\n');
    const many = await storage.registerOutput(`s3://${bucket}/spark-out`, 'outputUri');
    expect(many.objects.map((o) => o.key)).toEqual(['spark-out/part-0.csv']);
    const listed = (await server.data(LIST, { bucket })).objects.edges.map((e: any) => e.node.key);
    expect(listed).toEqual(['result/rows.parquet', 'spark-out/part-0.csv']);

    await expect(storage.outputLocation(`s3://${uniqueBucket('gone')}/x`, 'outputUri')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      field: 'outputUri',
    });
    await expect(storage.outputLocation(`s3://${bucket}/../../x`, 'outputUri')).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'outputUri',
    });
  });
});
