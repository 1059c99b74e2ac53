// Hostile-document client for figure 13, in a worker thread (its own event loop: the timings are
// the server's, not the client's queueing behind it). Phase 1 polls /healthz alone (the baseline);
// phase 2 sends each hostile request `runs` times, one at a time over HTTP then over graphql-ws,
// while a second loop keeps polling /healthz; it reports every refusal time and healthz latency.
// Each request is also sent to a bare node:http server that only reads the bytes: the floor of
// moving that body over loopback on this machine.
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';

/** @type {{ url: string, bareUrl: string, key: string, runs: number, baselineMs: number, requests: Array<{ name: string, body: string, status: number }> }} */
const cfg = workerData;
/** @typedef {{ name: string, body: string, status: number }} HostileRequest */
const headers = { 'content-type': 'application/json', authorization: `Bearer ${cfg.key}` };

/** @param {{ done: boolean }} stop */
async function healthzLoop(stop) {
  /** @type {number[]} */
  const latencies = [];
  while (!stop.done) {
    const t = performance.now();
    const res = await fetch(`${cfg.url}/healthz`);
    await res.arrayBuffer();
    latencies.push(performance.now() - t);
  }
  return latencies;
}

/**
 * @param {HostileRequest} request
 * @param {string} url
 * @param {number} status
 */
async function timedPost(request, url, status) {
  const t = performance.now();
  const res = await fetch(url, { method: 'POST', headers, body: request.body });
  const text = await res.text();
  const ms = performance.now() - t;
  if (res.status !== status) throw new Error(`${request.name}: HTTP ${res.status} from ${url}, expected ${status}: ${text.slice(0, 300)}`);
  return ms;
}

/** One socket; each request is a `subscribe` whose `error` (or errors in `next`) is the refusal. */
async function wsSession() {
  const socket = new WebSocket(`${cfg.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', { maxPayload: 0 });
  /** @type {Map<string, (msg: any) => void>} */
  const waiters = new Map();
  /** @type {() => void} */
  let ack = () => {};
  const acked = new Promise((/** @type {(v?: unknown) => void} */ r) => {
    ack = r;
  });
  socket.on('message', (data) => {
    const msg = JSON.parse(String(data));
    if (msg.type === 'connection_ack') ack();
    const w = waiters.get(msg.id);
    if (w && (msg.type === 'error' || msg.type === 'next' || msg.type === 'complete')) {
      waiters.delete(msg.id);
      w(msg);
    }
  });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${cfg.key}` } }));
  await acked;
  let next = 0;
  return {
    /** @param {HostileRequest} request */
    async refusal(request) {
      const id = String(++next);
      const t = performance.now();
      /** @type {Promise<any>} */
      const answer = new Promise((r) => waiters.set(id, r));
      socket.send(`{"id":"${id}","type":"subscribe","payload":${request.body}}`);
      const msg = await answer;
      const ms = performance.now() - t;
      const errors = msg.type === 'error' ? msg.payload : msg.payload?.errors;
      if (!errors?.length) throw new Error(`${request.name}: not refused over WebSocket: ${JSON.stringify(msg).slice(0, 300)}`);
      return ms;
    },
    close: () => socket.close(),
  };
}

const baselineStop = { done: false };
const baselineRun = healthzLoop(baselineStop);
await new Promise((r) => setTimeout(r, cfg.baselineMs));
baselineStop.done = true;
const baseline = await baselineRun;

const stop = { done: false };
const during = healthzLoop(stop);
const ws = await wsSession();
/** @type {Array<{ name: string, http: number[], ws: number[], bare: number[] }>} */
const perRequest = [];
try {
  for (const request of cfg.requests) {
    /** @type {number[]} */
    const http = [];
    /** @type {number[]} */
    const wsTimes = [];
    /** @type {number[]} */
    const bare = [];
    for (let i = 0; i < cfg.runs; i++) http.push(await timedPost(request, `${cfg.url}/graphql`, request.status));
    for (let i = 0; i < cfg.runs; i++) bare.push(await timedPost(request, cfg.bareUrl, 200));
    // the body-limit class is an HTTP matter (WebSocket frames have their own maxPayload)
    if (request.status !== 413) for (let i = 0; i < cfg.runs; i++) wsTimes.push(await ws.refusal(request));
    perRequest.push({ name: request.name, http, ws: wsTimes, bare });
  }
} finally {
  stop.done = true;
  ws.close();
}
parentPort?.postMessage({ baseline, during: await during, perRequest });
