// HTTP load generator, run in a worker thread so that the client does not share the server's
// event loop (it still shares the machine's 2 cores). `concurrency` loops each send one request at
// a time over keep-alive connections; latencies are recorded for requests that start after the
// warm-up, until the measuring window ends.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

/** @type {{ url: string, headers: Record<string, string>, body: string, concurrency: number, warmupMs: number, durationMs: number, expect: string }} */
const cfg = workerData;
const target = new URL(cfg.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: cfg.concurrency, maxFreeSockets: cfg.concurrency });
const body = Buffer.from(cfg.body);
const headers = { ...cfg.headers, 'content-length': String(body.length) };

/** @returns {Promise<{ ok: boolean, error?: string }>} */
function request() {
  return new Promise((resolve) => {
    const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers, agent }, (res) => {
      /** @type {Buffer[]} */
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const ok = res.statusCode === 200 && text.startsWith(cfg.expect) && !text.includes('"errors"');
        resolve(ok ? { ok } : { ok, error: `HTTP ${res.statusCode}: ${text.slice(0, 300)}` });
      });
      res.on('error', (e) => resolve({ ok: false, error: e.message }));
    });
    req.on('error', (e) => resolve({ ok: false, error: e.message }));
    req.end(body);
  });
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

async function loop() {
  while (performance.now() < measureUntil) {
    const t0 = performance.now();
    const r = await request();
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

await Promise.all(Array.from({ length: cfg.concurrency }, loop));
agent.destroy();
parentPort?.postMessage({ latencies, errors, firstError, elapsedMs: lastEnd - measureFrom });
