// Figure 12: schedule accuracy. SCHEDULE triggers on a no-op function for a little over a minute:
// every-minute crons (all due at the same instant) and rate(1 minute) triggers created at spread
// instants (their ticks fall all over the minute). For each tick after a trigger's first (the first
// is the creation, due at its whole second), lateness = the delivery's queueing (the invocation
// row's created_at: the start of the tick's transaction) − the tick's scheduled time (the event's
// `time`); also the function's start − due. Ticks delivered twice are counted (the target is none).
// Baseline, same run and process: how late setTimeout fires for wall-clock targets spread the same way.
import { type Api, ms, sleep, summarize, waitUntil, type Summary } from './lib.js';

interface Row {
  figure: string;
  value: string;
  baseline: string;
  target: string;
  verdict: 'PASS' | 'MISS' | 'ERROR' | 'INFO';
}

export interface ScheduleBenchDeps {
  api: Api;
  deployFunction: (
    api: Api,
    name: string,
    runtime: string,
    handler: string,
    files: Array<{ path: string; content: string }>,
  ) => Promise<void>;
  record: (row: Row) => void;
  say: (line?: string) => void;
  results: Record<string, unknown>;
}

const CRONS = 20;
const RATES = 40;
/** the rate triggers are created over this span, so their ticks spread over the minute */
const SPREAD_MS = 30_000;

const CREATE = `mutation($input: CreateTriggerInput!) { createTrigger(input: $input) { trigger { name } } }`;
const DELIVERIES = `query($name: String!) { trigger(name: $name) { deliveries(first: 100) { edges { node {
  at eventId invocation { payload startedAt } } } } } }`;

/** setTimeout aimed at wall-clock instants, armed ~1 s ahead every 0.5 s: how late it fires. */
function timerBaseline(untilMs: number): Promise<number[]> {
  return new Promise((resolve) => {
    const late: number[] = [];
    const arm = () => {
      if (Date.now() > untilMs) return resolve(late);
      const due = Math.ceil((Date.now() + 1_000) / 250) * 250;
      setTimeout(() => late.push(Date.now() - due), due - Date.now());
      setTimeout(arm, 500);
    };
    arm();
  });
}

export async function benchSchedule({ api, deployFunction, record, say, results }: ScheduleBenchDeps): Promise<void> {
  await deployFunction(api, 'sched-noop', 'NODEJS20', 'index.handler', [
    { path: 'index.js', content: 'exports.handler = async () => null;' },
  ]);
  const names: string[] = [];
  const t0 = Date.now();
  for (let i = 0; i < CRONS; i++) {
    const name = `bench-cron-${i}`;
    await api.data(CREATE, { input: { name, functionName: 'sched-noop', schedule: { expression: 'cron(* * * * ? *)' } } });
    names.push(name);
  }
  const baseline = timerBaseline(t0 + SPREAD_MS + 62_000);
  for (let i = 0; i < RATES; i++) {
    await sleep(t0 + (i * SPREAD_MS) / RATES + 137 - Date.now());
    const name = `bench-rate-${i}`;
    await api.data(CREATE, { input: { name, functionName: 'sched-noop', schedule: { expression: 'rate(1 minute)' } } });
    names.push(name);
  }
  say(
    `  ${CRONS} x cron(* * * * ? *) and ${RATES} x rate(1 minute) (created over ${SPREAD_MS / 1000} s); measuring until every rate trigger ticked once more`,
  );
  // each rate trigger's second tick is due a minute after its creation (to the second)
  const end = t0 + SPREAD_MS + 62_000;
  await sleep(end - Date.now());
  const timers = await baseline;
  for (const name of names)
    await api.data(`mutation($n: String!) { setTriggerEnabled(input: { name: $n, enabled: false }) { trigger { name } } }`, { n: name });

  const queued: number[] = [];
  const started: number[] = [];
  let duplicates = 0;
  let ticks = 0;
  /** rate triggers without their tick a minute after creation */
  let missing = 0;
  for (const name of names) {
    const deliveries = await waitUntil(
      async () => {
        const edges = (await api.data(DELIVERIES, { name })).trigger.deliveries.edges.map((e: any) => e.node);
        return edges.every((d: any) => d.invocation.startedAt) ? edges : null;
      },
      `the deliveries of ${name} to start`,
      30_000,
      200,
    );
    // oldest first; the first tick of a trigger is its creation
    const byTime = new Map<number, any[]>();
    for (const d of deliveries.reverse()) {
      const due = Date.parse(d.invocation.payload.time);
      byTime.set(due, [...(byTime.get(due) ?? []), d]);
    }
    const dues = [...byTime.keys()].sort((a, b) => a - b);
    if (name.startsWith('bench-rate-') && dues.length < 2) missing++;
    for (const [due, list] of byTime) {
      duplicates += list.length - 1;
      if (due === dues[0] && name.startsWith('bench-rate-')) continue;
      ticks++;
      queued.push(Date.parse(list[0].at) - due);
      started.push(Date.parse(list[0].invocation.startedAt) - due);
    }
  }
  const q = summarize(queued);
  const s = summarize(started);
  const b = summarize(timers);
  const line = (label: string, v: Summary) =>
    say(`  ${label.padEnd(34)} p50 ${ms(v.p50).padStart(10)}  p99 ${ms(v.p99).padStart(10)}  max ${ms(v.max).padStart(10)}  (n=${v.n})`);
  line('tick queued - due', q);
  line('function started - due', s);
  line('baseline: setTimeout late by', b);
  say(`  ticks measured ${ticks}, delivered twice: ${duplicates}, rate triggers missing their second tick: ${missing}`);
  results.figure12 = { queued: q, started: s, setTimeout: b, ticks, duplicates, missing };
  record({
    figure: '12. schedule accuracy (fire - due)',
    value: `p50 ${ms(q.p50, 1)}, p99 ${ms(q.p99, 1)} (start p99 ${ms(s.p99, 0)}); n=${ticks}, twice: ${duplicates}`,
    baseline: `setTimeout p50 ${ms(b.p50, 1)} p99 ${ms(b.p99, 1)}`,
    target: '<= 1 s, never twice',
    verdict: ticks > 0 && q.max <= 1_000 && duplicates === 0 && missing === 0 ? 'PASS' : 'MISS',
  });
}
