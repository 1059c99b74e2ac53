// N graphql-ws clients (one WebSocket each) subscribed to logs(streamId), in a worker thread so that
// receiving does not run on the server's event loop. Latency of a line = the time its `next`
// callback runs here - the time the step process stamped into the line.
// With `batches`, the subscription is `logBatches` (several lines per message when behind).
// Protocol with the parent: posts {type:'ready'} once every subscriber has received a first line
// (the stored "Step started" SYSTEM line, which proves the subscription is live); then posts
// {type:'done', ...} once every subscriber has all `lineCount` lines, or at the deadline; with
// `progressMs`, {type:'progress', delivered} that often meanwhile. A line a subscriber receives
// twice counts in `duplicates`.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { parentPort, workerData } from 'node:worker_threads';
import { nsToMs, realtimeClock } from './clock.mjs';

/** @type {{ wsUrl: string, key: string, streamId: string, subscribers: number, lineCount: number, connectBatch: number, readyTimeoutMs: number, doneTimeoutMs: number, progressMs?: number, batches?: boolean }} */
const cfg = workerData;
const now = realtimeClock();
const n = cfg.subscribers;
const K = cfg.lineCount;
const latencies = new Float64Array(n * K).fill(Number.NaN);
const firstSeen = new Uint8Array(n);
const received = new Uint32Array(n);
/** per subscriber, the index of the line it should receive next */
const next = new Uint32Array(n);
let outOfOrder = 0;
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
// `logs` sends one line per message; `logBatches` every line written since the subscriber's last message
const QUERY = cfg.batches
  ? 'subscription($s: ID!) { logBatches(streamId: $s) { lines { cursor stream text } } }'
  : 'subscription($s: ID!) { logs(streamId: $s) { cursor stream text } }';
/** @param {any} data @returns {Array<{ text: unknown }> | undefined} */
const linesOf = (data) => (cfg.batches ? data?.logBatches?.lines : data?.logs ? [data.logs] : undefined);
let messages = 0;

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
        const lines = linesOf(result.data);
        if (!Array.isArray(lines) || lines.length === 0 || lines.some((l) => typeof l.text !== 'string')) {
          errors++;
          firstError ??= JSON.stringify(result.errors ?? result).slice(0, 300);
          return;
        }
        messages++;
        if (!firstSeen[i]) {
          firstSeen[i] = 1;
          ready++;
        }
        for (const { text } of lines) {
          if (!String(text).startsWith('L ')) continue;
          const [, idx, ns] = String(text).split(' ');
          const k = Number(idx);
          if (!(k >= 0 && k < K)) {
            errors++;
            firstError ??= `a line the step did not print: ${String(text).slice(0, 100)}`;
          } else if (!Number.isNaN(latencies[i * K + k])) duplicates++;
          else if (k !== next[i]) {
            // a line after a later one is an error of the subscription, not a latency
            outOfOrder++;
          } else {
            next[i] = k + 1;
            latencies[i * K + k] = at - nsToMs(String(ns));
            delivered++;
            if (++received[i] === K) complete++;
          }
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
parentPort?.postMessage({ type: 'done', ok: allDone, latencies, lost, duplicates, errors, firstError, messages, outOfOrder });
await Promise.allSettled(clients.map((c) => c.dispose()));
