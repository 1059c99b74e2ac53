// Functions reach the buckets over the S3 endpoint with an AWS SDK, unmodified (docs/functions.md "S3 from a
// function"): instances get AWS_ENDPOINT_URL_S3, and the S3 credentials of the API key set as the function's
// executionKeyId. Handing a key to a function needs every action of that key (no widening through code). The SDKs
// are the runtimes' own, as on Lambda (npm run functions:install): boto3 for Python, the AWS SDK for JavaScript v3
// for Node, imported without packaging them; a host without them says which command installs them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../support/api.js';
import { createFunction, deploy, GET_FUNCTION, invoke, UPDATE_CONFIG, waitForActive } from '../support/functions.js';
import { createS3Key, type S3Key } from '../support/s3.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let writer: S3Key;
let reader: S3Key;
beforeAll(async () => {
  server = await startTestServer();
  await server.data(`mutation { createBucket(input: { name: "fn-data" }) { bucket { name } } }`);
  writer = await createS3Key(server, 'fn-writer', ['buckets:GetObject', 'buckets:PutObject']);
  reader = await createS3Key(server, 'fn-reader', ['buckets:GetObject']);
});
afterAll(async () => {
  await server?.close();
});

// a handler as a Lambda user writes it: boto3 with no endpoint or credentials in the code
const HANDLER = `
import os
import boto3
from botocore.exceptions import ClientError

def handler(event, context):
    if event["op"] == "env":
        return {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    s3 = boto3.client("s3")
    try:
        if event["op"] == "put":
            s3.put_object(Bucket="fn-data", Key=event["key"], Body=event["body"].encode())
            return {"ok": True}
        return {"body": s3.get_object(Bucket="fn-data", Key=event["key"])["Body"].read().decode()}
    except ClientError as e:
        return {"error": e.response["Error"]["Code"]}
`;

// the same with the AWS SDK for JavaScript v3, as an ES module (the runtime's SDK found through NODE_PATH's hook)
const NODE_HANDLER = `
import { S3Client, PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
const s3 = new S3Client({});
export const handler = async (event) => {
  try {
    if (event.op === 'put') {
      await s3.send(new PutObjectCommand({ Bucket: 'fn-data', Key: event.key, Body: event.body }));
      return { ok: true };
    }
    const got = await s3.send(new GetObjectCommand({ Bucket: 'fn-data', Key: event.key }));
    return { body: await got.Body.transformToString() };
  } catch (e) {
    return { error: e.name };
  }
};`;
// CommonJS: require() finds the runtime's clients on NODE_PATH, where Lambda keeps them
const NODE_CJS_HANDLER = `
const clients = ['client-s3', 'client-sqs', 'client-sns', 'client-lambda', 'client-dynamodb', 'lib-dynamodb'];
exports.handler = async () => ({
  resolved: clients.map((c) => require.resolve('@aws-sdk/' + c)),
  s3Client: typeof require('@aws-sdk/client-s3').S3Client,
});`;

const python = (name: string, extra: Record<string, unknown> = {}) =>
  deploy(server, {
    name,
    runtime: 'PYTHON311',
    handler: 'app.handler',
    memoryMb: 512,
    timeoutSeconds: 60,
    code: { files: [{ path: 'app.py', content: HANDLER }] },
    ...extra,
  });
const call = async (name: string, payload: Record<string, unknown>) => {
  const res = await invoke(server, { functionName: name, payload });
  expect(res.functionError, JSON.stringify(res)).toBeNull();
  return res.payload;
};
// what the object holds as the HTTP route reads it (null: no such object)
const objectText = async (key: string) => {
  const res = await fetch(`${server.url}/objects/fn-data/${key}`, { headers: { authorization: `Bearer ${server.key}` } });
  if (res.status === 404) return null;
  expect(res.status).toBe(200);
  return res.text();
};

