// Bench section 16: the web console in a real browser (Debian's chromium through playwright-core,
// as test/api/console-browser.test.ts drives it), each figure beside a baseline from the same run.
//
// 16a. First paint of the clusters page with 1,000 clusters: from the navigation's start to the
//      frame that shows the first cluster rows (a MutationObserver sees the first row, then the
//      next animation frame and a task after it: the frame's paint is done). Each run is a fresh
//      browser context (nothing cached, the key put in its session storage before the page runs).
//      Baseline: the same rows, from the same API query, as a static HTML table served by a bare
//      node:http server (no script at all): what painting those rows costs in this browser.
//      The 1,000 clusters are inserted straight into the bench's database as TERMINATED clusters
//      with a MASTER and a CORE group each: what the page reads and draws is the same as for
//      clusters that ran, and creating 1,000 through the API would start 1,000 sets of node
//      processes, which measures nothing about the console.
// 16b. The step log view while 500 lines/s arrive: a step prints 4,000 lines 2 ms apart
//      (bench/emit-lines.mjs, released by a file once the page follows the log); the page's
//      animation frames are timed from its first line to its last. Baseline: the same page, same
//      browser, idle (the step ended), timed as long: the frame rate this headless browser gives.
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import postgres from 'postgres';
import { nodeDirOf } from '../src/engine/agent/node-sandbox.js';
import { type Api, median, summarize, waitUntil } from './lib.js';

type Verdict = 'PASS' | 'MISS' | 'ERROR' | 'INFO';
export interface ConsoleBenchContext {
  api: Api;
  databaseUrl: string;
  /** the control plane's data dir: a node's own directory is under it */
  dataDir: string;
  record: (row: { figure: string; value: string; baseline: string; target: string; verdict: Verdict }) => void;
  say: (line?: string) => void;
  results: Record<string, unknown>;
}

const CHROMIUM = '/usr/bin/chromium';
const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLUSTERS = 1_000;
const PAINT_RUNS = 7;
const LOG_LINES = 4_000;
const LOG_INTERVAL_MS = 2;
const LOG_RUNS = 3;
const FRAME_MS = 1000 / 60;
const PAINT_TARGET_MS = 1_000;
const FPS_TARGET = 60;

/** Signs a fresh context in: the key in the tab's session storage, where the console keeps it. */
const signedIn = (key: string) => `sessionStorage.setItem('emberplane:apiKey', ${JSON.stringify(key)});`;

/**
 * Started in the step page: each animation frame's time and the line count the log view shows
 * then ("N lines"), so frames can be timed from the first line's arrival to the last's.
 */
const FRAME_RECORDER = `(() => {
  window.framesSeen = [];
  window.recording = true;
  const note = document.querySelector('.log-bar .note');
  const tick = (t) => {
    window.framesSeen.push([t, Number.parseInt(note ? note.textContent : '0', 10) || 0]);
    if (window.recording) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})()`;

/**
 * Set in every page before its scripts: the time (ms from the navigation's start) of the frame that
 * first shows a cluster row, in window.firstRowsPaintedAt.
 */
const PAINT_PROBE = `(() => {
  const seen = () => {
    observer.disconnect();
    requestAnimationFrame(() => setTimeout(() => { window.firstRowsPaintedAt = performance.now(); }));
  };
  const observer = new MutationObserver(() => { if (document.querySelector('tr[data-cluster]')) seen(); });
  observer.observe(document, { childList: true, subtree: true });
})();`;

export async function benchConsole(ctx: ConsoleBenchContext): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    ctx.record({ figure: '16. console', value: `no ${CHROMIUM}`, baseline: '', target: '', verdict: 'ERROR' });
    return;
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    await firstPaint(ctx, browser);
    await logFrames(ctx, browser);
  } finally {
    await browser.close();
  }
}

/**
 * A directory in the master node's own directory holding the line printer (bench/emit-lines.mjs
 * and its clock): the one place a node's sandboxed step and the bench both see (the step's /tmp is
 * private, the repository is not mounted), so also where the bench's file releases the step.
 */
