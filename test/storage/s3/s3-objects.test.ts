// The S3 endpoint's object surface (docs/storage.md "S3 endpoint: listing, copy, delete many"):
// ListObjectsV2 and V1 with pagination, delimiters and URL-encoded keys, CopyObject with its
// directive and conditions, DeleteObjects, user metadata, directory markers and sync of a tree,
// driven by the real clients (aws CLI, boto3, the AWS SDK for JavaScript, rclone) and by signed raw
// requests for what no client sends (hostile documents).
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  type S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Sql } from '../../../src/platform/db/client.js';
import { aws, createS3Key, python, rclone, sdkClient, signedRequest, type S3Key } from '../../support/s3.js';
import { startTestServer, type TestServer } from '../../support/server.js';

let server: TestServer;
let admin: S3Key;
let sdk: S3Client;
let sql: Sql;
let work: string;
beforeAll(async () => {
  server = await startTestServer({ objectMaxBytes: 64 * 1024 * 1024 });
  admin = await createS3Key(server, 's3-objects-admin');
  sdk = sdkClient(server, admin);
  sql = connect(server.databaseUrl, { max: 2 });
  work = await fs.mkdtemp(path.join(os.tmpdir(), 's3-objects-'));
});
afterAll(async () => {
  sdk?.destroy();
  await sql?.end();
  await server?.close();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

/** Each test runs the aws CLI, python or rclone several times: ~1–2 s a start on a loaded machine. */
const CLI_TEST_TIMEOUT_MS = 180_000;
const md5 = (data: Buffer | string) => `"${crypto.createHash('md5').update(data).digest('hex')}"`;

async function createBucket(name: string): Promise<string> {
  const res = await aws(server, admin, ['s3api', 'create-bucket', '--bucket', name]);
  expect(res.stderr).toBe('');
  return name;
}

/** Puts each key (its own name as the body) through the SDK, 16 at a time. */
async function putKeys(bucket: string, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 16) {
    await Promise.all(keys.slice(i, i + 16).map((key) => sdk.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }))));
  }
}

async function awsJson(args: string[], key: S3Key = admin): Promise<any> {
  const res = await aws(server, key, args);
  expect(res.stderr, args.join(' ')).toBe('');
  expect(res.code).toBe(0);
  return res.stdout.trim() === '' ? null : JSON.parse(res.stdout);
}

const objectEvents = async (bucket: string) =>
  (await sql<{ kind: string; key: string }[]>`select kind, key from object_events where bucket = ${bucket} order by seq`).map((e) => [
    e.kind,
    e.key,
  ]);

/** A signed request of a path and query as given (for documents no client sends). */
function signed(
  method: string,
  pathAndQuery: string,
  body: Buffer | string = '',
  headers: Record<string, string> = {},
  key: S3Key = admin,
) {
  const url = new URL(pathAndQuery, server.url);
  return signedRequest(server, key, { method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body });
}

const errorCode = (xml: string) => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];

