// The S3 endpoint's core (docs/storage.md "S3 endpoint"): credentials, SigV4 in headers and query
// strings, aws-chunked bodies and checksums, bucket operations and single-object reads and writes,
// driven by the real clients (aws CLI, boto3, the AWS SDK for JavaScript, rclone, curl). Each CLI run
// starts a Python interpreter: the timeouts are generous for a loaded machine, not a measure.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import postgres from 'postgres';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT } from '../../../src/platform/aws-account.js';
import { run, waitUntil } from '../../support/processes.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { aws, createS3Key, python, rawRequest, rclone, type S3Key, s3Signer, sdkClient, signedRequest } from '../../support/s3.js';

const MAX_BYTES = 64 * 1024 * 1024;

/** A CRC as S3 writes it: the 4 bytes, big-endian, in base64. */
const crcBase64 = (value: number) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out.toString('base64');
};

/** CRC-32C (Castagnoli, reflected 0x82F63B78), bit by bit from its definition: independent of the endpoint's. */
function referenceCrc32c(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

let server: TestServer;
let admin: S3Key;
let s3: S3Client;
let db: postgres.Sql;
let work: string;
/** an aws CLI config that keeps `aws s3 cp` single-part (multipart is tested elsewhere) */
let singlePartConfig: string;

beforeAll(async () => {
  server = await startTestServer({ objectMaxBytes: MAX_BYTES });
  admin = await createS3Key(server, 's3-admin');
  s3 = sdkClient(server, admin);
  db = postgres(server.databaseUrl, { max: 2, onnotice: () => {} });
  work = await fs.mkdtemp(path.join(os.tmpdir(), 's3-core-'));
  singlePartConfig = path.join(work, 'aws-config');
  await fs.writeFile(singlePartConfig, '[default]\ns3 =\n    multipart_threshold = 64MB\n');
  const made = await aws(server, admin, ['s3api', 'create-bucket', '--bucket', 'core']);
  expect(made.stderr).toBe('');
});
afterAll(async () => {
  s3?.destroy();
  await db?.end();
  await server?.close();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

const md5 = (data: Buffer | string) => crypto.createHash('md5').update(data).digest('hex');
const OBJECT = `query($bucket: String!, $key: String!) { object(bucket: $bucket, key: $key) { key size etag contentType } }`;
const objectOf = async (bucket: string, key: string) => (await server.data(OBJECT, { bucket, key })).object;
const tempEntries = async () => fs.readdir(path.join(server.dataDir, 'tmp-objects'));
const errorCode = (xml: string) => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];
const curl = (args: string[]) => run('curl', ['-sS', '-o', '-', '-w', '\n%{http_code}', ...args], { PATH: process.env.PATH });
/** curl's body and status (the status is the last line, from -w) */
const curlResult = (out: string) => {
  const at = out.lastIndexOf('\n');
  return { body: out.slice(0, at), status: Number(out.slice(at + 1)) };
};
const sdkFailure = async (promise: Promise<unknown>) => {
  const err = (await promise.then(
    () => null,
    (e) => e,
  )) as { name: string; $metadata: { httpStatusCode: number }; message: string } | null;
  expect(err).not.toBeNull();
  return { name: err!.name, status: err!.$metadata?.httpStatusCode, message: err!.message };
};

describe('credentials', { timeout: 180_000 }, () => {
  it('createApiKey with s3Credentials shows the id and secret once; the secret is stored encrypted; apiKeys shows the id only', async () => {
    const key = await createS3Key(server, 'cred-shape');
    expect(key.accessKeyId).toMatch(/^EMB[A-Z2-7]{17}$/);
    expect(key.secretAccessKey).toMatch(/^[A-Za-z0-9]{40}$/);
    const { apiKeys } = await server.data(`{ apiKeys { id s3AccessKeyId } }`);
    expect(apiKeys.find((k: { id: string }) => k.id === key.id)).toEqual({ id: key.id, s3AccessKeyId: key.accessKeyId });
    const [row] = await db`select s3_access_key_id, s3_secret_sealed from api_keys where id = ${key.id}`;
    expect(row!.s3_access_key_id).toBe(key.accessKeyId);
    expect(row!.s3_secret_sealed).toMatch(/^v1:/);
    expect(row!.s3_secret_sealed).not.toContain(key.secretAccessKey);
    // a key made without asking has no S3 credentials
    const plain = await server.data(
      `mutation { createApiKey(input: { name: "no-s3" }) { apiKey { s3AccessKeyId } s3AccessKeyId s3SecretAccessKey } }`,
    );
    expect(plain.createApiKey).toEqual({ apiKey: { s3AccessKeyId: null }, s3AccessKeyId: null, s3SecretAccessKey: null });
  });

  it('a wrong secret is SignatureDoesNotMatch, an unknown key id InvalidAccessKeyId, a revoked key stops at once', async () => {
    const key = await createS3Key(server, 'cred-revoke');
    expect((await aws(server, key, ['s3api', 'list-buckets'])).code).toBe(0);
    const wrong = await aws(server, { ...key, secretAccessKey: `${key.secretAccessKey.slice(0, -1)}x` }, ['s3api', 'list-buckets']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('SignatureDoesNotMatch');
    const unknown = await aws(server, { ...key, accessKeyId: 'EMBAAAAAAAAAAAAAAAAA' }, ['s3api', 'list-buckets']);
    expect(unknown.stderr).toContain('InvalidAccessKeyId');
    await server.data(`mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { revokedAt } } }`, { id: key.id });
    const revoked = await aws(server, key, ['s3api', 'list-buckets']);
    expect(revoked.code).not.toBe(0);
    expect(revoked.stderr).toContain('InvalidAccessKeyId');
  });

  it('a key without buckets:PutObject gets AccessDenied and stores nothing; its GetObject works', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'core', Key: 'narrow/readable.txt', Body: 'readable' }));
    const reader = await createS3Key(server, 'cred-reader', ['buckets:GetObject']);
    const file = path.join(work, 'narrow.txt');
    await fs.writeFile(file, 'nope');
    const put = await aws(server, reader, ['s3api', 'put-object', '--bucket', 'core', '--key', 'narrow/new.txt', '--body', file]);
    expect(put.code).not.toBe(0);
    expect(put.stderr).toContain('AccessDenied');
    expect(await objectOf('core', 'narrow/new.txt')).toBeNull();
    const get = await aws(server, reader, ['s3', 'cp', 's3://core/narrow/readable.txt', '-']);
    expect(get.stdout).toBe('readable');
    const list = await aws(server, reader, ['s3api', 'list-buckets']);
    expect(list.stderr).toContain('AccessDenied');
  });

  it('anonymous requests and Signature Version 2 are refused with S3 XML; API-key clients still get JSON 404s', async () => {
    const anonymous = await rawRequest(server, 'GET', '/core/narrow/readable.txt', {});
    expect(anonymous.status).toBe(403);
    expect(errorCode(anonymous.body)).toBe('AccessDenied');
    expect(anonymous.headers['x-amz-request-id']).toMatch(/^[0-9A-F]{16}$/);
    const v2 = await rawRequest(server, 'GET', '/core/narrow/readable.txt', { authorization: `AWS ${admin.accessKeyId}:c2lnbmF0dXJl` });
    expect(v2.status).toBe(403);
    expect(v2.body).toContain('Signature Version 2 is not supported; use Signature Version 4');
    const v2Query = await rawRequest(
      server,
      'GET',
      `/core/narrow/readable.txt?AWSAccessKeyId=${admin.accessKeyId}&Signature=x&Expires=1`,
      {},
    );
    expect(errorCode(v2Query.body)).toBe('AccessDenied');
    // a query parameter named like V2's "Signature" (webhooks use it) does not make a request S3's
    for (const raw of ['/nope', '/nope?Signature=abc&Expires=1']) {
      const bearer = await rawRequest(server, 'GET', raw, { authorization: `Bearer ${server.key}` });
      expect(bearer.status).toBe(404);
      expect(JSON.parse(bearer.body).errors[0].extensions.code).toBe('NOT_FOUND');
    }
    // GraphQL and the /objects route are served as before
    expect((await rawRequest(server, 'GET', '/healthz', {})).status).toBe(200);
  });
});

