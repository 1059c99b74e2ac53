// Bench section 18: against the tools a user would pick instead, side by side in the same run.
//   18a  the read path against PostGraphile 4 (bench/postgraphile-server.mjs: its own process, the
//        same Postgres and rows): the same nested selection as one identical document, and as one
//        document with distinct variables per request (a cluster by id; a page after a cursor), at
//        c=16, with the CPU each server and Postgres spend per request
//   18b  dispatch against graphile-worker on the same Postgres, whose task spawns the same process
//        a step runs: job added → process printed the time; and 40 jobs chained one after another
//        (each task adds the next) beside figure 4's 40 sequential steps
//   18c  a warm invoke of a no-op Python handler against AWS's Runtime Interface Emulator running
//        AWS's own runtime client (awslambdaric), through invokeFunction and through an HTTP route;
//        the emulator is built from its Go module when Go is there, else this part says so
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Logger, makeWorkerUtils, run as runGraphileWorker } from 'graphile-worker';
import { freePort } from '../src/platform/db/embedded-postgres.js';
import { nsToMs } from './clock.mjs';
import { type Api, deployFunction, type LoadResult, ms, realtimeClock, summarize, waitUntil } from './lib.js';

const exec = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const CONCURRENCY = 16;
const DISPATCH_RUNS = 50;
const DISPATCH_WARMUP = 3;
const CHAIN = 40;
const CHAIN_REPS = 3;
const PAGE = 5;
// the peers' versions, pinned: the emulator is a Go module, the runtime client a PyPI package
const RIE_MODULE = 'github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d';
const AWSLAMBDARIC = 'awslambdaric==3.1.1';
const POSTGRAPHILE = 'postgraphile@4.14.1';
const PEER_CACHE = path.join(os.homedir(), '.cache', 'emberplane-bench');

type Verdict = 'PASS' | 'MISS' | 'INFO';
export interface PeersContext {
  api: Api;
  databaseUrl: string;
  load: (
    url: string,
    headers: Record<string, string>,
    body: string | string[],
    concurrency: number,
    expect?: string,
  ) => Promise<LoadResult>;
  record: (row: { figure: string; value: string; baseline: string; target: string; verdict: Verdict }) => void;
  say: (line?: string) => void;
  /** BENCH_CPU_PROFILE: writes a CPU profile of the server thread while `fn` runs */
  profiled: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
  results: Record<string, unknown>;
  /** figures 3 and 4 of this run, when they ran: our side of 18b */
  dispatch?: { p50: number; p99: number };
  sequential?: number;
}

// ---- CPU time of processes, from /proc (clock ticks of 10 ms) ----
const TICK_MS = 10;
/** utime, stime, cutime, cstime and the parent pid of a process (zeros when it is gone) */
function statOf(statPath: string): { own: number; reaped: number; ppid: number } {
  try {
    const stat = readFileSync(statPath, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) };
  } catch {
    return { ppid: 0, own: 0, reaped: 0 }; // gone between the listing and the read
  }
}
const ticksOf = (statPath: string) => statOf(statPath).own;
/** every Postgres process's CPU, backends that exited meanwhile included (the postmaster reaped them) */
function postgresTicks(): number {
  const pids = readdirSync('/proc').filter((p) => {
    if (!/^\d+$/.test(p)) return false;
    try {
      return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'postgres';
    } catch {
      return false;
    }
  });
  const stats = new Map(pids.map((p) => [Number(p), statOf(`/proc/${p}/stat`)]));
  let ticks = 0;
  for (const st of stats.values()) ticks += st.own + (stats.has(st.ppid) ? 0 : st.reaped);
  return ticks;
}

/** runs `fn` and returns its result with the CPU ms `ticks()` and Postgres spent meanwhile */
async function withCpu<T>(ticks: () => number, fn: () => Promise<T>): Promise<{ r: T; serverMs: number; postgresMs: number }> {
  const [s0, p0] = [ticks(), postgresTicks()];
  const r = await fn();
  return { r, serverMs: (ticks() - s0) * TICK_MS, postgresMs: (postgresTicks() - p0) * TICK_MS };
}

// the same selection in both APIs: a cluster, its groups, nodes and last five steps
const OURS_FIELDS = `id name state
  instanceGroups { id role instanceType state requestedCount }
  instances { id groupId role state pid host }
  steps(first: 5) { edges { node { id state progress } } }`;
const PEER_FIELDS = `id name state
  instanceGroupsByClusterId { nodes { id role instanceType state requestedCount } }
  instancesByClusterId { nodes { id groupId role state pid host } }
  stepsByClusterId(first: 5, orderBy: POSITION_DESC) { nodes { id state progress } }`;

