// S3 multipart uploads with the real clients: the aws CLI (multipart above its 8 MiB threshold),
// boto3 (upload_file and every call by hand), @aws-sdk/lib-storage (CRC32 per part), rclone, the
// JavaScript SDK for UploadPartCopy and the error paths, a least-permission key, kill -9 of the
// server mid-upload, and the bucket trigger of CompleteMultipartUpload.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Crc32 } from '@aws-crypto/crc32';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildServer, startChildServer } from '../../support/child-server.js';
import { gqlData } from '../../support/client.js';
import { createTestDatabase } from '../../support/db.js';
import { deploy } from '../../support/functions.js';
import { waitUntil } from '../../support/processes.js';
import { aws as awsCli, createS3Key, python, rclone, type S3Key, sdkClient } from '../../support/s3.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { createTrigger, deliveriesOf, waitForDeliveries } from '../../support/triggers.js';

const MiB = 1024 * 1024;
const CREATE_BUCKET = `mutation($name: String!) { createBucket(input: { name: $name }) { bucket { name } } }`;

let server: TestServer;
let admin: S3Key;
let work: string;
let bigFile: string;
const bucket = 'mp-clients';

const aws = (args: string[], key: S3Key = admin) => awsCli(server, key, args);

/** A python3 script with boto3's client `s3` (path-style, this endpoint) and `code_of`; its last line of output parsed as JSON. */
async function boto(script: string, key: S3Key = admin): Promise<any> {
  const prelude = `import boto3, json, os
from botocore.config import Config
from botocore.exceptions import ClientError
s3 = boto3.client('s3', endpoint_url=os.environ['ENDPOINT'], region_name='us-east-1',
  config=Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))
def code_of(fn):
    try:
        fn()
        return 'OK'
    except ClientError as e:
        return e.response['Error']['Code']
`;
  const out = await python(server, key, prelude + script);
  expect(out.code, out.stderr).toBe(0);
  return JSON.parse(out.stdout.trim().split('\n').pop()!);
}

/** S3's multipart ETag of a file cut into `partSize` parts. */
async function multipartEtagOf(file: string, partSize: number): Promise<string> {
  const data = await fs.readFile(file);
  const md5s: Buffer[] = [];
  for (let at = 0; at < data.length; at += partSize)
    md5s.push(
      crypto
        .createHash('md5')
        .update(data.subarray(at, at + partSize))
        .digest(),
    );
  return `"${crypto.createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${md5s.length}"`;
}

const sha256 = async (file: string) =>
  crypto
    .createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');
const sha256Of = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

async function errorCode(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e) => e,
  );
  expect(err, 'expected an S3 error').toBeInstanceOf(S3ServiceException);
  return (err as S3ServiceException).name;
}