describe('aws CLI', { timeout: 180_000 }, () => {
  it('s3 cp up and down, single-part: 0 B, 1 B, 5 MiB - 1, 5 MiB, 5 MiB + 1; ETag is the MD5, GraphQL sees the same object', async () => {
    for (const size of [0, 1, 5 * 1024 * 1024 - 1, 5 * 1024 * 1024, 5 * 1024 * 1024 + 1]) {
      const data = crypto.randomBytes(size);
      const file = path.join(work, `up-${size}`);
      await fs.writeFile(file, data);
      const up = await aws(server, admin, ['s3', 'cp', file, `s3://core/cp/${size}.bin`], { AWS_CONFIG_FILE: singlePartConfig });
      expect(up.stderr).toBe('');
      expect(await objectOf('core', `cp/${size}.bin`)).toEqual({
        key: `cp/${size}.bin`,
        size,
        etag: `"${md5(data)}"`,
        contentType: 'application/octet-stream',
      });
      const down = path.join(work, `down-${size}`);
      const got = await aws(server, admin, ['s3', 'cp', `s3://core/cp/${size}.bin`, down], { AWS_CONFIG_FILE: singlePartConfig });
      expect(got.stderr).toBe('');
      expect(md5(await fs.readFile(down))).toBe(md5(data));
    }
  });

  it('s3api put-object, head-object, get-object with a range, delete-object', async () => {
    const file = path.join(work, 'digits.txt');
    await fs.writeFile(file, '0123456789');
    const put = await aws(server, admin, [
      's3api',
      'put-object',
      '--bucket',
      'core',
      '--key',
      'api/digits.txt',
      '--body',
      file,
      '--content-type',
      'text/plain',
    ]);
    expect(JSON.parse(put.stdout).ETag).toBe(`"${md5('0123456789')}"`);
    const head = JSON.parse((await aws(server, admin, ['s3api', 'head-object', '--bucket', 'core', '--key', 'api/digits.txt'])).stdout);
    expect(head).toMatchObject({ ContentLength: 10, ContentType: 'text/plain', ETag: `"${md5('0123456789')}"`, AcceptRanges: 'bytes' });
    const out = path.join(work, 'range.out');
    const range = await aws(server, admin, [
      's3api',
      'get-object',
      '--bucket',
      'core',
      '--key',
      'api/digits.txt',
      '--range',
      'bytes=2-5',
      out,
    ]);
    expect(JSON.parse(range.stdout)).toMatchObject({ ContentLength: 4, ContentRange: 'bytes 2-5/10' });
    expect(await fs.readFile(out, 'utf8')).toBe('2345');
    expect((await aws(server, admin, ['s3api', 'delete-object', '--bucket', 'core', '--key', 'api/digits.txt'])).code).toBe(0);
    expect(await objectOf('core', 'api/digits.txt')).toBeNull();
    // deleting what is not there succeeds, as S3
    expect((await aws(server, admin, ['s3api', 'delete-object', '--bucket', 'core', '--key', 'api/digits.txt'])).code).toBe(0);
    const missing = await aws(server, admin, ['s3api', 'get-object', '--bucket', 'core', '--key', 'api/digits.txt', out]);
    expect(missing.stderr).toContain('NoSuchKey');
    const noBucket = await aws(server, admin, ['s3api', 'get-object', '--bucket', 'no-such-bucket', '--key', 'x', out]);
    expect(noBucket.stderr).toContain('NoSuchBucket');
  });

  it('bucket operations: create (with a configuration), list, head, location, refuse a non-empty delete, delete', async () => {
    const other = await aws(server, admin, [
      's3api',
      'create-bucket',
      '--bucket',
      'core-eu',
      '--create-bucket-configuration',
      'LocationConstraint=eu-west-1',
    ]);
    expect(other.stderr).toContain('IllegalLocationConstraintException');
    expect((await aws(server, admin, ['s3api', 'create-bucket', '--bucket', 'core-b'])).code).toBe(0);
    const again = await aws(server, admin, ['s3api', 'create-bucket', '--bucket', 'core-b']);
    expect(again.stderr).toContain('BucketAlreadyOwnedByYou');
    const badName = await aws(server, admin, ['s3api', 'create-bucket', '--bucket', 'Bad_Name']);
    expect(badName.code).not.toBe(0);
    const list = JSON.parse((await aws(server, admin, ['s3api', 'list-buckets'])).stdout);
    expect(list.Buckets.map((b: { Name: string }) => b.Name)).toEqual(expect.arrayContaining(['core', 'core-b']));
    // the one account's canonical id, as every owner the endpoint names
    expect(list.Owner).toEqual({ ID: ACCOUNT, DisplayName: 'emberplane' });
    expect((await aws(server, admin, ['s3api', 'head-bucket', '--bucket', 'core-b'])).code).toBe(0);
    const missingHead = await aws(server, admin, ['s3api', 'head-bucket', '--bucket', 'core-missing']);
    expect(missingHead.stderr).toContain('404');
    const location = JSON.parse((await aws(server, admin, ['s3api', 'get-bucket-location', '--bucket', 'core-b'])).stdout);
    expect(location.LocationConstraint ?? null).toBeNull();
    const file = path.join(work, 'keep.txt');
    await fs.writeFile(file, 'keep');
    await aws(server, admin, ['s3api', 'put-object', '--bucket', 'core-b', '--key', 'keep.txt', '--body', file]);
    const notEmpty = await aws(server, admin, ['s3api', 'delete-bucket', '--bucket', 'core-b']);
    expect(notEmpty.stderr).toContain('BucketNotEmpty');
    await aws(server, admin, ['s3api', 'delete-object', '--bucket', 'core-b', '--key', 'keep.txt']);
    expect((await aws(server, admin, ['s3api', 'delete-bucket', '--bucket', 'core-b'])).code).toBe(0);
    expect((await server.data(`{ buckets { name } }`)).buckets.map((b: { name: string }) => b.name)).not.toContain('core-b');
  });

  it('unimplemented subresources answer 501 NotImplemented, never a wrong success', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'core', Key: 'sub/readable.txt', Body: 'readable' }));
    for (const args of [
      ['get-bucket-acl', '--bucket', 'core'],
      ['get-bucket-versioning', '--bucket', 'core'],
      ['get-object-tagging', '--bucket', 'core', '--key', 'sub/readable.txt'],
      ['put-bucket-policy', '--bucket', 'core', '--policy', '{}'],
      ['delete-object', '--bucket', 'core', '--key', 'sub/readable.txt', '--version-id', '3HL4kqtJlcpXroDTDmJ'],
    ]) {
      const res = await aws(server, admin, ['s3api', ...args]);
      expect(res.code).not.toBe(0);
      expect(res.stderr).toContain('NotImplemented');
    }
    const part = (n: number) =>
      aws(server, admin, [
        's3api',
        'get-object',
        '--bucket',
        'core',
        '--key',
        'sub/readable.txt',
        '--part-number',
        String(n),
        path.join(work, `part${n}`),
      ]);
    expect((await part(2)).stderr).toContain('InvalidPartNumber');
    expect((await part(1)).stderr).toBe('');
    expect(await fs.readFile(path.join(work, 'part1'), 'utf8')).toBe('readable');
    // nothing was deleted by the versioned delete
    expect(await objectOf('core', 'sub/readable.txt')).toMatchObject({ size: 8 });
  });
});