/** PostGraphile 4 in a directory of its own (it needs graphql 15; the project has 16), installed once */
async function installPostGraphile(): Promise<string> {
  const dir = path.join(PEER_CACHE, 'postgraphile');
  if (!existsSync(path.join(dir, 'node_modules', 'postgraphile', 'package.json'))) {
    await fs.mkdir(dir, { recursive: true });
    await exec('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', dir, POSTGRAPHILE], { maxBuffer: 1 << 24 });
  }
  return dir;
}

async function startPostGraphile(databaseUrl: string): Promise<{ url: string; child: ChildProcess; close: () => Promise<void> }> {
  const child = spawn(process.execPath, [path.join(HERE, 'postgraphile-server.mjs'), await installPostGraphile(), databaseUrl], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c) => (err += c));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`PostGraphile exited (${code}): ${err.slice(0, 2000)}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    child,
    close: async () => {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    },
  };
}

async function post(url: string, headers: Record<string, string>, body: string): Promise<any> {
  const res = await fetch(url, { method: 'POST', headers, body });
  const parsed = (await res.json()) as { data?: any; errors?: unknown };
  if (parsed.errors || !parsed.data) throw new Error(`${url}: ${JSON.stringify(parsed.errors).slice(0, 1000)}`);
  return parsed.data;
}

async function readPath(ctx: PeersContext): Promise<void> {
  const { api, say, record } = ctx;
  const ours = `${api.url}/graphql`;
  const oursHeaders = { 'content-type': 'application/json', authorization: `Bearer ${api.key}` };
  const peerHeaders = { 'content-type': 'application/json' };
  const peer = await startPostGraphile(ctx.databaseUrl);
  try {
    // the rows both sides read: every cluster, newest first, with both APIs' cursors for paging
    const ourPages: string[] = [];
    let after: string | null = null;
    const ids: string[] = [];
    for (;;) {
      const page: any = await api.data(
        `query($after: String) { clusters(first: ${PAGE}, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage } } }`,
        { after },
      );
      ids.push(...page.clusters.edges.map((e: any) => e.node.id));
      if (!page.clusters.pageInfo.hasNextPage) break;
      after = page.clusters.edges.at(-1).cursor;
      ourPages.push(after!);
    }
    const peerPages: string[] = [];
    const peerAll = await post(
      peer.url,
      peerHeaders,
      JSON.stringify({ query: '{ allClusters(orderBy: [CREATED_AT_DESC, ID_DESC]) { edges { cursor node { id } } } }' }),
    );
    const peerIds = peerAll.allClusters.edges.map((e: any) => e.node.id);
    if (JSON.stringify([...peerIds].sort()) !== JSON.stringify([...ids].sort()))
      throw new Error(`PostGraphile lists ${peerIds.length} clusters, emberplane ${ids.length}: not the same rows`);
    peerAll.allClusters.edges.forEach((e: any, i: number) => {
      if ((i + 1) % PAGE === 0 && i + 1 < peerIds.length) peerPages.push(e.cursor);
    });

    // the same answer on both sides, for one cluster
    const one = ids[0]!;
    const a = (await api.data(`query($id: ID!) { cluster(id: $id) { ${OURS_FIELDS} } }`, { id: one })).cluster;
    const b = (
      await post(
        peer.url,
        peerHeaders,
        JSON.stringify({ query: `query($id: String!) { clusterById(id: $id) { ${PEER_FIELDS} } }`, variables: { id: one } }),
      )
    ).clusterById;
    const shape = (groups: number, instances: number, steps: number) => `${groups} groups, ${instances} nodes, ${steps} steps`;
    const ourShape = shape(a.instanceGroups.length, a.instances.length, a.steps.edges.length);
    const peerShape = shape(b.instanceGroupsByClusterId.nodes.length, b.instancesByClusterId.nodes.length, b.stepsByClusterId.nodes.length);
    if (ourShape !== peerShape) throw new Error(`different answers for ${one}: ours ${ourShape}, PostGraphile ${peerShape}`);
    say(`  ${ids.length} clusters; each answer: ${ourShape}; PostGraphile in its own process; c=${CONCURRENCY}, the same load client`);

    const shuffled = <T>(xs: T[]) =>
      xs
        .map((x) => [Math.random(), x] as const)
        .sort((p, q) => p[0] - q[0])
        .map(([, x]) => x);
    const workloads = [
      {
        name: 'identical list',
        ours: JSON.stringify({ query: `{ clusters(first: 20) { edges { node { ${OURS_FIELDS} } } } }` }),
        peer: JSON.stringify({ query: `{ allClusters(first: 20, orderBy: [CREATED_AT_DESC, ID_DESC]) { nodes { ${PEER_FIELDS} } } }` }),
      },
      {
        name: 'distinct ids',
        ours: shuffled(ids).map((id) =>
          JSON.stringify({ query: `query($id: ID!) { cluster(id: $id) { ${OURS_FIELDS} } }`, variables: { id } }),
        ),
        peer: shuffled(ids).map((id) =>
          JSON.stringify({ query: `query($id: String!) { clusterById(id: $id) { ${PEER_FIELDS} } }`, variables: { id } }),
        ),
      },
      {
        name: 'distinct pages',
        ours: shuffled(ourPages).map((c) =>
          JSON.stringify({
            query: `query($c: String) { clusters(first: ${PAGE}, after: $c) { edges { node { ${OURS_FIELDS} } } } }`,
            variables: { c },
          }),
        ),
        peer: shuffled(peerPages).map((c) =>
          JSON.stringify({
            query: `query($c: Cursor) { allClusters(first: ${PAGE}, after: $c, orderBy: [CREATED_AT_DESC, ID_DESC]) { nodes { ${PEER_FIELDS} } } }`,
            variables: { c },
          }),
        ),
      },
    ];
    // our server runs on the bench's main thread (the load client is a worker thread): that thread's CPU
    const mainThread = () => ticksOf(`/proc/self/task/${process.pid}/stat`);
    const peerProcess = () => ticksOf(`/proc/${peer.child.pid}/stat`);
    const figures: Record<string, unknown> = {};
    for (const w of workloads) {
      const o = await withCpu(mainThread, () =>
        ctx.profiled(`peers-${w.name.replace(' ', '-')}`, () => ctx.load(ours, oursHeaders, w.ours, CONCURRENCY)),
      );
      const p = await withCpu(peerProcess, () => ctx.load(peer.url, peerHeaders, w.peer, CONCURRENCY));
      const per = (cpu: number, r: LoadResult) => cpu / Math.max(1, r.n);
      for (const [who, x] of [
        ['ours', o],
        ['PostGraphile', p],
      ] as const) {
        say(
          `  ${w.name.padEnd(15)} ${who.padEnd(12)} ${x.r.rps.toFixed(0).padStart(6)} req/s  p50 ${ms(x.r.p50).padStart(9)}  p99 ${ms(x.r.p99).padStart(9)}  CPU/request: server ${per(x.serverMs, x.r).toFixed(2)} ms, Postgres ${per(x.postgresMs, x.r).toFixed(2)} ms${x.r.errors ? `  (${x.r.errors} errors: ${x.r.firstError})` : ''}`,
        );
      }
      figures[w.name] = {
        ours: { ...o.r, serverCpuMs: o.serverMs, postgresCpuMs: o.postgresMs },
        peer: { ...p.r, serverCpuMs: p.serverMs, postgresCpuMs: p.postgresMs },
      };
      const ratio = o.r.rps / p.r.rps;
      const distinct = w.name !== 'identical list';
      record({
        figure: `18a. ${w.name} (nested, c=${CONCURRENCY}) vs PostGraphile 4`,
        value: `${o.r.rps.toFixed(0)} req/s, p99 ${ms(o.r.p99, 1)} (${ratio.toFixed(2)}×)`,
        baseline: `PostGraphile ${p.r.rps.toFixed(0)} req/s, p99 ${ms(p.r.p99, 1)}`,
        target: distinct ? '≥ 2× PostGraphile, p99 ≤ 25 ms' : '(reported)',
        verdict: o.r.errors || p.r.errors ? 'MISS' : distinct ? (ratio >= 2 && o.r.p99 <= 25 ? 'PASS' : 'MISS') : 'INFO',
      });
    }
    ctx.results.peersReadPath = figures;
  } finally {
    await peer.close();
  }
}

/** The printed epoch time of `date +%s%N`, spawned as a graphile-worker task would. */
function spawnDate(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('date', ['+%s%N'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(nsToMs(out.trim())) : reject(new Error(`date exited ${code}`))));
  });
}

async function dispatch(ctx: PeersContext): Promise<void> {
  const { say, record } = ctx;
  const now = realtimeClock();
  const printed = new Map<number, (t: number) => void>();
  const chains = new Map<string, () => void>();
  const quiet = new Logger(() => () => {});
  const utils = await makeWorkerUtils({ connectionString: ctx.databaseUrl, logger: quiet });
  await utils.migrate();
  const runner = await runGraphileWorker({
    connectionString: ctx.databaseUrl,
    concurrency: 1,
    noHandleSignals: true,
    pollInterval: 1_000,
    logger: quiet,
    taskList: {
      spawn: async (payload: any) => {
        const t = await spawnDate();
        printed.get(payload.i)?.(t);
      },
      chained: async (payload: any, helpers) => {
        await spawnDate();
        if (payload.left > 0) await helpers.addJob('chained', { chain: payload.chain, left: payload.left - 1 });
        else chains.get(payload.chain)?.();
      },
    },
  });
  try {
    const fromAdded: number[] = [];
    for (let i = 0; i < DISPATCH_WARMUP + DISPATCH_RUNS; i++) {
      const ran = new Promise<number>((resolve) => printed.set(i, resolve));
      await utils.addJob('spawn', { i });
      const added = now();
      const t = await ran;
      if (i >= DISPATCH_WARMUP) fromAdded.push(t - added);
    }
    const chainMs: number[] = [];
    for (let r = 0; r < CHAIN_REPS; r++) {
      const chain = `c${r}`;
      const done = new Promise<void>((resolve) => chains.set(chain, resolve));
      const t0 = now();
      await utils.addJob('chained', { chain, left: CHAIN - 1 });
      await done;
      chainMs.push(now() - t0);
    }
    const s = summarize(fromAdded);
    const chained = summarize(chainMs).p50;
    say(
      `  graphile-worker (concurrency 1, LISTEN/NOTIFY), a task spawning \`date +%s%N\`: addJob returned → printed p50 ${ms(s.p50)} p99 ${ms(s.p99)} (n=${s.n})`,
    );
    say(`  ${CHAIN} chained jobs (each task adds the next): median of ${CHAIN_REPS} ${ms(chained, 0)}`);
    ctx.results.peersDispatch = { graphileWorker: s, chainedMs: chainMs };
    const ours = ctx.dispatch;
    record({
      figure: '18b. dispatch (added → process runs) vs graphile-worker',
      value: ours
        ? `p50 ${ms(ours.p50, 1)} (${(ours.p50 / s.p50).toFixed(2)}×), p99 ${ms(ours.p99, 1)} (${(ours.p99 / s.p99).toFixed(2)}×)`
        : 'figure 3 not run',
      baseline: `graphile-worker + spawn p50 ${ms(s.p50, 1)}, p99 ${ms(s.p99, 1)}`,
      target: '≤ 1.3× at p50 and p99',
      verdict: ours ? (ours.p50 <= 1.3 * s.p50 && ours.p99 <= 1.3 * s.p99 ? 'PASS' : 'MISS') : 'INFO',
    });
    const seq = ctx.sequential;
    record({
      figure: `18b. ${CHAIN} sequential trivial steps vs chained graphile-worker jobs`,
      value: seq ? `${ms(seq, 0)} (${(seq / chained).toFixed(2)}×)` : 'figure 4 not run',
      baseline: `graphile-worker ${ms(chained, 0)}`,
      target: '≤ 1.3×',
      verdict: seq ? (seq <= 1.3 * chained ? 'PASS' : 'MISS') : 'INFO',
    });
  } finally {
    await runner.stop();
    await utils.release();
  }
}

