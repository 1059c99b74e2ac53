// HTTP load generator, run in a worker thread so that the client does not share the server's
// event loop (it still shares the machine's 2 cores). `concurrency` loops each send one request at
// a time over their own keep-alive connection; latencies are recorded for requests that start
// after the warm-up, until the measuring window ends.
//
// The client is a few lines of HTTP/1.1 on net sockets rather than node:http: it runs on the same
// 2 cores as the server it measures, and node:http's client costs several times more CPU per
// request, which the server's figure would pay for. Each response is still read whole (by
// content-length, or chunked) and checked: status 200, a body starting with `expect` and
// without "errors".
import net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { readResponse } from '../src/engine/functions/bootstrap/http-response.mjs';

// `bodies`: each request sends the next of them in turn (the same document with distinct variables,
// as a dashboard with filters and paging sends), so no two requests in flight are alike
/** @type {{ url: string, headers: Record<string, string>, bodies: string[], concurrency: number, warmupMs: number, durationMs: number, expect: string }} */
const cfg = workerData;
const target = new URL(cfg.url);
const requests = cfg.bodies.map((text) => {
  const body = Buffer.from(text);
  const head = [
    `POST ${target.pathname} HTTP/1.1`,
    `Host: ${target.host}`,
    ...Object.entries({ ...cfg.headers, 'content-length': String(body.length) }).map(([k, v]) => `${k}: ${v}`),
  ].join('\r\n');
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), body]);
});
let sent = 0;

/**
 * One keep-alive connection; `request()` resolves with the whole response.
 * @returns {{ request: () => Promise<{ ok: boolean, error?: string }>, close: () => void }}
 */
function connection() {
  /** @type {net.Socket | null} */
  let socket = null;
  /** @type {Buffer} */
  let buf = Buffer.alloc(0);
  /** @type {((r: { ok: boolean, error?: string }) => void) | null} */
  let waiting = null;

  const settle = (/** @type {{ ok: boolean, error?: string }} */ r) => {
    const w = waiting;
    waiting = null;
    w?.(r);
  };

  /** a whole response in `buf`: checked and settled; false if more bytes are needed */
  function parse() {
    const response = readResponse(buf);
    if (!response) return false;
    const { status, body: payload, rest } = response;
    buf = rest;
    const text = payload.toString();
    const ok = status === 200 && text.startsWith(cfg.expect) && !text.includes('"errors"');
    settle(ok ? { ok } : { ok, error: `HTTP ${status}: ${text.slice(0, 300)}` });
    return true;
  }

  function open() {
    const s = net.connect(Number(target.port), target.hostname);
    s.setNoDelay(true);
    s.on('data', (c) => {
      buf = buf.length === 0 ? c : Buffer.concat([buf, c]);
      while (waiting && parse()) {
        /* one response per request */
      }
    });
    const gone = (/** @type {Error | undefined} */ err) => {
      if (socket !== s) return;
      socket = null;
      buf = Buffer.alloc(0);
      settle({ ok: false, error: err?.message ?? 'connection closed' });
    };
    s.on('error', gone);
    s.on('close', () => gone(undefined));
    socket = s;
    return s;
  }

  return {
    request: () =>
      new Promise((resolve) => {
        waiting = resolve;
        (socket ?? open()).write(requests[sent++ % requests.length]);
      }),
    close: () => socket?.destroy(),
  };
}

const start = performance.now();
const measureFrom = start + cfg.warmupMs;
const measureUntil = measureFrom + cfg.durationMs;
/** @type {number[]} */
const latencies = [];
let errors = 0;
/** @type {string | undefined} */
let firstError;
let lastEnd = measureFrom;
const connections = Array.from({ length: cfg.concurrency }, connection);

async function loop(/** @type {ReturnType<typeof connection>} */ conn) {
  while (performance.now() < measureUntil) {
    const t0 = performance.now();
    const r = await conn.request();
    const t1 = performance.now();
    if (t0 < measureFrom) continue;
    lastEnd = Math.max(lastEnd, t1);
    if (r.ok) latencies.push(t1 - t0);
    else {
      errors++;
      firstError ??= r.error;
    }
  }
}

await Promise.all(connections.map(loop));
for (const c of connections) c.close();
parentPort?.postMessage({ latencies, errors, firstError, elapsedMs: lastEnd - measureFrom });