describe('listing', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let bucket: string;
  const many = Array.from({ length: 1100 }, (_, i) => `many/${String(i).padStart(5, '0')}.txt`);
  const odd = ['odd/sp ace.txt', 'odd/plus+sign', 'odd/per%20cent', 'odd/ünï/cødé', 'odd/emoji😀', 'odd/amp&lt<gt>', 'odd/q?x=1#h'];
  beforeAll(async () => {
    bucket = await createBucket('s3obj-list');
    await putKeys(bucket, [...many, ...odd, 'top.txt', 'dir/a/1', 'dir/a/2', 'dir/b/1', 'dir/c']);
  }, CLI_TEST_TIMEOUT_MS);
  const listV2 = (...args: string[]) => awsJson(['s3api', 'list-objects-v2', '--bucket', bucket, ...args]);

  it('aws s3api list-objects-v2 pages past 1000 keys with --page-size and --max-items (continuation tokens)', async () => {
    const first = await listV2('--prefix', 'many/', '--page-size', '300', '--max-items', '1001');
    expect(first.Contents).toHaveLength(1001);
    const rest = await listV2('--prefix', 'many/', '--page-size', '300', '--starting-token', first.NextToken);
    expect([...first.Contents, ...rest.Contents].map((o: any) => o.Key)).toEqual(many);
    expect(first.Contents[0]).toMatchObject({ Key: many[0], Size: many[0]!.length, ETag: md5(many[0]!), StorageClass: 'STANDARD' });
    // one request without pagination: S3's page of at most 1000
    const page = await listV2('--prefix', 'many/', '--no-paginate');
    expect(page).toMatchObject({ KeyCount: 1000, MaxKeys: 1000, IsTruncated: true });
    expect(page.Contents).toHaveLength(1000);
    // the token S3 gave continues right after the page's last key
    const next = await listV2('--prefix', 'many/', '--no-paginate', '--continuation-token', page.NextContinuationToken);
    expect(next.Contents.map((o: any) => o.Key)).toEqual(many.slice(1000));
  });

  it('--start-after and --delimiter, as S3', async () => {
    const after = await listV2('--prefix', 'many/', '--start-after', many[1097]!);
    expect(after.Contents.map((o: any) => o.Key)).toEqual(many.slice(1098));
    const top = await listV2('--delimiter', '/');
    expect(top.CommonPrefixes.map((p: any) => p.Prefix)).toEqual(['dir/', 'many/', 'odd/']);
    expect(top.Contents.map((o: any) => o.Key)).toEqual(['top.txt']);
    const dir = await listV2('--prefix', 'dir/', '--delimiter', '/', '--start-after', 'dir/a/1');
    // a start-after inside a common prefix still returns that prefix (keys after it remain in it)
    expect(dir.CommonPrefixes.map((p: any) => p.Prefix)).toEqual(['dir/a/', 'dir/b/']);
    expect(dir.Contents.map((o: any) => o.Key)).toEqual(['dir/c']);
    const raw = await signed('GET', `/${bucket}?list-type=2&prefix=dir%2F&start-after=dir%2Fa%2F1&delimiter=%2F`);
    expect(raw.body).toContain('<StartAfter>dir/a/1</StartAfter>');
    expect(raw.body).toContain('<KeyCount>3</KeyCount>');
  });

  it('odd keys (spaces, +, %, unicode, XML specials) come back exactly, URL-encoded on the wire (v2 and v1)', async () => {
    const v2 = await listV2('--prefix', 'odd/');
    const sorted = [...odd].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(v2.Contents.map((o: any) => o.Key)).toEqual(sorted);
    const v1 = await awsJson(['s3api', 'list-objects', '--bucket', bucket, '--prefix', 'odd/']);
    expect(v1.Contents.map((o: any) => o.Key)).toEqual(sorted);
    // without encoding-type=url (the SDK for JavaScript does not ask for it): the XML carries the keys
    const plain = await sdk.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'odd/' }));
    expect(plain.Contents?.map((o) => o.Key)).toEqual(sorted);
    // on the wire with encoding-type=url: "+" and space are percent-encoded, "/" is not
    const raw = await signed('GET', `/${bucket}?list-type=2&prefix=odd%2F&encoding-type=url`);
    expect(raw.status).toBe(200);
    expect(raw.body).toContain('<Key>odd/plus%2Bsign</Key>');
    expect(raw.body).toContain('<Key>odd/sp%20ace.txt</Key>');
    expect(raw.body).toContain('<EncodingType>url</EncodingType>');
    const quoted = await sdk.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'odd/sp ace' }));
    expect(quoted.Contents?.map((o) => o.Key)).toEqual(['odd/sp ace.txt']);
  });

  it('aws s3 ls with and without --recursive', async () => {
    const top = await aws(server, admin, ['s3', 'ls', `s3://${bucket}/`]);
    expect(top.stderr).toBe('');
    const lines = top.stdout.trim().split('\n');
    expect(lines.filter((l) => l.includes('PRE')).map((l) => l.trim())).toEqual(['PRE dir/', 'PRE many/', 'PRE odd/']);
    expect(lines.filter((l) => !l.includes('PRE')).map((l) => l.trim().split(/\s+/).slice(2))).toEqual([['7', 'top.txt']]);
    const all = await aws(server, admin, ['s3', 'ls', '--recursive', `s3://${bucket}/`]);
    expect(all.stderr).toBe('');
    const keys = all.stdout
      .trim()
      .split('\n')
      .map((l) => l.replace(/^\S+ \S+\s+\d+ /, ''));
    expect(keys).toHaveLength(many.length + odd.length + 5);
    expect(keys).toContain('odd/sp ace.txt');
    expect(keys).toContain('odd/emoji😀');
  });

  it('boto3 paginators (v2 with tokens, v1 with NextMarker) meet every key and prefix once', async () => {
    const script = `
import boto3, json, os
s3 = boto3.client('s3', endpoint_url=os.environ['ENDPOINT'])
out = {}
for name in ['list_objects_v2', 'list_objects']:
    keys, prefixes, pages = [], [], 0
    for page in s3.get_paginator(name).paginate(Bucket='${bucket}', Delimiter='/', Prefix='', PaginationConfig={'PageSize': 2}):
        pages += 1
        keys += [o['Key'] for o in page.get('Contents', [])]
        prefixes += [p['Prefix'] for p in page.get('CommonPrefixes', [])]
    out[name] = {'keys': keys, 'prefixes': prefixes, 'pages': pages}
flat = [o['Key'] for p in s3.get_paginator('list_objects_v2').paginate(Bucket='${bucket}', Prefix='many/', PaginationConfig={'PageSize': 400}) for o in p.get('Contents', [])]
out['flat'] = len(flat)
out['v1flat'] = len([o['Key'] for p in s3.get_paginator('list_objects').paginate(Bucket='${bucket}', Prefix='many/', PaginationConfig={'PageSize': 400}) for o in p.get('Contents', [])])
print(json.dumps(out))
`;
    const res = await python(server, admin, script);
    expect(res.stderr).toBe('');
    const out = JSON.parse(res.stdout);
    for (const name of ['list_objects_v2', 'list_objects']) {
      expect(out[name]).toEqual({ keys: ['top.txt'], prefixes: ['dir/', 'many/', 'odd/'], pages: 2 });
    }
    expect(out.flat).toBe(many.length);
    expect(out.v1flat).toBe(many.length);
  });

  it('V1: NextMarker only with a delimiter; IsTruncated with Contents otherwise', async () => {
    const withDelimiter = await signed('GET', `/${bucket}?prefix=dir%2F&delimiter=%2F&max-keys=1`);
    expect(withDelimiter.body).toContain('<NextMarker>dir/a/</NextMarker>');
    expect(withDelimiter.body).toContain('<IsTruncated>true</IsTruncated>');
    const without = await signed('GET', `/${bucket}?prefix=dir%2F&max-keys=1`);
    expect(without.body).not.toContain('NextMarker');
    expect(without.body).toContain('<IsTruncated>true</IsTruncated>');
    const next = await signed('GET', `/${bucket}?prefix=dir%2F&delimiter=%2F&marker=dir%2Fa%2F`);
    expect(next.body).toContain('<Prefix>dir/b/</Prefix>');
    expect(next.body).not.toContain('<Prefix>dir/a/</Prefix>');
  });

  it('bad arguments: InvalidArgument; a missing bucket: NoSuchBucket', async () => {
    for (const query of ['max-keys=-1', 'max-keys=abc', 'encoding-type=base64', 'continuation-token=forged']) {
      const res = await signed('GET', `/${bucket}?list-type=2&${query}`);
      expect(res.status, query).toBe(400);
      expect(errorCode(res.body), query).toBe('InvalidArgument');
    }
    const missing = await signed('GET', '/no-such-bucket-here?list-type=2');
    expect([missing.status, errorCode(missing.body)]).toEqual([404, 'NoSuchBucket']);
    const zero = await listV2('--max-keys', '0', '--no-paginate');
    expect(zero).toMatchObject({ KeyCount: 0, IsTruncated: false });
  });
});

