// bench section: HTTP triggers. Requests to an HTTP trigger route (/http/bench → a no-op Node
// function, each request a recorded invocation) at concurrency 1, 16 and 64, beside a bare
// node:http server answering the same body, with the same keep-alive load generator; and, to show
// where the time goes, the same invocation called in-process (services.invocations.invoke, no HTTP).
import type { RunningApp } from '../src/app.js';
import { buildHttpEvent } from '../src/triggers/sources/http/event.js';
import { fmtRoundTrip, type LoadResult, ms, socketRoundTripCost, summarize, waitUntil, type Api } from './lib.js';

type Verdict = 'PASS' | 'MISS' | 'ERROR' | 'INFO';

export interface HttpTriggerBenchContext {
  api: Api;
  app: RunningApp;
  levels: number[];
  load: (url: string, headers: Record<string, string>, body: string, concurrency: number, expect: string) => Promise<LoadResult>;
  /** BENCH_CPU_PROFILE: the server thread's CPU profile of `fn` (run.ts) */
  profiled: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
  startBareServer: (body: string) => Promise<{ url: string; close: () => Promise<void> }>;
  deployFunction: (
    api: Api,
    name: string,
    runtime: string,
    handler: string,
    files: Array<{ path: string; content: string }>,
  ) => Promise<void>;
  record: (row: { figure: string; value: string; baseline: string; target: string; verdict: Verdict }) => void;
  say: (line?: string) => void;
  results: Record<string, unknown>;
}

const IN_PROCESS_WARMUP_MS = 1_000;
const IN_PROCESS_MS = 3_000;
const rate = (v: number) => (Number.isFinite(v) ? `${Math.round(v)} req/s` : 'n/a');

/** `concurrency` loops calling invoke() in the server's own process (no HTTP at all). */
async function invokeInProcess(app: RunningApp, concurrency: number, port: string): Promise<LoadResult> {
  // the event the route would build for the load worker's request: the same payload both ways
  const event = buildHttpEvent(
    {
      method: 'POST',
      rawPath: '/bench',
      rawQueryString: '',
      httpVersion: '1.1',
      sourceIp: '127.0.0.1',
      localPort: Number(port),
      rawHeaders: ['content-type', 'application/json', 'content-length', '2', 'Host', `127.0.0.1:${port}`, 'Connection', 'keep-alive'],
    },
    Buffer.from('{}'),
    { requestId: 'bench', apiId: 'bench', routeKey: 'POST /bench', pathParameters: {}, now: new Date() },
  );
  const start = performance.now();
  const from = start + IN_PROCESS_WARMUP_MS;
  const until = from + IN_PROCESS_MS;
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        try {
          await app.modules.functions.invocations.invoke({ functionName: 'http-noop', payload: event });
          if (t0 >= from) latencies.push(performance.now() - t0);
        } catch (err) {
          errors++;
          firstError ??= (err as Error).message;
        }
      }
    }),
  );
  const s = summarize(latencies);
  return { rps: latencies.length / ((performance.now() - from) / 1000), p50: s.p50, p99: s.p99, n: s.n, errors, firstError };
}