/** The emulator binary and the runtime client, built/installed once into ~/.cache/emberplane-bench. */
async function emulator(say: (line: string) => void): Promise<{ rie: string; ric: string } | null> {
  const rie = path.join(PEER_CACHE, 'bin', 'aws-lambda-rie');
  const ric = path.join(PEER_CACHE, 'awslambdaric');
  if (!existsSync(rie)) {
    const go = await exec('go', ['version']).catch(() => null);
    if (!go) {
      say('  skipped: Go is not installed (the emulator is built from its Go module: install Go, e.g. apt-get install -y golang)');
      return null;
    }
    await exec('go', ['install', RIE_MODULE], { env: { ...process.env, GOBIN: path.dirname(rie) }, maxBuffer: 1 << 24 });
  }
  if (!existsSync(path.join(ric, 'awslambdaric'))) {
    await exec('python3', ['-m', 'pip', 'install', '--quiet', '--target', ric, AWSLAMBDARIC], { maxBuffer: 1 << 24 });
  }
  return { rie, ric };
}

async function invoke(ctx: PeersContext): Promise<void> {
  const { api, say, record } = ctx;
  const peer = await emulator(say);
  if (!peer) return;
  const handlerDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-rie-'));
  const HANDLER = 'def handler(event, context):\n    return {"ok": True}\n';
  await fs.writeFile(path.join(handlerDir, 'app.py'), HANDLER);
  // a port the kernel just handed out (a random one collided with the load's ephemeral ports once)
  const port = await freePort();
  const child = spawn(
    peer.rie,
    ['--log-level', 'error', '--runtime-interface-emulator-address', `127.0.0.1:${port}`, 'python3', '-m', 'awslambdaric', 'app.handler'],
    {
      env: { ...process.env, PYTHONPATH: `${peer.ric}:${handlerDir}` },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr = (stderr + c).slice(-4_000)));
  let exited: string | null = null;
  child.once('exit', (code, signal) => (exited = `exited (${signal ?? code})`));
  const rieUrl = `http://127.0.0.1:${port}/2015-03-31/functions/function/invocations`;
  try {
    await waitUntil(
      () => {
        if (exited) throw new Error(`the emulator ${exited}: ${stderr.trim() || 'no output'}`);
        // each try bounded: a first invoke that hangs during the runtime's init is tried again
        return fetch(rieUrl, { method: 'POST', body: '{}', signal: AbortSignal.timeout(5_000) }).then(
          (r) => r.ok || null,
          () => null,
        );
      },
      'the emulator to answer',
      30_000,
      100,
    ).catch((err: Error) => {
      throw new Error(`${err.message} (the emulator's stderr: ${stderr.trim() || 'empty'})`);
    });
    await deployFunction(api, 'peer-noop', 'PYTHON311', 'app.handler', [{ path: 'app.py', content: HANDLER }]);
    await api.data(
      `mutation { createTrigger(input: { name: "peer-noop-http", functionName: "peer-noop", http: { method: POST, path: "/peer-noop" } }) { trigger { id } } }`,
    );
    const route = `${api.url}/http/peer-noop`;
    await waitUntil(
      () =>
        fetch(route, { method: 'POST', body: '{}' }).then(
          (r) => r.ok || null,
          () => null,
        ),
      'the route to answer',
      30_000,
      100,
    );
    const json = { 'content-type': 'application/json' };
    const graphql = JSON.stringify({ query: 'mutation { invokeFunction(input: { functionName: "peer-noop" }) { statusCode payload } }' });
    const rieRun = await ctx.load(rieUrl, json, '{}', 1, '{"ok"');
    const routeRun = await ctx.load(route, json, '{}', 1, '{"ok"');
    const gqlRun = await ctx.load(`${api.url}/graphql`, { ...json, authorization: `Bearer ${api.key}` }, graphql, 1);
    for (const [name, r] of [
      ['emulator + awslambdaric', rieRun],
      ['our HTTP route', routeRun],
      ['our invokeFunction', gqlRun],
    ] as const) {
      say(
        `  ${name.padEnd(24)} p50 ${ms(r.p50).padStart(9)}  p99 ${ms(r.p99).padStart(9)}  ${r.rps.toFixed(0)}/s (c=1, n=${r.n}${r.errors ? `, ${r.errors} errors: ${r.firstError}` : ''})`,
      );
    }
    ctx.results.peersInvoke = { emulator: rieRun, route: routeRun, invokeFunction: gqlRun };
    for (const [name, r, goal] of [
      ['HTTP route', routeRun, 1.3],
      ['invokeFunction', gqlRun, 1.6],
    ] as const) {
      record({
        figure: `18c. warm invoke, no-op Python, ${name} vs AWS's emulator`,
        value: `p50 ${ms(r.p50)} (${(r.p50 / rieRun.p50).toFixed(2)}×)`,
        baseline: `Runtime Interface Emulator + awslambdaric p50 ${ms(rieRun.p50)}`,
        target: `≤ ${goal}×`,
        verdict: r.errors || rieRun.errors ? 'MISS' : r.p50 <= goal * rieRun.p50 ? 'PASS' : 'MISS',
      });
    }
  } finally {
    child.kill('SIGKILL');
    await fs.rm(handlerDir, { recursive: true, force: true });
  }
}

export async function benchPeers(ctx: PeersContext, part: (name: string, fn: () => Promise<void>) => Promise<void>): Promise<void> {
  await part('18a. the read path against PostGraphile 4', () => readPath(ctx));
  await part('18b. dispatch against graphile-worker', () => dispatch(ctx));
  await part("18c. warm invoke against AWS's Runtime Interface Emulator", () => invoke(ctx));
}
