import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadHash, generatedBody, objectRequest, type ObjectRequest } from '../support/objects.js';
import { waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';

const MAX_BYTES = 96 * 1024 * 1024;
let server: TestServer;
let bucket: string;
beforeAll(async () => {
  server = await startTestServer({ objectMaxBytes: MAX_BYTES });
  bucket = `http-${crypto.randomBytes(4).toString('hex')}`;
  await server.data(`mutation($name: String!) { createBucket(input: { name: $name }) { bucket { name } } }`, { name: bucket });
});
afterAll(async () => {
  await server?.close();
});

const OBJECT = `query($bucket: String!, $key: String!) { object(bucket: $bucket, key: $key) { key size etag contentType } }`;
const md5 = (data: string | Buffer) => `"${crypto.createHash('md5').update(data).digest('hex')}"`;
const call = (method: string, rawPath: string, options: ObjectRequest = {}) =>
  objectRequest(server.url, method, rawPath, { key: server.key, ...options });
const tmpDir = () => path.join(server.dataDir, 'tmp-objects');
const bucketFile = (...parts: string[]) => path.join(server.dataDir, 'buckets', bucket, ...parts);

describe('upload and download', () => {
  it('PUT stores the body with its Content-Type; GET and HEAD return it with Content-Type, Content-Length, ETag', async () => {
    const body = 'id,name\n1,ada\n2,grace\n';
    const put = await call('PUT', `/objects/${bucket}/tables/people.csv`, { body, headers: { 'content-type': 'text/csv' } });
    expect(put.status).toBe(200);
    expect(put.headers.etag).toBe(md5(body));
    expect(put.json).toMatchObject({
      bucket,
      key: 'tables/people.csv',
      uri: `s3://${bucket}/tables/people.csv`,
      size: body.length,
      etag: md5(body),
      contentType: 'text/csv',
    });

    const get = await call('GET', `/objects/${bucket}/tables/people.csv`);
    expect(get.status).toBe(200);
    expect(get.body.toString()).toBe(body);
    expect(get.headers['content-type']).toBe('text/csv');
    expect(get.headers['content-length']).toBe(String(body.length));
    expect(get.headers.etag).toBe(md5(body));
    // HTTP-date (whole seconds) of the stored object's lastModified
    expect(get.headers['last-modified']).toBe(new Date(put.json.lastModified).toUTCString());

    const head = await call('HEAD', `/objects/${bucket}/tables/people.csv`);
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).toBe(String(body.length));
    expect(head.headers.etag).toBe(md5(body));

    // the same object through GraphQL
    expect((await server.data(OBJECT, { bucket, key: 'tables/people.csv' })).object).toEqual({
      key: 'tables/people.csv',
      size: body.length,
      etag: md5(body),
      contentType: 'text/csv',
    });
  });

  it('without a Content-Type the extension decides; chunked bodies (no Content-Length) work', async () => {
    const { stream, etag } = generatedBody(3 * 1024 * 1024 + 17, 'chunked');
    const put = await call('PUT', `/objects/${bucket}/chunked.json`, { body: stream });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ size: 3 * 1024 * 1024 + 17, etag: etag(), contentType: 'application/json' });
  });

  it('If-None-Match with the ETag is 304; Range gives 206 with Content-Range; an unsatisfiable range 416', async () => {
    const body = '0123456789';
    await call('PUT', `/objects/${bucket}/digits.txt`, { body });
    const etag = md5(body);
    expect((await call('GET', `/objects/${bucket}/digits.txt`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await call('GET', `/objects/${bucket}/digits.txt`, { headers: { 'if-none-match': '"other"' } })).status).toBe(200);
    const part = await call('GET', `/objects/${bucket}/digits.txt`, { headers: { range: 'bytes=2-5' } });
    expect(part.status).toBe(206);
    expect(part.body.toString()).toBe('2345');
    expect(part.headers['content-range']).toBe('bytes 2-5/10');
    expect((await call('GET', `/objects/${bucket}/digits.txt`, { headers: { range: 'bytes=-3' } })).body.toString()).toBe('789');
    expect((await call('GET', `/objects/${bucket}/digits.txt`, { headers: { range: 'bytes=7-' } })).body.toString()).toBe('789');
    const bad = await call('GET', `/objects/${bucket}/digits.txt`, { headers: { range: 'bytes=20-30' } });
    expect(bad.status).toBe(416);
    expect(bad.headers['content-range']).toBe('bytes */10');
  });

  it('If-Match and If-Unmodified-Since failing are 412; If-Modified-Since not passed is 304 (the S3 endpoint shares these rules)', async () => {
    await call('PUT', `/objects/${bucket}/cond.txt`, { body: 'conditional' });
    const etag = md5('conditional');
    const past = new Date(Date.now() - 3_600_000).toUTCString();
    const future = new Date(Date.now() + 3_600_000).toUTCString();
    const get = (headers: Record<string, string>) => call('GET', `/objects/${bucket}/cond.txt`, { headers });
    expect((await get({ 'if-match': etag })).status).toBe(200);
    const failed = await get({ 'if-match': '"other"' });
    expect([failed.status, failed.json.field]).toEqual([412, 'If-Match']);
    expect((await get({ 'if-unmodified-since': past })).status).toBe(412);
    expect((await get({ 'if-unmodified-since': future })).status).toBe(200);
    expect((await get({ 'if-modified-since': future })).status).toBe(304);
    expect((await get({ 'if-modified-since': past })).status).toBe(200);
    // If-None-Match decides alone when both are there (RFC 9110)
    expect((await get({ 'if-none-match': '"other"', 'if-modified-since': future })).status).toBe(200);
  });

  it('a 64 MiB object streams up and down: right ETag both ways, memory does not grow by its size', async () => {
    const size = 64 * 1024 * 1024;
    const { stream, etag } = generatedBody(size, 'large');
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }, 20);
    try {
      const put = await call('PUT', `/objects/${bucket}/big/blob.bin`, { body: stream, headers: { 'content-length': String(size) } });
      expect(put.status).toBe(200);
      expect(put.json).toMatchObject({ size, etag: etag() });
      const got = await downloadHash(server.url, `/objects/${bucket}/big/blob.bin`, server.key);
      expect(got).toMatchObject({ status: 200, size, etag: put.json.etag });
      expect(got.headers['content-length']).toBe(String(size));
    } finally {
      clearInterval(sampler);
    }
    // client and server share this process: buffering the object anywhere would add ≥ 64 MiB
    expect(rssPeak - rssBefore).toBeLessThan(size * 0.75);
    expect((await fs.stat(bucketFile('big', 'blob.bin'))).size).toBe(size);
  });

  it('downloads share reused read buffers: concurrent ones, ranges across reads and one cut off midway all get their own bytes', async () => {
    const size = 5 * 1024 * 1024 + 123;
    const bodies = [crypto.randomBytes(size), crypto.randomBytes(size)];
    for (const [i, body] of bodies.entries()) expect((await call('PUT', `/objects/${bucket}/shared/${i}.bin`, { body })).status).toBe(200);
    // a client that goes away after its first bytes: its buffers must not carry over into the others
    const url = new URL(server.url);
    await new Promise<void>((resolve, reject) => {
      http
        .get(
          {
            host: url.hostname,
            port: url.port,
            path: `/objects/${bucket}/shared/0.bin`,
            headers: { authorization: `Bearer ${server.key}` },
          },
          (res) => {
            res.once('data', () => {
              res.destroy();
              resolve();
            });
          },
        )
        .on('error', reject);
    });
    const downloads = await Promise.all(
      [0, 1, 0, 1, 0, 1].map((i) => downloadHash(server.url, `/objects/${bucket}/shared/${i}.bin`, server.key).then((got) => ({ i, got }))),
    );
    for (const { i, got } of downloads) expect(got).toMatchObject({ status: 200, size, etag: md5(bodies[i]!) });
    // ranges that start and end inside a read (1 MiB) and cross its edges
    for (const [first, last] of [
      [1024 * 1024 - 10, 3 * 1024 * 1024 + 10],
      [5, 2 * 1024 * 1024],
      [size - 1024 * 1024 - 1, size - 1],
    ] as const) {
      const part = await call('GET', `/objects/${bucket}/shared/1.bin`, { headers: { range: `bytes=${first}-${last}` } });
      expect(part.status).toBe(206);
      expect(part.headers['content-range']).toBe(`bytes ${first}-${last}/${size}`);
      expect(part.body.equals(bodies[1]!.subarray(first, last + 1))).toBe(true);
    }
  });

  it('DELETE removes the object (204), and again (204, as S3)', async () => {
    await call('PUT', `/objects/${bucket}/gone.txt`, { body: 'x' });
    expect((await call('DELETE', `/objects/${bucket}/gone.txt`)).status).toBe(204);
    expect((await call('GET', `/objects/${bucket}/gone.txt`)).status).toBe(404);
    expect((await call('DELETE', `/objects/${bucket}/gone.txt`)).status).toBe(204);
  });
});