export async function benchHttpTrigger(ctx: HttpTriggerBenchContext): Promise<void> {
  const { api, app, say } = ctx;
  await ctx.deployFunction(api, 'http-noop', 'NODEJS20', 'index.handler', [
    { path: 'index.js', content: 'exports.handler = async () => null;' },
  ]);
  await api.data(
    `mutation { createTrigger(input: { name: "bench-http", functionName: "http-noop", http: { method: POST, path: "/bench" } }) { trigger { id } } }`,
  );
  const url = `${api.url}/http/bench`;
  await waitUntil(
    async () => (await fetch(url, { method: 'POST', body: '{}' })).status === 200 || null,
    'the bench route to serve',
    10_000,
    20,
  );
  // the function returns null: API Gateway's rule makes that a 200 application/json "null"
  const body = 'null';
  const headers = { 'content-type': 'application/json' };
  say(
    '  POST /http/bench → no-op Node function (returns null → 200 "null"); bare = node:http server answering "null"; same load worker, keep-alive',
  );
  const bare = await ctx.startBareServer(body);
  say("  invoke() = the same invocation called in the server's process (no HTTP): the floor an HTTP trigger stands on");
  const table: Record<string, { bare: LoadResult; trigger: LoadResult; 'invoke()': LoadResult }> = {};
  const fnId = (await api.data(`query { function(name: "http-noop") { id } }`)).function.id as string;
  try {
    for (const c of ctx.levels) {
      // start from c warm instances, or as many as 2c requests at once keep busy (prewarm in
      // lib.ts): cold starts (a process each) are not what this measures
      let started = app.modules.functions.invocations.instanceCounts(fnId).total;
      let warmRounds = 0;
      await waitUntil(
        async () => {
          await Promise.all(Array.from({ length: 2 * c }, () => fetch(url, { method: 'POST', body: '{}' }).then((r) => r.text())));
          const { total } = app.modules.functions.invocations.instanceCounts(fnId);
          warmRounds = total === started ? warmRounds + 1 : 0;
          started = total;
          return (total >= c && warmRounds > 0) || warmRounds >= 3 || null;
        },
        `${c} warm instances`,
        60_000,
        0,
      );
      table[c] = {
        bare: await ctx.load(bare.url, headers, '{}', c, body),
        trigger: await ctx.profiled(`http-trigger-c${c}`, () => ctx.load(url, headers, '{}', c, body)),
        'invoke()': await invokeInProcess(app, c, new URL(api.url).port),
      };
      for (const [name, r] of Object.entries(table[c]!)) {
        const cpu = (r as { cpuPerRequestUs?: { server: number; postgres: number; instances: number } }).cpuPerRequestUs;
        say(
          `  c=${String(c).padStart(2)} ${name.padEnd(8)} ${rate(r.rps).padStart(11)}  p50 ${ms(r.p50).padStart(9)}  p99 ${ms(r.p99).padStart(9)}  (n=${r.n}${r.errors ? `, ${r.errors} errors: ${r.firstError}` : ''}${cpu ? `; CPU/req ≈ server ${cpu.server} µs, Postgres ${cpu.postgres} µs, instances ${cpu.instances} µs` : ''})`,
        );
      }
    }
  } finally {
    await bare.close();
  }
  ctx.results.httpTrigger = { levels: table };

  const c1 = table[1]!;
  const overhead = c1.trigger.p50 - c1.bare.p50;
  ctx.record({
    figure: 'HTTP trigger, c=1',
    value: `p50 ${ms(c1.trigger.p50)} (+${ms(overhead)} over bare), p99 ${ms(c1.trigger.p99)}`,
    baseline: `bare p50 ${ms(c1.bare.p50)}; invoke() alone p50 ${ms(c1['invoke()'].p50)}`,
    target: 'p50 <= bare + 2 ms',
    verdict: overhead <= 2 && c1.trigger.errors === 0 ? 'PASS' : 'MISS',
  });
  const c16 = table[16];
  if (c16)
    ctx.record({
      figure: 'HTTP trigger, c=16',
      value: `${rate(c16.trigger.rps)}, p50 ${ms(c16.trigger.p50)}, p99 ${ms(c16.trigger.p99)}`,
      baseline: `bare ${rate(c16.bare.rps)}; invoke() alone ${rate(c16['invoke()'].rps)}`,
      target: '(reported)',
      verdict: c16.trigger.errors ? 'MISS' : 'INFO',
    });
  const c64 = table[64];
  if (c64) {
    ctx.record({
      figure: 'HTTP trigger, c=64',
      value: `${rate(c64.trigger.rps)}, p50 ${ms(c64.trigger.p50)}, p99 ${ms(c64.trigger.p99)}`,
      baseline: `bare ${rate(c64.bare.rps)}; invoke() alone ${rate(c64['invoke()'].rps)}; ${fmtRoundTrip(await socketRoundTripCost())}`,
      target: '>= 3000 req/s',
      verdict: c64.trigger.rps >= 3000 && c64.trigger.errors === 0 ? 'PASS' : 'MISS',
    });
  }
}