describe('boto3', { timeout: 180_000 }, () => {
  it('put_object with its default checksum (CRC32) is verified and stored; get_object returns it with ChecksumMode', async () => {
    const res = await python(
      server,
      admin,
      `
import boto3, os, json
s3 = boto3.client('s3', endpoint_url=os.environ['ENDPOINT'])
put = s3.put_object(Bucket='core', Key='py/a.txt', Body=b'hello from boto3')
got = s3.get_object(Bucket='core', Key='py/a.txt', ChecksumMode='ENABLED')
print(json.dumps({'put': put.get('ChecksumCRC32'), 'get': got.get('ChecksumCRC32'), 'body': got['Body'].read().decode(), 'etag': got['ETag']}))
`,
    );
    expect(res.stderr).toBe('');
    const out = JSON.parse(res.stdout);
    const [row] = await db`select checksum from objects where bucket = 'core' and key = 'py/a.txt'`;
    // what boto3 sent over http: a CRC32 (header or trailer), which was verified and kept
    expect(row!.checksum.algorithm).toBe('crc32');
    expect(out).toEqual({
      put: row!.checksum.value,
      get: row!.checksum.value,
      body: 'hello from boto3',
      etag: `"${md5('hello from boto3')}"`,
    });
  });

  it('upload_file / download_file / head_object; a missing key is 404', async () => {
    const data = crypto.randomBytes(1024 * 1024 + 3);
    const file = path.join(work, 'boto-up.bin');
    await fs.writeFile(file, data);
    const res = await python(
      server,
      admin,
      `
import boto3, os, json, botocore
s3 = boto3.client('s3', endpoint_url=os.environ['ENDPOINT'])
s3.upload_file(os.environ['SRC'], 'core', 'py/up.bin')
s3.download_file('core', 'py/up.bin', os.environ['DST'])
head = s3.head_object(Bucket='core', Key='py/up.bin')
try:
    s3.head_object(Bucket='core', Key='py/none.bin')
    missing = None
except botocore.exceptions.ClientError as e:
    missing = e.response['Error']['Code']
print(json.dumps({'size': head['ContentLength'], 'etag': head['ETag'], 'missing': missing}))
`,
      { SRC: file, DST: path.join(work, 'boto-down.bin') },
    );
    expect(res.stderr).toBe('');
    expect(JSON.parse(res.stdout)).toEqual({ size: data.length, etag: `"${md5(data)}"`, missing: '404' });
    expect(md5(await fs.readFile(path.join(work, 'boto-down.bin')))).toBe(md5(data));
  });

  it('presigned GET and PUT URLs (SigV4) work with curl; a tampered one is SignatureDoesNotMatch', async () => {
    const res = await python(
      server,
      admin,
      `
import boto3, os, json
from botocore.config import Config
s3 = boto3.client('s3', endpoint_url=os.environ['ENDPOINT'], config=Config(signature_version='s3v4'))
print(json.dumps({
  'put': s3.generate_presigned_url('put_object', Params={'Bucket': 'core', 'Key': 'py/presigned.txt'}, ExpiresIn=300),
  'get': s3.generate_presigned_url('get_object', Params={'Bucket': 'core', 'Key': 'py/presigned.txt'}, ExpiresIn=300),
}))
`,
    );
    const urls = JSON.parse(res.stdout);
    const put = curlResult((await curl(['-X', 'PUT', '--data-binary', 'uploaded by curl', urls.put])).stdout);
    expect(put.status).toBe(200);
    const get = curlResult((await curl([urls.get])).stdout);
    expect(get).toEqual({ status: 200, body: 'uploaded by curl' });
    const tampered = curlResult(
      (await curl([urls.get.replace('py%2Fpresigned.txt', 'py%2Fother.txt').replace('py/presigned.txt', 'py/other.txt')])).stdout,
    );
    expect(tampered.status).toBe(403);
    expect(errorCode(tampered.body)).toBe('SignatureDoesNotMatch');
  });
});

