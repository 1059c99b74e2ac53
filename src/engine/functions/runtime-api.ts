// One Lambda Runtime API endpoint (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html)
// per instance, on 127.0.0.1: an instance only ever sees its own invocations. When instances run
// under their own uids, connections from any other uid are refused (looked up in /proc/net/tcp).
//
// HTTP/1.1 is served by a small server on net sockets, not node:http: every invocation crosses
// this endpoint twice (the event out, the response in), and with tens of instances on a few
// cores it is the control plane's hottest path. It speaks what runtimes send — keep-alive or
// not, content-length or chunked bodies, `Expect: 100-continue` (curl's large POSTs), pipelined
// requests — and answers each request in order. One saving needs pipelining: a runtime that asks
// for its next event together with its response (the project's Node runtime does) gets the 202
// for that response in the same write as the next event, one wake-up per invocation.
import fs from 'node:fs';
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { ChunkedBodyReader, isStreamingMode, MAX_STREAMED_RESPONSE_BYTES, type StreamedBodyEnd } from './runtime-api-stream.js';

export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;
const MAX_ERROR_BYTES = 1024 * 1024;
const MAX_HEAD_BYTES = 64 * 1024;
const PREFIX = '/2018-06-01/runtime/';
const RESPONSE_PATH = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/response$/;

export interface NextEvent {
  requestId: string;
  deadlineMs: number;
  invokedFunctionArn: string;
  traceId: string;
  clientContext?: string;
  payload: Buffer;
}

export interface RuntimeApiHandlers {
  /** the runtime asks for work (its first call ends the init phase) */
  next(): Promise<NextEvent>;
  response(requestId: string, body: Buffer): boolean;
  /** a body over the limit: the invocation fails */
  responseTooLarge(requestId: string): boolean;
  error(requestId: string, body: Buffer, errorType: string | null): boolean;
  initError(body: Buffer, errorType: string | null): void;
  /** a streamed response begins (runtime-api-stream.ts); false: no such invocation */
  streamStart(requestId: string, contentType: string): boolean;
  /** its next bytes; a promise holds the runtime back until it settles */
  streamChunk(requestId: string, chunk: Buffer): void | Promise<void>;
  /** it ended: whole (error null), with the runtime's error from the trailers, or over the limit */
  streamEnd(requestId: string, end: StreamedError | null | 'TOO_LARGE'): void;
}

/** A failure told in a streamed response's trailers. */
export interface StreamedError {
  errorType: string | null;
  body: Buffer;
}

/** Where a streamed request body goes, and the answer once it ended (or a refusal instead). */
interface StreamTarget {
  data(chunk: Buffer): void | Promise<void>;
  end(how: StreamedBodyEnd): Buffer;
}

/**
 * The uid owning the other end of a loopback connection, from /proc/net/tcp ("sl local_address
 * rem_address st … uid"; addresses are hex ip:port). Read on the thread pool: the kernel walks its
 * whole connection table to make the file (milliseconds on a busy host), which would stall every
 * other request on the event loop.
 */
async function uidOfPeer(socket: Socket, serverPort: number): Promise<number | null> {
  const hexPort = (p: number) => p.toString(16).toUpperCase().padStart(4, '0');
  const local = `0100007F:${hexPort(socket.remotePort ?? 0)}`;
  const remote = `0100007F:${hexPort(serverPort)}`;
  try {
    for (const line of (await fs.promises.readFile('/proc/net/tcp', 'latin1')).split('\n')) {
      const cols = line.trim().split(/\s+/);
      if (cols[1] === local && cols[2] === remote) return Number(cols[7]);
    }
  } catch {
    // no procfs: nothing to check against
  }
  return null;
}

const REASONS: Record<number, string> = {
  100: 'Continue',
  200: 'OK',
  202: 'Accepted',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
};

/** A JSON answer of the Runtime API's own (its errors, the 202 for a response). */
function json(status: number, doc: object, close = false): Buffer {
  const data = Buffer.from(JSON.stringify(doc));
  const head = `HTTP/1.1 ${status} ${REASONS[status] ?? ''}\r\ncontent-type: application/json\r\ncontent-length: ${data.length}\r\n`;
  return Buffer.concat([Buffer.from(head + (close ? 'connection: close\r\n\r\n' : '\r\n'), 'latin1'), data]);
}

/** The answer to a response or error the engine took (one per invocation: made once, and known by identity). */
const ACCEPTED = json(202, { status: 'OK' });
const ACCEPTED_CLOSE = json(202, { status: 'OK' }, true);