describe('copy', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let bucket: string;
  beforeAll(async () => {
    bucket = await createBucket('s3obj-copy');
  });
  const copyArgs = (key: string, source: string, ...more: string[]) => [
    's3api',
    'copy-object',
    '--bucket',
    bucket,
    '--key',
    key,
    '--copy-source',
    source,
    ...more,
  ];

  it('CopyObject (SDK): bytes, type and metadata copied; REPLACE takes the request metadata; ObjectCreated:Copy fires', async () => {
    await sdk.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'src/data.csv',
        Body: 'a,b\n1,2\n',
        ContentType: 'text/csv',
        Metadata: { owner: 'ada' },
        CacheControl: 'max-age=60',
      }),
    );
    const copied = await sdk.send(new CopyObjectCommand({ Bucket: bucket, Key: 'dst/copy.csv', CopySource: `${bucket}/src/data.csv` }));
    expect(copied.CopyObjectResult?.ETag).toBe(md5('a,b\n1,2\n'));
    expect(copied.CopyObjectResult?.LastModified).toBeInstanceOf(Date);
    const head = await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: 'dst/copy.csv' }));
    expect(head).toMatchObject({ ContentType: 'text/csv', Metadata: { owner: 'ada' }, CacheControl: 'max-age=60', ContentLength: 8 });

    await sdk.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: 'dst/replaced.csv',
        CopySource: `${bucket}/src/data.csv`,
        MetadataDirective: 'REPLACE',
        ContentType: 'text/plain',
        Metadata: { owner: 'grace', stage: 'raw' },
      }),
    );
    const replaced = await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: 'dst/replaced.csv' }));
    expect(replaced).toMatchObject({ ContentType: 'text/plain', Metadata: { owner: 'grace', stage: 'raw' } });
    expect(replaced.CacheControl).toBeUndefined();
    const events = await objectEvents(bucket);
    expect(events).toContainEqual(['ObjectCreated:Copy', 'dst/copy.csv']);
    expect(events).toContainEqual(['ObjectCreated:Copy', 'dst/replaced.csv']);
  });

  it('aws s3api copy-object: URL-encoded source keys, metadata REPLACE, onto itself only with REPLACE', async () => {
    const key = 'odd name/ü+%.txt';
    await sdk.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'odd' }));
    // botocore URL-encodes the copy source itself
    await awsJson(copyArgs('odd-copy', `${bucket}/${key}`));
    // the SDK for JavaScript sends it as given: encoded by the caller
    await sdk.send(new CopyObjectCommand({ Bucket: bucket, Key: 'odd-copy-2', CopySource: `${bucket}/${encodeURIComponent(key)}` }));
    expect((await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: 'odd-copy-2' }))).ETag).toBe(md5('odd'));
    expect(await awsJson(['s3api', 'head-object', '--bucket', bucket, '--key', 'odd-copy'])).toMatchObject({
      ContentLength: 3,
      ETag: md5('odd'),
    });

    const self = await aws(server, admin, copyArgs('odd-copy', `${bucket}/odd-copy`));
    expect(self.code).not.toBe(0);
    expect(self.stderr).toContain('InvalidRequest');
    await awsJson(
      copyArgs(
        'odd-copy',
        `${bucket}/odd-copy`,
        '--metadata-directive',
        'REPLACE',
        '--metadata',
        'colour=blue',
        '--content-type',
        'text/x-odd',
      ),
    );
    expect(await awsJson(['s3api', 'head-object', '--bucket', bucket, '--key', 'odd-copy'])).toMatchObject({
      ContentType: 'text/x-odd',
      Metadata: { colour: 'blue' },
      ETag: md5('odd'),
    });
  });

  it('copy conditions: if-match / if-none-match / if-(un)modified-since give 412 and copy nothing', async () => {
    const source = await sdk.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond/src', Body: 'cond' }));
    const cases: Array<[Record<string, unknown>, boolean]> = [
      [{ CopySourceIfMatch: source.ETag }, true],
      [{ CopySourceIfMatch: '"0000"' }, false],
      [{ CopySourceIfNoneMatch: source.ETag }, false],
      [{ CopySourceIfNoneMatch: '"0000"' }, true],
      [{ CopySourceIfModifiedSince: new Date(Date.now() + 3600_000) }, false],
      [{ CopySourceIfUnmodifiedSince: new Date(Date.now() - 3600_000) }, false],
      [{ CopySourceIfUnmodifiedSince: new Date(Date.now() + 3600_000) }, true],
      // a matching if-match wins over a failing if-unmodified-since, as S3
      [{ CopySourceIfMatch: source.ETag, CopySourceIfUnmodifiedSince: new Date(Date.now() - 3600_000) }, true],
    ];
    for (const [i, [conditions, copies]] of cases.entries()) {
      const target = `cond/dst-${i}`;
      const result = await sdk
        .send(new CopyObjectCommand({ Bucket: bucket, Key: target, CopySource: `${bucket}/cond/src`, ...conditions }))
        .then(
          () => 'copied',
          (err: S3ServiceException) => `${err.$metadata.httpStatusCode} ${err.name}`,
        );
      expect(result, JSON.stringify(conditions)).toBe(copies ? 'copied' : '412 PreconditionFailed');
      const exists = await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: target })).then(
        () => true,
        () => false,
      );
      expect(exists).toBe(copies);
    }
  });

  it('hostile copy sources: traversal, no key, a version, a bucket the key may not read', async () => {
    await sdk.send(new PutObjectCommand({ Bucket: bucket, Key: 'safe', Body: 'safe' }));
    for (const source of [`${bucket}/../../etc/passwd`, `${bucket}/a/%2E%2E/safe`, `${bucket}`, `${bucket}/`, '%zz/x']) {
      const res = await signed('PUT', `/${bucket}/stolen`, '', { 'x-amz-copy-source': source });
      expect(res.status, source).toBe(400);
      expect(errorCode(res.body), source).toBe('InvalidArgument');
    }
    const version = await signed('PUT', `/${bucket}/stolen`, '', { 'x-amz-copy-source': `${bucket}/safe?versionId=v1` });
    expect([version.status, errorCode(version.body)]).toEqual([501, 'NotImplemented']);
    expect((await awsJson(['s3api', 'list-objects-v2', '--bucket', bucket, '--prefix', 'stolen'])) ?? {}).not.toHaveProperty('Contents');

    const copyToStolen = (key: S3Key, source: string) => aws(server, key, copyArgs('stolen', source));
    const writer = await createS3Key(server, 's3-objects-writer', ['buckets:PutObject']);
    const denied = await copyToStolen(writer, `${bucket}/safe`);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('AccessDenied');
    const reader = await createS3Key(server, 's3-objects-reader', ['buckets:GetObject', 'buckets:List*']);
    expect((await copyToStolen(reader, `${bucket}/safe`)).stderr).toContain('AccessDenied');
    expect((await copyToStolen(admin, `${bucket}/nothing-here`)).stderr).toContain('NoSuchKey');
    expect((await copyToStolen(admin, 'no-such-bucket-here/safe')).stderr).toContain('NoSuchBucket');
    expect(await fs.readdir(path.join(server.dataDir, 'buckets', bucket))).not.toContain('stolen');
  });
});

