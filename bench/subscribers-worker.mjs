// N graphql-ws clients (one WebSocket each) subscribed to logs(streamId), in a worker thread so that
// receiving does not run on the server's event loop. Latency of a line = the time its `next`
// callback runs here - the time the step process stamped into the line.
// Protocol with the parent: posts {type:'ready'} once every subscriber has received a first line
// (the stored "Step started" SYSTEM line, which proves the subscription is live); then posts
// {type:'done', ...} once every subscriber has all `lineCount` lines, or at the deadline; with
// `progressMs`, {type:'progress', delivered} that often meanwhile. A line a subscriber receives
// twice counts in `duplicates`.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { parentPort, workerData } from 'node:worker_threads';
import { nsToMs, realtimeClock } from './clock.mjs';

/** @type {{ wsUrl: string, key: string, streamId: string, subscribers: number, lineCount: number, connectBatch: number, readyTimeoutMs: number, doneTimeoutMs: number, progressMs?: number }} */
const cfg = workerData;
const now = realtimeClock();
const n = cfg.subscribers;
const K = cfg.lineCount;
const latencies = new Float64Array(n * K).fill(Number.NaN);
const firstSeen = new Uint8Array(n);
const received = new Uint32Array(n);
let ready = 0;
let complete = 0;
let delivered = 0;
let duplicates = 0;
let errors = 0;
/** @type {string | undefined} */
let firstError;
/** @type {Array<{ dispose(): void | Promise<void> }>} */
const clients = [];
/** @type {(() => void) | null} */
let onProgress = null;
const QUERY = 'subscription($s: ID!) { logs(streamId: $s) { cursor stream text } }';

/** @param {number} i */
function subscribe(i) {
  const client = createClient({
    url: cfg.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${cfg.key}` },
    retryAttempts: 0,
    lazy: false,
  });
  clients.push(client);
  client.subscribe(
    { query: QUERY, variables: { s: cfg.streamId } },
    {
      next(result) {
        const at = now();
        /** @type {any} */
        const data = result.data;
        const text = data?.logs?.text;
        if (typeof text !== 'string') {
          errors++;
          firstError ??= JSON.stringify(result.errors ?? result).slice(0, 300);
          return;
        }
        if (!firstSeen[i]) {
          firstSeen[i] = 1;
          ready++;
        }
        if (text.startsWith('L ')) {
          const [, idx, ns] = text.split(' ');
          const k = Number(idx);
          if (!(k >= 0 && k < K)) {
            errors++;
            firstError ??= `a line the step did not print: ${text.slice(0, 100)}`;
          } else if (Number.isNaN(latencies[i * K + k])) {
            latencies[i * K + k] = at - nsToMs(String(ns));
            delivered++;
            if (++received[i] === K) complete++;
          } else duplicates++;
        }
        onProgress?.();
      },
      error(err) {
        errors++;
        firstError ??= String(/** @type {any} */ (err)?.message ?? err).slice(0, 300);
        onProgress?.();
      },
      complete() {},
    },
  );
}

/** @param {() => boolean} pred @param {number} timeoutMs @returns {Promise<boolean>} */
function until(pred, timeoutMs) {
  return new Promise((resolve) => {
    if (pred()) return resolve(true);
    const timer = setTimeout(() => {
      onProgress = null;
      resolve(false);
    }, timeoutMs);
    onProgress = () => {
      if (!pred()) return;
      clearTimeout(timer);
      onProgress = null;
      resolve(true);
    };
  });
}

const connectStart = performance.now();
for (let i = 0; i < n; i += cfg.connectBatch) {
  const end = Math.min(n, i + cfg.connectBatch);
  for (let j = i; j < end; j++) subscribe(j);
  // let this batch finish its handshake before starting the next one
  await until(() => ready + errors >= end, cfg.readyTimeoutMs);
}
const allReady = await until(() => ready === n, cfg.readyTimeoutMs);
parentPort?.postMessage({ type: 'ready', ok: allReady, ready, errors, firstError, connectMs: performance.now() - connectStart });
const reporter = cfg.progressMs ? setInterval(() => parentPort?.postMessage({ type: 'progress', delivered }), cfg.progressMs) : null;
const allDone = await until(() => complete === n, cfg.doneTimeoutMs);
if (reporter) clearInterval(reporter);
const lost = latencies.reduce((c, v) => c + (Number.isNaN(v) ? 1 : 0), 0);
parentPort?.postMessage({ type: 'done', ok: allDone, latencies, lost, duplicates, errors, firstError });
await Promise.allSettled(clients.map((c) => c.dispose()));