describe('errors are JSON with code, field and message', () => {
  it('another method: 405 with Allow, and nothing changes', async () => {
    await call('PUT', `/objects/${bucket}/kept.txt`, { body: 'kept' });
    const res = await call('POST', `/objects/${bucket}/kept.txt`, { body: 'other' });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD, PUT, DELETE');
    expect(res.json).toMatchObject({ code: 'BAD_USER_INPUT', message: 'method POST is not allowed on objects' });
    expect((await call('GET', `/objects/${bucket}/kept.txt`)).body.toString()).toBe('kept');
    await call('DELETE', `/objects/${bucket}/kept.txt`);
  });

  it('missing object or bucket: 404', async () => {
    const missing = await call('GET', `/objects/${bucket}/no/such/key`);
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ code: 'NOT_FOUND', field: 'key' });
    expect((await call('HEAD', `/objects/${bucket}/no/such/key`)).status).toBe(404);
    const noBucket = await call('PUT', `/objects/no-such-bucket-${crypto.randomBytes(3).toString('hex')}/k`, { body: 'x' });
    expect(noBucket.status).toBe(404);
    expect(noBucket.json).toMatchObject({ code: 'NOT_FOUND', field: 'bucket' });
  });

  it('over OBJECT_MAX_BYTES: 413, declared up front or found while streaming, and nothing stored', async () => {
    // only the headers go out: the server answers from Content-Length without waiting for a byte
    const declared = await call('PUT', `/objects/${bucket}/huge.bin`, {
      headers: { 'content-length': String(MAX_BYTES + 1) },
      body: Buffer.alloc(0),
    });
    expect(declared.status).toBe(413);
    expect(declared.json).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', field: 'body' });
    const { stream } = generatedBody(MAX_BYTES + 1, 'huge');
    const streamed = await call('PUT', `/objects/${bucket}/huge.bin`, { body: stream });
    expect(streamed.status).toBe(413);
    expect(streamed.json).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', field: 'body' });
    expect(streamed.json.message).toContain('OBJECT_MAX_BYTES');
    expect((await call('HEAD', `/objects/${bucket}/huge.bin`)).status).toBe(404);
    await waitUntil(async () => (await fs.readdir(tmpDir())).length === 0, 'no temp file left');
  });

  it('a key that clashes with a "directory" of other keys: 409', async () => {
    await call('PUT', `/objects/${bucket}/dir/file`, { body: 'x' });
    const clash = await call('PUT', `/objects/${bucket}/dir`, { body: 'y' });
    expect(clash.status).toBe(409);
    expect(clash.json).toMatchObject({ code: 'CONFLICT', field: 'key' });
  });

  it('a bad Content-Type: 400', async () => {
    const res = await call('PUT', `/objects/${bucket}/ct`, { body: 'x', headers: { 'content-type': 'nonsense' } });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: 'BAD_USER_INPUT', field: 'Content-Type' });
  });
});