describe('delete many', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let bucket: string;
  beforeAll(async () => {
    bucket = await createBucket('s3obj-delete');
  });

  it('DeleteObjects (SDK): existing and missing keys are Deleted, each existing one with its ObjectRemoved:Delete; Quiet lists errors only', async () => {
    await putKeys(bucket, ['d/1', 'd/2', 'd/3', 'd/4']);
    const out = await sdk.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: [{ Key: 'd/1' }, { Key: 'd/2' }, { Key: 'd/missing' }, { Key: 'd/../x' }] },
      }),
    );
    expect(out.Deleted?.map((d) => d.Key).sort()).toEqual(['d/1', 'd/2', 'd/missing']);
    expect(out.Errors?.map((e) => [e.Key, e.Code])).toEqual([['d/../x', 'InvalidArgument']]);
    const quiet = await sdk.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Quiet: true, Objects: [{ Key: 'd/3' }, { Key: 'd/4' }] } }),
    );
    expect(quiet.Deleted ?? []).toEqual([]);
    expect(quiet.Errors ?? []).toEqual([]);
    const removed = (await objectEvents(bucket)).filter(([kind]) => kind === 'ObjectRemoved:Delete').map(([, key]) => key);
    expect(removed.sort()).toEqual(['d/1', 'd/2', 'd/3', 'd/4']);
    expect(await sdk.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'd/' }))).toMatchObject({ KeyCount: 0 });
  });

  it('aws s3 rm --recursive deletes many keys in batches (DeleteObjects with Content-MD5 or checksums)', async () => {
    const keys = Array.from({ length: 1200 }, (_, i) => `bulk/${i}`);
    await putKeys(bucket, keys);
    const rm = await aws(server, admin, ['s3', 'rm', '--recursive', '--quiet', `s3://${bucket}/bulk/`]);
    expect(rm.stderr).toBe('');
    expect(rm.code).toBe(0);
    expect((await sdk.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'bulk/' }))).KeyCount).toBe(0);
  });

  const deleteDoc = (keys: string[]) => `<Delete>${keys.map((k) => `<Object><Key>${k}</Key></Object>`).join('')}</Delete>`;
  const withMd5 = (body: string) => ({ 'content-md5': crypto.createHash('md5').update(body).digest('base64') });

  it('hostile documents: 1001 keys, none, malformed, deep, huge, no integrity check — refused, nothing deleted', async () => {
    await putKeys(bucket, ['keep']);
    const deep = `<Delete>${'<Object>'.repeat(5000)}<Key>keep</Key>${'</Object>'.repeat(5000)}</Delete>`;
    const huge = `<Delete><Object><Key>keep</Key></Object>${'<Object><Key>x</Key></Object>'.repeat(60_000)}</Delete>`;
    const documents: Array<[string, string, string, Record<string, string>?]> = [
      ['1001 keys', deleteDoc(Array.from({ length: 1001 }, (_, i) => (i === 0 ? 'keep' : `k${i}`))), 'MalformedXML'],
      ['no keys', '<Delete></Delete>', 'MalformedXML'],
      ['not XML', '<Delete><Object><Key>keep</Key></Object>', 'MalformedXML'],
      ['wrong root', '<Remove><Object><Key>keep</Key></Object></Remove>', 'MalformedXML'],
      [
        'entity bomb',
        '<!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><Delete><Object><Key>&b;</Key></Object></Delete>',
        'MalformedXML',
      ],
      ['deep', deep, 'MalformedXML'],
      ['huge', huge, 'MaxMessageLengthExceeded'],
      ['no Content-MD5', deleteDoc(['keep']), 'InvalidRequest', {}],
      ['wrong Content-MD5', deleteDoc(['keep']), 'BadDigest', { 'content-md5': crypto.createHash('md5').update('other').digest('base64') }],
    ];
    for (const [name, body, code, headers] of documents) {
      const res = await signed('POST', `/${bucket}?delete`, body, headers ?? withMd5(body));
      expect(res.status, name).toBe(400);
      expect(errorCode(res.body), name).toBe(code);
    }
    expect((await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: 'keep' }))).ContentLength).toBe(4);
    // entities a client writes are decoded, spaces kept: a key with & and < deletes that key, " keep " not "keep"
    await putKeys(bucket, ['a&b<c']);
    const spaced = deleteDoc([' keep ']);
    const notKeep = await signed('POST', `/${bucket}?delete`, spaced, withMd5(spaced));
    expect(notKeep.body).toContain('<Deleted><Key> keep </Key></Deleted>');
    expect((await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: 'keep' }))).ContentLength).toBe(4);
    const body = deleteDoc(['a&amp;b&lt;c']);
    const res = await signed('POST', `/${bucket}?delete`, body, withMd5(body));
    expect(res.status).toBe(200);
    expect(res.body).toContain('<Deleted><Key>a&amp;b&lt;c</Key></Deleted>');
    const denied = await createS3Key(server, 's3-objects-nodelete', ['buckets:GetObject', 'buckets:PutObject']);
    const refused = await signed('POST', `/${bucket}?delete`, deleteDoc(['keep']), withMd5(deleteDoc(['keep'])), denied);
    expect([refused.status, errorCode(refused.body)]).toEqual([403, 'AccessDenied']);
    expect((await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: 'keep' }))).ContentLength).toBe(4);
  });
});

