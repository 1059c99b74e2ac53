// A raw HTTP client for /objects: paths go out exactly as written (no URL normalisation, so escape
// attempts reach the server), bodies stream, downloads can be hashed without being kept.
import crypto from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';

export interface ObjectResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** JSON body when there is one */
  json?: any;
}

export interface ObjectRequest {
  headers?: Record<string, string>;
  /** null: no Authorization header */
  key?: string | null;
  body?: Buffer | string | Readable;
}

export function objectRequest(baseUrl: string, method: string, rawPath: string, options: ObjectRequest = {}): Promise<ObjectResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: rawPath,
        headers: { ...(options.key ? { authorization: `Bearer ${options.key}` } : {}), ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          let json: unknown;
          if (String(res.headers['content-type'] ?? '').startsWith('application/json') && body.length) json = JSON.parse(body.toString());
          resolve({ status: res.statusCode!, headers: res.headers, body, json });
        });
      },
    );
    req.on('error', reject);
    const body = options.body;
    if (body instanceof Readable) body.pipe(req);
    else req.end(body);
  });
}

/** Downloads into an MD5 without keeping the bytes. */
export function downloadHash(
  baseUrl: string,
  rawPath: string,
  key: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; size: number; etag: string }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    http
      .get({ host: url.hostname, port: url.port, path: rawPath, headers: { authorization: `Bearer ${key}` } }, (res) => {
        const md5 = crypto.createHash('md5');
        let size = 0;
        res.on('data', (c: Buffer) => {
          md5.update(c);
          size += c.length;
        });
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, size, etag: `"${md5.digest('hex')}"` }));
      })
      .on('error', reject);
  });
}

/** `size` pseudo-random bytes as a stream (1 MiB chunks) and, once read, their ETag. */
export function generatedBody(size: number, seed = 'body'): { stream: Readable; etag: () => string } {
  const md5 = crypto.createHash('md5');
  const block = crypto.createHash('sha512').update(seed).digest();
  const chunk = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < chunk.length; i += block.length) block.copy(chunk, i);
  let sent = 0;
  let n = 0;
  const stream = new Readable({
    read() {
      if (sent >= size) {
        this.push(null);
        return;
      }
      const part = Buffer.from(chunk.subarray(0, Math.min(chunk.length, size - sent)));
      if (part.length >= 4) part.writeUInt32LE(n++, 0); // no two chunks alike
      sent += part.length;
      md5.update(part);
      this.push(part);
    },
  });
  return { stream, etag: () => `"${md5.digest('hex')}"` };
}