describe('S3 from a function', () => {
  it("boto3 in a handler writes and reads a bucket as the function's execution key", async () => {
    const fn = await python('s3-writer', { executionKeyId: writer.id });
    expect(fn.executionKeyId).toBe(writer.id);
    const env = await call('s3-writer', { op: 'env' });
    expect(env.AWS_ENDPOINT_URL_S3).toBe(server.url);
    expect(env.AWS_ACCESS_KEY_ID).toBe(writer.accessKeyId);
    expect(env.AWS_SECRET_ACCESS_KEY).toBe(writer.secretAccessKey);

    expect(await call('s3-writer', { op: 'put', key: 'from-fn/a.txt', body: 'written by a function' })).toEqual({ ok: true });
    // the same object as every other way in sees it
    expect(await objectText('from-fn/a.txt')).toBe('written by a function');
    expect(await call('s3-writer', { op: 'get', key: 'from-fn/a.txt' })).toEqual({ body: 'written by a function' });
  });

  it("the key's actions bind the function: a read-only key's PutObject is AccessDenied, its GetObject works", async () => {
    await python('s3-reader', { executionKeyId: reader.id });
    expect(await call('s3-reader', { op: 'put', key: 'from-fn/denied.txt', body: 'x' })).toEqual({ error: 'AccessDenied' });
    expect(await objectText('from-fn/denied.txt')).toBeNull();
    expect(await call('s3-reader', { op: 'get', key: 'from-fn/a.txt' })).toEqual({ body: 'written by a function' });
  });

  it('without an execution key an instance has the endpoint but no credentials; one can be set and removed later', async () => {
    await python('s3-none');
    const env = await call('s3-none', { op: 'env' });
    expect(env).toEqual({ AWS_ENDPOINT_URL_S3: server.url, AWS_ACCESS_KEY_ID: null, AWS_SECRET_ACCESS_KEY: null });

    const set = await server.data(UPDATE_CONFIG, { input: { functionName: 's3-none', executionKeyId: reader.id } });
    expect(set.updateFunctionConfiguration.function.executionKeyId).toBe(reader.id);
    await waitForActive(server, 's3-none');
    expect((await call('s3-none', { op: 'env' })).AWS_ACCESS_KEY_ID).toBe(reader.accessKeyId);

    const cleared = await server.data(UPDATE_CONFIG, { input: { functionName: 's3-none', executionKeyId: '' } });
    expect(cleared.updateFunctionConfiguration.function.executionKeyId).toBeNull();
    await waitForActive(server, 's3-none');
    expect((await call('s3-none', { op: 'env' })).AWS_ACCESS_KEY_ID).toBeNull();
  });

  it("a revoked key's credentials stop at the endpoint, in instances that already hold them", async () => {
    const doomed = await createS3Key(server, 'fn-doomed', ['buckets:GetObject']);
    await python('s3-doomed', { executionKeyId: doomed.id });
    expect(await call('s3-doomed', { op: 'get', key: 'from-fn/a.txt' })).toEqual({ body: 'written by a function' });
    await server.data(`mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { id } } }`, { id: doomed.id });
    expect(await call('s3-doomed', { op: 'get', key: 'from-fn/a.txt' })).toEqual({ error: 'InvalidAccessKeyId' });
  });
});

describe("the runtimes' SDKs", () => {
  const node = (name: string, file: string, content: string, extra: Record<string, unknown> = {}) =>
    deploy(server, {
      name,
      runtime: 'NODEJS20',
      handler: 'index.handler',
      timeoutSeconds: 60,
      code: { files: [{ path: file, content }] },
      ...extra,
    });

  it("a Node handler imports @aws-sdk/client-s3 without packaging it and writes and reads a bucket as the function's key", async () => {
    await node('s3-node', 'index.mjs', NODE_HANDLER, { executionKeyId: writer.id });
    expect(await call('s3-node', { op: 'put', key: 'from-node/a.txt', body: 'written with the JS SDK' })).toEqual({ ok: true });
    expect(await objectText('from-node/a.txt')).toBe('written with the JS SDK');
    expect(await call('s3-node', { op: 'get', key: 'from-node/a.txt' })).toEqual({ body: 'written with the JS SDK' });
    // the key's actions bind it as they bind boto3
    await node('s3-node-reader', 'index.mjs', NODE_HANDLER, { executionKeyId: reader.id });
    expect(await call('s3-node-reader', { op: 'put', key: 'from-node/denied.txt', body: 'x' })).toEqual({ error: 'AccessDenied' });
  });

  it("require() finds the runtime's clients where Lambda keeps them, /var/runtime/node_modules", async () => {
    await node('sdk-cjs', 'index.js', NODE_CJS_HANDLER);
    const out = await call('sdk-cjs', {});
    expect(out.s3Client).toBe('function');
    for (const [i, c] of ['client-s3', 'client-sqs', 'client-sns', 'client-lambda', 'client-dynamodb', 'lib-dynamodb'].entries())
      expect(out.resolved[i]).toMatch(new RegExp(`^/var/runtime/node_modules/@aws-sdk/${c}/`));
  });

  it('a host without the SDKs: importing one fails with Runtime.ImportModuleError naming the install command', async () => {
    const bare = await startTestServer({ functionNodeSdkDir: '/nonexistent/node-sdk', functionPythonSdkDir: '/nonexistent/python-sdk' });
    try {
      for (const [runtime, handler, file, content] of [
        ['NODEJS20', 'index.handler', 'index.mjs', NODE_HANDLER],
        ['PYTHON311', 'app.handler', 'app.py', HANDLER],
      ] as const) {
        const name = `no-sdk-${runtime.toLowerCase()}`;
        await deploy(bare, { name, runtime, handler, code: { files: [{ path: file, content }] } });
        const res = await invoke(bare, { functionName: name, payload: { op: 'get', key: 'x' } });
        expect(res.functionError).toBe('Unhandled');
        expect(res.payload.errorType).toBe('Runtime.ImportModuleError');
        expect(res.payload.errorMessage).toContain('is not installed on this host: run `npm run functions:install` there');
      }
    } finally {
      await bare.close();
    }
  });
});