describe('metadata', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('x-amz-meta-* and the stored headers round-trip through put, head and get; over 2 KB is MetadataTooLarge', async () => {
    const bucket = await createBucket('s3obj-meta');
    const file = path.join(work, 'meta.txt');
    await fs.writeFile(file, 'meta');
    await awsJson([
      's3api',
      'put-object',
      '--bucket',
      bucket,
      '--key',
      'm.txt',
      '--body',
      file,
      '--metadata',
      'Owner=ada,run-id=42',
      '--content-disposition',
      'attachment; filename="m.txt"',
      '--content-language',
      'en',
      '--cache-control',
      'no-cache',
      '--expires',
      '2030-01-01T00:00:00Z',
    ]);
    const head = await awsJson(['s3api', 'head-object', '--bucket', bucket, '--key', 'm.txt']);
    expect(head).toMatchObject({
      Metadata: { owner: 'ada', 'run-id': '42' },
      ContentDisposition: 'attachment; filename="m.txt"',
      ContentLanguage: 'en',
      CacheControl: 'no-cache',
    });
    expect(Date.parse(head.Expires ?? head.ExpiresString)).toBe(Date.parse('2030-01-01T00:00:00Z'));
    // aws-chunked is how the CLI framed the upload, not an encoding of the object
    expect(head.ContentEncoding).toBeUndefined();
    const gz = path.join(work, 'meta.gz');
    await fs.writeFile(gz, 'not really gzip');
    await awsJson(['s3api', 'put-object', '--bucket', bucket, '--key', 'm.gz', '--body', gz, '--content-encoding', 'gzip']);
    expect(await awsJson(['s3api', 'head-object', '--bucket', bucket, '--key', 'm.gz'])).toMatchObject({ ContentEncoding: 'gzip' });
    // the SDK for JavaScript sends a stream as aws-chunked with a trailing checksum, and says so in Content-Encoding
    await sdk.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'chunked.gz',
        Body: Readable.from([Buffer.from('abc')]),
        ContentLength: 3,
        ContentEncoding: 'gzip',
      }),
    );
    const chunked = await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: 'chunked.gz' }));
    expect([chunked.ContentEncoding, chunked.ContentLength]).toEqual(['gzip', 3]);
    await sdk.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'chunked.txt', Body: Readable.from([Buffer.from('abc')]), ContentLength: 3 }),
    );
    expect((await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: 'chunked.txt' }))).ContentEncoding).toBeUndefined();
    const script = `
import boto3, json, os
s3 = boto3.client('s3', endpoint_url=os.environ['ENDPOINT'])
r = s3.get_object(Bucket='${bucket}', Key='m.txt')
print(json.dumps({'meta': r['Metadata'], 'body': r['Body'].read().decode()}))
`;
    const got = await python(server, admin, script);
    expect(got.stderr).toBe('');
    expect(JSON.parse(got.stdout)).toEqual({ meta: { owner: 'ada', 'run-id': '42' }, body: 'meta' });
    // GraphQL shows the same object's user metadata
    const OBJECT = `query($bucket: String!, $key: String!) { object(bucket: $bucket, key: $key) { userMetadata { name value } } }`;
    expect((await server.data(OBJECT, { bucket, key: 'm.txt' })).object.userMetadata).toEqual([
      { name: 'owner', value: 'ada' },
      { name: 'run-id', value: '42' },
    ]);

    const fits = await sdk.send(new PutObjectCommand({ Bucket: bucket, Key: 'fits', Body: 'x', Metadata: { big: 'v'.repeat(2045) } }));
    expect(fits.ETag).toBe(md5('x'));
    const tooBig = await sdk
      .send(new PutObjectCommand({ Bucket: bucket, Key: 'too-big', Body: 'x', Metadata: { big: 'v'.repeat(2046) } }))
      .then(
        () => 'stored',
        (err: S3ServiceException) => `${err.$metadata.httpStatusCode} ${err.name}`,
      );
    expect(tooBig).toBe('400 MetadataTooLarge');
    expect(
      await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: 'too-big' })).then(
        () => true,
        () => false,
      ),
    ).toBe(false);
  });
});

