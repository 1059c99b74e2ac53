// The Runtime API's HTTP/1.1 server (src/engine/functions/runtime-api.ts) at the byte level: the
// forms of requests runtimes send that the function tests' runtimes (Node, Python, bash + curl)
// don't all exercise — chunked bodies, Expect: 100-continue, pipelining, bodies over the limit,
// Connection: close, malformed requests.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_RESPONSE_BYTES, RuntimeApiServer, type NextEvent, type StreamedError } from '../../src/engine/functions/runtime-api.js';
import { MAX_STREAMED_RESPONSE_BYTES } from '../../src/engine/functions/runtime-api-stream.js';

const BASE = '/2018-06-01/runtime';

interface Recorded {
  responses: Array<[string, string]>;
  errors: Array<[string, string, string | null]>;
  tooLarge: string[];
  /** streamed responses: [id, content type, chunks received, how it ended (undefined: not yet)] */
  streams: Array<{ id: string; contentType: string; chunks: string[]; end?: StreamedError | null | 'TOO_LARGE' }>;
}

let servers: RuntimeApiServer[] = [];
afterEach(() => {
  for (const s of servers) s.close();
  servers = [];
});

/** A server whose next() hands out the queued events, recording what the runtime posts. */
async function start(
  events: NextEvent[],
  /** what streamChunk returns (a promise holds the runtime back) */
  chunkWait: () => void | Promise<void> = () => {},
): Promise<{ port: number; rec: Recorded; push: (e: NextEvent) => void }> {
  const rec: Recorded = { responses: [], errors: [], tooLarge: [], streams: [] };
  const waiting: Array<(e: NextEvent) => void> = [];
  const queue = [...events];
  const server = new RuntimeApiServer(
    {
      next: () =>
        new Promise((resolve) => {
          const e = queue.shift();
          if (e) resolve(e);
          else waiting.push(resolve);
        }),
      response: (id, body) => {
        rec.responses.push([id, body.toString()]);
        return id.startsWith('req-');
      },
      responseTooLarge: (id) => {
        rec.tooLarge.push(id);
        return true;
      },
      error: (id, body, type) => {
        rec.errors.push([id, body.toString(), type]);
        return true;
      },
      initError: () => {},
      streamStart: (id, contentType) => {
        if (!id.startsWith('req-')) return false;
        rec.streams.push({ id, contentType, chunks: [] });
        return true;
      },
      streamChunk: (id, chunk) => {
        rec.streams.find((s) => s.id === id)!.chunks.push(chunk.toString('latin1'));
        return chunkWait();
      },
      streamEnd: (id, end) => {
        rec.streams.find((s) => s.id === id)!.end = end;
      },
    },
    null,
  );
  servers.push(server);
  const [, port] = (await server.listen()).split(':');
  return {
    port: Number(port),
    rec,
    push: (e) => {
      const w = waiting.shift();
      if (w) w(e);
      else queue.push(e);
    },
  };
}

const event = (n: number): NextEvent => ({
  requestId: `req-${n}`,
  deadlineMs: 1,
  invokedFunctionArn: 'arn',
  traceId: 't',
  payload: Buffer.from(`{"n":${n}}`),
});

