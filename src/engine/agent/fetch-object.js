// @ts-check
// Objects a node needs (bootstrap actions, step scripts), fetched through the control plane's S3
// endpoint with the node's own cluster credential: a node on a joined host shares no disk with the
// server (docs/agent-protocol.md "Fetched objects"). The request is signed by the AWS SDK's signer;
// the bytes are written by the node's uid inside its sandbox (the agent never writes in the node's
// directory, where tenant code could have put a link), and their length is checked on both sides.
import { spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { SCRIPT_HEAD_BYTES as HEAD_BYTES } from './bootstrap.js';
import { parseObjectUri } from './step-args.js';

// a connection or a response that stays silent this long fails the fetch
const IDLE_TIMEOUT_MS = 60_000;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
// the writer, as the node's uid in its directory: $0 the file, $1 the bytes it must hold
const WRITER =
  'umask 077 && cat > "$0" && test "$(wc -c < "$0")" -eq "$1" || { echo "wrote $(wc -c < "$0" 2>/dev/null || echo no) of $1 bytes" >&2; exit 1; }';

/** A fetch that failed, its message naming the URI (and S3's error code and message, when it gave them). */
export class FetchError extends Error {}

/** A key's path segments as S3 expects them on the wire (RFC 3986, `/` kept). @param {string} key */
function encodeKey(key) {
  return key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

/**
 * GetObject for `uri`, path-style, signed with the node's credential: the response once its status
 * is 200 (FetchError with S3's code and message otherwise).
 * @param {import('../types.js').NodeS3} s3 @param {string} uri
 * @returns {Promise<http.IncomingMessage>}
 */
async function getObject(s3, uri) {
  const { bucket, key } = parseObjectUri(uri);
  const endpoint = new URL(s3.endpoint);
  const signer = new SignatureV4({
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    region: s3.region,
    service: 's3',
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: false,
    applyChecksum: false,
  });
  const signed = await signer.sign({
    method: 'GET',
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    port: endpoint.port ? Number(endpoint.port) : undefined,
    path: `${endpoint.pathname.replace(/\/$/, '')}/${bucket}/${encodeKey(key)}`,
    query: {},
    headers: { host: endpoint.host, 'x-amz-content-sha256': EMPTY_SHA256 },
  });
  return new Promise((resolve, reject) => {
    const req = (endpoint.protocol === 'https:' ? https : http).request({
      method: 'GET',
      hostname: endpoint.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: endpoint.port || undefined,
      path: signed.path,
      headers: signed.headers,
      agent: false,
      timeout: IDLE_TIMEOUT_MS,
    });
    req.on('timeout', () => req.destroy(new FetchError(`${uri}: no answer from the S3 endpoint for ${IDLE_TIMEOUT_MS / 1000} s`)));
    req.on('error', (err) => reject(err instanceof FetchError ? err : new FetchError(`${uri}: ${err.message}`)));
    req.on('response', (res) => {
      if (res.statusCode === 200) return resolve(res);
      /** @type {Buffer[]} */
      const body = [];
      let size = 0;
      res.on('data', (/** @type {Buffer} */ chunk) => {
        if (size < 64 * 1024) body.push(chunk);
        size += chunk.length;
      });
      res.on('error', () => {});
      res.on('end', () => {
        const xml = Buffer.concat(body).toString('utf8');
        const code = /<Code>([^<]*)<\/Code>/.exec(xml)?.[1] ?? null;
        const message = /<Message>([^<]*)<\/Message>/.exec(xml)?.[1] ?? '';
        reject(new FetchError(`${uri}: ${code ?? `HTTP ${res.statusCode}`}${message ? ` (${message})` : ''}`));
      });
    });
    req.end();
  });
}

/**
 * Downloads `uri` into `file` (in the node's directory), written by the node's uid in its sandbox
 * (mode 0600), the length checked against Content-Length as received and as written.
 * @param {{ s3: import('../types.js').NodeS3 | null, uri: string, file: string,
 *   sandbox: import('./node-sandbox.js').NodeSandbox, env: NodeJS.ProcessEnv }} options
 * @returns {Promise<{ bytes: number, head: Buffer }>} the object's size and first bytes (a #! line)
 */
export async function fetchObject({ s3, uri, file, sandbox, env }) {
  if (!s3) throw new FetchError(`${uri}: the node has no S3 credential to fetch it with`);
  const res = await getObject(s3, uri);
  const expected = Number(res.headers['content-length']);
  if (!Number.isSafeInteger(expected) || expected < 0) {
    res.destroy();
    throw new FetchError(`${uri}: the S3 endpoint sent no Content-Length`);
  }
  const run = sandbox.command(['/bin/sh', '-c', WRITER, path.basename(file), String(expected)], { cwd: path.dirname(file) });
  const writer = spawn(run.file, run.args, { cwd: run.cwd, env: sandbox.env({ PATH: env.PATH }), stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  writer.stderr.on('data', (/** @type {Buffer} */ c) => {
    stderr = (stderr + c.toString()).slice(-1000);
  });
  const exited = new Promise((resolve) => {
    writer.once('error', (err) => {
      stderr += err.message;
      resolve(null);
    });
    writer.once('close', (code) => resolve(code));
  });
  /** @type {Buffer[]} */
  const head = [];
  let bytes = 0;
  let headBytes = 0;
  /** @type {Error | null} */
  let readError = null;
  writer.stdin.on('error', () => {});
  try {
    for await (const chunk of res) {
      if (headBytes < HEAD_BYTES) {
        head.push(chunk.subarray(0, HEAD_BYTES - headBytes));
        headBytes += Math.min(chunk.length, HEAD_BYTES - headBytes);
      }
      bytes += chunk.length;
      if (!writer.stdin.write(chunk)) await new Promise((r) => writer.stdin.once('drain', r).once('close', r));
      if (writer.exitCode !== null || writer.stdin.destroyed) break;
    }
  } catch (err) {
    readError = /** @type {Error} */ (err);
  }
  if (readError || bytes !== expected) {
    // the writer must not take a short file as whole: it fails its length check once stdin ends
    res.destroy();
  }
  writer.stdin.end();
  const code = await exited;
  if (readError) throw new FetchError(`${uri}: the download broke off after ${bytes} of ${expected} bytes (${readError.message})`);
  if (bytes !== expected) throw new FetchError(`${uri}: received ${bytes} of ${expected} bytes`);
  if (code !== 0) throw new FetchError(`${uri}: could not write ${file}: ${stderr.trim() || `exit code ${code}`}`);
  return { bytes, head: Buffer.concat(head) };
}
