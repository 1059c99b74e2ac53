// SPARK steps without the object path mapping (OBJECT_PATH_MAPPING=off): every byte goes through
// the S3 endpoint. Data and apps are uploaded with the aws CLI, the app is fetched by spark-submit
// over s3a, Spark reads s3:// and writes s3a:// with the cluster's own credential, and what it wrote
// is listed and read back with the aws CLI and boto3. No node sees the buckets directory.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allPages, waitForStepState } from '../support/api.js';
import { aws, python, type S3Key } from '../support/s3.js';
import { duckdbRows, JOINED_ROWS, type OverS3, PEOPLE_CSV, scoresParquet, startOverS3 } from '../support/over-s3.js';
import type { TestServer } from '../support/server.js';
import { cancelOpenSteps, SPARK_CORE, SPARK_MASTER, sparkAvailable, sparkRuntime, TEST_JOB_CONF } from './support.js';

const ADD = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id state } } }`;
const STEP = `query($id: ID!) { step(id: $id) { id state exitCode result failureDetails { reason message } } }`;
const LOGS = `query($id: ID!, $after: String) { step(id: $id) { logs(first: 100, after: $after) {
  edges { node { stream text } } pageInfo { hasNextPage endCursor } } } }`;
const ROUNDTRIP = readFileSync(new URL('./fixtures/s3a_roundtrip.py', import.meta.url), 'utf8');
const WRITE_TABLE = readFileSync(new URL('./fixtures/write_table.py', import.meta.url), 'utf8');
const READ_TABLE = readFileSync(new URL('./fixtures/read_table.py', import.meta.url), 'utf8');
// Spark's own example, as pyspark ships it
const SPARK_WORDCOUNT = path.join(sparkRuntime.sparkHome ?? '', 'examples', 'src', 'main', 'python', 'wordcount.py');

describe.skipIf(!sparkAvailable)('SPARK steps over s3a (OBJECT_PATH_MAPPING=off)', () => {
  let env: OverS3;
  let server: TestServer;
  let key: S3Key;
  let work: string;
  let clusterId: string;
  /** the cluster's S3 secret, which no log may show */
  let secret: string;
  beforeAll(async () => {
    env = await startOverS3({
      buckets: ['lake', 'code'],
      cluster: { name: 'over-s3', applications: ['SPARK', 'DUCKDB'], instanceGroups: [SPARK_MASTER, SPARK_CORE(1)] },
      server: { heartbeatTimeoutMs: 5_000 },
      readyTimeoutMs: 180_000,
    });
    ({ server, key, work, clusterId } = env);
    secret = (await server.app.modules.access.workloads.current({ kind: 'CLUSTER', id: clusterId }))!.secretAccessKey;
  }, 240_000);
  afterEach(async () => {
    if (clusterId) await cancelOpenSteps(server, clusterId);
  });
  afterAll(async () => {
    await env?.close();
  });

  const upload = (uri: string, content: string | Buffer) => env.upload(uri, content);

  const logsOf = async (id: string) =>
    allPages<{ stream: string; text: string }>(async (after) => (await server.data(LOGS, { id, after })).step.logs);

  const runStep = (spark: Record<string, unknown>) => run({ spark: { conf: TEST_JOB_CONF, ...spark } });

  /** the Spark application of every SPARK step run so far */
  const applicationIds: string[] = [];

  /** Runs a step (`{spark}` or `{sql}`) on the cluster to its end, which must be COMPLETED; its STDOUT lines. */
  async function run(kind: Record<string, unknown>) {
    const [step] = (await server.data(ADD, { input: { clusterId, steps: [{ name: 'over-s3', ...kind }] } })).addSteps.steps;
    const done = await waitForStepState(server, step.id, ['COMPLETED', 'FAILED'], { query: STEP, timeoutMs: 300_000 });
    const logs = await logsOf(step.id);
    const text = logs.map((l) => l.text).join('\n');
    expect(done, text.slice(-6000)).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
    expect(text).not.toContain(secret);
    // the master runs its own node and runner, whichever host it is on: no path of the server's install
    const stored = (await server.app.modules.clusters.steps.get(step.id))!.spec.args;
    if (kind.spark) expect(stored.slice(0, 2)).toEqual(['{{node}}', '{{engine}}/agent/spark-step.js']);
    if (kind.spark) applicationIds.push(done.result.applicationId);
    return logs.filter((l) => l.stream === 'STDOUT').map((l) => l.text);
  }

  it("runs Spark's own wordcount example and a CSV/Parquet join with pyFiles and files, fetched and written over s3a; the output is read back with boto3", async () => {
    const words = 'ember plane spark\nspark ember\nspark\n';
    await upload('s3://lake/in/words.txt', words);
    await upload('s3://lake/in/people.csv', PEOPLE_CSV);
    await upload('s3://lake/in/scores.parquet', await scoresParquet(work));
    const example = await upload('s3://code/wordcount.py', readFileSync(SPARK_WORDCOUNT));
    const app = await upload('s3://code/s3a_roundtrip.py', ROUNDTRIP);
    const helper = await upload('s3://code/shipped_helper.py', 'def greet(who):\n    return "hello " + who\n');
    const notes = await upload('s3://lake/notes.txt', 'the notes\n');

    const counted = await runStep({ appUri: example, args: ['s3://lake/in/words.txt'] });
    expect(counted).toEqual(expect.arrayContaining(['spark: 3', 'ember: 2', 'plane: 1']));

    const bucketsDir = path.join(server.dataDir, 'buckets');
    // pyFiles and files ride on the join's step (one driver less to start): spark-submit and Spark fetch them over s3a
    const out = await runStep({
      appUri: app,
      args: ['s3://lake/in/words.txt', 's3://lake/in/people.csv', 's3://lake/in/scores.parquet', 's3a://lake/out/joined', bucketsDir],
      pyFiles: [helper],
      files: [notes],
    });
    expect(out).toContain('buckets directory seen by driver=False executors=False');
    expect(out).toContain('roundtrip lines=3 people=3 scores=3 joined=2');
    expect(out).toEqual(
      expect.arrayContaining([
        'helper says hello driver',
        'driver SparkFiles file: the notes',
        'executor 0|hello executor|the notes',
        'executor 1|hello executor|the notes',
      ]),
    );

    // the output, as any S3 client sees it: the committed part files and _SUCCESS, nothing temporary
    const listed = await aws(server, key, ['s3api', 'list-objects-v2', '--bucket', 'lake', '--prefix', 'out/joined/']);
    expect(listed.code, listed.stderr).toBe(0);
    const keys: string[] = JSON.parse(listed.stdout).Contents.map((o: { Key: string }) => o.Key);
    expect(keys).toContain('out/joined/_SUCCESS');
    expect(keys.some((k) => k.includes('_temporary'))).toBe(false);
    const parts = keys.filter((k) => /\/part-.*\.parquet$/.test(k));
    expect(parts.length).toBeGreaterThan(0);
    // boto3 downloads every part; DuckDB reads them
    const down = path.join(work, 'down');
    const script = `import boto3, json, os
