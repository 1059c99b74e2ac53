// @ts-check
// The project's Node.js runtime: loads the handler named by _HANDLER ("file.export", CommonJS or
// ESM) from LAMBDA_TASK_ROOT and serves invocations from the Lambda Runtime API, one at a time.
// Dependency-free: it runs as the function's own user with only the function's files around it.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { readResponse, responseBytes } from './http-response.mjs';
import { useNodePath, withSdkHint } from './module-paths.mjs';
import { installAwsLambdaGlobal, isStreamingHandler, streamResponse } from './response-stream.mjs';

const [host, port] = String(process.env.AWS_LAMBDA_RUNTIME_API).split(':');
const BASE = '/2018-06-01/runtime';

/** the one buffer the Runtime API's bytes are read into: each response is taken out of it at once */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
/** requests of one tick up to this size together are copied into one buffer (a write of one buffer costs less than a gathered write) */
const GATHER_BYTES = 64 * 1024;

/**
 * A minimal HTTP/1.1 client on one keep-alive connection, with pipelining (responses come in
 * request order). Not node:http: with many instances on few cores each wake-up of an instance runs cold, and
 * node:http's client (agent, socket timers, ClientRequest/IncomingMessage streams) cost about four
 * times the CPU of this per invocation at 64 instances on 2 cores, which is the control plane's
 * throughput. For the same reason the socket's bytes skip its stream machinery: they are read into
 * one reused buffer (net's `onread`), and the requests made in one tick leave in one write of one
 * buffer. Responses come from the engine's Runtime API, which always sends content-length; a
 * chunked body is decoded too, for safety.
 */
class RuntimeClient {
  /** @type {net.Socket | null} */
  socket = null;
  /** @type {Buffer[]} the start of a response still incomplete, as read (copies: the read buffer is reused) */
  partial = [];
  /** bytes in `partial` */
  held = 0;
  /** the size of the response `partial` starts, once known: the pieces are joined when it is all in */
  awaited = 0;
  /** @type {Array<{ resolve: (r: { status: number, headers: Record<string, string>, body: string }) => void, reject: (e: Error) => void }>} */
  pending = [];
  /** @type {Buffer[]} requests made in this tick, not written yet */
  outgoing = [];

  connect() {
    const socket = net.connect({
      port: Number(port),
      host,
      onread: { buffer: READ_BUFFER, callback: (/** @type {number} */ n) => this.received(n) },
    });
    socket.setNoDelay(true);
    const gone = (/** @type {Error | undefined} */ err) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.partial = [];
      this.held = this.awaited = 0;
      this.outgoing = [];
      const waiting = this.pending;
      this.pending = [];
      for (const p of waiting) p.reject(err ?? new Error('the Runtime API closed the connection'));
    };
    socket.on('error', gone);
    socket.on('close', () => gone(undefined));
    this.socket = socket;
    return socket;
  }

  /**
   * `n` bytes came into READ_BUFFER.
   * @param {number} n
   * @returns {boolean} true: read on
   */
  received(n) {
    /** @type {Buffer} */
    let bytes = READ_BUFFER.subarray(0, n);
    if (this.partial.length > 0) {
      this.partial.push(Buffer.from(bytes));
      this.held += n;
      if (this.held < this.awaited) return true;
      bytes = Buffer.concat(this.partial, this.held);
      this.partial = [];
      this.held = this.awaited = 0;
    }
    // each complete response answers the oldest request (its body and headers leave as strings)
    while (this.pending.length > 0) {
      const response = readResponse(bytes);
      if (!response) break;
      bytes = response.rest;
      this.pending.shift()?.resolve({ status: response.status, headers: response.headers, body: response.body.toString('utf8') });
    }
    if (bytes.length > 0) {
      this.partial = [Buffer.from(bytes)];
      this.held = bytes.length;
      this.awaited = responseBytes(bytes);
    }
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
      if (!this.socket) this.connect();
      this.pending.push({ resolve, reject });
      let head = `${method} ${BASE}${p} HTTP/1.1\r\nHost: ${host}:${port}\r\n`;
      const size = body === undefined ? 0 : Buffer.byteLength(body);
      if (body !== undefined) head += `Content-Type: application/json\r\nContent-Length: ${size}\r\n`;
      for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
      head += '\r\n';
      const bytes = Buffer.allocUnsafe(Buffer.byteLength(head, 'latin1') + size);
      const at = bytes.write(head, 'latin1');
      if (body !== undefined) bytes.write(body, at, 'utf8');
      if (this.outgoing.length === 0) process.nextTick(() => this.flush());
      this.outgoing.push(bytes);
    });
  }

  /** The requests of this tick, in one write (large ones gathered by the kernel rather than copied). */
  flush() {
    const out = this.outgoing;
    this.outgoing = [];
    const socket = this.socket;
    if (!socket || out.length === 0) return;
    if (out.length === 1) socket.write(out[0]);
    else if (out.reduce((n, b) => n + b.length, 0) <= GATHER_BYTES) socket.write(Buffer.concat(out));
    else {
      socket.cork();
      for (const bytes of out) socket.write(bytes);
      socket.uncork();
    }
  }
}

