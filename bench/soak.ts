// The soak (`npm run bench:soak`): a control plane under steady load for a long while, checked for
// memory that keeps growing, latency that drifts and errors. For BENCH_SOAK_SECONDS (600 by default):
//   - invocations of a no-op Node function through `POST /graphql` at a steady BENCH_SOAK_RATE per
//     second (1,000), open loop (bench/load-worker.mjs with `ratePerSecond`): requests fall due on a
//     schedule whether or not the server kept up, so a server that falls behind shows as latency,
//     a lower answered rate and a backlog, all reported;
//   - BENCH_SOAK_SUBSCRIBERS (1,000) graphql-ws subscribers following the log of a step that prints
//     BENCH_SOAK_LINES_PER_SECOND (10) numbered lines a second throughout (bench/emit-lines.mjs and
//     bench/subscribers-worker.mjs): every line must reach every subscriber once.
// The control plane runs as a process of its own, started as `npm start` starts it (src/main.ts
// through tsx, NODE_ENV=production, the bench's settings), so that its memory is its own; Postgres is
// the bench's embedded one. Every few seconds the soak samples the server's RSS and PSS
// (/proc/PID/smaps_rollup), its process.memoryUsage() (bench/memory-probe.mjs) and the PSS of every Postgres process, and after the warm-up (the first
// 20%) reports their slopes by least squares, the invoke latency per window (a minute, or a fifth of
// a shorter run) with the first and last steady window's p99, the errors, and lines delivered
// against printed. It prints a table like the bench's, writes bench-results/soak.json and puts its
// rows into the README's bench table.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import postgres from 'postgres';
import { startEmbeddedPostgres } from '../src/platform/db/embedded-postgres.js';
import { runMigrations } from '../src/platform/db/migrate.js';
import { nodeDirOf } from '../src/engine/agent/node-sandbox.js';
import {
  Api,
  BENCH_SERVER_ENV,
  deployFunction,
  ms,
  prewarm,
  processesUnder,
  type Row,
  runProgram,
  runWorker,
  summarize,
  summaryLines,
  waitUntil,
  writeResults,
} from './lib.js';
import { writeBenchTable } from './readme-table.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');

function positiveEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

const DURATION_MS = positiveEnv('BENCH_SOAK_SECONDS', 600) * 1000;
const RATE = positiveEnv('BENCH_SOAK_RATE', 1_000);
const SUBSCRIBERS = Math.round(positiveEnv('BENCH_SOAK_SUBSCRIBERS', 1_000));
const LINES_PER_SECOND = positiveEnv('BENCH_SOAK_LINES_PER_SECOND', 10);
const LINE_COUNT = Math.round((LINES_PER_SECOND * DURATION_MS) / 1000);
const WARMUP_MS = 0.2 * DURATION_MS;
const WINDOW_MS = Math.min(60_000, DURATION_MS / 5);
const SAMPLE_MS = Math.min(5_000, Math.max(1_000, DURATION_MS / 30));
// connections the load client may open: figure 9's highest concurrency. As there, the function
// has that many warm instances before the load starts: the soak is about the steady state, and
// 64 instances starting at once on a busy machine can run into Lambda's 10 s init limit.
const MAX_CONNECTIONS = 64;
const DRAIN_MS = 30_000;
const SLOPE_TARGET_MB_PER_MIN = 1;
const P99_RATIO_TARGET = 1.5;
const FUNCTION = 'soak-noop';
const INVOKE = JSON.stringify({
  query: `mutation { invokeFunction(input: { functionName: "${FUNCTION}" }) { statusCode functionError payload } }`,
});
// an invoke is OK only when the function ran and returned: any other answer counts as an error
const INVOKE_OK = '{"data":{"invokeFunction":{"statusCode":200,"functionError":null,"payload":null}}}';

const say = (line = '') => process.stdout.write(`${line}\n`);
const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];

// ---- the control plane as a process of its own ----
interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** the last lines it wrote, for a failure's message */
  tail: () => string;
}

