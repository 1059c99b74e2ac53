// Driving the S3 endpoint with the real clients: the aws CLI, boto3 (python3 -c), rclone and the
// AWS SDK for JavaScript, each with a key's S3 credentials and nothing from the machine's own AWS
// configuration.
import crypto from 'node:crypto';
import http from 'node:http';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { S3Client } from '@aws-sdk/client-s3';
import { run } from './processes.js';
import type { TestServer } from './server.js';

export interface S3Key {
  id: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const CREATE_KEY = `mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { apiKey { id s3AccessKeyId } s3AccessKeyId s3SecretAccessKey }
}`;

/** A new API key with S3 credentials (by default every action). */
export async function createS3Key(server: Pick<TestServer, 'data'>, name: string, actions?: string[]): Promise<S3Key> {
  const { createApiKey } = await server.data(CREATE_KEY, { input: { name, actions, s3Credentials: true } });
  return { id: createApiKey.apiKey.id, accessKeyId: createApiKey.s3AccessKeyId, secretAccessKey: createApiKey.s3SecretAccessKey };
}

/** The environment an AWS client child process gets: these credentials, no config or metadata lookups. */
export function awsEnv(key: Pick<S3Key, 'accessKeyId' | 'secretAccessKey'>, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'TMPDIR', 'PYENV_ROOT', 'PYENV_VERSION'])
    if (process.env[name]) env[name] = process.env[name];
  return {
    ...env,
    AWS_ACCESS_KEY_ID: key.accessKeyId,
    AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

/** `aws --endpoint-url <server> …` with the key's credentials. */
export const aws = (
  server: Pick<TestServer, 'url'>,
  key: Pick<S3Key, 'accessKeyId' | 'secretAccessKey'>,
  args: string[],
  extraEnv: Record<string, string> = {},
) => run('aws', ['--endpoint-url', server.url, ...args], awsEnv(key, extraEnv));

/** A python3 script with boto3; `ENDPOINT` is set in its environment. */
export const python = (
  server: Pick<TestServer, 'url'>,
  key: Pick<S3Key, 'accessKeyId' | 'secretAccessKey'>,
  script: string,
  extraEnv: Record<string, string> = {},
) => run('python3', ['-c', script], awsEnv(key, { ENDPOINT: server.url, ...extraEnv }));

/** rclone with an on-the-fly S3 remote ("s3:") for this server and key. */
export const rclone = (server: Pick<TestServer, 'url'>, key: Pick<S3Key, 'accessKeyId' | 'secretAccessKey'>, args: string[]) =>
  run('rclone', ['--config', '/dev/null', ...args], {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    RCLONE_CONFIG_S3_TYPE: 's3',
    RCLONE_CONFIG_S3_PROVIDER: 'Other',
    RCLONE_CONFIG_S3_ENDPOINT: server.url,
    RCLONE_CONFIG_S3_ACCESS_KEY_ID: key.accessKeyId,
    RCLONE_CONFIG_S3_SECRET_ACCESS_KEY: key.secretAccessKey,
    RCLONE_CONFIG_S3_REGION: 'us-east-1',
    RCLONE_CONFIG_S3_FORCE_PATH_STYLE: 'true',
  });

/** The AWS SDK for JavaScript v3 against this server (path-style, its default checksums). */
export function sdkClient(server: Pick<TestServer, 'url'>, key: Pick<S3Key, 'accessKeyId' | 'secretAccessKey'>): S3Client {
  return new S3Client({
    endpoint: server.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
  });
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request exactly as given (raw path, headers, body); the path is not normalised. */
export function rawRequest(
  server: TestServer,
  method: string,
  rawPath: string,
  headers: Record<string, string>,
  body?: Buffer | string,
): Promise<RawResponse> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path: rawPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The AWS SDK's SigV4 signer as S3 clients use it (paths signed as sent), for these credentials. */
export function s3Signer(key: Pick<S3Key, 'accessKeyId' | 'secretAccessKey'>): SignatureV4 {
  return new SignatureV4({
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
    region: 'us-east-1',
    service: 's3',
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: false,
  });
}

/**
 * A request signed with SigV4 in its Authorization header by the AWS SDK's signer, for what no
 * client sends on its own (a wrong payload hash, signed aws-chunked bodies, another Host).
 */
export async function signedRequest(
  server: TestServer,
  key: Pick<S3Key, 'accessKeyId' | 'secretAccessKey'>,
  options: {
    method: string;
    path: string;
    query?: Record<string, string>;
    headers?: Record<string, string>;
    body?: Buffer | string;
    /** x-amz-content-sha256 (default: the body's SHA-256) */
    payloadHash?: string;
    host?: string;
    signingDate?: Date;
  },
): Promise<RawResponse & { signature: string; signer: SignatureV4; date: Date }> {
  const url = new URL(server.url);
  const body = options.body ?? '';
  const payloadHash = options.payloadHash ?? crypto.createHash('sha256').update(body).digest('hex');
  const signer = s3Signer(key);
  const date = options.signingDate ?? new Date();
  const signed = await signer.sign(
    {
      method: options.method,
      protocol: 'http:',
      hostname: url.hostname,
      path: options.path,
      query: options.query ?? {},
      headers: { host: options.host ?? url.host, 'x-amz-content-sha256': payloadHash, ...options.headers },
    },
    { signingDate: date },
  );
  const query = new URLSearchParams(options.query ?? {}).toString().replace(/\+/g, '%20');
  const headers = { ...(signed.headers as Record<string, string>) };
  if (!('content-length' in headers)) headers['content-length'] = String(Buffer.byteLength(body));
  const res = await rawRequest(server, options.method, options.path + (query ? `?${query}` : ''), headers, body);
  return { ...res, signature: /Signature=([0-9a-f]{64})/.exec(headers.authorization!)![1]!, signer, date };
}
