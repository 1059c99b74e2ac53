// The S3 endpoint's core (docs/storage.md "S3 endpoint"): credentials, SigV4 in headers and query
// strings, aws-chunked bodies and checksums, bucket operations and single-object reads and writes,
// driven by the real clients (aws CLI, boto3, the AWS SDK for JavaScript, rclone, curl).
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.js';
import { aws, createS3Key, type S3Key } from '../../support/s3.js';

let server: TestServer;
let admin: S3Key;
let work: string;
beforeAll(async () => {
  server = await startTestServer({ objectMaxBytes: 64 * 1024 * 1024 });
  admin = await createS3Key(server, 's3-admin');
  work = await fs.mkdtemp(path.join(os.tmpdir(), 's3-core-'));
});
afterAll(async () => {
  await server?.close();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

const md5 = (data: Buffer | string) => crypto.createHash('md5').update(data).digest('hex');

describe('aws s3api', () => {
  it('create-bucket, put-object and get-object round-trip the bytes', async () => {
    const mb = await aws(server, admin, ['s3api', 'create-bucket', '--bucket', 'core-one']);
    expect(mb.stderr).toBe('');
    expect(mb.code).toBe(0);
    const file = path.join(work, 'hello.txt');
    await fs.writeFile(file, 'hello, s3\n');
    const put = await aws(server, admin, ['s3api', 'put-object', '--bucket', 'core-one', '--key', 'dir/hello.txt', '--body', file]);
    expect(put.stderr).toBe('');
    expect(JSON.parse(put.stdout).ETag).toBe(`"${md5('hello, s3\n')}"`);
    const out = path.join(work, 'hello.out');
    const get = await aws(server, admin, ['s3api', 'get-object', '--bucket', 'core-one', '--key', 'dir/hello.txt', out]);
    expect(get.stderr).toBe('');
    expect(JSON.parse(get.stdout)).toMatchObject({ ContentLength: 10, ETag: `"${md5('hello, s3\n')}"` });
    expect(await fs.readFile(out, 'utf8')).toBe('hello, s3\n');
  });
});