describe('AWS SDK for JavaScript v3', { timeout: 180_000 }, () => {
  it('PutObject of a stream goes aws-chunked with a CRC32 trailer (its default): verified, stored, returned', async () => {
    const data = crypto.randomBytes(5 * 1024 * 1024 + 1);
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: 'core',
        Key: 'sdk/stream.bin',
        Body: Readable.from([data.subarray(0, 1000), data.subarray(1000)]),
        ContentLength: data.length,
      }),
    );
    expect(put.ETag).toBe(`"${md5(data)}"`);
    // the CRC32 the endpoint verified and stored, as Node's own zlib computes it
    expect(put.ChecksumCRC32).toBe(crcBase64(zlib.crc32(data)));
    const get = await s3.send(new GetObjectCommand({ Bucket: 'core', Key: 'sdk/stream.bin', ChecksumMode: 'ENABLED' }));
    expect(get.ChecksumCRC32).toBe(put.ChecksumCRC32);
    expect(md5(Buffer.from(await get.Body!.transformToByteArray()))).toBe(md5(data));
  });

  it('every checksum algorithm the SDK offers is verified: CRC32C, SHA1, SHA256', async () => {
    for (const algorithm of ['CRC32C', 'SHA1', 'SHA256'] as const) {
      const body = `checked with ${algorithm}`;
      const put = await s3.send(
        new PutObjectCommand({
          Bucket: 'core',
          Key: `sdk/${algorithm}.txt`,
          Body: Readable.from([Buffer.from(body)]),
          ContentLength: body.length,
          ChecksumAlgorithm: algorithm,
        }),
      );
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'core', Key: `sdk/${algorithm}.txt`, ChecksumMode: 'ENABLED' }));
      expect(head[`Checksum${algorithm}`]).toBe(put[`Checksum${algorithm}`]);
      const expected =
        algorithm === 'CRC32C'
          ? crcBase64(referenceCrc32c(Buffer.from(body)))
          : crypto.createHash(algorithm.toLowerCase()).update(body).digest('base64');
      expect(head[`Checksum${algorithm}`]).toBe(expected);
    }
  });

  it('a wrong Content-MD5 is BadDigest, a malformed one InvalidDigest, and nothing is stored', async () => {
    const bad = await sdkFailure(
      s3.send(
        new PutObjectCommand({
          Bucket: 'core',
          Key: 'sdk/md5.txt',
          Body: 'body',
          ContentMD5: crypto.createHash('md5').update('other').digest('base64'),
        }),
      ),
    );
    expect([bad.name, bad.status]).toEqual(['BadDigest', 400]);
    const malformed = await sdkFailure(
      s3.send(new PutObjectCommand({ Bucket: 'core', Key: 'sdk/md5.txt', Body: 'body', ContentMD5: 'bm90IG1kNQ==' })),
    );
    expect([malformed.name, malformed.status]).toEqual(['InvalidDigest', 400]);
    expect(await objectOf('core', 'sdk/md5.txt')).toBeNull();
    const good = await s3.send(
      new PutObjectCommand({
        Bucket: 'core',
        Key: 'sdk/md5.txt',
        Body: 'body',
        ContentMD5: crypto.createHash('md5').update('body').digest('base64'),
      }),
    );
    expect(good.ETag).toBe(`"${md5('body')}"`);
  });

  it('Range, If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since', async () => {
    const { ETag } = await s3.send(new PutObjectCommand({ Bucket: 'core', Key: 'sdk/cond.txt', Body: 'abcdefgh' }));
    const range = await s3.send(new GetObjectCommand({ Bucket: 'core', Key: 'sdk/cond.txt', Range: 'bytes=1-3' }));
    expect([range.ContentRange, await range.Body!.transformToString()]).toEqual(['bytes 1-3/8', 'bcd']);
    const suffix = await s3.send(new GetObjectCommand({ Bucket: 'core', Key: 'sdk/cond.txt', Range: 'bytes=-2' }));
    expect(await suffix.Body!.transformToString()).toBe('gh');
    const unsatisfiable = await sdkFailure(s3.send(new GetObjectCommand({ Bucket: 'core', Key: 'sdk/cond.txt', Range: 'bytes=100-' })));
    expect([unsatisfiable.name, unsatisfiable.status]).toEqual(['InvalidRange', 416]);
    const match = await s3.send(new GetObjectCommand({ Bucket: 'core', Key: 'sdk/cond.txt', IfMatch: ETag }));
    expect(await match.Body!.transformToString()).toBe('abcdefgh');
    expect((await sdkFailure(s3.send(new GetObjectCommand({ Bucket: 'core', Key: 'sdk/cond.txt', IfMatch: '"other"' })))).status).toBe(412);
    expect((await sdkFailure(s3.send(new GetObjectCommand({ Bucket: 'core', Key: 'sdk/cond.txt', IfNoneMatch: ETag })))).status).toBe(304);
    const future = new Date(Date.now() + 3_600_000);
    const past = new Date(Date.now() - 3_600_000);
    expect((await sdkFailure(s3.send(new GetObjectCommand({ Bucket: 'core', Key: 'sdk/cond.txt', IfModifiedSince: future })))).status).toBe(
      304,
    );
    expect((await sdkFailure(s3.send(new GetObjectCommand({ Bucket: 'core', Key: 'sdk/cond.txt', IfUnmodifiedSince: past })))).status).toBe(
      412,
    );
    const modified = await s3.send(new GetObjectCommand({ Bucket: 'core', Key: 'sdk/cond.txt', IfModifiedSince: past }));
    expect(modified.$metadata.httpStatusCode).toBe(200);
    await modified.Body!.transformToString();
    // If-Match wins over a failing If-Unmodified-Since (RFC 9110, as S3)
    const both = await s3.send(new GetObjectCommand({ Bucket: 'core', Key: 'sdk/cond.txt', IfMatch: ETag, IfUnmodifiedSince: past }));
    expect(await both.Body!.transformToString()).toBe('abcdefgh');
  });

  it('presigned GET and PUT URLs from @aws-sdk/s3-request-presigner work with curl; an expired one is refused', async () => {
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'core', Key: 'sdk/presigned.txt' }), { expiresIn: 300 });
    expect(curlResult((await curl(['-X', 'PUT', '--data-binary', 'via presigned PUT', putUrl])).stdout).status).toBe(200);
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'core', Key: 'sdk/presigned.txt' }), { expiresIn: 300 });
    expect(curlResult((await curl([getUrl])).stdout)).toEqual({ status: 200, body: 'via presigned PUT' });
    const expiredUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'core', Key: 'sdk/presigned.txt' }), {
      expiresIn: 60,
      signingDate: new Date(Date.now() - 3_600_000),
    });
    const expired = curlResult((await curl([expiredUrl])).stdout);
    expect(expired.status).toBe(403);
    expect(errorCode(expired.body)).toBe('AccessDenied');
    expect(expired.body).toContain('Request has expired');
    const overAWeek = getUrl.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=604801');
    expect(curlResult((await curl([overAWeek])).stdout).status).toBe(400);
  });

  it('keys with spaces, plus signs, percent signs and non-ASCII letters round-trip (the raw path is what was signed)', async () => {
    const key = 'odd keys/a b+c%d ü €.txt';
    await s3.send(new PutObjectCommand({ Bucket: 'core', Key: key, Body: 'odd' }));
    expect(await objectOf('core', key)).toMatchObject({ key, size: 3 });
    const cli = await aws(server, admin, ['s3', 'cp', `s3://core/${key}`, '-']);
    expect([cli.stderr, cli.stdout]).toEqual(['', 'odd']);
    const py = await python(
      server,
      admin,
      `
import boto3, os
s3 = boto3.client('s3', endpoint_url=os.environ['ENDPOINT'])
print(s3.get_object(Bucket='core', Key=os.environ['KEY'])['Body'].read().decode(), end='')
`,
      { KEY: key },
    );
    expect([py.stderr, py.stdout]).toEqual(['', 'odd']);
  });

  it('writes asking for what is not implemented (conditional PUT, SSE-C, tagging) are 501, and store nothing', async () => {
    const conditional = await sdkFailure(
      s3.send(new PutObjectCommand({ Bucket: 'core', Key: 'sdk/cond-put.txt', Body: 'x', IfNoneMatch: '*' })),
    );
    expect([conditional.name, conditional.status]).toEqual(['NotImplemented', 501]);
    const tagged = await sdkFailure(s3.send(new PutObjectCommand({ Bucket: 'core', Key: 'sdk/cond-put.txt', Body: 'x', Tagging: 'a=b' })));
    expect([tagged.name, tagged.status]).toEqual(['NotImplemented', 501]);
    expect(await objectOf('core', 'sdk/cond-put.txt')).toBeNull();
  });

  it('racing writers of one key: the object is one of them whole, its ETag matching its bytes', async () => {
    const bodies = Array.from({ length: 8 }, (_, i) => crypto.randomBytes(256 * 1024 + i));
    await Promise.all(bodies.map((body) => s3.send(new PutObjectCommand({ Bucket: 'core', Key: 'sdk/race.bin', Body: body }))));
    const got = Buffer.from(
      await (await s3.send(new GetObjectCommand({ Bucket: 'core', Key: 'sdk/race.bin' }))).Body!.transformToByteArray(),
    );
    expect(bodies.some((b) => b.equals(got))).toBe(true);
    expect((await objectOf('core', 'sdk/race.bin')).etag).toBe(`"${md5(got)}"`);
  });
});