describe('path escapes', () => {
  const attempts: Array<[string, string]> = [
    ['../../etc/passwd', 'key'],
    ['a/../../x', 'key'],
    ['%2e%2e/%2e%2e/x', 'key'],
    ['%2E%2E%2Fx', 'key'],
    ['..%2f..%2fx', 'key'],
    ['%2Fetc%2Fpasswd', 'key'],
    ['/etc/passwd', 'key'],
    ['a//b', 'key'],
    ['a/./b', 'key'],
    ['a%00b', 'key'],
    ['a%5C..%5Cb', 'key'],
    ['a%0Ab', 'key'],
    ['%zz', 'key'],
    ['dir/..%2F', 'key'],
  ];

  it('are refused by PUT, GET, HEAD and DELETE with 400, and nothing lands outside the bucket', async () => {
    for (const [raw, field] of attempts) {
      for (const method of ['PUT', 'GET', 'DELETE']) {
        const res = await call(method, `/objects/${bucket}/${raw}`, method === 'PUT' ? { body: 'pwned' } : {});
        expect(res.status, `${method} ${raw}`).toBe(400);
        expect(res.json, `${method} ${raw}`).toMatchObject({ code: 'BAD_USER_INPUT', field });
        expect(typeof res.json.message).toBe('string');
      }
      expect((await call('HEAD', `/objects/${bucket}/${raw}`)).status, `HEAD ${raw}`).toBe(400);
    }
    for (const raw of ['..', '%2e%2e', 'Bad_Bucket', 'a']) {
      const res = await call('PUT', `/objects/${raw}/x`, { body: 'pwned' });
      expect(res.status, raw).toBe(400);
      expect(res.json).toMatchObject({ code: 'BAD_USER_INPUT', field: 'bucket' });
    }
    expect((await call('PUT', `/objects/${bucket}`, { body: 'x' })).status).toBe(400);
    // nothing written next to the buckets or the data dir
    expect(await fs.readdir(path.join(server.dataDir, 'buckets'))).toEqual([bucket]);
    const written = await fs.readdir(bucketFile());
    for (const name of written)
      expect(['tables', 'chunked.json', 'digits.txt', 'cond.txt', 'big', 'shared', 'dir', 'x', 'planted.txt']).toContain(name);
  });
});