/** GET …/invocation/next's answer: the event and its headers. */
function nextEvent(ev: NextEvent, close: boolean): Buffer {
  let head =
    `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${ev.payload.length}\r\n` +
    `lambda-runtime-aws-request-id: ${ev.requestId}\r\nlambda-runtime-deadline-ms: ${ev.deadlineMs}\r\n` +
    `lambda-runtime-invoked-function-arn: ${ev.invokedFunctionArn}\r\nlambda-runtime-trace-id: ${ev.traceId}\r\n`;
  if (ev.clientContext) head += `lambda-runtime-client-context: ${ev.clientContext}\r\n`;
  head += close ? 'connection: close\r\n\r\n' : '\r\n';
  const bytes = Buffer.allocUnsafe(Buffer.byteLength(head, 'latin1') + ev.payload.length);
  const at = bytes.write(head, 'latin1');
  ev.payload.copy(bytes, at);
  return bytes;
}

interface Request {
  method: string;
  path: string;
  headers: Map<string, string>;
  /** null: over the route's limit (the bytes were read and dropped) */
  body: Buffer | null;
  close: boolean;
}

const EMPTY = Buffer.alloc(0);

/** One runtime's connection: parses requests as bytes arrive and answers them in order. */
class Connection {
  private buf: Buffer = EMPTY;
  /**
   * A request whose body (by content-length) is still coming: its bytes so far are copied into
   * `gathering`, which grows by doubling up to the `needed` bytes the request takes, then becomes
   * `buf`. Joining `buf` with each read instead copied a body of n reads about n/2 times on the
   * event loop; holding the reads as pieces would let a runtime trickling a byte at a time make a
   * buffer object per byte. Growing by doubling copies each byte at most about three times, and
   * holds at most twice what came.
   */
  private gathering: Buffer | null = null;
  private gathered = 0;
  private needed = 0;
  private busy = false;
  /** answers that leave with the next one (see the file comment) */
  private held: Buffer[] = [];
  private continued = false;
  private closed = false;
  /** bytes still to drop of a body over its limit, and the request they belong to */
  private skip = 0;
  private skipped: Request | null = null;
  /** a streamed response being read */
  private stream: ChunkedBodyReader | null = null;