async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  // `npm start` runs `tsx src/main.ts`, which runs node with tsx's loader in a child process; this
  // starts that node process directly, so its pid is the server's
  const child = spawn(
    process.execPath,
    ['--import', path.join(HERE, 'memory-probe.mjs'), '--import', 'tsx', path.join(ROOT, 'src', 'main.ts')],
    {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  let url = '';
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      url ||= /GraphQL API on (http:\/\/\S+)\/graphql/.exec(line)?.[1] ?? '';
      lines.push(line);
      if (lines.length > 20) lines.shift();
    }
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const tail = () => lines.join('\n');
  try {
    await waitUntil(
      () => {
        if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}) before listening:\n${tail()}`);
        return url;
      },
      'the server to listen',
      120_000,
      50,
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return { child, url, tail };
}

async function stopServer(server: ServerProcess, dataDir: string): Promise<void> {
  const { child } = server;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
  const left = processesUnder(dataDir);
  if (left.length) say(`cleanup: killing ${left.length} leftover agent/step processes: ${left.join(' ')}`);
  for (const pid of left)
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
}

// ---- memory and CPU of processes, from /proc ----
const CLOCK_TICKS = 100; // USER_HZ: /proc's CPU times are in 1/100 s

/** RSS and PSS in MB (smaps_rollup), CPU seconds used so far; null when the process is gone. */
function processUsage(pid: number): { rss: number; pss: number; cpu: number } | null {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { rss: kb('Rss') / 1024, pss: kb('Pss') / 1024, cpu: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS };
  } catch {
    return null;
  }
}

/** The children of a single-threaded process (the postmaster's are its backends and workers). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

interface ServerMemory {
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  gcPauseMs: number;
  fullGcs: number;
}

/** The server's last process.memoryUsage() in MB and its GC pauses so far (NaN before the probe's first write). */
function serverMemory(file: string): ServerMemory {
  try {
    const usage = JSON.parse(readFileSync(file, 'utf8')) as NodeJS.MemoryUsage & { gcPauseMs: number; fullGcs: number };
    return {
      heapUsed: usage.heapUsed / 2 ** 20,
      external: usage.external / 2 ** 20,
      arrayBuffers: usage.arrayBuffers / 2 ** 20,
      gcPauseMs: usage.gcPauseMs,
      fullGcs: usage.fullGcs,
    };
  } catch {
    return { heapUsed: Number.NaN, external: Number.NaN, arrayBuffers: Number.NaN, gcPauseMs: Number.NaN, fullGcs: Number.NaN };
  }
}

/**
 * The database's tables: their size with indexes and TOAST, the autovacuums and autoanalyzes run on
 * them so far, their dead rows; and the checkpoints done so far.
 */
interface TableStats {
  tablesMb: number;
  autovacuums: number;
  autoanalyzes: number;
  deadRows: number;
  checkpoints: number;
}
const NO_TABLE_STATS: TableStats = {
  tablesMb: Number.NaN,
  autovacuums: Number.NaN,
  autoanalyzes: Number.NaN,
  deadRows: Number.NaN,
  checkpoints: Number.NaN,
};

async function tableStats(sql: postgres.Sql): Promise<TableStats> {
  const [row] = await sql<{ bytes: string; autovacuums: string; autoanalyzes: string; dead: string; checkpoints: string }[]>`
    select sum(pg_total_relation_size(relid)) as bytes, sum(autovacuum_count) as autovacuums,
           sum(autoanalyze_count) as autoanalyzes, sum(n_dead_tup) as dead,
           (select num_timed + num_requested from pg_stat_checkpointer) as checkpoints
    from pg_stat_user_tables`;
  return {
    tablesMb: Number(row!.bytes) / 2 ** 20,
    autovacuums: Number(row!.autovacuums),
    autoanalyzes: Number(row!.autoanalyzes),
    deadRows: Number(row!.dead),
    checkpoints: Number(row!.checkpoints),
  };
}

interface Sample {
  /** seconds since the load started */
  t: number;
  serverRssMb: number;
  serverPssMb: number;
  serverCpuS: number;
  /** the server's process.memoryUsage() in MB (bench/memory-probe.mjs, up to a second old) */
  serverHeapUsedMb: number;
  serverExternalMb: number;
  serverArrayBuffersMb: number;
  /** the server's GC pauses so far: their time in ms and how many were full GCs */
  serverGcPauseMs: number;
  serverFullGcs: number;
  /** the database's tables (TableStats, up to a sample old) */
  tablesMb: number;
  autovacuums: number;
  autoanalyzes: number;
  deadRows: number;
  checkpoints: number;
  /** CPU seconds of the soak's own process: its load and subscriber clients share the machine */
  clientCpuS: number;
  postgresPssMb: number;
  postgresRssMb: number;
  postgresProcesses: number;
  /** CPU seconds of the Postgres processes alive now (exited backends' are not counted) */
  postgresCpuS: number;
  invokesAnswered: number;
  invokeBacklog: number;
  linesDelivered: number;
}

/** Least-squares slope of y over x. */
function slope(points: Array<{ x: number; y: number }>): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx;
}

// ---- the run ----
interface LoadProgress {
  scheduled: number;
  completed: number;
  errors: number;
  backlog: number;
  inFlight: number;
}
interface LoadDone {
  latencies: number[];
  dueAt: number[];
  errors: number;
  firstError?: string;
  scheduled: number;
  atEnd: { completed: number; backlog: number; inFlight: number; maxBacklog: number };
  unanswered: number;
}
interface SubscribersDone {
  ok: boolean;
  latencies: Float64Array;
  lost: number;
  duplicates: number;
  errors: number;
  firstError?: string;
}

interface Window {
  fromS: number;
  /** `n`, p50, p99: requests that fell due in the window; `answeredPerSecond`: answers that arrived in it */
  invoke: { n: number; p50: number; p99: number; answeredPerSecond: number };
  logs: { n: number; p50: number; p99: number };
}

/** Invoke latency by the window its request fell due in; log latency by the window its line was printed in. */
function windows(load: LoadDone, logs: Float64Array): Window[] {
  const count = Math.ceil(DURATION_MS / WINDOW_MS);
  const invokes: number[][] = Array.from({ length: count }, () => []);
  const answered = new Array<number>(count).fill(0);
  load.dueAt.forEach((due, i) => {
    invokes[Math.min(count - 1, Math.floor(due / WINDOW_MS))]!.push(load.latencies[i]!);
    const at = Math.floor((due + load.latencies[i]!) / WINDOW_MS);
    if (at < count) answered[at]!++;
  });
  const lines: number[][] = Array.from({ length: count }, () => []);
  for (let i = 0; i < logs.length; i++) {
    const printedAt = ((i % LINE_COUNT) * 1000) / LINES_PER_SECOND;
    if (!Number.isNaN(logs[i]!)) lines[Math.min(count - 1, Math.floor(printedAt / WINDOW_MS))]!.push(logs[i]!);
  }
  return invokes.map((values, w) => {
    const s = summarize(values);
    const l = summarize(lines[w]!);
    return {
      fromS: (w * WINDOW_MS) / 1000,
      invoke: { n: s.n, p50: s.p50, p99: s.p99, answeredPerSecond: answered[w]! / (WINDOW_MS / 1000) },
      logs: { n: l.n, p50: l.p50, p99: l.p99 },
    };
  });
}

async function soak(): Promise<void> {
  const started = new Date();
  const loadAtStart = os.loadavg()[0]!;
  say(`emberplane soak — ${started.toISOString()}`);
  say(
    `machine: ${os.cpus().length} cpus, load avg ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, node ${process.version}`,
  );
  say(
    `${DURATION_MS / 1000} s: ${RATE} invocations/s offered (open loop, up to ${MAX_CONNECTIONS} connections), ` +
      `${SUBSCRIBERS} subscribers to a step printing ${LINES_PER_SECOND} lines/s; warm-up ${WARMUP_MS / 1000} s, windows of ${WINDOW_MS / 1000} s, samples every ${SAMPLE_MS / 1000} s`,
  );

  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'emberplane-soak-'));
  await fs.chmod(tmp, 0o755); // as root, the embedded Postgres runs as user "postgres"
  cleanups.push({ what: `remove ${tmp}`, run: () => fs.rm(tmp, { recursive: true, force: true }) });
  const pgDir = path.join(tmp, 'pg');
  const dataDir = path.join(tmp, 'app');
  const pg = await startEmbeddedPostgres(pgDir, pino({ level: 'warn' }));
  cleanups.push({ what: 'stop Postgres', run: () => pg.stop() });
  await runMigrations(pg.url);
  const postmaster = Number((await fs.readFile(path.join(pgDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0]);

  const memoryFile = path.join(tmp, 'server-memory.json');
  const key = `ep_soak_${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  const server = await startServer({
    ...BENCH_SERVER_ENV,
    NODE_ENV: 'production',
    PORT: '0',
    DATA_DIR: dataDir,
    DATABASE_URL: pg.url,
    ADMIN_API_KEY: key,
    STOP_AGENTS_ON_EXIT: 'true',
    SOAK_MEMORY_FILE: memoryFile,
  });
  cleanups.push({ what: 'stop the control plane', run: () => stopServer(server, dataDir) });
  const serverPid = server.child.pid!;
  say(`control plane pid ${serverPid} on ${server.url} (NODE_ENV=production); Postgres postmaster pid ${postmaster}`);
  const api = new Api(server.url, key);

  await deployFunction(api, FUNCTION, 'NODEJS20', 'index.handler', [{ path: 'index.js', content: 'exports.handler = async () => null;' }]);
  // one invoke before the soak: a function that does not work here is a set-up failure, not a soak figure
  const check = await api.data(
    `mutation { invokeFunction(input: { functionName: "${FUNCTION}", logType: TAIL }) { statusCode functionError payload logResult } }`,
  );
  if (check.invokeFunction.functionError)
    throw new Error(
      `the no-op function failed: ${JSON.stringify(check.invokeFunction.payload)}\n${Buffer.from(check.invokeFunction.logResult ?? '', 'base64')}`,
    );
  await prewarm(api, FUNCTION, MAX_CONNECTIONS);
  const { createCluster } = await api.data('mutation($input: CreateClusterInput!) { createCluster(input: $input) { cluster { id } } }', {
    input: { name: 'soak', instanceGroups: [{ role: 'MASTER', instanceType: 'm5.large', count: 1 }] },
  });
  const clusterId: string = createCluster.cluster.id;
  const stateOf = async () => (await api.data('query($id: ID!) { cluster(id: $id) { state } }', { id: clusterId })).cluster.state;
  await waitUntil(async () => (await stateOf()) === 'WAITING', 'the soak cluster WAITING', 120_000, 200);
  // a step sees the system, the engine's code and its node's directory only: the emitter and its
  // go file go there (the node's directory is where the master's agent works)
  const agent = processesUnder(dataDir)[0];
  const workdir = agent && /(?:^|\0)AGENT_WORKDIR=([^\0]+)/.exec(readFileSync(`/proc/${agent}/environ`, 'utf8'))?.[1];
  if (!workdir) throw new Error("the soak cluster's agent process was not found");
  const emitterDir = path.join(nodeDirOf(workdir), 'soak');
  await fs.mkdir(emitterDir, { mode: 0o755 });
  for (const file of ['emit-lines.mjs', 'clock.mjs']) await fs.copyFile(path.join(HERE, file), path.join(emitterDir, file));
  const goFile = path.join(emitterDir, 'go');
  cleanups.push({ what: 'release the log step', run: () => fs.writeFile(goFile, '') });
  const { addSteps } = await api.data('mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id logStreamId } } }', {
    input: {
      clusterId,
      steps: [
        {
          name: 'soak-log',
          command: {
            args: [process.execPath, path.join(emitterDir, 'emit-lines.mjs'), goFile, String(LINE_COUNT), String(1000 / LINES_PER_SECOND)],
          },
        },
      ],
    },
  });
  const step = addSteps.steps[0] as { id: string; logStreamId: string };
  await waitUntil(
    async () => (await api.data('query($id: ID!) { step(id: $id) { state } }', { id: step.id })).step.state === 'RUNNING',
    'the log step RUNNING',
    60_000,
    100,
  );

  // the subscribers connect first; once all are live the step prints and the invocations start
  let loadProgress: LoadProgress = { scheduled: 0, completed: 0, errors: 0, backlog: 0, inFlight: 0 };
  let linesDelivered = 0;
  const loadRuns: Array<Promise<LoadDone>> = [];
  let t0 = 0;
  const samples: Sample[] = [];
  // the tables' figures come from a query: the latest answer, read by the next sample
  const statsSql = postgres(pg.url, { max: 1, onnotice: () => {} });
  cleanups.push({ what: 'close the statistics connection', run: () => statsSql.end() });
  let tables = NO_TABLE_STATS;
  const readTables = () =>
    void tableStats(statsSql).then(
      (t) => {
        tables = t;
      },
      () => {},
    );
  const sample = () => {
    readTables();
    const s = processUsage(serverPid);
    const pgUsage = [postmaster, ...childrenOf(postmaster)].map(processUsage).filter((u) => u !== null);
    if (!s) return;
    const memory = serverMemory(memoryFile);
    samples.push({
      t: (performance.now() - t0) / 1000,
      serverRssMb: s.rss,
      serverPssMb: s.pss,
      serverCpuS: s.cpu,
      serverHeapUsedMb: memory.heapUsed,
      serverExternalMb: memory.external,
      serverArrayBuffersMb: memory.arrayBuffers,
      serverGcPauseMs: memory.gcPauseMs,
      serverFullGcs: memory.fullGcs,
      ...tables,
      clientCpuS: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
      postgresPssMb: pgUsage.reduce((sum, u) => sum + u.pss, 0),
      postgresRssMb: pgUsage.reduce((sum, u) => sum + u.rss, 0),
      postgresProcesses: pgUsage.length,
      postgresCpuS: pgUsage.reduce((sum, u) => sum + u.cpu, 0),
      invokesAnswered: loadProgress.completed,
      invokeBacklog: loadProgress.backlog,
      linesDelivered,
    });
  };
  let sampler: NodeJS.Timeout | undefined;
  let lastSaid = 0;
  const subscribersRun = runWorker<SubscribersDone>(
    './subscribers-worker.mjs',
    {
      wsUrl: `${server.url.replace(/^http/, 'ws')}/graphql`,
      key,
      streamId: step.logStreamId,
      subscribers: SUBSCRIBERS,
      lineCount: LINE_COUNT,
      connectBatch: 50,
      readyTimeoutMs: 120_000,
      doneTimeoutMs: DURATION_MS + 120_000,
      progressMs: SAMPLE_MS,
    },
    (m, resolve) => {
      if (m.type === 'ready') {
        say(
          `${m.ready}/${SUBSCRIBERS} subscribers live in ${ms(m.connectMs, 0)}${m.errors ? ` (${m.errors} errors: ${m.firstError})` : ''}; go`,
        );
        t0 = performance.now();
        void fs.writeFile(goFile, '');
        sample();
        sampler = setInterval(sample, SAMPLE_MS);
        const loadRun = runWorker<LoadDone>(
          './load-worker.mjs',
          {
            url: `${server.url}/graphql`,
            headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
            bodies: [INVOKE],
            concurrency: MAX_CONNECTIONS,
            warmupMs: 0,
            durationMs: DURATION_MS,
            expect: INVOKE_OK,
            ratePerSecond: RATE,
            progressMs: SAMPLE_MS,
            drainMs: DRAIN_MS,
          },
          (p, done) => {
            if (p.type === 'done') return done(p);
            loadProgress = p;
            const last = samples.at(-1);
            if (last && last.t - lastSaid >= 30) {
              lastSaid = last.t;
              say(
                `  +${last.t.toFixed(0)} s: server RSS ${last.serverRssMb.toFixed(0)} MB (heap ${last.serverHeapUsedMb.toFixed(0)} MB, external ${last.serverExternalMb.toFixed(0)} MB), Postgres PSS ${last.postgresPssMb.toFixed(0)} MB (${last.postgresProcesses} processes); ` +
                  `invokes answered ${p.completed}/${p.scheduled} due (backlog ${p.backlog}, in flight ${p.inFlight}, errors ${p.errors}); lines delivered ${linesDelivered}`,
              );
            }
          },
          DURATION_MS + DRAIN_MS + 60_000,
        );
        loadRuns.push(loadRun);
      } else if (m.type === 'progress') linesDelivered = m.delivered;
      else if (m.type === 'done') resolve(m);
    },
    120_000 + DURATION_MS + 180_000,
  );
  const logs = await subscribersRun;
  if (logs.lost) {
    // why lines are missing: the step may have failed (its last lines say how)
    const { step: logStep } = await api.data(
      'query($id: ID!) { step(id: $id) { state failureDetails { message } logs(last: 5) { edges { node { stream text } } } } }',
      { id: step.id },
    );
    say(
      `the log step is ${logStep.state} ${logStep.failureDetails?.message ?? ''}; its last lines: ${JSON.stringify(logStep.logs.edges.map((e: any) => e.node.text))}`,
    );
  }
  if (!loadRuns[0]) throw new Error('the subscribers never got ready');
  const load = await loadRuns[0];
  clearInterval(sampler);
  linesDelivered = logs.latencies.length - logs.lost;
  sample();

  // ---- figures ----
  const steady = samples.filter((s) => s.t * 1000 >= WARMUP_MS && s.t * 1000 <= DURATION_MS);
  // a sample the memory probe had not written yet is NaN: left out
  const perMinute = (pick: (s: Sample) => number) =>
    slope(steady.map((s) => ({ x: s.t / 60, y: pick(s) })).filter((p) => Number.isFinite(p.y)));
  const cpuShare = (pick: (s: Sample) => number) =>
    steady.length > 1 ? (pick(steady.at(-1)!) - pick(steady[0]!)) / (steady.at(-1)!.t - steady[0]!.t) : Number.NaN;
  const usage = {
    serverRss: perMinute((s) => s.serverRssMb),
    serverPss: perMinute((s) => s.serverPssMb),
    serverHeapUsed: perMinute((s) => s.serverHeapUsedMb),
    serverExternal: perMinute((s) => s.serverExternalMb),
    serverArrayBuffers: perMinute((s) => s.serverArrayBuffersMb),
    postgresPss: perMinute((s) => s.postgresPssMb),
    postgresRss: perMinute((s) => s.postgresRssMb),
    serverCpuCores: cpuShare((s) => s.serverCpuS),
    postgresCpuCores: cpuShare((s) => s.postgresCpuS),
    clientCpuCores: cpuShare((s) => s.clientCpuS),
  };
  const byWindow = windows(load, logs.latencies);
  const steadyWindows = byWindow.filter((w) => w.fromS * 1000 >= WARMUP_MS);
  const first = steadyWindows[0]!;
  const last = steadyWindows.at(-1)!;
  const answeredPerSecond = load.atEnd.completed / (DURATION_MS / 1000);
  const behind = load.atEnd.backlog + load.atEnd.inFlight;
  const lineDeliveries = LINE_COUNT * SUBSCRIBERS;
  const errors = load.errors + logs.lost + logs.duplicates + logs.errors;

  say(
    '\nper window: invokes answered in it; latency of the invokes that fell due in it (from that time) and of the lines printed in it; ' +
      "the server's GC pauses (ms a second, full GCs) and the database's autovacuums, autoanalyzes and checkpoints in it, its tables' size at its end:",
  );
  for (const w of byWindow) {
    const during = samples.filter((s) => s.t >= w.fromS && s.t <= w.fromS + WINDOW_MS / 1000);
    const change = (pick: (s: Sample) => number) => {
      const known = during.filter((s) => Number.isFinite(pick(s)));
      return known.length > 1 ? pick(known.at(-1)!) - pick(known[0]!) : Number.NaN;
    };
    const seconds = change((s) => s.t);
    say(
      `  ${String(w.fromS).padStart(5)} s${w.fromS * 1000 < WARMUP_MS ? ' (warm-up)' : '          '}: answered ${w.invoke.answeredPerSecond.toFixed(0).padStart(5)}/s; ` +
        `due then: n=${w.invoke.n} p50 ${ms(w.invoke.p50).padStart(10)} p99 ${ms(w.invoke.p99).padStart(10)} | lines p50 ${ms(w.logs.p50).padStart(10)} p99 ${ms(w.logs.p99).padStart(10)} (n=${w.logs.n}) | ` +
        `GC ${(change((s) => s.serverGcPauseMs) / seconds).toFixed(1)} ms/s, ${change((s) => s.serverFullGcs)} full | ` +
        `autovacuum ${change((s) => s.autovacuums)}, autoanalyze ${change((s) => s.autoanalyzes)}, checkpoints ${change((s) => s.checkpoints)}, ` +
        `tables ${during.at(-1)?.tablesMb.toFixed(0)} MB (${during.at(-1)?.deadRows} dead rows)`,
    );
  }
  const at = (t: number) => samples.reduce((best, s) => (Math.abs(s.t - t) < Math.abs(best.t - t) ? s : best), samples[0]!);
  const warm = at(WARMUP_MS / 1000);
  const end = at(DURATION_MS / 1000);
  say(
    `server: RSS ${warm.serverRssMb.toFixed(1)} -> ${end.serverRssMb.toFixed(1)} MB after the warm-up (${usage.serverRss.toFixed(2)} MB/min; PSS ${usage.serverPss.toFixed(2)} MB/min), ` +
      `${usage.serverCpuCores.toFixed(2)} cores busy (Postgres ${usage.postgresCpuCores.toFixed(2)}, the soak's clients ${usage.clientCpuCores.toFixed(2)}; load average now ${os.loadavg()[0]!.toFixed(1)})`,
  );
  say(
    `server memory: JS heap used ${warm.serverHeapUsedMb.toFixed(1)} -> ${end.serverHeapUsedMb.toFixed(1)} MB (${usage.serverHeapUsed.toFixed(2)} MB/min), ` +
      `external ${warm.serverExternalMb.toFixed(1)} -> ${end.serverExternalMb.toFixed(1)} MB (${usage.serverExternal.toFixed(2)} MB/min; ArrayBuffers ${usage.serverArrayBuffers.toFixed(2)} MB/min)`,
  );
  say(
    `Postgres: PSS ${warm.postgresPssMb.toFixed(1)} -> ${end.postgresPssMb.toFixed(1)} MB (${usage.postgresPss.toFixed(2)} MB/min; RSS ${usage.postgresRss.toFixed(2)} MB/min), ${end.postgresProcesses} processes`,
  );
  say(
    `invokes: ${load.scheduled} due, ${load.atEnd.completed} answered in the run (${answeredPerSecond.toFixed(0)}/s), backlog at the end ${load.atEnd.backlog} ` +
      `(max ${load.atEnd.maxBacklog}), in flight ${load.atEnd.inFlight}, errors ${load.errors}${load.firstError ? ` (${load.firstError})` : ''}`,
  );
  say(
    `log lines: ${linesDelivered} of ${lineDeliveries} delivered (${LINE_COUNT} printed x ${SUBSCRIBERS}), lost ${logs.lost}, duplicated ${logs.duplicates}, ` +
      `subscription errors ${logs.errors}${logs.firstError ? ` (${logs.firstError})` : ''}`,
  );

  const mb = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(2)} MB/min`;
  const label = `soak ${DURATION_MS / 1000} s`;
  const rows: Row[] = [
    {
      figure: `${label}: invocations answered (open loop)`,
      value: `${answeredPerSecond.toFixed(0)}/s; ${behind} behind at the end (max backlog ${load.atEnd.maxBacklog})`,
      baseline: `${RATE}/s offered`,
      target: '>= 99% of offered, <= 1 s behind',
      verdict: answeredPerSecond >= 0.99 * RATE && behind <= RATE ? 'PASS' : 'MISS',
    },
    {
      figure: `${label}: invoke p99, last vs first steady window (${WINDOW_MS / 1000} s)`,
      value: last.invoke.n
        ? `p99 ${ms(last.invoke.p99, 1)} (${(last.invoke.p99 / first.invoke.p99).toFixed(2)}x), p50 ${ms(last.invoke.p50, 1)}`
        : 'none of the invokes due in it was answered',
      baseline: first.invoke.n
        ? `first p99 ${ms(first.invoke.p99, 1)}, p50 ${ms(first.invoke.p50, 1)}`
        : 'none answered in the first either',
      target: `<= ${P99_RATIO_TARGET}x first`,
      verdict: last.invoke.p99 <= P99_RATIO_TARGET * first.invoke.p99 ? 'PASS' : 'MISS',
    },
    {
      figure: `${label}: server RSS slope after warm-up`,
      value: `${mb(usage.serverRss)} (PSS ${mb(usage.serverPss)}, JS heap ${mb(usage.serverHeapUsed)}, external ${mb(usage.serverExternal)}); ${end.serverRssMb.toFixed(0)} MB at the end`,
      baseline: `${warm.serverRssMb.toFixed(0)} MB after the warm-up`,
      target: `<= ${SLOPE_TARGET_MB_PER_MIN} MB/min`,
      verdict: usage.serverRss <= SLOPE_TARGET_MB_PER_MIN ? 'PASS' : 'MISS',
    },
    {
      figure: `${label}: Postgres PSS slope after warm-up`,
      value: `${mb(usage.postgresPss)}; ${end.postgresPssMb.toFixed(0)} MB at the end (${end.postgresProcesses} processes)`,
      baseline: `${warm.postgresPssMb.toFixed(0)} MB after the warm-up`,
      target: `<= ${SLOPE_TARGET_MB_PER_MIN} MB/min`,
      verdict: usage.postgresPss <= SLOPE_TARGET_MB_PER_MIN ? 'PASS' : 'MISS',
    },
    {
      figure: `${label}: log lines delivered`,
      value: `${linesDelivered} of ${lineDeliveries}; line p99 ${ms(last.logs.p99, 0)} last window`,
      baseline: `${LINE_COUNT} printed x ${SUBSCRIBERS}; line p99 ${ms(first.logs.p99, 0)} first steady window`,
      target: 'every line to every subscriber once',
      verdict: linesDelivered === lineDeliveries && logs.duplicates === 0 ? 'PASS' : 'MISS',
    },
    {
      figure: `${label}: errors`,
      value: `${errors} (invokes ${load.errors}, lines lost ${logs.lost}, duplicated ${logs.duplicates}, subscriptions ${logs.errors})`,
      baseline: `${load.scheduled} invokes due, ${lineDeliveries} line deliveries`,
      target: '0',
      verdict: errors === 0 ? 'PASS' : 'MISS',
    },
  ];
  say('\n=== summary ===');
  for (const line of summaryLines(rows)) say(line);

  const out = await writeResults('soak.json', started, {
    loadAtStart: loadAtStart,
    settings: {
      durationS: DURATION_MS / 1000,
      ratePerSecond: RATE,
      maxConnections: MAX_CONNECTIONS,
      subscribers: SUBSCRIBERS,
      linesPerSecond: LINES_PER_SECOND,
      warmupS: WARMUP_MS / 1000,
      windowS: WINDOW_MS / 1000,
      sampleS: SAMPLE_MS / 1000,
      server: BENCH_SERVER_ENV,
    },
    summary: rows,
    usage,
    invokes: { scheduled: load.scheduled, ...load.atEnd, errors: load.errors, unanswered: load.unanswered, firstError: load.firstError },
    logLines: {
      printed: LINE_COUNT,
      deliveries: lineDeliveries,
      delivered: linesDelivered,
      lost: logs.lost,
      duplicates: logs.duplicates,
      errors: logs.errors,
    },
    windows: byWindow,
    samples,
  });
  say(`\nwrote ${path.relative(process.cwd(), out)}`);
  const readme = await writeBenchTable({ at: started.toISOString(), cpus: os.cpus().length, load: loadAtStart, figures: ['soak'], rows });
  say(`wrote the soak's rows into ${path.relative(process.cwd(), readme)}'s bench table`);
  if (server.child.exitCode !== null) throw new Error(`the server exited (${server.child.exitCode}) during the soak:\n${server.tail()}`);
}

let cleaningUp: Promise<void> | null = null;
let cleanupFailed = false;
const cleanup = () =>
  (cleaningUp ??= (async () => {
    for (const { what, run } of cleanups.reverse())
      await run().catch((err) => {
        cleanupFailed = true;
        say(`cleanup: ${what} failed: ${(err as Error).message}`);
      });
  })());
await runProgram('soak', soak, cleanup, () => cleanupFailed);
