// bench section 6: SPARK clusters. Cluster start-up with and without Spark, the overhead of a SPARK
// step over a bare spark-submit of the same app against the same Spark master, and healing (a worker
// node killed: detection, then a replacement worker ALIVE in Spark), each with a same-run baseline.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectSpark } from '../src/engine/spark-runtime.js';
import { median, type Api, waitUntil } from './lib.js';

type Verdict = 'PASS' | 'MISS' | 'ERROR' | 'INFO';
export interface SparkBenchContext {
  api: Api;
  /** the control plane's data dir (objects live in <dataDir>/buckets) */
  dataDir: string;
  record: (row: { figure: string; value: string; baseline: string; target: string; verdict: Verdict }) => void;
  say: (line?: string) => void;
  results: Record<string, unknown>;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const APP = readFileSync(path.join(HERE, '..', 'test', 'spark', 'fixtures', 'wordcount.py'), 'utf8');
const RUNS = 3;
const SMALL = 't3.small';
const sec = (msv: number) => `${(msv / 1000).toFixed(2)} s`;

const CREATE = 'mutation($input: CreateClusterInput!) { createCluster(input: $input) { cluster { id } } }';
const TERMINATE = 'mutation($ids: [ID!]!) { terminateClusters(input: { ids: $ids }) { clusters { id } } }';
const STATE = `query($id: ID!) { cluster(id: $id) { state spark { masterUrl aliveWorkers }
  instances { id role state pid } } }`;
const ADD = 'mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id } } }';
const STEP = 'query($id: ID!) { step(id: $id) { state } }';

async function timeToWaiting(api: Api, input: Record<string, unknown>): Promise<{ ms: number; id: string }> {
  const t0 = Date.now();
  const id = (await api.data(CREATE, { input })).createCluster.cluster.id as string;
  await waitUntil(async () => (await api.data(STATE, { id })).cluster.state === 'WAITING', `${id} WAITING`, 120_000, 50);
  return { ms: Date.now() - t0, id };
}

async function put(api: Api, bucket: string, key: string, content: string): Promise<string> {
  const { putObject } = await api.data('mutation($input: PutObjectInput!) { putObject(input: $input) { object { uri } } }', { input: { bucket, key, content } });
  return putObject.object.uri as string;
}

function bareSubmit(home: string, python: string, master: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(path.join(home, 'bin', 'spark-submit'), ['--master', master, '--deploy-mode', 'client', ...args], {
      env: { ...process.env, SPARK_HOME: home, PYSPARK_PYTHON: python }, stdio: 'ignore',
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(Date.now() - t0) : reject(new Error(`bare spark-submit exited ${code}`))));
  });
}

