// One Lambda Runtime API endpoint (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html)
// per instance, on 127.0.0.1: an instance only ever sees its own invocations. When instances run
// under their own uids, connections from any other uid are refused (looked up in /proc/net/tcp).
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;
const MAX_ERROR_BYTES = 1024 * 1024;
const PREFIX = '/2018-06-01/runtime/';

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
}

function uidOfPeer(socket: Socket, serverPort: number): number | null {
  // /proc/net/tcp: "sl local_address rem_address st … uid"; addresses are hex ip:port
  const hexPort = (p: number) => p.toString(16).toUpperCase().padStart(4, '0');
  const local = `0100007F:${hexPort(socket.remotePort ?? 0)}`;
  const remote = `0100007F:${hexPort(serverPort)}`;
  try {
    for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n')) {
      const cols = line.trim().split(/\s+/);
      if (cols[1] === local && cols[2] === remote) return Number(cols[7]);
    }
  } catch {
    // no procfs: nothing to check against
  }
  return null;
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, status: number, body: object, headers: Record<string, string> = {}) {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers });
  res.end(data);
}

export class RuntimeApiServer {
  private readonly server: http.Server;
  port = 0;

  constructor(private readonly handlers: RuntimeApiHandlers, private readonly allowedUid: number | null) {
    this.server = http.createServer((req, res) => {
      this.route(req, res).catch(() => { if (!res.headersSent) send(res, 500, { errorMessage: 'internal error', errorType: 'ServiceException' }); });
    });
    this.server.keepAliveTimeout = 0;
    this.server.requestTimeout = 0;
    this.server.headersTimeout = 0;
    this.server.on('connection', (socket: Socket) => {
      socket.setNoDelay(true);
      if (this.allowedUid === null) return;
      if (uidOfPeer(socket, this.port) !== this.allowedUid) socket.destroy();
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
    this.server.closeAllConnections();
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = req.url ?? '';
    if (!url.startsWith(PREFIX)) return send(res, 404, { errorMessage: 'unknown path', errorType: 'NotFound' });
    const rest = url.slice(PREFIX.length);
    if (req.method === 'GET' && rest === 'invocation/next') {
      const ev = await this.handlers.next();
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': ev.payload.length,
        'lambda-runtime-aws-request-id': ev.requestId,
        'lambda-runtime-deadline-ms': String(ev.deadlineMs),
        'lambda-runtime-invoked-function-arn': ev.invokedFunctionArn,
        'lambda-runtime-trace-id': ev.traceId,
        ...(ev.clientContext ? { 'lambda-runtime-client-context': ev.clientContext } : {}),
      });
      res.end(ev.payload);
      return;
    }
    if (req.method !== 'POST') return send(res, 405, { errorMessage: 'method not allowed', errorType: 'MethodNotAllowed' });
    const errorType = (req.headers['lambda-runtime-function-error-type'] as string | undefined) ?? null;
    if (rest === 'init/error') {
      const body = await readBody(req, MAX_ERROR_BYTES);
      this.handlers.initError(body ?? Buffer.from('{}'), errorType);
      return send(res, 202, { status: 'OK' });
    }
    const m = /^invocation\/([^/]+)\/(response|error)$/.exec(rest);
    if (!m) return send(res, 404, { errorMessage: 'unknown path', errorType: 'NotFound' });
    const requestId = decodeURIComponent(m[1]!);
    if (m[2] === 'response') {
      const body = await readBody(req, MAX_RESPONSE_BYTES);
      if (body === null) {
        this.handlers.responseTooLarge(requestId);
        return send(res, 413, {
          errorMessage: `Exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`, errorType: 'RequestEntityTooLarge',
        });
      }
      if (!this.handlers.response(requestId, body)) return send(res, 400, { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' });
      return send(res, 202, { status: 'OK' });
    }
    const body = await readBody(req, MAX_ERROR_BYTES);
    if (!this.handlers.error(requestId, body ?? Buffer.from('{}'), errorType)) {
      return send(res, 400, { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' });
    }
    return send(res, 202, { status: 'OK' });
  }
}