  constructor(
    private readonly socket: Socket,
    private readonly route: (req: Request) => Promise<Buffer>,
    private readonly streamTo: (req: Request) => StreamTarget | Buffer,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => {
      this.closed = true;
    });
  }

  private receive(chunk: Buffer): void {
    if (this.stream) {
      this.stream.push(chunk);
      return;
    }
    if (this.skip > 0) {
      const n = Math.min(this.skip, chunk.length);
      this.skip -= n;
      if (this.skip > 0) return;
      this.buf = chunk.subarray(n);
      this.answer(this.skipped!);
      this.skipped = null;
      return;
    }
    if (this.needed > 0) {
      this.gather(chunk);
      if (this.gathered < this.needed) return;
      this.buf = this.gathering!.subarray(0, this.gathered);
      this.gathering = null;
      this.gathered = this.needed = 0;
    } else this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.pump();
  }

  private pump(): void {
    while (!this.busy && !this.closed && this.skip === 0) {
      const req = this.take();
      if (!req) return;
      this.answer(req);
    }
  }

  private answer(req: Request): void {
    this.busy = true;
    this.route(req).then(
      (bytes) => {
        this.busy = false;
        // a 202 for a response, with the runtime's next request already here: it leaves with that one's answer
        if (bytes === ACCEPTED && this.buf.indexOf('\r\n\r\n') >= 0) this.held.push(bytes);
        else this.write(bytes, req.close);
        this.pump();
      },
      () => {
        this.busy = false;
        this.write(json(500, { errorMessage: 'internal error', errorType: 'ServiceException' }, true), true);
      },
    );
  }

  private write(bytes: Buffer, close = false): void {
    if (this.closed) return;
    const out = this.held.length > 0 ? Buffer.concat([...this.held, bytes]) : bytes;
    this.held = [];
    if (close) {
      this.closed = true;
      this.socket.end(out);
    } else this.socket.write(out);
  }

  private fail(status: number, message: string): void {
    this.buf = EMPTY;
    this.write(json(status, { errorMessage: message, errorType: 'InvalidRequest' }, true), true);
  }

  /** A complete request from the buffer, or null (more bytes needed, a large body being dropped, or a failure). */
  private take(): Request | null {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.buf.length > MAX_HEAD_BYTES) this.fail(431, 'request head too large');
      return null;
    }
    const lines = this.buf.toString('latin1', 0, end).split('\r\n');
    const [method, target, version] = (lines[0] ?? '').split(' ');
    if (!method || !target || !version?.startsWith('HTTP/1.')) {
      this.fail(400, 'malformed request line');
      return null;
    }
    const headers = new Map<string, string>();
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i]!.indexOf(':');
      if (colon > 0) headers.set(lines[i]!.slice(0, colon).trim().toLowerCase(), lines[i]!.slice(colon + 1).trim());
    }
    const connection = (headers.get('connection') ?? '').toLowerCase();
    const close = version === 'HTTP/1.0' ? !connection.includes('keep-alive') : connection.includes('close');
    const limit = target.startsWith(`${PREFIX}invocation/`) && target.endsWith('/response') ? MAX_RESPONSE_BYTES : MAX_ERROR_BYTES;
    const start = end + 4;
    const req: Request = { method, path: target, headers, body: null, close };
    const chunked = /chunked/i.test(headers.get('transfer-encoding') ?? '');
    if (chunked && method === 'POST' && isStreamingMode(headers) && RESPONSE_PATH.test(target)) {
      this.openStream(req, this.buf.subarray(start));
      return null;
    }
    if (chunked) {
      const parts: Buffer[] = [];
      let size = 0;
      let at = start;
      for (;;) {
        const eol = this.buf.indexOf('\r\n', at);
        if (eol < 0) return this.awaitBody(headers, start, limit);
        const n = parseInt(this.buf.toString('latin1', at, eol), 16);
        if (!Number.isFinite(n) || n < 0) {
          this.fail(400, 'malformed chunked body');
          return null;
        }
        if (n === 0) {
          // the last chunk, then optional trailers, then an empty line
          const done = this.buf.indexOf('\r\n\r\n', eol);
          if (done < 0) return this.awaitBody(headers, start, limit);
          this.buf = this.buf.subarray(done + 4);
          break;
        }
        if (this.buf.length < eol + 2 + n + 2) return this.awaitBody(headers, start, limit);
        parts.push(this.buf.subarray(eol + 2, eol + 2 + n));
        size += n;
        at = eol + 2 + n + 2;
      }
      req.body = size > limit ? null : Buffer.concat(parts, size);
    } else {
      const length = Number(headers.get('content-length') ?? 0);
      if (!Number.isInteger(length) || length < 0) {
        this.fail(400, 'malformed content-length');
        return null;
      }
      if (length > limit) {
        // over the limit: the bytes are dropped as they come, the request is answered at its end
        this.continueIfAsked(headers);
        const have = Math.min(this.buf.length - start, length);
        this.buf = this.buf.subarray(start + have);
        this.continued = false;
        if (have < length) {
          this.skip = length - have;
          this.skipped = req;
          return null;
        }
        return req;
      }
      if (this.buf.length < start + length) {
        this.needed = start + length;
        this.gather(this.buf);
        return this.awaitBody(headers, start, limit);
      }
      req.body = Buffer.from(this.buf.subarray(start, start + length));
      this.buf = this.buf.subarray(start + length);
    }
    this.continued = false;
    return req;
  }

  /** A streamed response: its body goes on as it comes (runtime-api-stream.ts), answered at its end. */
  private openStream(req: Request, bytes: Buffer): void {
    this.buf = EMPTY;
    const target = this.streamTo(req);
    if (Buffer.isBuffer(target)) {
      this.write(target, true);
      return;
    }
    this.continueIfAsked(req.headers);
    this.busy = true;
    this.stream = new ChunkedBodyReader(this.socket, MAX_STREAMED_RESPONSE_BYTES, target.data, (how) => {
      this.stream = null;
      this.busy = false;
      this.continued = false;
      const answer = target.end(how);
      // a body cut short by us: the rest of it is not read, the connection goes
      if (how.kind !== 'END') return this.write(answer, true);
      this.buf = how.rest;
      this.write(answer, req.close);
      this.pump();
    });
    this.stream.push(bytes);
  }

  /** Adds `bytes` to the request being gathered (see `gathering`); the last read may carry the next request too. */
  private gather(bytes: Buffer): void {
    const want = this.gathered + bytes.length;
    const capacity = this.gathering?.length ?? 0;
    if (want > capacity) {
      const grown = Buffer.allocUnsafe(Math.max(want, Math.min(this.needed, Math.max(2 * capacity, 64 * 1024))));
      this.gathering?.copy(grown, 0, 0, this.gathered);
      this.gathering = grown;
    }
    bytes.copy(this.gathering!, this.gathered);
    this.gathered = want;
  }

  /** More of the body is needed. curl waits (up to a second) for "100 Continue" before sending a large one. */
  private awaitBody(headers: Map<string, string>, start: number, limit: number): null {
    // a chunked body is kept until it ends: past the limit (and some slack) the connection goes
    if (this.buf.length - start > limit + MAX_HEAD_BYTES) {
      this.fail(413, 'request body too large');
      return null;
    }
    this.continueIfAsked(headers);
    return null;
  }

  private continueIfAsked(headers: Map<string, string>): void {
    if (this.continued || (headers.get('expect') ?? '').toLowerCase() !== '100-continue') return;
    this.continued = true;
    this.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
  }
}