export async function benchSpark(ctx: SparkBenchContext): Promise<void> {
  const { api, dataDir, record, say } = ctx;
  const spark = detectSpark({ python: process.env.PYTHON, sparkHome: process.env.SPARK_HOME });
  if (!spark.available) {
    record({ figure: '7. SPARK', value: `skipped: ${spark.reason}`, baseline: '', target: '', verdict: 'ERROR' });
    return;
  }
  const plain = { name: 'bench-plain', instanceGroups: [{ role: 'MASTER', instanceType: SMALL, count: 1 }, { role: 'CORE', instanceType: SMALL, count: 2 }] };
  const withSpark = { ...plain, name: 'bench-spark', applications: ['SPARK'] };

  // a) start-up: interleaved so both see the same machine
  const plainMs: number[] = [];
  const sparkMs: number[] = [];
  let keep: string | null = null;
  for (let i = 0; i < RUNS; i++) {
    const p = await timeToWaiting(api, plain);
    plainMs.push(p.ms);
    await api.data(TERMINATE, { ids: [p.id] });
    const s = await timeToWaiting(api, withSpark);
    sparkMs.push(s.ms);
    if (i < RUNS - 1) await api.data(TERMINATE, { ids: [s.id] });
    else keep = s.id;
    say(`  run ${i + 1}: no apps ${sec(p.ms)}, SPARK ${sec(s.ms)}`);
  }
  ctx.results.sparkStartup = { plainMs, sparkMs };
  record({
    figure: '7a. cluster to WAITING with SPARK (1 master + 2 core)', value: sec(median(sparkMs)),
    baseline: `${sec(median(plainMs))} without apps`, target: '<= 15 s', verdict: median(sparkMs) <= 15_000 ? 'PASS' : 'MISS',
  });

  // b) step overhead vs bare spark-submit on the same master, interleaved
  const clusterId = keep!;
  const master = (await api.data(STATE, { id: clusterId })).cluster.spark.masterUrl as string;
  const text = Array.from({ length: 2_000 }, (_, i) => `alpha beta gamma ${i % 50}`).join('\n');
  await api.data('mutation { createBucket(input: { name: "bench" }) { bucket { name } } }');
  const input = await put(api, 'bench', 'in/words.txt', text);
  const app = await put(api, 'bench', 'wordcount.py', APP);
  const bucket = path.join(dataDir, 'buckets', 'bench');
  const bareMs: number[] = [];
  const stepMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    bareMs.push(await bareSubmit(spark.sparkHome!, spark.python!, master,
      [path.join(bucket, 'wordcount.py'), path.join(bucket, 'in', 'words.txt'), path.join(bucket, `bare-${i}`)]));
    const t0 = Date.now();
    const [step] = (await api.data(ADD, { input: { clusterId, steps: [{
      name: `wc-${i}`, spark: { appUri: app, args: [input, `s3://bench/step-${i}/`] },
    }] } })).addSteps.steps;
    const state = await waitUntil(async () => {
      const s = (await api.data(STEP, { id: step.id })).step.state as string;
      return ['COMPLETED', 'FAILED', 'CANCELLED', 'INTERRUPTED'].includes(s) ? s : null;
    }, 'the SPARK step', 180_000, 50);
    if (state !== 'COMPLETED') throw new Error(`SPARK step ${step.id} ended ${state}`);
    stepMs.push(Date.now() - t0);
    say(`  run ${i + 1}: bare spark-submit ${sec(bareMs[i]!)}, SPARK step ${sec(stepMs[i]!)}`);
  }
  ctx.results.sparkStep = { bareMs, stepMs };
  const ratio = median(stepMs) / median(bareMs);
  record({
    figure: '7b. SPARK step addSteps -> COMPLETED (word count)', value: `${sec(median(stepMs))} (${ratio.toFixed(2)}x)`,
    baseline: `${sec(median(bareMs))} bare spark-submit`, target: '<= 1.2x', verdict: ratio <= 1.2 ? 'PASS' : 'MISS',
  });

  // c) healing: kill -9 a worker node's agent; detection, then a replacement ALIVE in Spark
  const before = (await api.data(STATE, { id: clusterId })).cluster;
  const victim = before.instances.find((i: any) => i.role === 'CORE' && i.state === 'RUNNING');
  const t0 = Date.now();
  process.kill(victim.pid, 'SIGKILL');
  await waitUntil(async () => (await api.data(STATE, { id: clusterId })).cluster.instances.find((i: any) => i.id === victim.id).state === 'TERMINATED',
    'the dead node detected', 60_000, 50);
  const detected = Date.now() - t0;
  await waitUntil(async () => {
    const c = (await api.data(STATE, { id: clusterId })).cluster;
    return c.spark.aliveWorkers === 2 && c.instances.filter((i: any) => i.role === 'CORE' && i.state === 'RUNNING').length === 2;
  }, 'the replacement worker', 120_000, 50);
  const replaced = Date.now() - t0;
  say(`  dead node detected after ${sec(detected)}, replacement worker ALIVE after ${sec(replaced)}`);
  ctx.results.sparkHealing = { detectedMs: detected, replacedMs: replaced };
  await api.data(TERMINATE, { ids: [clusterId] });
  record({
    figure: '7c. dead worker node detected', value: sec(detected), baseline: 'heartbeat timeout 10 s', target: '<= 10 s',
    verdict: detected <= 10_000 ? 'PASS' : 'MISS',
  });
  record({
    figure: '7d. replacement worker ALIVE in Spark', value: sec(replaced), baseline: `${sec(median(sparkMs))} whole cluster start`,
    target: '<= 20 s', verdict: replaced <= 20_000 ? 'PASS' : 'MISS',
  });
}