const client = new RuntimeClient();
const request = client.request.bind(client);

// ---- errors, as AWS's nodejs runtime reports them ----

const BOOTSTRAP_FILES = [import.meta.url, new URL('./http-response.mjs', import.meta.url).href];

/** A frame of the runtime itself (the bootstrap's, Node's internals), which users' traces leave out. */
const runtimeFrame = (/** @type {string} */ line) =>
  /^\s+at /.test(line) && (line.includes('node:internal') || BOOTSTRAP_FILES.some((f) => line.includes(f)));

/** A stack's lines, the error line first, without the runtime's frames. */
const userTrace = (/** @type {string} */ stack) => stack.split('\n').filter((l) => !runtimeFrame(l));

/** @param {unknown} e */
const isError = (e) =>
  e instanceof Error ||
  (!!e &&
    typeof e === 'object' &&
    typeof (/** @type {Error} */ (e).name) === 'string' &&
    typeof (/** @type {Error} */ (e).stack) === 'string');

/**
 * The error document posted to the Runtime API: `{errorType, errorMessage, trace}` with the
 * error line first, or for a thrown non-Error its type and text.
 * @param {unknown} err
 */
function errorDoc(err) {
  if (isError(err)) {
    const e = /** @type {Error} */ (err);
    return { errorType: e.name, errorMessage: e.message, trace: userTrace(e.stack ?? `${e.name}: ${e.message}`) };
  }
  return { errorType: typeof err, errorMessage: String(err), trace: [] };
}

/** The runtime's log line for a failed invocation: "Invoke Error \t{errorType, errorMessage, stack}". */
function logInvokeError(/** @type {{ errorType: string, errorMessage: string, trace: string[] }} */ doc) {
  console.error('Invoke Error', `\t${JSON.stringify({ errorType: doc.errorType, errorMessage: doc.errorMessage, stack: doc.trace })}`);
}

// ---- logging: Lambda's console format, and the advanced logging controls' JSON format and level ----

/** @type {string | undefined} */
let currentRequestId;

/** the levels as the advanced logging controls name them, lowest first */
const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

/**
 * console.* write one line each to stdout: "<time>\t<request id>\t<LEVEL>\t<message>" (newlines
 * in the message become \r, so a line stays one log event), or with AWS_LAMBDA_LOG_FORMAT=JSON
 * `{"timestamp","level","requestId","message"}` (an Error's fields added); methods below
 * AWS_LAMBDA_LOG_LEVEL write nothing.
 */
function installConsole() {
  const json = process.env.AWS_LAMBDA_LOG_FORMAT === 'JSON';
  const threshold = Math.max(0, LOG_LEVELS.indexOf(String(process.env.AWS_LAMBDA_LOG_LEVEL ?? '').toUpperCase()));
  const out = (/** @type {string} */ line) => process.stdout.write(line);
  for (const [method, level] of /** @type {const} */ ([
    ['trace', 'TRACE'],
    ['debug', 'DEBUG'],
    ['log', 'INFO'],
    ['info', 'INFO'],
    ['warn', 'WARN'],
    ['error', 'ERROR'],
    ['fatal', 'FATAL'],
  ])) {
    const c = /** @type {Record<string, Function>} */ (/** @type {unknown} */ (console));
    if (LOG_LEVELS.indexOf(level) < threshold) {
      c[method] = () => {};
      continue;
    }
    c[method] = json
      ? (/** @type {unknown[]} */ ...args) => {
          const doc = { timestamp: new Date().toISOString(), level, requestId: currentRequestId, message: format(...args) };
          const err = args.find(isError);
          if (err) {
            const e = /** @type {Error} */ (err);
            Object.assign(doc, { errorType: e.name, errorMessage: e.message, stackTrace: userTrace(e.stack ?? '') });
          }
          out(`${JSON.stringify(doc)}\n`);
        }
      : (/** @type {unknown[]} */ ...args) =>
          out(`${new Date().toISOString()}\t${currentRequestId ?? 'undefined'}\t${level}\t${format(...args).replace(/\n/g, '\r')}\n`);
  }
}
installConsole();

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
  if (!file) throw Object.assign(new Error(`Error: Cannot find module '${modulePath}'`), { name: 'Runtime.ImportModuleError' });
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

// ---- one invocation: the handler's ways to finish, as AWS's nodejs runtime takes them ----

/**
 * Lambda's Node.js waits for the event loop to empty (what a callback left running: timers,
 * sockets) before it answers: Node says so with 'beforeExit', which comes only once nothing holds
 * the loop, so the Runtime API connection is unref'd meanwhile.
 */
function eventLoopEmptied() {
  return new Promise((resolve) => {
    client.socket?.unref();
    process.once('beforeExit', () => {
      client.socket?.ref();
      setImmediate(resolve);
    });
  });
}

