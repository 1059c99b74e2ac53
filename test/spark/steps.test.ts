// SPARK steps: spark-submit in client mode on the master node against the cluster's Spark, with an
// app and data from buckets, progress from Spark's status API and the driver's output as logs.
// The tests share one cluster (a Spark cluster's start is the dearest part of a test): it starts
// with two workers for the healing and shrinking tests, which leave it with one for the rest.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  allPages,
  createCluster,
  expectError,
  Fixtures,
  waitForCluster,
  waitForClusterState,
  waitForStep,
  waitForStepState,
} from '../support/api.js';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  cancelOpenSteps,
  httpGate,
  putObject,
  SPARK_CLUSTER,
  SPARK_CORE,
  SPARK_MASTER,
  sparkAvailable,
  TEST_JOB_CONF,
  wordCorpus,
} from './support.js';

const ADD = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id state spark { appUri args conf } } } }`;
const STEP = `query($id: ID!) { step(id: $id) { id state progress exitCode result failureDetails { reason message } } }`;
const STEP_UPDATES = `subscription($id: ID!) { stepUpdates(stepId: $id) { id state progress } }`;
const CLUSTER_HISTORY = `subscription($id: ID!) { clusterEvents(clusterId: $id, after: "0") { kind resourceId state detail } }`;
const LOGS = `query($id: ID!, $after: String) { step(id: $id) { logs(first: 100, after: $after) {
  edges { node { stream text } } pageInfo { hasNextPage endCursor } } } }`;

const OBJECTS = `query($bucket: String!, $prefix: String) { objects(bucket: $bucket, prefix: $prefix, first: 100) { edges { node { key } } } }`;
const OBJECTS_PAGED = `query($bucket: String!, $prefix: String, $after: String) { objects(bucket: $bucket, prefix: $prefix, first: 100, after: $after) {
  edges { node { key } } pageInfo { hasNextPage endCursor } } }`;
const APP = readFileSync(new URL('./fixtures/wordcount.py', import.meta.url), 'utf8');
const CSV_TO_PARQUET = readFileSync(new URL('./fixtures/csv_to_parquet.py', import.meta.url), 'utf8');
const PRINT_LINES = readFileSync(new URL('./fixtures/print_lines.py', import.meta.url), 'utf8');
/** The word counts Spark wrote: every part file of the output directory. */
function readCounts(dir: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const f of readdirSync(dir).filter((n) => n.startsWith('part-'))) {
    for (const line of readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean)) {
      const [word, n] = line.split('\t');
      expect(counts.has(word!), `word ${word} written twice`).toBe(false);
      counts.set(word!, Number(n));
    }
  }
  return counts;
}

describe.skipIf(!sparkAvailable)('SPARK steps', () => {
  let server: TestServer;
  /** the cluster every test runs its steps on */
  let id: string;
  const fixtures = new Fixtures();
  const shared = new Fixtures();
  /** a process on the side keeping a core busy */
  let busy: ChildProcess | null = null;
  beforeAll(async () => {
    server = await startTestServer({ heartbeatTimeoutMs: 5_000, sparkDecommissionTimeoutSeconds: 120 });
    id = shared.cluster(
      await createCluster(server, {
        name: 'steps',
        applications: ['SPARK'],
        instanceGroups: [SPARK_MASTER, SPARK_CORE(2)],
      }),
    );
  });
  afterEach(async () => {
    busy?.kill('SIGKILL');
    busy = null;
    await fixtures.cleanup(server);
    if (id) await cancelOpenSteps(server, id);
  });
  afterAll(async () => {
    if (server) await shared.cleanup(server);
    await server?.close();
  });

  const logsOf = async (stepId: string) =>
    allPages<{ stream: string; text: string }>(async (after) => (await server.data(LOGS, { id: stepId, after })).step.logs);

  it('refuses SPARK steps on clusters without SPARK, apps that are missing or not .py/.jar, and conf the cluster owns', async () => {
    const app = await putObject(server, 'code', 'wordcount.py', APP);
    const plain = fixtures.cluster(await createCluster(server, { name: 'plain', instanceGroups: [SPARK_MASTER] }));
    const add = (clusterId: string, spark: unknown) => server.gql(ADD, { input: { clusterId, steps: [{ name: 's', spark }] } });
    expectError(await add(plain, { appUri: app }), 'BAD_USER_INPUT', 'input.steps.0.spark');
    const sparky = id;
    expectError(await add(sparky, { appUri: 's3://code/missing.py' }), 'NOT_FOUND', 'input.steps.0.spark.appUri');
    expectError(await add(sparky, { appUri: 's3://code/app.txt' }), 'BAD_USER_INPUT', 'input.steps.0.spark.appUri');
    expectError(
      await add(sparky, { appUri: app, conf: { 'spark.master': 'local[*]' } }),
      'BAD_USER_INPUT',
      'input.steps.0.spark.conf.spark.master',
    );
    expectError(await add(sparky, { appUri: app, conf: { 'hadoop.x': '1' } }), 'BAD_USER_INPUT', 'input.steps.0.spark.conf.hadoop.x');
    expectError(await add(sparky, { appUri: app, args: ['s3://code/../etc/passwd'] }), 'BAD_USER_INPUT', 'input.steps.0.spark.args.0');
    expectError(await add(sparky, { appUri: app, args: ['x', 's3://no-such-bucket/out/'] }), 'NOT_FOUND', 'input.steps.0.spark.args.1');
  });

  it('finishes a job with the right result when a worker node is killed mid-job; the node is replaced', async () => {
    const { text, counts } = wordCorpus(2_000);
    const input = await putObject(server, 'data', 'in/big.txt', text);
    const app = await putObject(server, 'code', 'wordcount.py', APP);
    const ready = await waitForClusterState(server, id, ['WAITING'], { query: SPARK_CLUSTER, timeoutMs: 180_000 });
    const [step] = (
      await server.data(ADD, {
        input: {
          clusterId: id,
          steps: [
            {
              name: 'wc',
              spark: { appUri: app, args: [input, 's3://data/out/healed/', '4'], conf: TEST_JOB_CONF },
            },
          ],
        },
      })
    ).addSteps.steps;
    // kill a worker node's agent (kill -9) once its executor has tasks
    await waitForCluster(
      server,
      id,
      (c) => c.spark.coresUsed > 0 || c.spark.workers.some((w: any) => w.state === 'ALIVE' && w.cores > 0 && c.spark.coresUsed > 0),
      'executors running',
      { query: `query($id: ID!) { cluster(id: $id) { spark { coresUsed workers { state cores } } } }`, timeoutMs: 180_000 },
    );
    const victim = ready.instances.find((i: any) => i.role === 'CORE' && i.state === 'RUNNING');
    process.kill(victim.pid, 'SIGKILL');

    const healed = await waitForCluster(
      server,
      id,
      (c) => {
        const gone = c.instances.find((i: any) => i.id === victim.id);
        return gone.state === 'TERMINATED' &&
          c.instances.filter((i: any) => i.role === 'CORE' && i.state === 'RUNNING').length === 2 &&
          c.spark.aliveWorkers === 2
          ? c
          : null;
      },
      'the dead node replaced',
      { query: SPARK_CLUSTER, timeoutMs: 180_000 },
    );
    expect(healed.instances.find((i: any) => i.id === victim.id).stateChangeReason.code).toBe('INSTANCE_FAILURE');

    const done = await waitForStepState(server, step.id, ['COMPLETED', 'FAILED'], { query: STEP, timeoutMs: 300_000 });
    expect(done.state, JSON.stringify(done)).toBe('COMPLETED');
    expect(readCounts(path.join(server.dataDir, 'buckets', 'data', 'out', 'healed'))).toEqual(counts);
    expect((await waitForClusterState(server, id, ['WAITING'])).state).toBe('WAITING');
  }, 600_000);

  it('shrinking during a job decommissions a worker gracefully: the job completes with the right result, the node leaves', async () => {
    const { text, counts } = wordCorpus(2_000);
    const input = await putObject(server, 'data', 'in/shrink.txt', text);
    const app = await putObject(server, 'code', 'wordcount.py', APP);
    const ready = await waitForClusterState(server, id, ['WAITING'], { query: SPARK_CLUSTER, timeoutMs: 180_000 });
    const [step] = (
      await server.data(ADD, {
        input: {
          clusterId: id,
          steps: [
            {
              name: 'wc',
              spark: { appUri: app, args: [input, 's3://data/out/shrunk/', '3'], conf: TEST_JOB_CONF },
            },
          ],
        },
      })
    ).addSteps.steps;
    await waitForCluster(server, id, (c) => c.spark.coresUsed >= 4, 'executors on both workers', {
      query: `query($id: ID!) { cluster(id: $id) { spark { coresUsed } } }`,
      timeoutMs: 180_000,
    });
    const group = ready.instanceGroups.find((g: any) => g.role === 'CORE');
    // the cluster's two workers now (an earlier test may have replaced a node: its old one is TERMINATED)
    const workers = ready.instances.filter((i: any) => i.role === 'CORE' && i.state === 'RUNNING').map((i: any) => i.id);
    expect(workers).toHaveLength(2);
    await server.data(`mutation($input: ModifyInstanceGroupInput!) { modifyInstanceGroup(input: $input) { instanceGroup { id } } }`, {
      input: { instanceGroupId: group.id, instanceCount: 1 },
    });

    const done = await waitForStepState(server, step.id, ['COMPLETED', 'FAILED'], { query: STEP, timeoutMs: 300_000 });
    expect(done.state, JSON.stringify(done)).toBe('COMPLETED');
    expect(readCounts(path.join(server.dataDir, 'buckets', 'data', 'out', 'shrunk'))).toEqual(counts);
    const c = await waitForCluster(
      server,
      id,
      (x) =>
        x.spark.aliveWorkers === 1 &&
        x.instances.filter((i: any) => workers.includes(i.id) && i.state === 'TERMINATED').length === 1 &&
        x.instances.filter((i: any) => i.role === 'CORE' && i.state !== 'TERMINATED').length === 1,
      'one worker left',
      { query: SPARK_CLUSTER, timeoutMs: 300_000 },
    );
    const gone = c.instances.find((i: any) => workers.includes(i.id) && i.state === 'TERMINATED');
    expect(gone.stateChangeReason.code).toBe('USER_REQUEST');
    // it drained (its executor finished and left) rather than waiting out the decommission timeout
    const agentLog = readFileSync(path.join(server.dataDir, 'instances', gone.id, 'agent.log'), 'utf8');
    expect(agentLog).toContain('"msg":"decommissioning spark worker"');
    expect(agentLog).toContain('"msg":"spark worker drained"');
    expect(agentLog).not.toContain('decommission timeout reached');
  }, 600_000);

  it('counts words of a bucket object into a bucket prefix, reporting progress and streaming the driver output', async () => {
    const { text, counts } = wordCorpus(400);
    const input = await putObject(server, 'data', 'in/words.txt', text);
    const app = await putObject(server, 'code', 'wordcount.py', APP);
    // an existing prefix the app only reads: a file appearing under it during the step becomes an
    // object too (after a step, the objects under every prefix it names match the files there)
    const reference = await putObject(server, 'data', 'ref/a.txt', 'a');
    const stray = path.join(server.dataDir, 'buckets', 'data', 'ref', 'stray.txt');
    // one input partition holds the job until this opens: the step is seen part-done, however fast
    // the warm cluster is
    const gate = await httpGate();
    onTestFinished(() => gate.close());
    await waitForClusterState(server, id, ['WAITING'], { timeoutMs: 180_000 });
    const [step] = (
      await server.data(ADD, {
        input: {
          clusterId: id,
          steps: [
            {
              name: 'wc',
              spark: { appUri: app, args: [input, 's3://data/out/wc/', '0.5', 's3://data/ref/', gate.url], conf: TEST_JOB_CONF },
            },
          ],
        },
      })
    ).addSteps.steps;
    expect(step.spark).toEqual({ appUri: app, args: [input, 's3://data/out/wc/', '0.5', 's3://data/ref/', gate.url], conf: TEST_JOB_CONF });
    writeFileSync(stray, 'not an object');
    await waitForStep(
      server,
      step.id,
      (st) => st.progress !== null && st.progress > 0 && st.progress < 1,
      'progress strictly between 0 and 1 while a partition waits',
      { query: STEP, timeoutMs: 300_000 },
    );
    gate.open();

    const done = await waitForStepState(server, step.id, ['COMPLETED', 'FAILED'], { query: STEP, timeoutMs: 300_000 });
    const logs = await logsOf(step.id);
    expect(
      done,
      logs
        .map((l) => l.text)
        .join('\n')
        .slice(-4000),
    ).toMatchObject({ state: 'COMPLETED', exitCode: 0, progress: 1 });
    expect(done.result.applicationId).toMatch(/^app-/);
    expect(readCounts(path.join(server.dataDir, 'buckets', 'data', 'out', 'wc'))).toEqual(counts);
    // what Spark wrote under the output prefix became objects of the bucket
    const listed = (await server.data(OBJECTS, { bucket: 'data', prefix: 'out/wc/' })).objects.edges.map((e: any) => e.node.key);
    expect(listed).toEqual(expect.arrayContaining(['out/wc/_SUCCESS', 'out/wc/part-00000', 'out/wc/part-00001']));
    const refs = (await server.data(OBJECTS, { bucket: 'data', prefix: 'ref/' })).objects.edges.map((e: any) => e.node.key);
    expect(refs).toEqual([reference.replace('s3://data/', ''), 'ref/stray.txt']);

    // progress came from Spark's task counts: values strictly between 0 and 1 on the way, read from
    // the cluster's event history (replayed from its start), so that a job done before a live
    // subscription could connect is judged the same
    const history = fixtures.subscribe(fixtures.ws(server), CLUSTER_HISTORY, { id }, (d) => d.clusterEvents);
    await history.waitFor(
      (v) => v.some((e) => e.kind === 'STEP' && e.resourceId === step.id && e.state === 'COMPLETED'),
      "the step's COMPLETED event in the history",
    );
    const partial = history.values
      .filter((e) => e.kind === 'STEP' && e.resourceId === step.id)
      .map((e) => e.detail?.progress)
      .filter((p) => typeof p === 'number' && p > 0 && p < 1);
    expect(partial.length).toBeGreaterThan(0);
    // the driver's output (its print and Spark's own log lines) are the step's logs
    expect(logs).toContainEqual({
      stream: 'STDOUT',
      text: `wordcount wrote ${path.join(server.dataDir, 'buckets', 'data', 'out', 'wc')}/`,
    });
    expect(logs.some((l) => l.stream === 'STDERR' && l.text.includes('SparkContext'))).toBe(true);
  }, 600_000);

  it('re-running an overwrite job into its output prefix leaves exactly its new files listed, each readable', async () => {
    const rows = Array.from({ length: 2_000 }, (_, i) => `${i},name-${i},${(i * 7) % 13}`);
    const input = await putObject(server, 'data', 'csv/people.csv', `id,name,score\n${rows.join('\n')}\n`);
    const app = await putObject(server, 'code', 'csv_to_parquet.py', CSV_TO_PARQUET);
    await waitForClusterState(server, id, ['WAITING'], { timeoutMs: 180_000 });
    const outDir = path.join(server.dataDir, 'buckets', 'data', 'parquet', 'people');
    /** the files Spark left, as keys (its hidden .crc files and _temporary/ are no objects) */
    const filesOnDisk = () =>
      readdirSync(outDir)
        .filter((n) => !n.startsWith('.') && n !== '_temporary')
        .map((n) => `parquet/people/${n}`)
        .sort();
    let previous: string[] = [];
    for (const partitions of [3, 2]) {
      const [step] = (
        await server.data(ADD, {
          input: {
            clusterId: id,
            steps: [
              {
                name: `overwrite-${partitions}`,
                spark: { appUri: app, args: [input, 's3://data/parquet/people/', String(partitions)], conf: TEST_JOB_CONF },
              },
            ],
          },
        })
      ).addSteps.steps;
      const done = await waitForStepState(server, step.id, ['COMPLETED', 'FAILED'], { query: STEP, timeoutMs: 300_000 });
      expect(
        done.state,
        (await logsOf(step.id))
          .map((l) => l.text)
          .join('\n')
          .slice(-3000),
      ).toBe('COMPLETED');
      const listed = (
        await allPages<{ key: string }>(
          async (after) => (await server.data(OBJECTS_PAGED, { bucket: 'data', prefix: 'parquet/people/', after })).objects,
        )
      )
        .map((o) => o.key)
        .sort();
      expect(listed).toEqual(filesOnDisk());
      expect(listed.filter((k) => k.includes('part-'))).toHaveLength(partitions);
      // the first run's part files are gone from the listing (new names: Spark puts the job's id in them)
      for (const key of previous.filter((k) => k.includes('part-'))) expect(listed).not.toContain(key);
      for (const key of listed) {
        const res = await fetch(`${server.url}/objects/data/${key}`, { headers: { authorization: `Bearer ${server.key}` } });
        expect(res.status, key).toBe(200);
        await res.arrayBuffer();
      }
      previous = listed;
    }
  }, 600_000);

  it('cancelling a running SPARK step stops the driver: the step is CANCELLED and Spark has no app left', async () => {
    const { text } = wordCorpus(400);
    const input = await putObject(server, 'data', 'in/cancel.txt', text);
    const app = await putObject(server, 'code', 'wordcount.py', APP);
    await waitForClusterState(server, id, ['WAITING'], { timeoutMs: 180_000 });
    const [step] = (
      await server.data(ADD, {
        input: {
          clusterId: id,
          steps: [
            {
              name: 'wc',
              spark: { appUri: app, args: [input, 's3://data/out/cancelled/', '600'], conf: TEST_JOB_CONF },
            },
          ],
        },
      })
    ).addSteps.steps;
    const APPS = `query($id: ID!) { cluster(id: $id) { spark { activeApps coresUsed } } }`;
    await waitForCluster(server, id, (c) => c.spark.activeApps === 1 && c.spark.coresUsed > 0, 'the app running', {
      query: APPS,
      timeoutMs: 180_000,
    });
    const res = await server.data(`mutation($input: CancelStepsInput!) { cancelSteps(input: $input) { results { status } } }`, {
      input: { clusterId: id, stepIds: [step.id] },
    });
    expect(res.cancelSteps.results).toEqual([{ status: 'SUBMITTED' }]);
    expect((await waitForStepState(server, step.id, ['CANCELLED', 'FAILED', 'COMPLETED'], { query: STEP })).state).toBe('CANCELLED');
    // the master saw the driver go: no app holds the worker's cores any more
    await waitForCluster(server, id, (c) => c.spark.activeApps === 0 && c.spark.coresUsed === 0, 'the app gone', {
      query: APPS,
      timeoutMs: 180_000,
    });
  }, 600_000);

  // driver output: every line the driver prints is stored, in order, even under CPU load, and
  // polling its status API leaves no trace (EofException) in its log
  it('stores every one of 100,000 numbered lines, bursts and long lines in order under CPU load; progress only rises; no EofException', async () => {
    const app = await putObject(server, 'code', 'print_lines.py', PRINT_LINES);
    await waitForClusterState(server, id, ['WAITING'], { timeoutMs: 180_000 });
    // a process on the side keeping a core busy
    busy = spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' });
    const total = 100_000;
    const [step] = (
      await server.data(ADD, {
        input: {
          clusterId: id,
          steps: [
            {
              name: 'print',
              spark: { appUri: app, args: [String(total)], conf: TEST_JOB_CONF },
            },
          ],
        },
      })
    ).addSteps.steps;
    const updates = fixtures.subscribe(fixtures.ws(server), STEP_UPDATES, { id: step.id }, (d) => d.stepUpdates);
    const done = await waitForStepState(server, step.id, ['COMPLETED', 'FAILED'], { query: STEP, timeoutMs: 600_000 });
    // the load was for the step's run: reading its 100,000 lines back needs no core taken from it
    busy.kill('SIGKILL');
    busy = null;
    const logs = await logsOf(step.id);
    expect(done.state, JSON.stringify(done.failureDetails)).toBe('COMPLETED');

    const out = logs.filter((l) => l.stream === 'STDOUT').map((l) => l.text);
    const numbered = out.filter((t) => t.startsWith('line ')).map((t) => Number(t.slice(5)));
    expect(numbered.length).toBe(total);
    expect(numbered.every((n, i) => n === i + 1)).toBe(true);
    expect(out.filter((t) => t.startsWith('long ')).map((t) => t.slice(0, 7))).toEqual(['long 0 ', 'long 1 ', 'long 2 ', 'long 3 ']);
    expect(out.filter((t) => t.startsWith('long ')).every((t) => t.length === 7 + 12_000)).toBe(true);
    // nothing of the runner's control lines among the app's output
    expect(logs.some((l) => l.text.startsWith('::progress') || l.text.startsWith('::result'))).toBe(false);
    expect(logs.some((l) => l.text.includes('EofException'))).toBe(false);

    await updates.waitFor((v) => v.some((u) => u.state === 'COMPLETED'), 'the completed update');
    const seen = updates.values.map((u) => u.progress as number | null).filter((p): p is number => p !== null);
    expect(seen.at(-1)).toBe(1);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
  }, 900_000);
});
