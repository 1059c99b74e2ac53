// Small helpers shared by the bench figures: statistics, a wall clock with sub-millisecond
// resolution, a GraphQL client for setup calls, a graphql-ws client, the summary table.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export { realtimeClock } from './clock.mjs';

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  min: number;
}

export function summarize(values: Iterable<number>): Summary {
  const sorted = Float64Array.from(values)
    .filter((v) => Number.isFinite(v))
    .sort();
  return {
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/** What a run of the load worker (load-worker.mjs) measured */
export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  n: number;
  errors: number;
  firstError?: string;
}

export function median(values: number[]): number {
  return summarize(values).p50;
}

export const ms = (v: number, digits = 2) => (Number.isFinite(v) ? `${v.toFixed(digits)} ms` : 'n/a');

/** Flushes a file to disk: every copy a figure compares ends so, as an upload does. */
export async function fsyncFile(file: string): Promise<void> {
  const handle = await fs.open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export const sleep = (millis: number) => new Promise<void>((r) => setTimeout(r, millis));

export async function waitUntil<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 60_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export class Api {
  constructor(
    readonly url: string,
    readonly key: string,
  ) {}

  /** POST /graphql; throws on any GraphQL error (setup calls must not fail silently). */
  async data<T = any>(query: string, variables?: Record<string, unknown>): Promise<T> {
    const res = await fetch(`${this.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.key}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: unknown[] };
    if (body.errors?.length || !body.data)
      throw new Error(`GraphQL errors (HTTP ${res.status}): ${JSON.stringify(body.errors).slice(0, 2000)}`);
    return body.data;
  }

  ws(): Client {
    return createClient({
      url: `${this.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${this.key}` },
      retryAttempts: 0,
      lazy: false,
    });
  }
}

export interface ClusterEventMsg {
  cursor: string;
  kind: string;
  resourceId: string;
  state: string | null;
}

/** One clusterEvents subscription that resolves waiters on matching events (used to know when steps end). */
export class EventWatch {
  private waiters: Array<{ pred: (e: ClusterEventMsg) => boolean; resolve: (e: ClusterEventMsg) => void }> = [];
  private dispose: () => void;
  error: unknown = null;
  readonly seen: Array<ClusterEventMsg & { receivedAt: number }> = [];

  constructor(
    client: Client,
    clusterId: string,
    private readonly now: () => number,
  ) {
    this.dispose = client.subscribe<{ clusterEvents: ClusterEventMsg }>(
      {
        query: 'subscription($id: ID!) { clusterEvents(clusterId: $id) { cursor kind resourceId state } }',
        variables: { id: clusterId },
      },
      {
        next: (r) => {
          const e = r.data?.clusterEvents;
          if (!e) {
            this.error = r.errors;
            return;
          }
          this.seen.push({ ...e, receivedAt: this.now() });
          this.waiters = this.waiters.filter((w) => {
            if (!w.pred(e)) return true;
            w.resolve(e);
            return false;
          });
        },
        error: (err) => {
          this.error = err;
        },
        complete: () => {},
      },
    );
  }

  /** Resolves on the first event matching pred that arrives from now on (or already seen when `fromIndex` is given). */
  next(pred: (e: ClusterEventMsg) => boolean, what: string, timeoutMs = 30_000, fromIndex?: number): Promise<ClusterEventMsg> {
    if (fromIndex !== undefined) {
      const hit = this.seen.slice(fromIndex).find(pred);
      if (hit) return Promise.resolve(hit);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timed out waiting for ${what}${this.error ? ` (subscription error: ${JSON.stringify(this.error)})` : ''}`));
      }, timeoutMs);
      const done = (e: ClusterEventMsg) => {
        clearTimeout(timer);
        resolve(e);
      };
      this.waiters.push({ pred, resolve: done });
    });
  }

  close(): void {
    this.dispose();
  }
}

/** Creates a function of `files` (1024 MB) and waits until it is ACTIVE. */
export async function deployFunction(
  api: Api,
  name: string,
  runtime: string,
  handler: string,
  files: Array<{ path: string; content: string }>,
) {
  await api.data(`mutation($input: CreateFunctionInput!) { createFunction(input: $input) { function { name } } }`, {
    input: { name, runtime, handler, memoryMb: 1024, code: { files } },
  });
  await waitUntil(
    async () => (await api.data(`query($n: String!) { function(name: $n) { state } }`, { n: name })).function.state === 'ACTIVE',
    `${name} ACTIVE`,
    30_000,
    50,
  );
}

/**
 * The settings the bench's control planes run with, in the environment `npm start` reads (the
 * rest are a fresh start's defaults): quicker heartbeats and reconciles than the defaults, so that
 * the figures do not wait on them.
 */
export const BENCH_SERVER_ENV = {
  LOG_LEVEL: 'warn',
  AGENT_HEARTBEAT_MS: '1000',
  AGENT_ORPHAN_SECONDS: '60',
  RECONCILE_INTERVAL_MS: '200',
  DB_POOL_SIZE: '10',
};

/**
 * Runs a worker thread of bench/ (`file` relative to it) and resolves with what `onMessage` resolves
 * from its messages; rejects if it fails, exits first or takes over `timeoutMs`.
 */
export function runWorker<T>(
  file: string,
  workerData: unknown,
  onMessage: (m: any, resolve: (v: T) => void) => void,
  timeoutMs: number,
): Promise<T> {
  const worker = new Worker(new URL(file, import.meta.url), { workerData });
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`${file} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (v: T) => {
      clearTimeout(timer);
      resolve(v);
    };
    worker.on('message', (m) => onMessage(m, done));
    worker.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    worker.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (${code}) before reporting`));
    });
  }).finally(() => {
    // a worker that reported may still be closing its sockets: give it a moment, then stop it
    setTimeout(() => void worker.terminate(), 5_000).unref();
  });
}