/** A raw client: send bytes, read what comes back. */
function client(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  let data = Buffer.alloc(0);
  let closed = false;
  const waiters: Array<() => void> = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  socket.on('data', (c) => {
    data = Buffer.concat([data, c]);
    wake();
  });
  socket.on('close', () => {
    closed = true;
    wake();
  });
  return {
    send: (bytes: string | Buffer) => socket.write(bytes),
    /** waits until the received text satisfies `done` */
    async until(done: (text: string, closed: boolean) => boolean): Promise<string> {
      const deadline = Date.now() + 5_000;
      while (!done(data.toString('latin1'), closed)) {
        if (Date.now() > deadline) throw new Error(`timed out; received: ${data.toString('latin1').slice(0, 500)}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
      return data.toString('latin1');
    },
    received: () => data.toString('latin1'),
    close: () => socket.destroy(),
  };
}

const count = (text: string, s: string) => text.split(s).length - 1;

describe('Runtime API server', () => {
  it('serves GET /next with the Lambda headers and takes a content-length response', async () => {
    const { port, rec } = await start([event(1)]);
    const c = client(port);
    c.send(`GET ${BASE}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n`);
    const text = await c.until((t) => t.includes('{"n":1}'));
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).toContain('lambda-runtime-aws-request-id: req-1\r\n');
    expect(text).toContain('content-length: 7\r\n');
    c.send(`POST ${BASE}/invocation/req-1/response HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n"ok"`);
    await c.until((t) => t.includes('202 Accepted'));
    expect(rec.responses).toEqual([['req-1', '"ok"']]);
    c.close();
  });

  it('decodes chunked bodies and answers Expect: 100-continue before the body', async () => {
    const { port, rec } = await start([]);
    const c = client(port);
    c.send(`POST ${BASE}/invocation/req-2/response HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{"a\r\n`);
    await new Promise((r) => setTimeout(r, 50));
    expect(rec.responses).toEqual([]);
    c.send('4\r\n":1}\r\n0\r\n\r\n');
    await c.until((t) => t.includes('202 Accepted'));
    expect(rec.responses).toEqual([['req-2', '{"a":1}']]);

    c.send(
      `POST ${BASE}/invocation/req-3/error HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\nLambda-Runtime-Function-Error-Type: Boom\r\n\r\n`,
    );
    await c.until((t) => t.includes('100 Continue'));
    c.send('{}');
    await c.until((t) => count(t, '202 Accepted') === 2);
    expect(rec.errors).toEqual([['req-3', '{}', 'Boom']]);
    c.close();
  });

  it('answers pipelined requests in order; a 202 leaves with the next event', async () => {
    const { port, rec, push } = await start([event(1)]);
    const c = client(port);
    c.send(`GET ${BASE}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n`);
    await c.until((t) => t.includes('{"n":1}'));
    c.send(
      `POST ${BASE}/invocation/req-1/response HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n1GET ${BASE}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    await new Promise((r) => setTimeout(r, 100));
    // the response was taken at once; its 202 waits for the next event
    expect(rec.responses).toEqual([['req-1', '1']]);
    expect(c.received()).not.toContain('202');
    push(event(2));
    const text = await c.until((t) => t.includes('{"n":2}'));
    expect(text.indexOf('202 Accepted')).toBeGreaterThan(text.indexOf('{"n":1}'));
    expect(text.indexOf('202 Accepted')).toBeLessThan(text.indexOf('{"n":2}'));
    c.close();
  });

  it('a response body arriving in many pieces is taken whole, and the request after it in its last piece too', async () => {
    const { port, rec, push } = await start([event(1)]);
    const c = client(port);
    c.send(`GET ${BASE}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n`);
    await c.until((t) => t.includes('{"n":1}'));
    const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => 'abcdefghijklmnopqrstuvwxyz'[(i * 7919) % 26]).join(''));
    const head = `POST ${BASE}/invocation/req-1/response HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`;
    const bytes = Buffer.concat([Buffer.from(head), body, Buffer.from(`GET ${BASE}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n`)]);
    // the head split too; the last piece ends the body and carries the next request
    for (let at = 0, size = 17; at < bytes.length; at += size, size = size * 2 + 1) {
      c.send(bytes.subarray(at, at + size));
      await new Promise((r) => setImmediate(r));
    }
    push(event(2));
    await c.until((t) => t.includes('{"n":2}'));
    expect(rec.responses).toHaveLength(1);
    expect(rec.responses[0]![0]).toBe('req-1');
    expect(rec.responses[0]![1] === body.toString()).toBe(true);
    c.close();
  });

  it('a 202 is sent at once when the runtime waits for it (no pipelining)', async () => {
    const { port } = await start([]);
    const c = client(port);
    c.send(`POST ${BASE}/invocation/req-1/response HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n1`);
    await c.until((t) => t.includes('202 Accepted'));
    c.close();
  });

  it('a response over 6 MB is refused with 413 after its bytes, and the connection goes on', async () => {
    const { port, rec } = await start([event(9)]);
    const c = client(port);
    const size = MAX_RESPONSE_BYTES + 10;
    c.send(`POST ${BASE}/invocation/req-1/response HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`);
    for (let sent = 0; sent < size; sent += 1 << 20) c.send(Buffer.alloc(Math.min(1 << 20, size - sent), 120));
    c.send(`GET ${BASE}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n`);
    const text = await c.until((t) => t.includes('{"n":9}'));
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(rec.tooLarge).toEqual(['req-1']);
    expect(rec.responses).toEqual([]);
    c.close();
  });

  it('unknown request ids, paths and methods get their errors; Connection: close and malformed requests close', async () => {
    const { port } = await start([]);
    const c = client(port);
    c.send(`POST ${BASE}/invocation/other/response HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`);
    await c.until((t) => t.includes('InvalidRequestID'));
    expect(c.received()).toMatch(/^HTTP\/1\.1 400 /);
    c.send(`GET /nope HTTP/1.1\r\nHost: x\r\n\r\n`);
    await c.until((t) => t.includes('404 Not Found'));
    c.send(`PUT ${BASE}/invocation/next HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    const text = await c.until((t, closed) => closed && t.includes('405'));
    expect(text).toContain('connection: close');

    const d = client(port);
    d.send('garbage\r\n\r\n');
    expect(await d.until((t, closed) => closed && t.includes('400'))).toMatch(/^HTTP\/1\.1 400 /);
  });
});

/** Waits until `ready()` holds (checked on every turn of the event loop's timers). */
async function until(ready: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const STREAM_HEAD = (id: string, extra = '') =>
  `POST ${BASE}/invocation/${id}/response HTTP/1.1\r\nHost: x\r\nLambda-Runtime-Function-Response-Mode: streaming\r\n` +
  `Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n${extra}\r\n`;

describe('Runtime API streaming response mode', () => {
  it('hands bytes on as they come, before the body ends, then answers 202 and serves the next request', async () => {
    const { port, rec } = await start([event(5)]);
    const c = client(port);
    // curl's way: Expect: 100-continue, and a chunk arriving in two pieces
    c.send(STREAM_HEAD('req-1', 'Expect: 100-continue\r\n'));
    await c.until((t) => t.includes('100 Continue'));
    c.send('5\r\nfir');
    await until(() => rec.streams[0]?.chunks.join('') === 'fir');
    expect(rec.streams[0]).toMatchObject({ id: 'req-1', contentType: 'text/plain' });
    expect(rec.streams[0]!.end).toBeUndefined();
    c.send('st\r\n');
    c.send('6;ext=1\r\nsecond\r\n0\r\n\r\n');
    await c.until((t) => t.includes('202 Accepted'));
    expect(rec.streams[0]!.chunks.join('')).toBe('firstsecond');
    expect(rec.streams[0]!.end).toBeNull();
    c.send(`GET ${BASE}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n`);
    await c.until((t) => t.includes('{"n":5}'));
    c.close();
  });

  it("the runtime's next bytes wait while the receiver is busy (backpressure)", async () => {
    let release!: () => void;
    const busy = new Promise<void>((r) => {
      release = r;
    });
    let released = false;
    const order: string[] = [];
    const { port, rec } = await start([], () => {
      order.push(released ? 'after release' : 'while busy');
      return order.length === 1 ? busy : undefined;
    });
    const c = client(port);
    c.send(`${STREAM_HEAD('req-1')}1\r\na\r\n1\r\nb\r\n`);
    await until(() => rec.streams[0]?.chunks.length === 1);
    released = true;
    release();
    c.send('0\r\n\r\n');
    await c.until((t) => t.includes('202 Accepted'));
    expect(rec.streams[0]!.chunks).toEqual(['a', 'b']);
    expect(order).toEqual(['while busy', 'after release']);
    c.close();
  });

  it('a failure in the trailers ends the stream with the error; an unknown request id is refused', async () => {
    const { port, rec } = await start([]);
    const c = client(port);
    const doc = JSON.stringify({ errorType: 'Boom', errorMessage: 'mid-stream' });
    c.send(
      `${STREAM_HEAD('req-1')}2\r\nok\r\n0\r\nLambda-Runtime-Function-Error-Type: Boom\r\n` +
        `Lambda-Runtime-Function-Error-Body: ${Buffer.from(doc).toString('base64')}\r\n\r\n`,
    );
    await c.until((t) => t.includes('202 Accepted'));
    const end = rec.streams[0]!.end as StreamedError;
    expect(end.errorType).toBe('Boom');
    expect(end.body.toString()).toBe(doc);

    const d = client(port);
    d.send(`${STREAM_HEAD('other')}1\r\na\r\n`);
    expect(await d.until((t, closed) => closed && t.includes('InvalidRequestID'))).toMatch(/^HTTP\/1\.1 400 /);
  });

  it(`a stream over ${MAX_STREAMED_RESPONSE_BYTES} bytes is cut: 413, the connection closed`, async () => {
    const { port, rec } = await start([]);
    const c = client(port);
    c.send(STREAM_HEAD('req-1'));
    const piece = Buffer.alloc(1 << 20, 120);
    for (let sent = 0; sent <= MAX_STREAMED_RESPONSE_BYTES; sent += piece.length)
      c.send(Buffer.concat([Buffer.from('100000\r\n'), piece, Buffer.from('\r\n')]));
    const text = await c.until((t, closed) => closed && t.includes('413'));
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(rec.streams[0]!.end).toBe('TOO_LARGE');
  });
});