describe('directory markers', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('a zero-byte key ending in "/" puts, lists, heads, gets (0 bytes) and deletes; keys live under it', async () => {
    const bucket = await createBucket('s3obj-marker');
    await awsJson(['s3api', 'put-object', '--bucket', bucket, '--key', 'folder/']);
    await putKeys(bucket, ['folder/inside.txt']);
    const listed = await awsJson(['s3api', 'list-objects-v2', '--bucket', bucket]);
    expect(listed.Contents.map((o: any) => [o.Key, o.Size])).toEqual([
      ['folder/', 0],
      ['folder/inside.txt', 17],
    ]);
    expect(await awsJson(['s3api', 'head-object', '--bucket', bucket, '--key', 'folder/'])).toMatchObject({ ContentLength: 0 });
    const out = path.join(work, 'marker.out');
    await awsJson(['s3api', 'get-object', '--bucket', bucket, '--key', 'folder/', out]);
    expect((await fs.stat(out)).size).toBe(0);
    const withBytes = await aws(server, admin, [
      's3api',
      'put-object',
      '--bucket',
      bucket,
      '--key',
      'full/',
      '--body',
      out.replace('marker.out', 'meta.txt'),
    ]);
    expect(withBytes.stderr).toContain('InvalidArgument');
    await awsJson(['s3api', 'delete-object', '--bucket', bucket, '--key', 'folder/']);
    const after = await awsJson(['s3api', 'list-objects-v2', '--bucket', bucket]);
    expect(after.Contents.map((o: any) => o.Key)).toEqual(['folder/inside.txt']);
  });
});