export class RuntimeApiServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  /** `allowedUid`: the only uid whose connections are taken (null: any; the instance sets it once it knows its uid) */
  constructor(
    private readonly handlers: RuntimeApiHandlers,
    public allowedUid: number | null,
  ) {
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      const serve = () =>
        new Connection(
          socket,
          (req) => this.route(req),
          (req) => this.streamTarget(req),
        );
      if (this.allowedUid === null) return serve();
      // nothing of the connection is read until its peer is known (its bytes wait in the kernel)
      const allowed = this.allowedUid;
      socket.pause();
      socket.on('error', () => {});
      void uidOfPeer(socket, this.port).then((uid) => {
        if (uid !== allowed || socket.destroyed) return socket.destroy();
        serve();
        socket.resume();
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return `127.0.0.1:${this.port}`;
  }

  close(): void {
    this.server.close();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** A streamed response's receiver: the invocation's, or a refusal when there is none. */
  private streamTarget(req: Request): StreamTarget | Buffer {
    let requestId: string;
    try {
      requestId = decodeURIComponent(RESPONSE_PATH.exec(req.path)![1]!);
    } catch {
      return json(400, { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' }, true);
    }
    if (!this.handlers.streamStart(requestId, req.headers.get('content-type') || 'application/octet-stream'))
      return json(400, { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' }, true);
    return {
      data: (chunk) => this.handlers.streamChunk(requestId, chunk),
      end: (how) => {
        if (how.kind === 'TOO_LARGE') {
          this.handlers.streamEnd(requestId, 'TOO_LARGE');
          return json(
            413,
            {
              errorMessage: `Exceeded maximum allowed payload size (${MAX_STREAMED_RESPONSE_BYTES} bytes).`,
              errorType: 'RequestEntityTooLarge',
            },
            true,
          );
        }
        if (how.kind === 'MALFORMED') {
          const doc = { errorMessage: 'malformed chunked body', errorType: 'InvalidRequest' };
          this.handlers.streamEnd(requestId, { errorType: 'Runtime.InvalidResponseStream', body: Buffer.from(JSON.stringify(doc)) });
          return json(400, doc, true);
        }
        const errorType = how.trailers.get('lambda-runtime-function-error-type') || null;
        const errorBody = how.trailers.get('lambda-runtime-function-error-body');
        const failed = errorType !== null || errorBody !== undefined;
        this.handlers.streamEnd(requestId, failed ? { errorType, body: Buffer.from(errorBody ?? '', 'base64') } : null);
        return req.close ? ACCEPTED_CLOSE : ACCEPTED;
      },
    };
  }

  private async route(req: Request): Promise<Buffer> {
    const reply = (status: number, doc: object) => json(status, doc, req.close);
    const accepted = req.close ? ACCEPTED_CLOSE : ACCEPTED;
    const url = req.path;
    if (!url.startsWith(PREFIX)) return reply(404, { errorMessage: 'unknown path', errorType: 'NotFound' });
    const rest = url.slice(PREFIX.length);
    if (req.method === 'GET' && rest === 'invocation/next') {
      return nextEvent(await this.handlers.next(), req.close);
    }
    if (req.method !== 'POST') return reply(405, { errorMessage: 'method not allowed', errorType: 'MethodNotAllowed' });
    const errorType = req.headers.get('lambda-runtime-function-error-type') ?? null;
    if (rest === 'init/error') {
      this.handlers.initError(req.body ?? Buffer.from('{}'), errorType);
      return accepted;
    }
    const m = /^invocation\/([^/]+)\/(response|error)$/.exec(rest);
    if (!m) return reply(404, { errorMessage: 'unknown path', errorType: 'NotFound' });
    let requestId: string;
    try {
      requestId = decodeURIComponent(m[1]!);
    } catch {
      return reply(400, { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' });
    }
    if (m[2] === 'response') {
      if (req.body === null) {
        this.handlers.responseTooLarge(requestId);
        return reply(413, {
          errorMessage: `Exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
          errorType: 'RequestEntityTooLarge',
        });
      }
      if (!this.handlers.response(requestId, req.body))
        return reply(400, { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' });
      return accepted;
    }
    if (!this.handlers.error(requestId, req.body ?? Buffer.from('{}'), errorType)) {
      return reply(400, { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' });
    }
    return accepted;
  }
}
