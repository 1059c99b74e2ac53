// HTTP load generator, run in a worker thread so that the client does not share the server's
// event loop (it still shares the machine's 2 cores). Closed loop (the default): `concurrency`
// loops each send one request at a time over their own keep-alive connection; latencies are
// recorded for requests that start after the warm-up, until the measuring window ends.
// Open loop (`ratePerSecond`, the soak): requests fall due at a steady rate whether or not earlier
// ones were answered; a due request takes an idle connection (at most `concurrency` of them) or
// waits in a backlog, and its latency counts from when it fell due, so a server that falls behind
// shows as latency and backlog rather than as a slower client. With `progressMs`, it posts
// {type:'progress'} counts that often.
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
/** @type {{ url: string, headers: Record<string, string>, bodies: string[], concurrency: number, warmupMs: number, durationMs: number, expect: string, ratePerSecond?: number, progressMs?: number, drainMs?: number }} */
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
    else countError(r);
  }
}

/** @param {{ ok: boolean, error?: string }} r */
function countError(r) {
  if (r.ok) return;
  errors++;
  firstError ??= r.error;
}

async function closedLoop() {
  await Promise.all(connections.map(loop));
  return { elapsedMs: lastEnd - measureFrom };
}

// open loop: `dueAt` (ms after the measuring window opened) of each recorded request, beside its latency
/** @type {number[]} */
const dueAt = [];

async function openLoop() {
  const rate = /** @type {number} */ (cfg.ratePerSecond);
  const idle = [...connections];
  /** @type {number[]} due times (performance.now()) of requests not sent yet */
  const backlog = [];
  let scheduled = 0;
  let completed = 0;
  let inFlight = 0;
  let maxBacklog = 0;
  /** @type {(() => void) | null} */
  let drained = null;

  const send = (/** @type {ReturnType<typeof connection>} */ conn, /** @type {number} */ due) => {
    inFlight++;
    void conn.request().then((r) => {
      const end = performance.now();
      inFlight--;
      completed++;
      if (due >= measureFrom) {
        lastEnd = Math.max(lastEnd, end);
        if (r.ok) {
          latencies.push(end - due);
          dueAt.push(due - measureFrom);
        } else countError(r);
      }
      const next = backlog.shift();
      if (next === undefined) idle.push(conn);
      else send(conn, next);
      if (inFlight === 0) drained?.();
    });
  };
  const progress = () =>
    parentPort?.postMessage({
      type: 'progress',
      at: performance.now() - measureFrom,
      scheduled,
      completed,
      errors,
      backlog: backlog.length,
      inFlight,
    });
  const reporter = cfg.progressMs ? setInterval(progress, cfg.progressMs) : null;

  // every millisecond or so: whatever fell due since is sent or queued
  await new Promise((resolve) => {
    const tick = () => {
      const now = Math.min(performance.now(), measureUntil);
      const dueNow = Math.floor(((now - start) * rate) / 1000);
      for (; scheduled < dueNow; scheduled++) {
        const due = start + (scheduled * 1000) / rate;
        const conn = idle.pop();
        if (conn) send(conn, due);
        else backlog.push(due);
      }
      maxBacklog = Math.max(maxBacklog, backlog.length);
      if (now >= measureUntil) resolve(undefined);
      else setTimeout(tick, 1);
    };
    tick();
  });
  const atEnd = { completed, backlog: backlog.length, inFlight, maxBacklog };
  // what was due and never sent stays unsent (reported as the backlog); what is in flight gets `drainMs` to answer
  backlog.length = 0;
  const answered = await new Promise((resolve) => {
    if (inFlight === 0) return resolve(true);
    const timer = setTimeout(() => resolve(false), cfg.drainMs ?? 30_000);
    drained = () => {
      clearTimeout(timer);
      resolve(true);
    };
  });
  if (reporter) clearInterval(reporter);
  const unanswered = answered ? 0 : inFlight;
  if (unanswered) {
    errors += unanswered;
    firstError ??= `${unanswered} requests unanswered ${cfg.drainMs ?? 30_000} ms after the run`;
  }
  progress();
  return { elapsedMs: cfg.durationMs, scheduled, atEnd, unanswered };
}

const run = cfg.ratePerSecond ? await openLoop() : await closedLoop();
for (const c of connections) c.close();
parentPort?.postMessage({ type: 'done', latencies, dueAt, errors, firstError, ...run });