async function nodeScratch(dataDir: string, masterId: string): Promise<string> {
  const nodeDir = nodeDirOf(path.join(dataDir, 'instances', masterId));
  const { uid, gid } = await fs.stat(nodeDir);
  const dir = path.join(nodeDir, 'console-bench');
  await fs.mkdir(dir, { recursive: true });
  for (const file of ['emit-lines.mjs', 'clock.mjs']) await fs.copyFile(path.join(HERE, file), path.join(dir, file));
  for (const entry of [dir, ...['emit-lines.mjs', 'clock.mjs'].map((f) => path.join(dir, f))]) await fs.chown(entry, uid, gid);
  return dir;
}

async function insertClusters(databaseUrl: string): Promise<void> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.begin(async (tx) => {
      await tx`insert into clusters (id, name, state, state_reason_code, state_reason_message, applications, keep_alive,
                  step_concurrency, created_at, ready_at, ended_at)
               select 'j-BENCHUI' || lpad(i::text, 6, '0'), 'console-bench-' || i, 'TERMINATED', 'ALL_STEPS_COMPLETED',
                  'Steps completed', '{}', false, 1, now() - make_interval(secs => ${CLUSTERS} - i),
                  now() - make_interval(secs => ${CLUSTERS} - i), now() - make_interval(secs => ${CLUSTERS} - i - 0.5)
               from generate_series(1, ${CLUSTERS}) as i`;
      await tx`insert into instance_groups (id, cluster_id, role, instance_type, requested_count, state)
               select 'ig-BENCHUI' || lpad(i::text, 6, '0') || r.role, 'j-BENCHUI' || lpad(i::text, 6, '0'), r.role, 'm5.large', r.count, 'TERMINATED'
               from generate_series(1, ${CLUSTERS}) as i, (values ('MASTER', 1), ('CORE', 2)) as r(role, count)`;
    });
  } finally {
    await sql.end();
  }
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The baseline page: the rows the console's first page shows, as plain HTML. */
async function staticRowsServer(api: Api): Promise<{ url: string; rows: number; close: () => Promise<void> }> {
  const { clusters } = await api.data(
    `{ clusters(first: 100) { edges { node { id name state createdAt instanceGroups { role requestedCount } } } } }`,
  );
  const nodes = clusters.edges.map((e: any) => e.node) as Array<{
    id: string;
    name: string;
    state: string;
    createdAt: string;
    instanceGroups: Array<{ role: string; requestedCount: number }>;
  }>;
  const rows = nodes
    .map(
      (c) =>
        `<tr data-cluster="${c.id}"><td><a href="#">${escapeHtml(c.name)}</a></td><td>${c.id}</td><td><span>${c.state}</span></td><td>${c.instanceGroups
          .map((g) => `${g.role}×${g.requestedCount}`)
          .join(' ')}</td><td>${new Date(c.createdAt).toLocaleString()}</td></tr>`,
    )
    .join('');
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>clusters</title></head><body><h1>Clusters</h1><table><thead><tr><th>Name</th><th>Id</th><th>State</th><th>Nodes</th><th>Created</th></tr></thead><tbody>${rows}</tbody></table></body></html>`;
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, rows: nodes.length, close: () => new Promise((r) => server.close(() => r())) };
}

/** One cold load in a fresh context: ms from the navigation's start to the first rows painted, and the rows shown. */
async function paintOnce(browser: Browser, url: string, key: string | null): Promise<{ ms: number; rows: number }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    if (key) await context.addInitScript(signedIn(key));
    await context.addInitScript(PAINT_PROBE);
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForFunction('window.firstRowsPaintedAt !== undefined', null, { timeout: 60_000 });
    return await page.evaluate<{ ms: number; rows: number }>(
      `({ ms: window.firstRowsPaintedAt, rows: document.querySelectorAll('tr[data-cluster]').length })`,
    );
  } finally {
    await context.close();
  }
}

async function firstPaint(ctx: ConsoleBenchContext, browser: Browser): Promise<void> {
  const { api, say } = ctx;
  const t0 = Date.now();
  await insertClusters(ctx.databaseUrl);
  const { clusters } = await api.data(`{ clusters(first: 1, filter: { nameContains: "console-bench-" }) { edges { node { id } } } }`);
  if (clusters.edges.length !== 1) throw new Error('the inserted clusters are not listed');
  say(`  ${CLUSTERS} TERMINATED clusters (MASTER + CORE groups) inserted into the database in ${Date.now() - t0} ms`);
  const bare = await staticRowsServer(api);
  try {
    // the first request bundles the console (esbuild, once per server): not measured
    await paintOnce(browser, `${api.url}/#/clusters`, api.key);
    const consoleMs: number[] = [];
    const staticMs: number[] = [];
    let consoleRows = 0;
    for (let i = 0; i < PAINT_RUNS; i++) {
      const shown = await paintOnce(browser, `${api.url}/#/clusters`, api.key);
      consoleMs.push(shown.ms);
      consoleRows = shown.rows;
      staticMs.push((await paintOnce(browser, bare.url, null)).ms);
    }
    const c = summarize(consoleMs);
    const s = summarize(staticMs);
    say(
      `  console #/clusters, first rows painted: p50 ${c.p50.toFixed(0)} ms  max ${c.max.toFixed(0)} ms  (n=${c.n}; ${consoleRows} rows: its first page, ${CLUSTERS} clusters inserted)`,
    );
    say(`  baseline, the same ${bare.rows} rows as static HTML from a bare server: p50 ${s.p50.toFixed(0)} ms  max ${s.max.toFixed(0)} ms`);
    ctx.results.figure16a = { console: c, static: s, consoleRuns: consoleMs, staticRuns: staticMs, rows: consoleRows, clusters: CLUSTERS };
    ctx.record({
      figure: `16a. console: clusters page first paint, ${CLUSTERS} clusters`,
      value: `p50 ${c.p50.toFixed(0)} ms (${(c.p50 / s.p50).toFixed(1)}x static)`,
      baseline: `static HTML p50 ${s.p50.toFixed(0)} ms`,
      target: `< ${PAINT_TARGET_MS} ms`,
      verdict: c.p50 < PAINT_TARGET_MS ? 'PASS' : 'MISS',
    });
  } finally {
    await bare.close();
  }
}