describe('sync a tree', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  async function makeTree(root: string): Promise<Map<string, Buffer>> {
    const files = new Map<string, Buffer>();
    const names = ['a.txt', 'sub/b.bin', 'sub/deeper/c.csv', 'sp ace/ü.txt', 'plus+/x', 'empty.txt'];
    for (const [i, name] of names.entries()) {
      const data = name === 'empty.txt' ? Buffer.alloc(0) : crypto.randomBytes(1000 * (i + 1));
      await fs.mkdir(path.dirname(path.join(root, name)), { recursive: true });
      await fs.writeFile(path.join(root, name), data);
      files.set(name, data);
    }
    return files;
  }
  async function readTree(root: string): Promise<Map<string, Buffer>> {
    const files = new Map<string, Buffer>();
    for (const entry of await fs.readdir(root, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const full = path.join(entry.parentPath, entry.name);
      files.set(path.relative(root, full), await fs.readFile(full));
    }
    return files;
  }

  it('aws s3 sync up, down into an empty dir (byte-identical), then sync --delete', async () => {
    const bucket = await createBucket('s3obj-sync');
    const up = path.join(work, 'sync-up');
    const tree = await makeTree(up);
    const push = await aws(server, admin, ['s3', 'sync', '--no-progress', up, `s3://${bucket}/tree/`]);
    expect(push.stderr).toBe('');
    const down = path.join(work, 'sync-down');
    await fs.mkdir(down);
    // a directory marker (as a console or s3a makes for an empty folder) travels as a directory, not a file
    await sdk.send(new PutObjectCommand({ Bucket: bucket, Key: 'tree/empty-folder/', Body: '' }));
    const pull = await aws(server, admin, ['s3', 'sync', '--no-progress', `s3://${bucket}/tree/`, down]);
    expect(pull.stderr).toBe('');
    expect(await readTree(down)).toEqual(tree);
    // nothing changed: a second sync transfers nothing
    expect((await aws(server, admin, ['s3', 'sync', '--no-progress', up, `s3://${bucket}/tree/`])).stdout).toBe('');

    await fs.rm(path.join(up, 'sub/b.bin'));
    const prune = await aws(server, admin, ['s3', 'sync', '--no-progress', '--delete', up, `s3://${bucket}/tree/`]);
    expect(prune.stdout).toContain('delete: s3://');
    const listed = await awsJson(['s3api', 'list-objects-v2', '--bucket', bucket, '--prefix', 'tree/']);
    // the CLI leaves directory markers alone (as on S3)
    expect(listed.Contents.map((o: any) => o.Key).sort()).toEqual(
      [...[...tree.keys()].filter((k) => k !== 'sub/b.bin'), 'empty-folder/'].map((k) => `tree/${k}`).sort(),
    );
  });

  it('rclone sync up and down, and rclone lsf -R', async () => {
    const bucket = await createBucket('s3obj-rclone');
    const up = path.join(work, 'rclone-up');
    const tree = await makeTree(up);
    const push = await rclone(server, admin, ['sync', up, `s3:${bucket}/tree`]);
    expect(push.stderr).toBe('');
    expect(push.code).toBe(0);
    const lsf = await rclone(server, admin, ['lsf', '-R', '--files-only', `s3:${bucket}/tree`]);
    expect(lsf.code).toBe(0);
    expect(lsf.stdout.trim().split('\n').sort()).toEqual([...tree.keys()].sort());
    const down = path.join(work, 'rclone-down');
    await sdk.send(new PutObjectCommand({ Bucket: bucket, Key: 'tree/empty-folder/', Body: '' }));
    const pull = await rclone(server, admin, ['sync', `s3:${bucket}/tree`, down]);
    expect(pull.stderr).toBe('');
    expect(await readTree(down)).toEqual(tree);
    // rclone check compares sizes and MD5s (our ETags) both ways
    expect((await rclone(server, admin, ['check', up, `s3:${bucket}/tree`])).code).toBe(0);
    await fs.rm(path.join(up, 'a.txt'));
    expect((await rclone(server, admin, ['sync', up, `s3:${bucket}/tree`])).code).toBe(0);
    expect((await rclone(server, admin, ['lsf', '-R', '--files-only', `s3:${bucket}/tree`])).stdout).not.toContain('a.txt');
  });
});