/**
 * Runs the handler; settles with its result or error. An async handler (or one returning a
 * promise) answers when the promise settles; `callback(null, result)` once the event loop is empty
 * while `context.callbackWaitsForEmptyEventLoop` is true (at once when false); `callback(err)`,
 * `context.succeed/fail/done` at once. Only the first way counts.
 * @param {Function} handler
 * @param {unknown} event
 * @param {Record<string, unknown>} context
 * @returns {Promise<{ ok: true, result: unknown } | { ok: false, error: unknown }>}
 */
function invokeHandler(handler, event, context) {
  return new Promise((resolve) => {
    let settled = false;
    const once = (/** @type {() => void} */ fn) => {
      if (settled) return;
      settled = true;
      fn();
    };
    const succeed = (/** @type {unknown} */ result) => once(() => resolve({ ok: true, result }));
    // fail() without an error is still a failure: AWS reports it as "handled"
    const fail = (/** @type {unknown} */ error) => once(() => resolve({ ok: false, error: error ?? 'handled' }));
    const done = (/** @type {unknown} */ err, /** @type {unknown} */ result) =>
      err !== undefined && err !== null ? fail(err) : succeed(result);
    let waitForEmptyEventLoop = true;
    Object.defineProperties(context, {
      callbackWaitsForEmptyEventLoop: {
        get: () => waitForEmptyEventLoop,
        set: (v) => {
          waitForEmptyEventLoop = Boolean(v);
        },
        enumerable: true,
      },
    });
    Object.assign(context, { succeed, fail, done });
    const callback = (/** @type {unknown} */ err, /** @type {unknown} */ result) => {
      if (err !== undefined && err !== null) return fail(err);
      if (!waitForEmptyEventLoop) return succeed(result);
      if (settled) return;
      void eventLoopEmptied().then(() => succeed(result));
    };
    try {
      const ret = handler(event, context, callback);
      if (ret && typeof ret.then === 'function') ret.then(succeed, fail);
      else if (handler.length < 3) succeed(ret);
    } catch (err) {
      fail(err);
    }
  });
}

/**
 * An unhandled promise rejection ends the runtime, as on Lambda: the invocation under way (or the
 * init) fails with Runtime.UnhandledPromiseRejection, then the process exits.
 */
function failOnUnhandledRejection() {
  process.on('unhandledRejection', async (reason) => {
    const message = isError(reason) ? `${/** @type {Error} */ (reason).name}: ${/** @type {Error} */ (reason).message}` : String(reason);
    const doc = {
      errorType: 'Runtime.UnhandledPromiseRejection',
      errorMessage: message,
      trace: [
        `Runtime.UnhandledPromiseRejection: ${message}`,
        ...(isError(reason) ? userTrace(String(/** @type {Error} */ (reason).stack)).slice(1) : []),
      ],
    };
    logInvokeError(doc);
    const to = currentRequestId ? `/invocation/${currentRequestId}/error` : '/init/error';
    await request('POST', to, JSON.stringify(doc), { 'Lambda-Runtime-Function-Error-Type': doc.errorType }).catch(() => {});
    process.exit(128);
  });
}

// ---- the runtime ----

// connected before the handler loads: the Runtime API checks who connects (a read of the host's
// connection table) while the handler is imported, not after
client.connect();
installAwsLambdaGlobal();
failOnUnhandledRejection();
let handler;
try {
  handler = await loadHandler();
} catch (err) {
  const doc = errorDoc(err);
  logInvokeError(doc);
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
    logInvokeError(doc);
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
  // the X-Ray SDKs read the invocation's trace header from the environment
  const traceId = next.headers['lambda-runtime-trace-id'];
  if (traceId) process.env._X_AMZN_TRACE_ID = traceId;
  else delete process.env._X_AMZN_TRACE_ID;
  const clientContext = /** @type {string | undefined} */ (next.headers['lambda-runtime-client-context']);
  const context = {
    ...fixed,
    awsRequestId: requestId,
    invokedFunctionArn: next.headers['lambda-runtime-invoked-function-arn'],
    clientContext: clientContext ? JSON.parse(clientContext) : undefined,
    identity: undefined,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
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
  const outcome = await invokeHandler(handler, event, context);
  let body;
  let errorType = null;
  if (outcome.ok) body = JSON.stringify(outcome.result === undefined ? null : outcome.result);
  else {
    const doc = errorDoc(outcome.error);
    logInvokeError(doc);
    errorType = doc.errorType;
    body = JSON.stringify(doc);
  }
  const answered =
    errorType === null
      ? request('POST', `/invocation/${requestId}/response`, body)
      : request('POST', `/invocation/${requestId}/error`, body, { 'Lambda-Runtime-Function-Error-Type': 'Unhandled' });
  // the next request goes out with the answer (pipelined): one write, one wake-up of the engine
  const following = request('GET', '/invocation/next');
  const res = await answered;
  if (res.status === 413) console.error('Response payload too large');
  currentRequestId = undefined;
  next = await following;
}