interface FrameRun {
  frames: number;
  seconds: number;
  fps: number;
  intervals: ReturnType<typeof summarize>;
  /** intervals longer than 1.5 frames of 60 Hz: at least one frame missed */
  long: number;
  /** lines the page showed at the end, and the rate they arrived at in the page */
  lines: number;
  linesPerSecond: number;
}

/** Times the page's animation frames until `until` resolves; with lines, from the first one shown to the last. */
async function recordFrames(page: Page, until: () => Promise<unknown>, withLines: boolean): Promise<FrameRun> {
  await page.evaluate(FRAME_RECORDER);
  await until();
  const frames = await page.evaluate<Array<[number, number]>>('window.recording = false, window.framesSeen');
  let window_ = frames;
  if (withLines) {
    const startCount = frames[0]![1];
    const endCount = frames[frames.length - 1]![1];
    const first = frames.findIndex(([, n]) => n > startCount);
    const last = frames.findIndex(([, n]) => n === endCount);
    window_ = frames.slice(Math.max(0, first - 1), last + 1);
  }
  const intervals = window_.slice(1).map(([t], i) => t - window_[i]![0]);
  const seconds = (window_[window_.length - 1]![0] - window_[0]![0]) / 1000;
  const lines = window_[window_.length - 1]![1] - window_[0]![1];
  return {
    frames: intervals.length,
    seconds,
    fps: intervals.length / seconds,
    intervals: summarize(intervals),
    long: intervals.filter((d) => d > FRAME_MS * 1.5).length,
    lines: frames[frames.length - 1]![1],
    linesPerSecond: lines / seconds,
  };
}

