// Bench section: SQL step overhead. The same query over the same CSV object, written as Parquet,
// three ways in the same run, interleaved so that drifting load hits all three alike:
//   step    addSteps -> the step's COMPLETED event reaches a clusterEvents subscriber
//   runner  the step runner (src/engine/sql/sql-step.js) spawned directly by the bench: a node
//           process, DuckDB locked down, COPY, rename (what the agent runs, without control plane)
//   direct  DuckDB in the bench's own process: new instance + COPY of the same query to a file
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { SQL_STEP_RUNNER } from '../src/engine/sql/duckdb.js';
import { type Api, EventWatch, median, realtimeClock, summarize, waitUntil, type Summary } from './lib.js';

const ROWS = 2_000_000;
const WARMUP = 1;
const RUNS = 7;
const BUCKET = 'bench-sql';
const KEY = 'sales/data.csv';

export interface SqlBenchResult {
  inputBytes: number;
  rowsWritten: number;
  step: Summary;
  runner: Summary;
  direct: Summary;
  /** median step / median direct */
  ratio: number;
}

const QUERY = (source: string) => `SELECT region, count(*) AS orders, sum(amount) AS total, avg(amount) AS mean
  FROM read_csv(${source}) GROUP BY region ORDER BY region`;

async function writeInput(file: string): Promise<number> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const handle = await fs.open(file, 'w');
  try {
    await handle.write('region,amount,day\n');
    const batch = 100_000;
    for (let start = 0; start < ROWS; start += batch) {
      let text = '';
      for (let i = start; i < start + batch; i++)
        text += `r${i % 97},${(i * 7919) % 10_000},2024-01-${String((i % 28) + 1).padStart(2, '0')}\n`;
      await handle.write(text);
    }
  } finally {
    await handle.close();
  }
  return (await fs.stat(file)).size;
}

function runProcess(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(args[0]!, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`runner exited ${code}: ${err}`))));
  });
}

async function direct(query: string, out: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`COPY (${query}) TO '${out}' (FORMAT parquet)`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

export async function benchSqlStep(api: Api, bucketsDir: string, tmp: string, say: (line: string) => void): Promise<SqlBenchResult> {
  const generated = path.join(tmp, 'sql-input.csv');
  const inputBytes = await writeInput(generated);
  await api.data('mutation($name: String!) { createBucket(input: { name: $name }) { bucket { name } } }', { name: BUCKET });
  const upload = await fetch(`${api.url}/objects/${BUCKET}/${KEY}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${api.key}` },
    body: createReadStream(generated),
    duplex: 'half',
  } as RequestInit);
  if (upload.status !== 200) throw new Error(`upload failed: HTTP ${upload.status} ${await upload.text()}`);
  const input = path.join(bucketsDir, BUCKET, KEY);
  say(`  input: s3://${BUCKET}/${KEY}, ${ROWS.toLocaleString('en')} rows, ${(inputBytes / 1024 / 1024).toFixed(1)} MiB CSV`);

  const { createCluster } = await api.data('mutation($input: CreateClusterInput!) { createCluster(input: $input) { cluster { id } } }', {
    input: { name: 'bench-sql', applications: ['DUCKDB'], instanceGroups: [{ role: 'MASTER', instanceType: 'm5.large', count: 1 }] },
  });
  const clusterId: string = createCluster.cluster.id;
  const client = api.ws();
  const now = realtimeClock();
  const watch = new EventWatch(client, clusterId, now);
  try {
    await waitUntil(
      async () => (await api.data('query($id: ID!) { cluster(id: $id) { state } }', { id: clusterId })).cluster.state === 'WAITING',
      'the SQL cluster to be WAITING',
      60_000,
      50,
    );

    const step: number[] = [];
    const runner: number[] = [];
    const directRuns: number[] = [];
    let rowsWritten = 0;
    const runnerSpec = {
      query: QUERY(`'${input}'`),
      format: 'PARQUET',
      outputUri: `s3://${BUCKET}/out/runner.parquet`,
      outputPath: path.join(bucketsDir, BUCKET, 'out/runner.parquet'),
      bucketsDir,
      buckets: [BUCKET],
      tempDir: path.join(bucketsDir, '.sql-tmp'),
    };
    for (let i = 0; i < WARMUP + RUNS; i++) {
      const measured = i >= WARMUP;
      let t0 = now();
      const from = watch.seen.length;
      const { addSteps } = await api.data('mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id } } }', {
        input: {
          clusterId,
          steps: [{ name: `sql-${i}`, sql: { query: QUERY(`'s3://${BUCKET}/${KEY}'`), outputUri: `s3://${BUCKET}/out/step.parquet` } }],
        },
      });
      const id: string = addSteps.steps[0].id;
      const end = await watch.next(
        (e) => e.kind === 'STEP' && e.resourceId === id && ['COMPLETED', 'FAILED', 'CANCELLED', 'INTERRUPTED'].includes(e.state ?? ''),
        `SQL step ${id} to end`,
        120_000,
        from,
      );
      if (end.state !== 'COMPLETED') throw new Error(`SQL step ${id} ended ${end.state}`);
      if (measured) step.push(now() - t0);
      if (!rowsWritten) rowsWritten = (await api.data('query($id: ID!) { step(id: $id) { result } }', { id })).step.result.rowsWritten;
      await waitUntil(
        async () => (await api.data('query($id: ID!) { cluster(id: $id) { state } }', { id: clusterId })).cluster.state === 'WAITING',
        'the SQL cluster to be WAITING again',
        30_000,
        20,
      );

      t0 = now();
      await runProcess([process.execPath, fileURLToPath(SQL_STEP_RUNNER), JSON.stringify(runnerSpec)]);
      if (measured) runner.push(now() - t0);

      t0 = now();
      await direct(QUERY(`'${input}'`), path.join(tmp, 'direct.parquet'));
      if (measured) directRuns.push(now() - t0);
    }
    const result = {
      inputBytes,
      rowsWritten,
      step: summarize(step),
      runner: summarize(runner),
      direct: summarize(directRuns),
      ratio: median(step) / median(directRuns),
    };
    return result;
  } finally {
    watch.close();
    await client.dispose();
    await api.data('mutation($ids: [ID!]!) { terminateClusters(input: { ids: $ids }) { clusters { id } } }', { ids: [clusterId] });
  }
}
