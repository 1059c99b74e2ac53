// @ts-check
// The project's Node.js runtime: loads the handler named by _HANDLER ("file.export", CommonJS or
// ESM) from LAMBDA_TASK_ROOT and serves invocations from the Lambda Runtime API, one at a time.
// Dependency-free: it runs as the function's own user with only the function's files around it.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { readResponse } from './http-response.mjs';
import { useNodePath, withSdkHint } from './module-paths.mjs';
import { installAwsLambdaGlobal, isStreamingHandler, streamResponse } from './response-stream.mjs';

const [host, port] = String(process.env.AWS_LAMBDA_RUNTIME_API).split(':');
const BASE = '/2018-06-01/runtime';

/**
 * A minimal HTTP/1.1 client on one keep-alive connection, with pipelining (responses come in
 * request order). Not node:http: with many instances on few cores each wake-up of an instance runs cold, and
 * node:http's client (agent, socket timers, ClientRequest/IncomingMessage streams) cost about four
 * times the CPU of this per invocation at 64 instances on 2 cores, which is the control plane's
 * throughput. Responses come from the engine's Runtime API, which always sends content-length; a
 * chunked body is decoded too, for safety.
 */
class RuntimeClient {
  /** @type {net.Socket | null} */
  socket = null;
  /** @type {Buffer[]} */
  chunks = [];
  size = 0;
  /** @type {Array<{ resolve: (r: { status: number, headers: Record<string, string>, body: string }) => void, reject: (e: Error) => void }>} */
  pending = [];

  connect() {
    const socket = net.connect(Number(port), host);
    socket.setNoDelay(true);
    socket.on('data', (c) => {
      this.chunks.push(c);
      this.size += c.length;
      this.parse();
    });
    const gone = (/** @type {Error | undefined} */ err) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.chunks = [];
      this.size = 0;
      const waiting = this.pending;
      this.pending = [];
      for (const p of waiting) p.reject(err ?? new Error('the Runtime API closed the connection'));
    };
    socket.on('error', gone);
    socket.on('close', () => gone(undefined));
    this.socket = socket;
    return socket;
  }

  parse() {
    while (this.pending.length > 0 && this.parseOne()) {
      /* each complete response answers the oldest request */
    }
  }

  /** @returns {boolean} whether a whole response was there */
  parseOne() {
    const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    this.chunks = [buf];
    const response = readResponse(buf);
    if (!response) return false;
    const { status, headers, body, rest } = response;
    this.chunks = rest.length ? [rest] : [];
    this.size = rest.length;
    this.pending.shift()?.resolve({ status, headers, body: body.toString('utf8') });
    return true;
  }

  /**
   * @param {string} method
   * @param {string} p
   * @param {string} [body]
   * @param {Record<string, string>} [headers]
   * @returns {Promise<{ status: number, headers: Record<string, string>, body: string }>}
   */
  request(method, p, body, headers = {}) {
    return new Promise((resolve, reject) => {
      const socket = this.socket ?? this.connect();
      this.pending.push({ resolve, reject });
      // requests made in one tick leave in one write
      socket.cork();
      process.nextTick(() => socket.uncork());
      const data = body === undefined ? null : Buffer.from(body);
      let head = `${method} ${BASE}${p} HTTP/1.1\r\nHost: ${host}:${port}\r\n`;
      if (data) head += `Content-Type: application/json\r\nContent-Length: ${data.length}\r\n`;
      for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
      head += '\r\n';
      if (data && data.length < 16_384) socket.write(Buffer.concat([Buffer.from(head, 'latin1'), data]));
      else {
        socket.write(head, 'latin1');
        if (data) socket.write(data);
      }
    });
  }
}

const client = new RuntimeClient();
const request = client.request.bind(client);

/** @param {unknown} err */
function errorDoc(err, fallbackType = 'Error') {
  if (err instanceof Error) {
    return {
      errorType: err.name || fallbackType,
      errorMessage: err.message,
      stackTrace: (err.stack ?? '')
        .split('\n')
        .slice(1)
        .map((l) => l.trim()),
    };
  }
  return { errorType: fallbackType, errorMessage: typeof err === 'string' ? err : JSON.stringify(err), stackTrace: [] };
}

// Lambda's console format: "<time>\t<request id>\t<LEVEL>\t<message>"
/** @type {string | undefined} */
let currentRequestId;
for (const [method, level] of /** @type {const} */ ([
  ['log', 'INFO'],
  ['info', 'INFO'],
  ['warn', 'WARN'],
  ['error', 'ERROR'],
  ['debug', 'DEBUG'],
  ['trace', 'TRACE'],
])) {
  console[method] = (/** @type {unknown[]} */ ...args) => {
    const text = format(...args).replace(/\n/g, '\r');
    process.stdout.write(`${new Date().toISOString()}\t${currentRequestId ?? 'undefined'}\t${level}\t${text}\n`);
  };
}

