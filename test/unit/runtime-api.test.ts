// The Runtime API's HTTP/1.1 server (src/engine/functions/runtime-api.ts) at the byte level: the
// forms of requests runtimes send that the function tests' runtimes (Node, Python, bash + curl)
// don't all exercise — chunked bodies, Expect: 100-continue, pipelining, bodies over the limit,
// Connection: close, malformed requests.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_RESPONSE_BYTES, RuntimeApiServer, type NextEvent } from '../../src/engine/functions/runtime-api.js';

const BASE = '/2018-06-01/runtime';

interface Recorded {
  responses: Array<[string, string]>;
  errors: Array<[string, string, string | null]>;
  tooLarge: string[];
}

let servers: RuntimeApiServer[] = [];
afterEach(() => {
  for (const s of servers) s.close();
  servers = [];
});

/** A server whose next() hands out the queued events, recording what the runtime posts. */
async function start(events: NextEvent[]): Promise<{ port: number; rec: Recorded; push: (e: NextEvent) => void }> {
  const rec: Recorded = { responses: [], errors: [], tooLarge: [] };
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