describe('symlinks in a bucket directory', () => {
  it('are not followed by GET: a step cannot publish files from outside its bucket', async () => {
    const secret = path.join(server.dataDir, 'secret.txt');
    await fs.writeFile(secret, 'server secret');
    await call('PUT', `/objects/${bucket}/planted.txt`, { body: 'harmless' });
    await fs.rm(bucketFile('planted.txt'));
    await fs.symlink(secret, bucketFile('planted.txt'));
    const res = await call('GET', `/objects/${bucket}/planted.txt`);
    expect(res.status).toBe(404);
    expect(res.body.toString()).not.toContain('server secret');
  });
});

describe('auth', () => {
  it('no key: 401; a key without the action: 403; nothing changed', async () => {
    await call('PUT', `/objects/${bucket}/auth.txt`, { body: 'secret' });
    const anonymous = await call('GET', `/objects/${bucket}/auth.txt`, { key: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.json).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await call('PUT', `/objects/${bucket}/auth.txt`, { key: 'ep_wrong', body: 'changed' })).status).toBe(401);

    const { createApiKey } = await server.data(
      `mutation { createApiKey(input: { name: "lister", actions: ["buckets:ListObjects"] }) { key } }`,
    );
    const lister = createApiKey.key;
    for (const method of ['GET', 'HEAD', 'PUT', 'DELETE']) {
      const res = await call(method, `/objects/${bucket}/auth.txt`, { key: lister, ...(method === 'PUT' ? { body: 'changed' } : {}) });
      expect(res.status, method).toBe(403);
      if (method !== 'HEAD') expect(res.json).toMatchObject({ code: 'FORBIDDEN' });
    }
    const { createApiKey: r } = await server.data(
      `mutation { createApiKey(input: { name: "reader", actions: ["buckets:GetObject"] }) { key } }`,
    );
    expect((await call('GET', `/objects/${bucket}/auth.txt`, { key: r.key })).body.toString()).toBe('secret');
    expect((await call('PUT', `/objects/${bucket}/auth.txt`, { key: r.key, body: 'changed' })).status).toBe(403);
    expect((await call('GET', `/objects/${bucket}/auth.txt`)).body.toString()).toBe('secret');
  });
});

describe('an upload cut off midway', () => {
  it('leaves no object and no temp file', async () => {
    const url = new URL(server.url);
    const req = http.request({
      host: url.hostname,
      port: url.port,
      method: 'PUT',
      path: `/objects/${bucket}/cut/off.bin`,
      headers: { authorization: `Bearer ${server.key}`, 'content-length': String(20 * 1024 * 1024) },
    });
    req.on('error', () => {}); // we are the ones cutting it
    req.write(Buffer.alloc(2 * 1024 * 1024, 1));
    // the server is writing it: a temp file exists
    await waitUntil(async () => (await fs.readdir(tmpDir())).length === 1, 'upload under way');
    req.destroy();
    await waitUntil(async () => (await fs.readdir(tmpDir())).length === 0, 'temp file removed');
    expect((await call('HEAD', `/objects/${bucket}/cut/off.bin`)).status).toBe(404);
    expect((await server.data(OBJECT, { bucket, key: 'cut/off.bin' })).object).toBeNull();
    await expect(fs.stat(bucketFile('cut', 'off.bin'))).rejects.toThrow();
  });

  it('temp files a crashed server left are swept once no upload can be writing them', async () => {
    await fs.writeFile(path.join(tmpDir(), 'upload-crashed'), 'half');
    await fs.mkdir(path.join(tmpDir(), 'deleted-bucket-crashed', 'a'), { recursive: true });
    const { storage } = server.app.modules.storage;
    // recent: may belong to a live upload (another server sharing the data dir)
    expect(await storage.sweepTemp()).toBe(0);
    // ctime cannot be set back: sweep as if 16 minutes had passed
    expect(await storage.sweepTemp(Date.now() + 16 * 60_000)).toBe(2);
    expect(await fs.readdir(tmpDir())).toEqual([]);
  });
});