async function loadHandler() {
  const handlerName = process.env._HANDLER ?? '';
  const root = String(process.env.LAMBDA_TASK_ROOT);
  const dot = handlerName.lastIndexOf('.');
  if (dot <= 0)
    throw Object.assign(new Error(`Bad handler ${handlerName}: expected "file.export"`), { name: 'Runtime.MalformedHandlerName' });
  const modulePath = handlerName.slice(0, dot);
  const exportName = handlerName.slice(dot + 1);
  const base = path.resolve(root, modulePath);
  if (!base.startsWith(root + path.sep))
    throw Object.assign(new Error(`Bad handler ${handlerName}`), { name: 'Runtime.MalformedHandlerName' });
  const file = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((f) => fs.existsSync(f));
  if (!file) throw Object.assign(new Error(`Cannot find module '${modulePath}'`), { name: 'Runtime.ImportModuleError' });
  let mod;
  try {
    useNodePath(file);
    mod = await import(pathToFileURL(file).href);
  } catch (e) {
    const err = /** @type {Error} */ (e);
    throw Object.assign(new Error(withSdkHint(`${err?.name ?? 'Error'}: ${err?.message ?? err}`)), {
      name: 'Runtime.ImportModuleError',
      stack: err?.stack,
    });
  }
  // CommonJS exports arrive as named exports when Node can see them, always on `default`
  const fn = mod[exportName] ?? mod.default?.[exportName];
  if (typeof fn !== 'function')
    throw Object.assign(new Error(`${handlerName} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
  return fn;
}

/**
 * @param {Function} handler
 * @param {unknown} event
 * @param {object} context
 */
function invokeHandler(handler, event, context) {
  return new Promise((resolve, reject) => {
    const callback = (/** @type {unknown} */ err, /** @type {unknown} */ result) =>
      err !== undefined && err !== null ? reject(err) : resolve(result);
    try {
      const ret = handler(event, context, callback);
      if (ret && typeof ret.then === 'function') ret.then(resolve, reject);
      else if (handler.length < 3) resolve(ret);
    } catch (err) {
      reject(err);
    }
  });
}

// connected before the handler loads: the Runtime API checks who connects (a read of the host's
// connection table) while the handler is imported, not after
client.connect();
installAwsLambdaGlobal();
let handler;
try {
  handler = await loadHandler();
} catch (err) {
  const doc = errorDoc(err, 'Runtime.ImportModuleError');
  console.error(`${doc.errorType}: ${doc.errorMessage}`);
  await request('POST', '/init/error', JSON.stringify(doc), { 'Lambda-Runtime-Function-Error-Type': doc.errorType });
  process.exit(1);
}

/**
 * One invocation of a streamified handler (response-stream.mjs); returns the next event. A
 * failure before the first byte is an ordinary invocation error.
 * @param {Function} streamingHandler
 * @param {string} requestId
 * @param {unknown} event
 * @param {object} context
 */
async function invokeStreaming(streamingHandler, requestId, event, context) {
  const path = `${BASE}/invocation/${requestId}/response`;
  const early = await streamResponse(streamingHandler, event, context, { host, port: Number(port), path }, errorDoc);
  if (early) {
    const doc = errorDoc(early.failed);
    console.error(`${doc.errorType}: ${doc.errorMessage}`);
    await request('POST', `/invocation/${requestId}/error`, JSON.stringify(doc), { 'Lambda-Runtime-Function-Error-Type': 'Unhandled' });
  }
  currentRequestId = undefined;
  return request('GET', '/invocation/next');
}

const fixed = {
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
  functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
  memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
  logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
  logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
};

let next = await request('GET', '/invocation/next');
for (;;) {
  const requestId = String(next.headers['lambda-runtime-aws-request-id']);
  const deadline = Number(next.headers['lambda-runtime-deadline-ms']);
  currentRequestId = requestId;
  const clientContext = /** @type {string | undefined} */ (next.headers['lambda-runtime-client-context']);
  const context = {
    ...fixed,
    awsRequestId: requestId,
    invokedFunctionArn: next.headers['lambda-runtime-invoked-function-arn'],
    clientContext: clientContext ? JSON.parse(clientContext) : undefined,
    identity: undefined,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: undefined,
    succeed: undefined,
    fail: undefined,
  };
  let event;
  try {
    event = next.body === '' ? null : JSON.parse(next.body);
  } catch {
    event = next.body;
  }
  if (isStreamingHandler(handler)) {
    next = await invokeStreaming(handler, requestId, event, context);
    continue;
  }
  let body;
  let failed = false;
  try {
    const result = await invokeHandler(handler, event, context);
    body = JSON.stringify(result === undefined ? null : result);
  } catch (err) {
    failed = true;
    const doc = errorDoc(err);
    console.error(`${doc.errorType}: ${doc.errorMessage}`);
    body = JSON.stringify(doc);
  }
  const answered = failed
    ? request('POST', `/invocation/${requestId}/error`, body, { 'Lambda-Runtime-Function-Error-Type': 'Unhandled' })
    : request('POST', `/invocation/${requestId}/response`, body);
  // the next request goes out with the answer (pipelined): one write, one wake-up of the engine
  const following = request('GET', '/invocation/next');
  const res = await answered;
  if (res.status === 413) console.error('Response payload too large');
  currentRequestId = undefined;
  next = await following;
}