describe('payloads and hostile requests', { timeout: 180_000 }, () => {
  it('a body whose SHA-256 is not x-amz-content-sha256 is XAmzContentSHA256Mismatch and leaves nothing behind', async () => {
    const res = await signedRequest(server, admin, {
      method: 'PUT',
      path: '/core/raw/sha.txt',
      body: 'the real body',
      payloadHash: crypto.createHash('sha256').update('another body').digest('hex'),
    });
    expect([res.status, errorCode(res.body)]).toEqual([400, 'XAmzContentSHA256Mismatch']);
    expect(await objectOf('core', 'raw/sha.txt')).toBeNull();
    expect(await tempEntries()).toEqual([]);
  });

  it('bodies past one write batch (hashed by the digest threads): SHA-256, Content-MD5 and CRC32 each checked once, a mismatch stores nothing', async () => {
    const data = crypto.randomBytes(3 * 1024 * 1024 + 5);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(data));
    const contentMd5 = crypto.createHash('md5').update(data).digest('base64');
    const good = await signedRequest(server, admin, {
      method: 'PUT',
      path: '/core/raw/big-checked.bin',
      body: data,
      headers: { 'content-md5': contentMd5, 'x-amz-checksum-crc32': crc.toString('base64') },
    });
    expect(good.status).toBe(200);
    expect(good.headers.etag).toBe(`"${md5(data)}"`);
    expect(good.headers['x-amz-checksum-crc32']).toBe(crc.toString('base64'));
    expect(await objectOf('core', 'raw/big-checked.bin')).toMatchObject({ size: data.length, etag: `"${md5(data)}"` });

    const other = Buffer.from(data);
    other[other.length - 1]! ^= 1;
    const refusals: Array<[string, Parameters<typeof signedRequest>[2], string]> = [
      [
        'sha',
        { method: 'PUT', path: '/core/raw/big-sha.bin', body: other, payloadHash: crypto.createHash('sha256').update(data).digest('hex') },
        'XAmzContentSHA256Mismatch',
      ],
      ['md5', { method: 'PUT', path: '/core/raw/big-md5.bin', body: other, headers: { 'content-md5': contentMd5 } }, 'BadDigest'],
      [
        'crc',
        { method: 'PUT', path: '/core/raw/big-crc.bin', body: other, headers: { 'x-amz-checksum-crc32': crc.toString('base64') } },
        'BadDigest',
      ],
    ];
    for (const [name, request, code] of refusals) {
      const res = await signedRequest(server, admin, request);
      expect([name, res.status, errorCode(res.body)]).toEqual([name, 400, code]);
      expect(await objectOf('core', request.path.slice('/core/'.length))).toBeNull();
    }
    expect(await tempEntries()).toEqual([]);
  });

  it('STREAMING-AWS4-HMAC-SHA256-PAYLOAD: chained chunk signatures verified; a tampered chunk signature stores nothing', async () => {
    const chunks = [crypto.randomBytes(70_000), crypto.randomBytes(1234)];
    const total = chunks[0]!.length + chunks[1]!.length;
    const emptyHash = crypto.createHash('sha256').digest('hex');
    const send = async (key: string, tamper: boolean) => {
      // the seed request is signed first; each chunk's signature chains from the one before
      let body: Buffer = Buffer.alloc(0);
      const headers = { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(total) };
      const signer = s3Signer(admin);
      const date = new Date();
      const longDate = date
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}/, '');
      const scope = `${longDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
      const seedRequest = await signer.sign(
        {
          method: 'PUT',
          protocol: 'http:',
          hostname: '127.0.0.1',
          path: `/core/${key}`,
          query: {},
          headers: { host: new URL(server.url).host, 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', ...headers },
        },
        { signingDate: date },
      );
      let previous = /Signature=([0-9a-f]{64})/.exec(seedRequest.headers.authorization!)![1]!;
      for (const chunk of [...chunks, Buffer.alloc(0)]) {
        const hash = crypto.createHash('sha256').update(chunk).digest('hex');
        let signature = await signer.sign(['AWS4-HMAC-SHA256-PAYLOAD', longDate, scope, previous, emptyHash, hash].join('\n'), {
          signingDate: date,
        });
        previous = signature;
        if (tamper && chunk.length === 1234) signature = signature.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
        body = Buffer.concat([
          body,
          Buffer.from(`${chunk.length.toString(16)};chunk-signature=${signature}\r\n`),
          chunk,
          Buffer.from('\r\n'),
        ]);
      }
      const sent = { ...(seedRequest.headers as Record<string, string>), 'content-length': String(body.length) };
      return rawRequest(server, 'PUT', `/core/${key}`, sent, body);
    };
    const good = await send('raw/chunked.bin', false);
    expect(good.status).toBe(200);
    expect(good.headers.etag).toBe(`"${md5(Buffer.concat(chunks))}"`);
    const bad = await send('raw/tampered.bin', true);
    expect([bad.status, errorCode(bad.body)]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(await objectOf('core', 'raw/tampered.bin')).toBeNull();
    expect(await tempEntries()).toEqual([]);
  });

  it('STREAMING-UNSIGNED-PAYLOAD-TRAILER with a wrong x-amz-checksum-crc32 trailer is BadDigest and stores nothing', async () => {
    const data = Buffer.from('trailer-checked bytes');
    const body = Buffer.concat([
      Buffer.from(`${data.length.toString(16)}\r\n`),
      data,
      Buffer.from('\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n'),
    ]);
    const res = await signedRequest(server, admin, {
      method: 'PUT',
      path: '/core/raw/trailer.txt',
      body,
      payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      headers: {
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': String(data.length),
        'x-amz-trailer': 'x-amz-checksum-crc32',
      },
    });
    expect([res.status, errorCode(res.body)]).toEqual([400, 'BadDigest']);
    expect(await objectOf('core', 'raw/trailer.txt')).toBeNull();
    expect(await tempEntries()).toEqual([]);
  });

  it('an upload cut off midway leaves neither object nor temp file', async () => {
    const url = new URL(server.url);
    // a PUT signed like any other, whose client goes away after half of the body it announced
    const signer = s3Signer(admin);
    const request = await signer.sign({
      method: 'PUT',
      protocol: 'http:',
      hostname: url.hostname,
      path: '/core/raw/cut.bin',
      query: {},
      headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-length': String(1024 * 1024) },
    });
    await new Promise<void>((resolve) => {
      const req = http.request({ host: url.hostname, port: url.port, method: 'PUT', path: '/core/raw/cut.bin', headers: request.headers });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.write(Buffer.alloc(512 * 1024), () => req.destroy());
    });
    await waitUntil(async () => (await tempEntries()).length === 0, 'the temp file of the cut upload to be removed');
    expect(await objectOf('core', 'raw/cut.bin')).toBeNull();
  });

  it('errors of HEAD requests have a status and no body, as S3', async () => {
    const head = await signedRequest(server, admin, { method: 'HEAD', path: '/core/no/such/key' });
    expect([head.status, head.body, head.headers['x-amz-request-id']]).toEqual([404, '', expect.stringMatching(/^[0-9A-F]{16}$/)]);
  });

  it('a date more than 15 minutes off is RequestTimeTooSkewed', async () => {
    const res = await signedRequest(server, admin, {
      method: 'GET',
      path: '/core/narrow/readable.txt',
      signingDate: new Date(Date.now() - 20 * 60_000),
    });
    expect([res.status, errorCode(res.body)]).toEqual([403, 'RequestTimeTooSkewed']);
  });

  it('keys that escape their bucket are refused: InvalidArgument, nothing written outside', async () => {
    for (const raw of ['/core/a/../../escape.txt', '/core/%2e%2e/escape.txt', '/core/a//b.txt']) {
      const res = await signedRequest(server, admin, { method: 'PUT', path: raw, body: 'x' });
      expect([raw, res.status, errorCode(res.body)]).toEqual([raw, 400, 'InvalidArgument']);
    }
    await expect(fs.access(path.join(server.dataDir, 'buckets', 'escape.txt'))).rejects.toThrow();
  });

  it('a key that would be a "directory" of another is a 409 OperationAborted', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'core', Key: 'clash/file', Body: 'f' }));
    const clash = await sdkFailure(s3.send(new PutObjectCommand({ Bucket: 'core', Key: 'clash/file/inner', Body: 'g' })));
    expect([clash.name, clash.status]).toEqual(['OperationAborted', 409]);
  });

  it('an upload declaring more than OBJECT_MAX_BYTES is EntityTooLarge before its body is read', async () => {
    const res = await signedRequest(server, admin, {
      method: 'PUT',
      path: '/core/raw/huge.bin',
      payloadHash: 'UNSIGNED-PAYLOAD',
      headers: { 'content-length': String(MAX_BYTES + 1) },
      body: '',
    }).catch((err: Error) => ({ status: 0, body: err.message }));
    // the server answers at once and closes: the body it refused is never sent
    expect(res.status === 0 || (res.status === 400 && errorCode(res.body) === 'EntityTooLarge')).toBe(true);
    expect(await objectOf('core', 'raw/huge.bin')).toBeNull();
  });

  it('virtual-hosted-style addressing: <bucket>.localhost names the bucket', async () => {
    const host = `core.localhost:${new URL(server.url).port}`;
    const put = await signedRequest(server, admin, { method: 'PUT', path: '/vhost/a.txt', host, body: 'virtual' });
    expect(put.status).toBe(200);
    expect(await objectOf('core', 'vhost/a.txt')).toMatchObject({ size: 7 });
    const get = await signedRequest(server, admin, { method: 'GET', path: '/vhost/a.txt', host });
    expect([get.status, get.body]).toEqual([200, 'virtual']);
  });

  it('a malformed or deeply nested CreateBucketConfiguration is MalformedXML; nothing is created', async () => {
    const res = await signedRequest(server, admin, {
      method: 'PUT',
      path: '/core-xml',
      body: '<CreateBucketConfiguration><LocationConstraint>',
    });
    expect([res.status, errorCode(res.body)]).toEqual([400, 'MalformedXML']);
    const deep = `${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}`;
    const nested = await signedRequest(server, admin, { method: 'PUT', path: '/core-xml', body: deep });
    expect([nested.status, errorCode(nested.body)]).toEqual([400, 'MalformedXML']);
    const huge = await signedRequest(server, admin, { method: 'PUT', path: '/core-xml', body: Buffer.alloc(2 * 1024 * 1024, ' ') });
    expect([huge.status, errorCode(huge.body)]).toEqual([400, 'MaxMessageLengthExceeded']);
    expect((await server.data(`{ buckets { name } }`)).buckets.map((b: { name: string }) => b.name)).not.toContain('core-xml');
  });
});

describe('rclone and events', { timeout: 180_000 }, () => {
  it('rclone copies a file up and back down', async () => {
    const data = crypto.randomBytes(300_000);
    const file = path.join(work, 'rclone-up.bin');
    await fs.writeFile(file, data);
    const up = await rclone(server, admin, ['copyto', file, 's3:core/rclone/one.bin']);
    expect(up.stderr).toBe('');
    expect(await objectOf('core', 'rclone/one.bin')).toMatchObject({ size: data.length, etag: `"${md5(data)}"` });
    const down = await rclone(server, admin, ['copyto', 's3:core/rclone/one.bin', path.join(work, 'rclone-down.bin')]);
    expect(down.stderr).toBe('');
    expect(md5(await fs.readFile(path.join(work, 'rclone-down.bin')))).toBe(md5(data));
  });

  it('S3 writes and deletes record the same object events as every other write (the bucket triggers outbox)', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'core', Key: 'events/e.txt', Body: 'evented' }));
    await aws(server, admin, ['s3api', 'delete-object', '--bucket', 'core', '--key', 'events/e.txt']);
    const rows = await db`select kind, size, etag from object_events where bucket = 'core' and key = 'events/e.txt' order by seq`;
    expect(rows.map((r) => ({ ...r, size: Number(r.size) }))).toEqual([
      { kind: 'ObjectCreated:Put', size: 7, etag: `"${md5('evented')}"` },
      { kind: 'ObjectRemoved:Delete', size: 7, etag: `"${md5('evented')}"` },
    ]);
  });
});