async function bodyOf(client: S3Client, key: string, b = bucket): Promise<Buffer> {
  const got = await client.send(new GetObjectCommand({ Bucket: b, Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

/** Upload ids of the bucket's uploads in progress (ListMultipartUploads through the SDK). */
async function uploadsInProgress(client: S3Client, b = bucket): Promise<string[]> {
  const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: b }));
  return (listed.Uploads ?? []).map((u) => u.UploadId!);
}

beforeAll(async () => {
  server = await startTestServer();
  admin = await createS3Key(server, 'mp-admin');
  await server.data(CREATE_BUCKET, { name: bucket });
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'emberplane-mp-clients-'));
  bigFile = path.join(work, 'big.bin');
  const handle = await fs.open(bigFile, 'w');
  for (let i = 0; i < 100; i++) await handle.write(crypto.randomBytes(MiB));
  await handle.close();
});
afterAll(async () => {
  await server?.close();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

describe('S3 multipart uploads with real clients', () => {
  it('aws s3 cp of 100 MiB goes up in 8 MiB parts and comes down byte-identical, with the "-13" ETag', async () => {
    const up = await aws(['s3', 'cp', bigFile, `s3://${bucket}/cli/big.bin`]);
    expect(up.code, up.stderr).toBe(0);
    const head = await aws(['s3api', 'head-object', '--bucket', bucket, '--key', 'cli/big.bin']);
    expect(head.code, head.stderr).toBe(0);
    const meta = JSON.parse(head.stdout);
    expect(meta.ETag).toBe(await multipartEtagOf(bigFile, 8 * MiB));
    expect(meta.ETag).toMatch(/-13"$/);
    expect(meta.ContentLength).toBe(100 * MiB);
    const down = path.join(work, 'big.down');
    const get = await aws(['s3', 'cp', `s3://${bucket}/cli/big.bin`, down]);
    expect(get.code, get.stderr).toBe(0);
    expect(await sha256(down)).toBe(await sha256(bigFile));
    await fs.rm(down);
    // nothing left behind: no upload in progress, no part files
    expect(await uploadsInProgress(sdkClient(server, admin))).toEqual([]);
    expect(await fs.readdir(path.join(server.dataDir, 'multipart'))).toEqual([]);
  });

  it('boto3: upload_file in small parts, then create / upload_part / list_parts / complete / abort by hand, and the error paths', async () => {
    const file = path.join(work, 'boto.bin');
    await fs.writeFile(file, crypto.randomBytes(12 * MiB + 7));
    const result = await boto(`
from boto3.s3.transfer import TransferConfig
cfg = TransferConfig(multipart_threshold=5*1024*1024, multipart_chunksize=5*1024*1024, max_concurrency=2)
s3.upload_file(${JSON.stringify(file)}, '${bucket}', 'boto/auto.bin', Config=cfg, ExtraArgs={'ContentType': 'application/x-boto'})
auto = s3.head_object(Bucket='${bucket}', Key='boto/auto.bin')

key = 'boto/manual.bin'
up = s3.create_multipart_upload(Bucket='${bucket}', Key=key, ContentType='text/csv', Metadata={'origin': 'boto'})
uid = up['UploadId']
big = b'a' * (5*1024*1024)
p1 = s3.upload_part(Bucket='${bucket}', Key=key, UploadId=uid, PartNumber=1, Body=big)
p2 = s3.upload_part(Bucket='${bucket}', Key=key, UploadId=uid, PartNumber=2, Body=b'tail')
listed = s3.list_parts(Bucket='${bucket}', Key=key, UploadId=uid)
paged = s3.list_parts(Bucket='${bucket}', Key=key, UploadId=uid, MaxParts=1)
uploads = s3.list_multipart_uploads(Bucket='${bucket}', Prefix='boto/')
parts = [{'PartNumber': 1, 'ETag': p1['ETag']}, {'PartNumber': 2, 'ETag': p2['ETag']}]
codes = {
  'wrong_etag': code_of(lambda: s3.complete_multipart_upload(Bucket='${bucket}', Key=key, UploadId=uid,
      MultipartUpload={'Parts': [{'PartNumber': 1, 'ETag': '"0123456789abcdef0123456789abcdef"'}]})),
  'out_of_order': code_of(lambda: s3.complete_multipart_upload(Bucket='${bucket}', Key=key, UploadId=uid,
      MultipartUpload={'Parts': list(reversed(parts))})),
  'unknown_upload': code_of(lambda: s3.complete_multipart_upload(Bucket='${bucket}', Key=key, UploadId='x' * 32,
      MultipartUpload={'Parts': parts})),
  'part_0': code_of(lambda: s3.upload_part(Bucket='${bucket}', Key=key, UploadId=uid, PartNumber=0, Body=b'x')),
  'part_10001': code_of(lambda: s3.upload_part(Bucket='${bucket}', Key=key, UploadId=uid, PartNumber=10001, Body=b'x')),
  'other_key': code_of(lambda: s3.list_parts(Bucket='${bucket}', Key='boto/other.bin', UploadId=uid)),
  'no_parts': code_of(lambda: s3.complete_multipart_upload(Bucket='${bucket}', Key=key, UploadId=uid, MultipartUpload={'Parts': []})),
  # a part whose bytes fail their Content-MD5 is not stored (part 1 stays as it was)
  'bad_md5': code_of(lambda: s3.upload_part(Bucket='${bucket}', Key=key, UploadId=uid, PartNumber=1, Body=b'other bytes',
      ContentMD5='AAAAAAAAAAAAAAAAAAAAAA==')),
}
codes['parts_after_bad_md5'] = [[p['PartNumber'], p['ETag']] for p in s3.list_parts(Bucket='${bucket}', Key=key, UploadId=uid)['Parts']] == [[p['PartNumber'], p['ETag']] for p in parts]
done = s3.complete_multipart_upload(Bucket='${bucket}', Key=key, UploadId=uid, MultipartUpload={'Parts': parts})
manual = s3.head_object(Bucket='${bucket}', Key=key)
codes['complete_twice'] = code_of(lambda: s3.complete_multipart_upload(Bucket='${bucket}', Key=key, UploadId=uid,
    MultipartUpload={'Parts': parts}))

small = s3.create_multipart_upload(Bucket='${bucket}', Key='boto/small.bin')['UploadId']
s1 = s3.upload_part(Bucket='${bucket}', Key='boto/small.bin', UploadId=small, PartNumber=1, Body=b'too small')
s2 = s3.upload_part(Bucket='${bucket}', Key='boto/small.bin', UploadId=small, PartNumber=2, Body=b'last')
codes['too_small'] = code_of(lambda: s3.complete_multipart_upload(Bucket='${bucket}', Key='boto/small.bin', UploadId=small,
    MultipartUpload={'Parts': [{'PartNumber': 1, 'ETag': s1['ETag']}, {'PartNumber': 2, 'ETag': s2['ETag']}]}))
s3.abort_multipart_upload(Bucket='${bucket}', Key='boto/small.bin', UploadId=small)
codes['complete_after_abort'] = code_of(lambda: s3.complete_multipart_upload(Bucket='${bucket}', Key='boto/small.bin', UploadId=small,
    MultipartUpload={'Parts': [{'PartNumber': 1, 'ETag': s1['ETag']}]}))
codes['abort_twice'] = code_of(lambda: s3.abort_multipart_upload(Bucket='${bucket}', Key='boto/small.bin', UploadId=small))
codes['small_exists'] = code_of(lambda: s3.head_object(Bucket='${bucket}', Key='boto/small.bin'))
print(json.dumps({
  'auto': {'etag': auto['ETag'], 'size': auto['ContentLength'], 'type': auto['ContentType']},
  'listed': [[p['PartNumber'], p['Size'], p['ETag']] for p in listed['Parts']],
  'paged': {'parts': [p['PartNumber'] for p in paged['Parts']], 'truncated': paged['IsTruncated'], 'next': paged.get('NextPartNumberMarker')},
  'uploads': [[u['Key'], u['UploadId']] for u in uploads.get('Uploads', [])],
  'uid': uid,
  'done': {'etag': done['ETag'], 'key': done['Key']},
  'manual': {'etag': manual['ETag'], 'size': manual['ContentLength'], 'type': manual['ContentType']},
  'codes': codes,
}))
`);
    expect(result.auto).toEqual({ etag: await multipartEtagOf(file, 5 * MiB), size: 12 * MiB + 7, type: 'application/x-boto' });
    expect(result.auto.etag).toMatch(/-3"$/);
    const md5 = (b: Buffer) => `"${crypto.createHash('md5').update(b).digest('hex')}"`;
    expect(result.listed).toEqual([
      [1, 5 * MiB, md5(Buffer.alloc(5 * MiB, 'a'))],
      [2, 4, md5(Buffer.from('tail'))],
    ]);
    expect(result.paged).toEqual({ parts: [1], truncated: true, next: 1 });
    expect(result.uploads).toEqual([['boto/manual.bin', result.uid]]);
    const expected = `"${crypto
      .createHash('md5')
      .update(
        Buffer.concat([
          crypto
            .createHash('md5')
            .update(Buffer.alloc(5 * MiB, 'a'))
            .digest(),
          crypto.createHash('md5').update('tail').digest(),
        ]),
      )
      .digest('hex')}-2"`;
    expect(result.done).toEqual({ etag: expected, key: 'boto/manual.bin' });
    expect(result.manual).toEqual({ etag: expected, size: 5 * MiB + 4, type: 'text/csv' });
    expect(result.codes).toEqual({
      wrong_etag: 'InvalidPart',
      out_of_order: 'InvalidPartOrder',
      unknown_upload: 'NoSuchUpload',
      part_0: 'InvalidArgument',
      part_10001: 'InvalidArgument',
      other_key: 'NoSuchUpload',
      no_parts: 'MalformedXML',
      bad_md5: 'BadDigest',
      parts_after_bad_md5: true,
      complete_twice: 'NoSuchUpload',
      too_small: 'EntityTooSmall',
      complete_after_abort: 'NoSuchUpload',
      abort_twice: 'NoSuchUpload',
      small_exists: '404',
    });
  });

  it('@aws-sdk/lib-storage Upload (CRC32 per part) stores the bytes with the content type given', async () => {
    const client = sdkClient(server, admin);
    const data = crypto.randomBytes(11 * MiB + 3);
    const upload = new Upload({
      client,
      params: { Bucket: bucket, Key: 'sdk/lib-storage.bin', Body: data, ContentType: 'application/x-sdk' },
      partSize: 5 * MiB,
      queueSize: 2,
    });
    const done = await upload.done();
    expect(done.ETag).toMatch(/-3"$/);
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'sdk/lib-storage.bin' }));
    expect(head).toMatchObject({ ContentLength: data.length, ContentType: 'application/x-sdk', ETag: done.ETag });
    expect(sha256Of(await bodyOf(client, 'sdk/lib-storage.bin'))).toBe(sha256Of(data));
    // one part of it by number: not kept, so refused rather than answered with the whole object
    expect(await errorCode(client.send(new GetObjectCommand({ Bucket: bucket, Key: 'sdk/lib-storage.bin', PartNumber: 1 })))).toBe(
      'NotImplemented',
    );
    const partHead = await client
      .send(new HeadObjectCommand({ Bucket: bucket, Key: 'sdk/lib-storage.bin', PartNumber: 1 }))
      .catch((e) => e);
    expect(partHead.$metadata.httpStatusCode).toBe(501);
  });

  it('rclone copies a file above its upload cutoff in parts', async () => {
    const file = path.join(work, 'rclone.bin');
    await fs.writeFile(file, crypto.randomBytes(11 * MiB));
    const copy = await rclone(server, admin, [
      'copyto',
      file,
      `s3:${bucket}/rclone/file.bin`,
      '--s3-upload-cutoff',
      '5M',
      '--s3-chunk-size',
      '5M',
      '--retries',
      '1',
      '--low-level-retries',
      '1',
    ]);
    expect(copy.code, copy.stderr).toBe(0);
    const client = sdkClient(server, admin);
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'rclone/file.bin' }));
    expect(head.ETag).toBe(await multipartEtagOf(file, 5 * MiB));
    const down = path.join(work, 'rclone.down');
    const back = await rclone(server, admin, ['copyto', `s3:${bucket}/rclone/file.bin`, down, '--retries', '1']);
    expect(back.code, back.stderr).toBe(0);
    expect(await sha256(down)).toBe(await sha256(file));
  });

  it('UploadPartCopy takes a range or the whole of an existing object', async () => {
    const client = sdkClient(server, admin);
    const source = crypto.randomBytes(6 * MiB);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'copy/source.bin', Body: source }));
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'copy/target.bin' }));
    const copyPart = (PartNumber: number, CopySource: string, CopySourceRange?: string, conditions: Record<string, string> = {}) =>
      client.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: 'copy/target.bin',
          UploadId,
          PartNumber,
          CopySource,
          CopySourceRange,
          ...conditions,
        }),
      );
    const first = await copyPart(1, `${bucket}/copy/source.bin`, `bytes=0-${5 * MiB - 1}`);
    const second = await copyPart(2, `/${bucket}/copy/source.bin`);
    expect(first.CopyPartResult?.ETag).toBe(
      `"${crypto
        .createHash('md5')
        .update(source.subarray(0, 5 * MiB))
        .digest('hex')}"`,
    );
    expect(await errorCode(copyPart(3, `${bucket}/copy/source.bin`, `bytes=0-${6 * MiB}`))).toBe('InvalidArgument');
    expect(await errorCode(copyPart(3, `${bucket}/copy/none.bin`))).toBe('NoSuchKey');
    expect(await errorCode(copyPart(3, 'no-such-bucket/copy/source.bin'))).toBe('NoSuchBucket');
    // x-amz-copy-source-if-*: checked against the source copied
    const sourceEtag = `"${crypto.createHash('md5').update(source).digest('hex')}"`;
    const from = `${bucket}/copy/source.bin`;
    expect(await errorCode(copyPart(3, from, undefined, { CopySourceIfMatch: '"0123456789abcdef0123456789abcdef"' }))).toBe(
      'PreconditionFailed',
    );
    expect(await errorCode(copyPart(3, from, undefined, { CopySourceIfNoneMatch: sourceEtag }))).toBe('PreconditionFailed');
    expect((await copyPart(3, from, 'bytes=0-0', { CopySourceIfMatch: sourceEtag })).CopyPartResult?.ETag).toBe(
      `"${crypto.createHash('md5').update(source.subarray(0, 1)).digest('hex')}"`,
    );
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: 'copy/target.bin',
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: first.CopyPartResult!.ETag },
            { PartNumber: 2, ETag: second.CopyPartResult!.ETag },
          ],
        },
      }),
    );
    expect(sha256Of(await bodyOf(client, 'copy/target.bin'))).toBe(sha256Of(Buffer.concat([source.subarray(0, 5 * MiB), source])));
  });

  it('a key without buckets:PutObject cannot upload; without buckets:GetObject it cannot copy a part from an object', async () => {
    const client = sdkClient(server, admin);
    const reader = sdkClient(server, await createS3Key(server, 'mp-reader', ['buckets:GetObject', 'buckets:ListObjects']));
    const writer = sdkClient(server, await createS3Key(server, 'mp-writer', ['buckets:PutObject']));
    expect(await errorCode(reader.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'perm/x.bin' })))).toBe('AccessDenied');
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'perm/x.bin' }));
    expect(
      await errorCode(reader.send(new UploadPartCommand({ Bucket: bucket, Key: 'perm/x.bin', UploadId, PartNumber: 1, Body: 'x' }))),
    ).toBe('AccessDenied');
    expect(
      await errorCode(
        writer.send(
          new UploadPartCopyCommand({
            Bucket: bucket,
            Key: 'perm/x.bin',
            UploadId,
            PartNumber: 1,
            CopySource: `${bucket}/copy/source.bin`,
          }),
        ),
      ),
    ).toBe('AccessDenied');
    // aborting is a delete: buckets:DeleteObject
    expect(await errorCode(writer.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'perm/x.bin', UploadId })))).toBe(
      'AccessDenied',
    );
    expect((await client.send(new ListPartsCommand({ Bucket: bucket, Key: 'perm/x.bin', UploadId }))).Parts ?? []).toEqual([]);
    // the SDK sends a CRC32 with each part by default: verified, kept with the part and listed
    const uploaded = await client.send(
      new UploadPartCommand({ Bucket: bucket, Key: 'perm/x.bin', UploadId, PartNumber: 1, Body: 'checksummed' }),
    );
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(new Crc32().update(Buffer.from('checksummed')).digest() >>> 0);
    expect(uploaded.ChecksumCRC32).toBe(crc.toString('base64'));
    const listed = await client.send(new ListPartsCommand({ Bucket: bucket, Key: 'perm/x.bin', UploadId }));
    expect((listed.Parts ?? []).map((p) => [p.PartNumber, p.ChecksumCRC32])).toEqual([[1, crc.toString('base64')]]);
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'perm/x.bin', UploadId }));
  });

  it('ListMultipartUploads pages by key and upload id, and rolls keys up by delimiter', async () => {
    const b = 'mp-listing';
    await server.data(CREATE_BUCKET, { name: b });
    const client = sdkClient(server, admin);
    const ids: string[] = [];
    for (const key of ['logs/a', 'logs/b', 'same', 'same', 'zeta']) {
      ids.push((await client.send(new CreateMultipartUploadCommand({ Bucket: b, Key: key }))).UploadId!);
    }
    const seen: string[] = [];
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (let page = 0; page < 10; page++) {
      const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: b, MaxUploads: 2, KeyMarker, UploadIdMarker }));
      seen.push(...(listed.Uploads ?? []).map((u) => u.UploadId!));
      if (!listed.IsTruncated) break;
      KeyMarker = listed.NextKeyMarker;
      UploadIdMarker = listed.NextUploadIdMarker;
    }
    expect(seen).toEqual(ids);
    const rolled = await client.send(new ListMultipartUploadsCommand({ Bucket: b, Delimiter: '/' }));
    expect((rolled.CommonPrefixes ?? []).map((p) => p.Prefix)).toEqual(['logs/']);
    expect((rolled.Uploads ?? []).map((u) => u.Key)).toEqual(['same', 'same', 'zeta']);
    // S3 deletes a bucket that has no objects, uploads in progress or not: they go with it
    await client.send(new UploadPartCommand({ Bucket: b, Key: 'zeta', UploadId: ids[4], PartNumber: 1, Body: 'part' }));
    const del = await aws(['s3api', 'delete-bucket', '--bucket', b]);
    expect(del.code, del.stderr).toBe(0);
    expect(await errorCode(client.send(new ListPartsCommand({ Bucket: b, Key: 'zeta', UploadId: ids[4] })))).toMatch(
      /NoSuchUpload|NoSuchBucket/,
    );
  });

  it('the bucket trigger of CompleteMultipartUpload fires exactly once per completed upload', async () => {
    const b = 'mp-events';
    await server.data(CREATE_BUCKET, { name: b });
    await deploy(server, {
      name: 'mp-recorder',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      code: { files: [{ path: 'index.js', content: 'exports.handler = async (event) => ({ received: event });' }] },
    });
    await createTrigger(server, {
      name: 'mp-complete',
      functionName: 'mp-recorder',
      bucket: { bucket: b, events: ['s3:ObjectCreated:CompleteMultipartUpload'] },
    });
    await createTrigger(server, { name: 'mp-put', functionName: 'mp-recorder', bucket: { bucket: b, events: ['s3:ObjectCreated:Put'] } });
    const client = sdkClient(server, admin);
    const data = crypto.randomBytes(6 * MiB);
    const done = await new Upload({ client, params: { Bucket: b, Key: 'in/data.bin', Body: data }, partSize: 5 * MiB }).done();
    // a put afterwards: once it is delivered, the complete (committed before it) has been dispatched too
    await client.send(new PutObjectCommand({ Bucket: b, Key: 'in/sentinel.txt', Body: 's' }));
    await waitForDeliveries(server, 'mp-put', 1);
    const [delivery] = await waitForDeliveries(server, 'mp-complete', 1);
    expect(await deliveriesOf(server, 'mp-complete')).toHaveLength(1);
    expect((await deliveriesOf(server, 'mp-put')).map((d) => d.invocation.payload.Records[0].s3.object.key)).toEqual(['in/sentinel.txt']);
    const record = delivery.invocation.payload.Records[0];
    expect(record.eventName).toBe('ObjectCreated:CompleteMultipartUpload');
    expect(record.s3.object).toMatchObject({ key: 'in/data.bin', size: data.length, eTag: done.ETag!.replace(/"/g, '') });
  });
});

describe('a CompleteMultipartUpload that waits', () => {
  /** POST ?uploadId=… with `xml`, signed with SigV4; calls `onData` with the text received so far. */
  function postComplete(key: string, uploadId: string, xml: string) {
    const url = new URL(server.url);
    const signer = new SignatureV4({
      service: 's3',
      region: 'us-east-1',
      credentials: admin,
      sha256: Hash.bind(null, 'sha256'),
      uriEscapePath: false,
    });
    let text = '';
    const done = (async () => {
      const signed = await signer.sign({
        method: 'POST',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: `/${bucket}/${key}`,
        query: { uploadId },
        headers: { host: url.host, 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(xml)) },
        body: xml,
      });
      return new Promise<number>((resolve, reject) => {
        const req = http.request(
          {
            host: url.hostname,
            port: url.port,
            method: 'POST',
            path: `/${bucket}/${key}?uploadId=${encodeURIComponent(uploadId)}`,
            headers: signed.headers,
          },
          (res) => {
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              text += chunk;
            });
            res.on('end', () => resolve(res.statusCode!));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(xml);
      });
    })();
    return { done, received: () => text };
  }

  it('answers 200 at once and keeps the connection alive until the result, or an <Error> document, follows', async () => {
    const client = sdkClient(server, admin);
    const sql = postgres(server.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      for (const outcome of ['result', 'error'] as const) {
        const key = `slow/${outcome}.bin`;
        const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
        const part = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: 'the only part' }));
        const xml = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.ETag}</ETag></Part></CompleteMultipartUpload>`;
        let call!: ReturnType<typeof postComplete>;
        // a part writer holds the upload: the complete waits for it, and meanwhile its 200 goes out
        await sql.begin(async (tx) => {
          await tx`select 1 from multipart_uploads where id = ${UploadId!} for share`;
          call = postComplete(key, UploadId!, xml);
          await waitUntil(() => call.received().startsWith('<?xml'), 'the 200 and the XML declaration');
          if (outcome === 'error') await tx`delete from multipart_parts where upload_id = ${UploadId!}`;
        });
        expect(await call.done).toBe(200);
        const body = call.received();
        if (outcome === 'result') {
          expect(body).toMatch(/^<\?xml[^>]*>\s+<CompleteMultipartUploadResult[^>]*>.*<ETag>(&quot;|")[0-9a-f]{32}-1(&quot;|")<\/ETag>/s);
          expect((await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ContentLength).toBe('the only part'.length);
        } else {
          expect(body).toMatch(/^<\?xml[^>]*>\s+<Error><Code>InvalidPart<\/Code>/s);
          expect(await errorCode(client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })))).toBe('NotFound');
        }
      }
    } finally {
      await sql.end();
    }
  });
});

describe('S3 multipart uploads across a kill -9 of the server', () => {
  const children: ChildServer[] = [];
  let dataDir: string;
  afterAll(async () => {
    for (const c of children) await c.kill('SIGKILL');
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('parts committed before the kill are kept, the part being received is not, no object appears; the sweep removes expired uploads', async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'emberplane-mp-kill-'));
    const env = {
      PORT: '0',
      DATA_DIR: dataDir,
      DATABASE_URL: await createTestDatabase(),
      ADMIN_API_KEY: `ep_test_${crypto.randomBytes(12).toString('hex')}`,
      SANDBOX: 'off',
    };
    const start = async (extra: Record<string, string> = {}) => {
      const child = await startChildServer({ ...env, ...extra });
      children.push(child);
      return child;
    };
    let child = await start();
    await gqlData(child.url, env.ADMIN_API_KEY, CREATE_BUCKET, { name: 'mp-kill' });
    const creds = await createS3Key({ data: (query, variables) => gqlData(child.url, env.ADMIN_API_KEY, query, variables) }, 'mp-kill');
    let client = sdkClient(child, creds);
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: 'mp-kill', Key: 'k/data.bin' }));
    const part1 = crypto.randomBytes(5 * MiB);
    const p1 = await client.send(new UploadPartCommand({ Bucket: 'mp-kill', Key: 'k/data.bin', UploadId, PartNumber: 1, Body: part1 }));

    // part 2 arrives slowly through a presigned URL: the server is killed while its bytes come in
    const url = new URL(
      await getSignedUrl(client, new UploadPartCommand({ Bucket: 'mp-kill', Key: 'k/data.bin', UploadId, PartNumber: 2 }), {
        expiresIn: 600,
      }),
    );
    const req = http.request({
      host: url.hostname,
      port: url.port,
      method: 'PUT',
      path: url.pathname + url.search,
      headers: { 'content-length': 5 * MiB },
    });
    req.on('error', () => {});
    req.write(crypto.randomBytes(MiB));
    const tmp = path.join(dataDir, 'tmp-objects');
    await waitUntil(async () => {
      for (const name of await fs.readdir(tmp)) if (name.startsWith('part-') && (await fs.stat(path.join(tmp, name))).size > 0) return true;
      return false;
    }, 'part 2 to be on its way to disk');
    await child.kill('SIGKILL');
    req.destroy();

    child = await start();
    client = sdkClient(child, creds);
    const parts = await client.send(new ListPartsCommand({ Bucket: 'mp-kill', Key: 'k/data.bin', UploadId }));
    expect((parts.Parts ?? []).map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual([[1, 5 * MiB, p1.ETag]]);
    expect(await errorCode(client.send(new HeadObjectCommand({ Bucket: 'mp-kill', Key: 'k/data.bin' })))).toBe('NotFound');
    // the upload goes on where it was
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'mp-kill',
        Key: 'k/data.bin',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }] },
      }),
    );
    expect(sha256Of(await bodyOf(client, 'k/data.bin', 'mp-kill'))).toBe(sha256Of(part1));

    // an abandoned upload is aborted by the sweep once expired
    const abandoned = await client.send(new CreateMultipartUploadCommand({ Bucket: 'mp-kill', Key: 'k/abandoned.bin' }));
    await client.send(
      new UploadPartCommand({ Bucket: 'mp-kill', Key: 'k/abandoned.bin', UploadId: abandoned.UploadId, PartNumber: 1, Body: 'x' }),
    );
    await child.kill('SIGKILL');
    child = await start({ MULTIPART_EXPIRY_SECONDS: '1' });
    client = sdkClient(child, creds);
    await waitUntil(async () => (await uploadsInProgress(client, 'mp-kill')).length === 0, 'the expired upload to be swept', 20_000);
    await waitUntil(async () => (await fs.readdir(path.join(dataDir, 'multipart'))).length === 0, 'its part files to be removed');
    expect(sha256Of(await bodyOf(client, 'k/data.bin', 'mp-kill'))).toBe(sha256Of(part1));
  }, 180_000);
});
