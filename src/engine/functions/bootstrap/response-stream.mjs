// @ts-check
// Response streaming in the project's Node.js runtime, as Lambda's nodejs runtime offers it: the
// global `awslambda.streamifyResponse(handler)` marks a handler `(event, responseStream, context)`,
// and `awslambda.HttpResponseStream.from(stream, metadata)` makes the stream start with the HTTP
// metadata prelude a function URL reads (JSON, then 8 null bytes). A streamed response is one
// POST to the Runtime API with `Lambda-Runtime-Function-Response-Mode: streaming` and a chunked
// body, on a connection of its own: each write leaves as a chunk, a write waits while the socket
// is full (so a slow reader slows the handler instead of filling its memory), and a failure after
// the first byte is told in the trailers Lambda-Runtime-Function-Error-Type / -Body.
import net from 'node:net';
import { Writable } from 'node:stream';
import { readResponse } from './http-response.mjs';

// the markers AWS's runtime puts on a streamified handler (libraries look for them too)
const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const STREAM_RESPONSE = 'response';
const HTTP_INTEGRATION_TYPE = 'application/vnd.awslambda.http-integration-response';
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const PRELUDE_DELIMITER = Buffer.alloc(8);

/**
 * The response stream handed to a streaming handler: a Writable whose bytes leave as the chunks
 * of the POST, whose head (with the content type) leaves with the first bytes or the end.
 */
class ResponseStream extends Writable {
  /** @type {string} */
  contentType = DEFAULT_CONTENT_TYPE;
  /** set by HttpResponseStream.from: bytes that go before the first write */
  /** @type {Buffer | null} */
  prelude = null;
  started = false;

  /**
   * @param {net.Socket} socket
   * @param {string} head the request head without its Content-Type line and final CRLF
   * @param {number | undefined} highWaterMark
   */
  constructor(socket, head, highWaterMark) {
    super(highWaterMark ? { highWaterMark } : {});
    this.socket = socket;
    this.head = head;
  }

  /** @param {string} contentType */
  setContentType(contentType) {
    if (this.started) throw new Error('Cannot set content-type, too late.');
    this.contentType = String(contentType);
  }

  /** The head and the prelude, once. */
  begin() {
    if (this.started) return;
    this.started = true;
    this.socket.write(`${this.head}Content-Type: ${this.contentType}\r\n\r\n`, 'latin1');
    if (this.prelude) this.frame(this.prelude);
  }

  /** @param {Buffer} data */
  frame(data) {
    if (data.length === 0) return true;
    this.socket.write(`${data.length.toString(16)}\r\n`, 'latin1');
    this.socket.write(data);
    return this.socket.write('\r\n', 'latin1');
  }

  /**
   * @param {any} chunk
   * @param {BufferEncoding} encoding
   * @param {(err?: Error | null) => void} callback
   */
  _write(chunk, encoding, callback) {
    if (this.socket.destroyed) return callback(new Error('the response stream was closed by the Runtime API'));
    this.begin();
    const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, encoding);
    // the callback waits while the socket's buffer is full: the stream's own buffering is bounded
    if (this.frame(data)) return callback();
    const done = () => {
      this.socket.off('drain', done).off('close', done);
      callback(this.socket.destroyed ? new Error('the response stream was closed by the Runtime API') : null);
    };
    this.socket.on('drain', done).on('close', done);
  }

  /** @param {(err?: Error | null) => void} callback */
  _final(callback) {
    if (this.socket.destroyed) return callback(new Error('the response stream was closed by the Runtime API'));
    this.begin();
    this.socket.write('0\r\n\r\n', 'latin1', () => callback());
  }

  /**
   * Ends the body with the error in its trailers (the stream had begun; see streamResponse).
   * @param {{ errorType: string }} doc
   */
  failWith(doc) {
    if (this.socket.destroyed) return;
    this.begin();
    const body = Buffer.from(JSON.stringify(doc)).toString('base64');
    this.socket.write(
      `0\r\nLambda-Runtime-Function-Error-Type: ${doc.errorType}\r\nLambda-Runtime-Function-Error-Body: ${body}\r\n\r\n`,
      'latin1',
    );
  }
}

