// bench section 10c: bucket put → function start. A warm Node function bound to a bucket by a
// BUCKET trigger; each put's latency runs from the moment the put request is sent to the moment
// the handler starts (its own clock, anchored like bench/clock.mjs: sub-millisecond, comparable
// across processes). Baseline, same run: the same function invoked directly with an EVENT
// invokeFunction (queued → started), the path a delivery takes after the dispatcher.
import { ms, realtimeClock, summarize, waitUntil, type Api, type Summary } from './lib.js';

type Verdict = 'PASS' | 'MISS' | 'ERROR' | 'INFO';
export interface TriggerBenchContext {
  api: Api;
  record: (row: { figure: string; value: string; baseline: string; target: string; verdict: Verdict }) => void;
  say: (line?: string) => void;
  results: Record<string, unknown>;
}

const RUNS = 30;
const WARMUP = 3;

// the handler reports when it started, on a clock anchored as bench/clock.mjs anchors the bench's
const HANDLER = `
const start = Date.now(); let p = performance.now(); let d = Date.now();
while (d === start) { p = performance.now(); d = Date.now(); }
const offset = d - p;
exports.handler = async () => ({ startedAt: offset + performance.now() });`;

const PUT = 'mutation($input: PutObjectInput!) { putObject(input: $input) { object { key } } }';
const INVOKE = 'mutation($input: InvokeFunctionInput!) { invokeFunction(input: $input) { invocation { id } } }';
const INVOCATION = 'query($id: ID!) { invocation(id: $id) { status response } }';
const NEWEST =
  'query { trigger(name: "bench-bucket") { deliveries(first: 1) { edges { node { eventId status invocation { response } } } } } }';

async function handlerStart(read: () => Promise<{ status: string; response: any } | null>): Promise<number> {
  const done = await waitUntil(
    async () => {
      const r = await read();
      if (r?.status === 'FAILED') throw new Error(`the function failed: ${JSON.stringify(r.response)}`);
      return r?.status === 'SUCCEEDED' ? r : null;
    },
    'the function to run',
    30_000,
    5,
  );
  return done.response.startedAt as number;
}

export async function benchBucketTrigger({ api, record, say, results }: TriggerBenchContext): Promise<void> {
  await api.data(`mutation { createBucket(input: { name: "bench-trigger" }) { bucket { name } } }`);
  await api.data(`mutation($input: CreateFunctionInput!) { createFunction(input: $input) { function { name } } }`, {
    input: {
      name: 'bench-on-put',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      code: { files: [{ path: 'index.js', content: HANDLER }] },
    },
  });
  await waitUntil(
    async () => (await api.data(`query { function(name: "bench-on-put") { state } }`)).function.state === 'ACTIVE',
    'bench-on-put ACTIVE',
    30_000,
    50,
  );
  await api.data(`mutation { createTrigger(input: { name: "bench-bucket", functionName: "bench-on-put",
    bucket: { bucket: "bench-trigger", events: ["s3:ObjectCreated:*"] } }) { trigger { id } } }`);

  const bucket: number[] = [];
  const putOnly: number[] = [];
  const direct: number[] = [];
  let lastEvent: string | null = null;
  // alternating, one at a time on a warm instance: both see the same machine state
  for (let i = 0; i < WARMUP + RUNS; i++) {
    let clock = realtimeClock();
    let t0 = clock();
    await api.data(PUT, { input: { bucket: 'bench-trigger', key: `put-${i}.txt`, content: String(i) } });
    const putDone = clock();
    const started = await handlerStart(async () => {
      const node = (await api.data(NEWEST)).trigger.deliveries.edges[0]?.node;
      return node && node.eventId !== lastEvent ? { status: node.status, response: node.invocation.response } : null;
    });
    lastEvent = (await api.data(NEWEST)).trigger.deliveries.edges[0].node.eventId;
    if (i >= WARMUP) {
      bucket.push(started - t0);
      putOnly.push(putDone - t0);
    }

    clock = realtimeClock();
    t0 = clock();
    const { id } = (await api.data(INVOKE, { input: { functionName: 'bench-on-put', invocationType: 'EVENT', payload: { i } } }))
      .invokeFunction.invocation;
    const s = await handlerStart(async () => (await api.data(INVOCATION, { id })).invocation);
    if (i >= WARMUP) direct.push(s - t0);
  }
  const b: Summary = summarize(bucket);
  const d: Summary = summarize(direct);
  const p: Summary = summarize(putOnly);
  say(
    `  bucket put → handler start: p50 ${ms(b.p50)} p99 ${ms(b.p99)} (n=${b.n}; the putObject call alone: p50 ${ms(p.p50)} p99 ${ms(p.p99)})`,
  );
  say(`  EVENT invokeFunction → handler start: p50 ${ms(d.p50)} p99 ${ms(d.p99)}`);
  results.figure10c = { bucketPutToStart: b, putObjectCall: p, eventInvokeToStart: d };
  record({
    figure: '10c. bucket put → function start',
    value: `p50 ${ms(b.p50)}, p99 ${ms(b.p99)}`,
    baseline: `EVENT invoke → start p50 ${ms(d.p50)}, p99 ${ms(d.p99)}; putObject alone p50 ${ms(p.p50)}`,
    target: '(reported)',
    verdict: 'INFO',
  });
}