describe('who may hand a key to a function', () => {
  const create = (key: string, executionKeyId: string, name = 'never-created') =>
    server.gql(
      `mutation($input: CreateFunctionInput!) { createFunction(input: $input) { function { name } } }`,
      {
        input: {
          name,
          runtime: 'PYTHON311',
          handler: 'app.handler',
          code: { files: [{ path: 'app.py', content: HANDLER }] },
          executionKeyId,
        },
      },
      key,
    );

  it('a narrow key may not give a function a key with actions it lacks, on create or on update; nothing changes', async () => {
    const narrow = (
      await server.data(`mutation { createApiKey(input: { name: "fn-narrow", actions: ["functions:*", "buckets:GetObject"] }) { key } }`)
    ).createApiKey.key;
    // the writer key can PutObject, which the narrow key can't
    expectError(await create(narrow, writer.id), 'FORBIDDEN', 'input.executionKeyId');
    expect((await server.data(GET_FUNCTION, { name: 'never-created' })).function).toBeNull();

    // a key within its own rights it may give
    const res = await create(narrow, reader.id, 'narrow-fn');
    expect(res.errors).toBeUndefined();
    await waitForActive(server, 'narrow-fn');
    const update = await server.gql(UPDATE_CONFIG, { input: { functionName: 'narrow-fn', executionKeyId: writer.id } }, narrow);
    expectError(update, 'FORBIDDEN', 'input.executionKeyId');
    expect((await server.data(GET_FUNCTION, { name: 'narrow-fn' })).function.executionKeyId).toBe(reader.id);
  });

  it('an unknown or revoked key is NOT_FOUND, a key without S3 credentials is BAD_USER_INPUT, both on the field', async () => {
    expectError(await create(server.key, 'ak_doesnotexist'), 'NOT_FOUND', 'input.executionKeyId');
    const plain = (
      await server.data(`mutation { createApiKey(input: { name: "fn-plain", actions: ["buckets:GetObject"] }) { apiKey { id } } }`)
    ).createApiKey.apiKey.id;
    const res = await create(server.key, plain);
    expectError(res, 'BAD_USER_INPUT', 'input.executionKeyId');
    expect(res.errors![0]!.message).toMatch(/no S3 credentials/);
    const revoked = await createS3Key(server, 'fn-revoked', ['buckets:GetObject']);
    await server.data(`mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { id } } }`, { id: revoked.id });
    expectError(await create(server.key, revoked.id), 'NOT_FOUND', 'input.executionKeyId');
    expect((await server.data(GET_FUNCTION, { name: 'never-created' })).function).toBeNull();
  });

  it('the execution key is not given away: the function shows only its id', async () => {
    await createFunction(server, {
      name: 'shows-id',
      runtime: 'PYTHON311',
      handler: 'app.handler',
      code: { files: [{ path: 'app.py', content: HANDLER }] },
      executionKeyId: reader.id,
    });
    const fn = (await server.data(`query { function(name: "shows-id") { executionKeyId environment } }`)).function;
    expect(fn).toEqual({ executionKeyId: reader.id, environment: {} });
  });
});