async function logFrames(ctx: ConsoleBenchContext, browser: Browser): Promise<void> {
  const { api, say } = ctx;
  const { createCluster } = await api.data(`mutation($input: CreateClusterInput!) { createCluster(input: $input) { cluster { id } } }`, {
    input: {
      name: 'console-bench-log',
      instanceGroups: [{ role: 'MASTER', instanceType: 'm5.large', count: 1 }],
      keepAliveWhenNoSteps: true,
    },
  });
  const clusterId = createCluster.cluster.id as string;
  const master = await waitUntil(async () => {
    const { cluster } = await api.data(`query($id: ID!) { cluster(id: $id) { state instances { id role } } }`, { id: clusterId });
    return cluster.state === 'WAITING' ? (cluster.instances as Array<{ id: string; role: string }>).find((i) => i.role === 'MASTER') : null;
  }, `cluster ${clusterId} to be WAITING`);
  const scratch = await nodeScratch(ctx.dataDir, master.id);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript(signedIn(api.key));
  const page = await context.newPage();
  const streaming: FrameRun[] = [];
  const idle: FrameRun[] = [];
  try {
    for (let run = 0; run < LOG_RUNS; run++) {
      const goFile = path.join(scratch, `go-${run}`);
      const { addSteps } = await api.data(`mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id } } }`, {
        input: {
          clusterId,
          steps: [
            {
              name: `lines-${run}`,
              command: {
                args: [process.execPath, path.join(scratch, 'emit-lines.mjs'), goFile, String(LOG_LINES), String(LOG_INTERVAL_MS)],
              },
            },
          ],
        },
      });
      const stepId = addSteps.steps[0].id as string;
      await page.goto(`${api.url}/#/steps/${stepId}`);
      await page
        .getByRole('heading', { name: `lines-${run}` })
        .getByText('RUNNING')
        .waitFor({ timeout: 60_000 });
      await page.getByTestId('log-lines').waitFor({ timeout: 60_000 });
      const stepDone = () =>
        waitUntil(
          async () => {
            const count = await page.locator('.log-bar .note').textContent();
            return (Number.parseInt(count ?? '0', 10) >= LOG_LINES && (await page.getByText(/Step completed/).count()) > 0) || null;
          },
          `step ${stepId}'s ${LOG_LINES} lines in the page`,
          120_000,
          50,
        );
      streaming.push(
        await recordFrames(
          page,
          async () => {
            await fs.writeFile(goFile, '');
            await stepDone();
          },
          true,
        ),
      );
      const last = streaming[streaming.length - 1]!;
      // the same page, idle, as long as the lines took
      idle.push(await recordFrames(page, () => new Promise((r) => setTimeout(r, last.seconds * 1000)), false));
      say(
        `  run ${run + 1}: ${last.lines} lines shown, arriving at ${last.linesPerSecond.toFixed(0)}/s over ${last.seconds.toFixed(1)} s: ${last.fps.toFixed(1)} fps, frame p50 ${last.intervals.p50.toFixed(1)} ms p99 ${last.intervals.p99.toFixed(1)} ms, ${last.long} long frames; idle ${idle[idle.length - 1]!.fps.toFixed(1)} fps`,
      );
    }
  } finally {
    await context.close();
    await api.data(`mutation($ids: [ID!]!) { terminateClusters(input: { ids: $ids }) { clusters { id } } }`, { ids: [clusterId] });
  }
  const fps = median(streaming.map((r) => r.fps));
  const idleFps = median(idle.map((r) => r.fps));
  const p99 = median(streaming.map((r) => r.intervals.p99));
  const rate = median(streaming.map((r) => r.linesPerSecond));
  say(
    `  median over ${LOG_RUNS} runs: ${fps.toFixed(1)} fps (frame p99 ${p99.toFixed(1)} ms) at ${rate.toFixed(0)} lines/s; idle page ${idleFps.toFixed(1)} fps`,
  );
  ctx.results.figure16b = { streaming, idle, lines: LOG_LINES, intervalMs: LOG_INTERVAL_MS };
  ctx.record({
    figure: `16b. console: step log frame rate, ${1000 / LOG_INTERVAL_MS} lines/s arriving`,
    value: `${fps.toFixed(1)} fps, p99 frame ${p99.toFixed(1)} ms (${rate.toFixed(0)} lines/s shown)`,
    baseline: `idle page ${idleFps.toFixed(1)} fps`,
    target: `>= ${FPS_TARGET} fps (as idle)`,
    // a 60 Hz display's frames are 16.7 ms apart: 59.5 fps and over is every frame drawn
    verdict: fps >= FPS_TARGET - 0.5 ? 'PASS' : 'MISS',
  });
}