s3 = boto3.client('s3', endpoint_url=os.environ['ENDPOINT'])
os.makedirs(os.environ['DOWN'], exist_ok=True)
for i, k in enumerate(json.loads(os.environ['KEYS'])):
    s3.download_file('lake', k, os.path.join(os.environ['DOWN'], f'{i}.parquet'))
print('downloaded')`;
    const got = await python(server, key, script, { DOWN: down, KEYS: JSON.stringify(parts) });
    expect(got.code, got.stderr).toBe(0);
    expect(await duckdbRows(`SELECT id, name, score FROM read_parquet('${down}/*.parquet') ORDER BY id`)).toEqual(JOINED_ROWS);

    // every app's event log (its Spark configuration included) went to the event log bucket over s3a, redacted
    const logs = path.join(work, 'event-logs');
    const copied = await aws(server, key, ['s3', 'cp', '--recursive', 's3://emberplane-spark-events/logs/', logs]);
    expect(copied.code, copied.stderr).toBe(0);
    const files = readdirSync(logs);
    expect(applicationIds).toHaveLength(2);
    for (const appId of applicationIds)
      expect(
        files.some((f) => f.startsWith(appId)),
        `${appId} in ${files}`,
      ).toBe(true);
    for (const file of files) {
      const text = readFileSync(path.join(logs, file), 'utf8');
      expect(text).toContain('spark.hadoop.fs.s3a.access.key');
      expect(text).not.toContain(secret);
    }
  }, 900_000);

  it('saveAsTable puts a catalog table in the warehouse bucket over s3a; Spark and a SQL step read it back over S3', async () => {
    await upload('s3://lake/in/words.txt', 'ember plane spark\nspark ember\nspark\n');
    const write = await upload('s3://code/write_table.py', WRITE_TABLE);
    const read = await upload('s3://code/read_table.py', READ_TABLE);
    await runStep({ appUri: write, args: ['s3://lake/in/words.txt', 'sales', 'word_counts'] });
    // the table's files are objects of the warehouse bucket, as any S3 client lists them
    const listed = await aws(server, key, ['s3', 'ls', '--recursive', 's3://emberplane-warehouse/sales.db/word_counts/']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/part-.*\.parquet/);
    const { catalog } = await server.data(`{ catalog { databases { name tables { name location } } } }`);
    const sales = catalog.databases.find((d: any) => d.name === 'sales');
    expect(sales.tables).toEqual([{ name: 'word_counts', location: 's3://emberplane-warehouse/sales.db/word_counts' }]);

    const rows = (await runStep({ appUri: read, args: ['sales', 'word_counts'] })).filter((l) => l.startsWith('row '));
    expect(rows).toEqual(['row ember 2', 'row plane 1', 'row spark 3']);
    await run({
      sql: {
        query: 'SELECT word, n FROM catalog.sales.word_counts ORDER BY word',
        outputUri: 's3://lake/out/word_counts.csv',
        format: 'CSV',
      },
    });
    const csv = await aws(server, key, ['s3', 'cp', 's3://lake/out/word_counts.csv', '-']);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout).toBe('word,n\nember,2\nplane,1\nspark,3\n');
  }, 900_000);
});