/**
 * The warm figures measure warm instances: before a level's load, rounds of 2c concurrent invokes
 * until the function has c instances and a round had no cold start, or until three rounds in a row
 * started none. An instance is free again as soon as its runtime answers, so c requests at once
 * may be far fewer invocations at once: twice as many requests per round make up for it. Starting
 * 48 more instances takes longer than the load's warm-up on 2 cores, and their starts would be
 * counted as warm invokes.
 */
export async function prewarm(api: Api, name: string, c: number) {
  let warmRounds = 0;
  for (let round = 0; round < 50; round++) {
    const res = await Promise.all(
      Array.from({ length: 2 * c }, () =>
        api.data(`mutation($n: String!) { invokeFunction(input: { functionName: $n }) { invocation { coldStart } } }`, { n: name }),
      ),
    );
    const { total } = (await api.data(`query($n: String!) { function(name: $n) { instances { total } } }`, { n: name })).function.instances;
    warmRounds = res.some((r) => r.invokeFunction.invocation.coldStart) ? 0 : warmRounds + 1;
    if ((total >= c && warmRounds > 0) || warmRounds >= 3) return;
  }
  throw new Error(`${name}: rounds of ${2 * c} invokes still started instances after 50 rounds`);
}

export interface RoundTripCost {
  /** CPU µs on one side per round trip, the processes where the scheduler puts them */
  cpuUs: number;
  /** the same with both on one core (null: no taskset) */
  oneCoreCpuUs: number | null;
}

let roundTrip: Promise<RoundTripCost> | null = null;

/** What a socket round trip between two processes costs here (bench/round-trip.mjs); measured once a run. */
export function socketRoundTripCost(): Promise<RoundTripCost> {
  const probe = fileURLToPath(new URL('./round-trip.mjs', import.meta.url));
  const run = (argv: string[]) =>
    new Promise<number | null>((resolve) => {
      execFile(argv[0]!, [...argv.slice(1), probe], { timeout: 60_000 }, (err, stdout) =>
        resolve(err ? null : (JSON.parse(stdout) as { cpuUs: number }).cpuUs),
      );
    });
  roundTrip ??= (async () => {
    const cpuUs = await run([process.execPath]);
    if (cpuUs === null) throw new Error('bench/round-trip.mjs failed');
    return { cpuUs, oneCoreCpuUs: await run(['taskset', '-c', '0', process.execPath]) };
  })();
  return roundTrip;
}

export const fmtRoundTrip = (c: RoundTripCost) =>
  `a socket round trip between 2 processes ${c.cpuUs.toFixed(0)} µs CPU a side${c.oneCoreCpuUs === null ? '' : ` (${c.oneCoreCpuUs.toFixed(0)} µs on one core)`}`;

/**
 * Runs a bench program's `main`, then `cleanup` (also on SIGINT/SIGTERM, once), and exits: 1 when
 * `main` crashed or `failed()` says something else did (a figure, a cleanup step), 130 on a signal.
 */
export async function runProgram(
  name: string,
  main: () => Promise<void>,
  cleanup: () => Promise<void>,
  failed: () => boolean,
): Promise<never> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      say(`\n${signal}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  let crashed = false;
  try {
    await main();
  } catch (err) {
    crashed = true;
    say(`${name} crashed: ${(err as Error).stack ?? err}`);
  } finally {
    await cleanup();
  }
  process.exit(crashed || failed() ? 1 : 0);
}

/**
 * Writes bench-results/<name>: when the run started and ended, the machine, then `fields` (typed
 * arrays of raw samples left out); returns its path.
 */
export async function writeResults(name: string, started: Date, fields: Record<string, unknown>): Promise<string> {
  const out = fileURLToPath(new URL(`../bench-results/${name}`, import.meta.url));
  await fs.mkdir(path.dirname(out), { recursive: true });
  const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg: os.loadavg(), node: process.version };
  const body = { startedAt: started.toISOString(), finishedAt: new Date().toISOString(), machine, ...fields };
  await fs.writeFile(
    out,
    JSON.stringify(body, (_k, v) => (v instanceof Float64Array ? undefined : v), 2),
  );
  return out;
}

type Verdict = 'PASS' | 'MISS' | 'ERROR' | 'INFO';

/** One line of the summary table: a figure's value beside its same-run baseline and its target. */
export interface Row {
  figure: string;
  value: string;
  baseline: string;
  target: string;
  verdict: Verdict;
}

/** The summary table as aligned text lines (INFO rows show `-` as their verdict). */
export function summaryLines(rows: Row[]): string[] {
  const header: Row = { figure: 'figure', value: 'value', baseline: 'baseline (same run)', target: 'target', verdict: 'PASS' };
  const cols = ['figure', 'value', 'baseline', 'target', 'verdict'] as const;
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(c.length, ...[header, ...rows].map((r) => String(r[c]).length))]));
  const line = (r: Row, verdict: string) => cols.map((c) => (c === 'verdict' ? verdict : String(r[c]).padEnd(width[c]!))).join(' | ');
  return [
    line(header, 'PASS/MISS'),
    cols.map((c) => '-'.repeat(c === 'verdict' ? 9 : width[c]!)).join('-|-'),
    ...rows.map((r) => line(r, r.verdict === 'INFO' ? '-' : r.verdict)),
  ];
}

/** Pids of the processes whose AGENT_WORKDIR lies under `dir`: the node agents (and their steps) of a control plane using it. */
export function processesUnder(dir: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (env.some((kv) => kv.startsWith(`AGENT_WORKDIR=${dir}`))) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