/** Defines the global `awslambda` Lambda's nodejs runtime gives handlers. */
export function installAwsLambdaGlobal() {
  const HttpResponseStream = {
    /**
     * @param {ResponseStream} underlyingStream
     * @param {Record<string, unknown>} metadata statusCode, headers, cookies
     */
    from(underlyingStream, metadata) {
      underlyingStream.setContentType(HTTP_INTEGRATION_TYPE);
      // JSON can't hold a null byte: the 8 null bytes can only be the delimiter
      underlyingStream.prelude = Buffer.concat([Buffer.from(JSON.stringify(metadata)), PRELUDE_DELIMITER]);
      return underlyingStream;
    },
  };
  // a plain, writable global as in AWS's runtime: the AWS SDK's invoke store adds to it
  /** @type {any} */ (globalThis).awslambda = {
    /**
     * @param {Function} handler
     * @param {{ highWaterMark?: number }} [options]
     */
    streamifyResponse(handler, options) {
      Object.assign(handler, { [HANDLER_STREAMING]: STREAM_RESPONSE });
      if (typeof options?.highWaterMark === 'number') Object.assign(handler, { [HANDLER_HIGHWATERMARK]: options.highWaterMark });
      return handler;
    },
    HttpResponseStream,
  };
}

/** @param {Function} handler */
export const isStreamingHandler = (handler) => /** @type {any} */ (handler)[HANDLER_STREAMING] === STREAM_RESPONSE;

/**
 * The connection streamed responses go on, kept between invocations: the Runtime API checks who
 * connects (a read of the host's connection table), once per connection, not per response.
 * @type {net.Socket | null}
 */
let kept = null;

/** @param {{ host: string, port: number }} api */
function connection(api) {
  if (kept && !kept.destroyed) return kept;
  kept = net.connect(api.port, api.host);
  kept.setNoDelay(true);
  kept.on('error', () => {});
  return kept;
}

/**
 * The Runtime API's answer on `socket` (the 202, or a refusal; 0: the connection went).
 * @param {net.Socket} socket
 * @returns {Promise<number>}
 */
function answerOf(socket) {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const done = (/** @type {number} */ status) => {
      socket.off('data', onData).off('close', onClose);
      resolve(status);
    };
    const onData = (/** @type {Buffer} */ c) => {
      buf = Buffer.concat([buf, c]);
      const res = readResponse(buf);
      if (res) done(res.status);
    };
    const onClose = () => done(0);
    socket.on('data', onData).on('close', onClose);
  });
}

/**
 * Runs a streaming handler for one invocation. Resolves once the Runtime API took the response
 * (or refused it), with `{ failed }` when the handler failed before writing anything: that error
 * is then the caller's to post as an ordinary invocation error.
 * @param {Function} handler
 * @param {unknown} event
 * @param {object} context
 * @param {{ host: string, port: number, path: string }} api the response's URL on the Runtime API
 * @param {(err: unknown) => { errorType: string, errorMessage: string }} errorDoc
 * @returns {Promise<{ failed: unknown } | null>}
 */
export async function streamResponse(handler, event, context, api, errorDoc) {
  const socket = connection(api);
  // listening from the start: a refusal (413) can come while the handler still writes
  const answered = answerOf(socket);
  const head =
    `POST ${api.path} HTTP/1.1\r\nHost: ${api.host}:${api.port}\r\n` +
    'Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n' +
    'Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n';
  const stream = new ResponseStream(socket, head, /** @type {any} */ (handler)[HANDLER_HIGHWATERMARK]);
  const finished = new Promise((resolve) => {
    stream.on('finish', () => resolve(null));
    stream.on('error', (err) => resolve(err));
  });
  let failure;
  try {
    // the invocation ends when the stream does (a handler that returns without ending it runs
    // until it does or times out, as on Lambda); a rejection or throw ends it with the error
    await Promise.race([
      Promise.resolve(handler(event, stream, context)).then(() => finished),
      finished.then((err) => {
        if (err) throw err;
      }),
    ]);
  } catch (err) {
    failure = err;
  }
  if (failure !== undefined && !stream.started) {
    socket.destroy();
    return { failed: failure };
  }
  if (failure !== undefined) {
    const doc = errorDoc(failure);
    console.error(`${doc.errorType}: ${doc.errorMessage}`);
    stream.failWith(doc);
  }
  const status = await answered;
  if (status === 413) console.error('Response payload too large');
  // only a response answered 202 leaves the connection where the next request can start
  if (status !== 202) socket.destroy();
  return null;
}
