// SPARK step inputs as spark-submit has them (files, pyFiles, archives#alias, jars, packages,
// mainClass), and Spark's own example apps run unmodified: pi, wordcount (compared with a local
// spark-submit of the same app) and sql/basic with its resources shipped as an archive.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allPages, createCluster, expectError, Fixtures, waitForClusterState, waitForStepState } from '../support/api.js';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  cancelOpenSteps,
  putObject,
  SPARK_CORE,
  SPARK_MASTER,
  sparkAvailable,
  sparkRuntime,
  TEST_JOB_ARGS,
  TEST_JOB_CONF,
} from './support.js';

/** Runs a program to its end without blocking the event loop; its status and output. */
function runLocal(
  file: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const ADD = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id state } } }`;
const STEP = `query($id: ID!) { step(id: $id) { id state progress exitCode failureDetails { reason message } } }`;
const CLUSTER = `query($id: ID!) { cluster(id: $id) { id state stateChangeReason { code message } instances { id role state stateChangeReason { code message } } } }`;
const CLUSTER_STEPS = `query($id: ID!) { cluster(id: $id) { steps(first: 100) { edges { node { id } } } } }`;
const LOGS = `query($id: ID!, $after: String) { step(id: $id) { logs(first: 100, after: $after) {
  edges { node { stream text } } pageInfo { hasNextPage endCursor } } } }`;
const CREATE_BUCKET = `mutation($name: String!) { createBucket(input: { name: $name }) { bucket { name } } }`;
const PUT = `mutation($input: PutObjectInput!) { putObject(input: $input) { object { uri } } }`;
const EXAMPLES = sparkRuntime.sparkHome ? path.join(sparkRuntime.sparkHome, 'examples', 'src', 'main', 'python') : '';

/** A zip (or a gzipped tar) of `files` (name → text), base64, made with Python (no zip tool is assumed). */
function archiveOf(files: Record<string, string>, kind: 'zip' | 'tgz' = 'zip'): string {
  const made = spawnSync(
    'python3',
    [
      '-c',
      `
import base64, io, json, sys, tarfile, zipfile
buf = io.BytesIO()
files = json.load(sys.stdin)
if sys.argv[1] == "zip":
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
else:
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
sys.stdout.write(base64.b64encode(buf.getvalue()).decode())
`,
      kind,
    ],
    { input: JSON.stringify(files), encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(made.stderr);
  return made.stdout;
}

describe.skipIf(!sparkAvailable)('SPARK step inputs and Spark example apps', () => {
  let server: TestServer;
  let clusterId: string;
  const fixtures = new Fixtures();
  beforeAll(async () => {
    server = await startTestServer();
    clusterId = fixtures.cluster(
      await createCluster(server, {
        name: 'inputs',
        applications: ['SPARK'],
        keepAliveWhenNoSteps: true,
        instanceGroups: [SPARK_MASTER, SPARK_CORE(1)],
      }),
    );
  }, 120_000);
  afterEach(async () => {
    if (clusterId) await cancelOpenSteps(server, clusterId);
  });
  afterAll(async () => {
    if (server) await fixtures.cleanup(server);
    await server?.close();
  });

  const putArchive = async (bucket: string, key: string, files: Record<string, string>) => {
    const created = await server.gql(CREATE_BUCKET, { name: bucket });
    if (created.errors && created.errors[0]?.extensions?.code !== 'CONFLICT') throw new Error(JSON.stringify(created.errors));
    return (await server.data(PUT, { input: { bucket, key, contentBase64: archiveOf(files, key.endsWith('.zip') ? 'zip' : 'tgz') } }))
      .putObject.object.uri as string;
  };
  const logsOf = async (id: string) =>
    allPages<{ stream: string; text: string }>(async (after) => (await server.data(LOGS, { id, after })).step.logs);
  /** Runs one step to its end; it must complete. Returns its STDOUT lines. */
  async function runStep(name: string, spark: Record<string, unknown>): Promise<string[]> {
    const cluster = await waitForClusterState(server, clusterId, ['WAITING', 'TERMINATED_WITH_ERRORS'], {
      query: CLUSTER,
      timeoutMs: 180_000,
    });
    expect(cluster.state, JSON.stringify(cluster)).toBe('WAITING');
    const added = await server.gql(ADD, { input: { clusterId, steps: [{ name, spark: { conf: TEST_JOB_CONF, ...spark } }] } });
    expect(added.errors, JSON.stringify(await server.data(CLUSTER, { id: clusterId }))).toBeUndefined();
    const [step] = added.data!.addSteps.steps;
    const done = await waitForStepState(server, step.id, ['COMPLETED', 'FAILED', 'CANCELLED'], { query: STEP, timeoutMs: 300_000 });
    const logs = await logsOf(step.id);
    expect(
      done,
      logs
        .map((l) => l.text)
        .join('\n')
        .slice(-5000),
    ).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
    return logs.filter((l) => l.stream === 'STDOUT').map((l) => l.text);
  }
  const driverDirs = () => path.join(server.dataDir, 'buckets', '.spark-drivers');

  it('refuses bad inputs with the field at fault, creating no step', async () => {
    const app = await putObject(server, 'code', 'app.py', 'print(1)\n');
    const jar = await putObject(server, 'code', 'app.jar', 'not really a jar');
    const helper = await putObject(server, 'code', 'helper.py', 'x = 1\n');
    const add = (spark: Record<string, unknown>) =>
      server.gql(ADD, { input: { clusterId, steps: [{ name: 's', spark: { appUri: app, ...spark } }] } });
    const at = 'input.steps.0.spark';
    expectError(await add({ files: ['/etc/passwd'] }), 'BAD_USER_INPUT', `${at}.files.0`);
    expectError(await add({ files: [helper, 'http://example.com/x'] }), 'BAD_USER_INPUT', `${at}.files.1`);
    expectError(await add({ files: ['s3://code/missing.txt'] }), 'NOT_FOUND', `${at}.files.0`);
    expectError(await add({ files: ['s3://code/../etc/passwd'] }), 'BAD_USER_INPUT', `${at}.files.0`);
    expectError(await add({ pyFiles: [jar] }), 'BAD_USER_INPUT', `${at}.pyFiles.0`);
    expectError(await add({ archives: [helper] }), 'BAD_USER_INPUT', `${at}.archives.0`);
    expectError(await add({ archives: ['s3://code/res.zip#../up'] }), 'BAD_USER_INPUT', `${at}.archives.0`);
    expectError(await add({ jars: [helper] }), 'BAD_USER_INPUT', `${at}.jars.0`);
    expectError(await add({ packages: ['org.example:only-two'] }), 'BAD_USER_INPUT', `${at}.packages.0`);
    expectError(await add({ packages: ['a:b:1', 'a:b:1;rm -rf /'] }), 'BAD_USER_INPUT', `${at}.packages.1`);
    expectError(await add({ mainClass: 'org.example.Main' }), 'BAD_USER_INPUT', `${at}.mainClass`);
    expectError(
      await server.gql(ADD, { input: { clusterId, steps: [{ name: 's', spark: { appUri: jar, mainClass: 'not a class' } }] } }),
      'BAD_USER_INPUT',
      `${at}.mainClass`,
    );
    expectError(await add({ files: Array.from({ length: 101 }, () => helper) }), 'BAD_USER_INPUT', `${at}.files`);
    expect((await server.data(CLUSTER_STEPS, { id: clusterId })).cluster.steps.edges).toEqual([]);
  });

  // --packages rides on this step (one driver less to start): the app also loads the package's class
  it('ships pyFiles, files, #aliased archives and --packages from Maven Central to the driver and to executors on another node', async () => {
    const app = await putObject(
      server,
      'code',
      'uses_inputs.py',
      readFileSync(new URL('./fixtures/uses_inputs.py', import.meta.url), 'utf8'),
    );
    const helper = await putObject(server, 'code', 'shipped_helper.py', 'def greet(who):\n    return "hello " + who\n');
    const notes = await putObject(server, 'data', 'notes.txt', 'the notes\n');
    const archive = await putArchive('data', 'resources.zip', { 'inner/data.txt': 'archived data\n' });
    const tarred = await putArchive('data', 'extra.tgz', { 't.txt': 'tarred\n' });
    const out = await runStep('inputs', {
      appUri: app,
      pyFiles: [helper],
      files: [notes],
      archives: [`${archive}#res`, tarred],
      // a small artifact with no dependencies that Spark does not ship
      packages: ['org.jsoup:jsoup:1.17.2'],
    });
    expect(out).toEqual(
      expect.arrayContaining([
        'helper says hello driver',
        'loaded org.jsoup.Jsoup',
        'driver relative file: the notes',
        'driver SparkFiles file: the notes',
        'driver archive: archived data',
        'driver tar: tarred',
        'executor 0|hello executor|the notes|archived data|tarred',
        'executor 1|hello executor|the notes|archived data|tarred',
        'people counted: 1',
      ]),
    );
    // the driver's directory is gone with its step
    expect(readdirSync(driverDirs())).toEqual([]);
  }, 600_000);

  it('an archive with a member outside its directory fails the step before Spark runs, leaving nothing behind', async () => {
    const app = await putObject(server, 'code', 'app.py', 'print(1)\n');
    const hostile = await putArchive('data', 'hostile.tgz', { 'ok.txt': 'ok\n', '../../escaped.txt': 'out\n' });
    await waitForClusterState(server, clusterId, ['WAITING'], { query: CLUSTER, timeoutMs: 180_000 });
    const [step] = (
      await server.data(ADD, { input: { clusterId, steps: [{ name: 'hostile', spark: { appUri: app, archives: [hostile] } }] } })
    ).addSteps.steps;
    const done = await waitForStepState(server, step.id, ['COMPLETED', 'FAILED', 'CANCELLED'], { query: STEP, timeoutMs: 120_000 });
    const logs = (await logsOf(step.id)).map((l) => l.text);
    expect(done.state, logs.join('\n')).toBe('FAILED');
    expect(logs).toContainEqual(expect.stringContaining('cannot unpack'));
    expect(logs.some((l) => l.includes('SparkContext'))).toBe(false);
    expect(readdirSync(driverDirs())).toEqual([]);
    expect(readdirSync(path.join(server.dataDir, 'buckets')).filter((n) => n.includes('escaped'))).toEqual([]);
  }, 300_000);

  it("runs Spark's sql/basic.py unmodified with its resources given as an archive", async () => {
    const app = await putObject(server, 'code', 'basic.py', readFileSync(path.join(EXAMPLES, 'sql', 'basic.py'), 'utf8'));
    // the two files basic.py reads (examples/src/main/resources/…), with the shapes of Spark's own
    const resources = await putArchive('data', 'spark-resources.zip', {
      'src/main/resources/people.json': '{"name":"Michael"}\n{"name":"Andy", "age":30}\n{"name":"Justin", "age":19}\n',
      'src/main/resources/people.txt': 'Michael, 29\nAndy, 30\nJustin, 19\n',
    });
    const out = await runStep('basic', { appUri: app, archives: [`${resources}#examples`] });
    // df.show() of people.json, the schema-inference example's print, the programmatic schema's show()
    expect(out).toEqual(
      expect.arrayContaining([
        '| age|   name|',
        '|NULL|Michael|',
        '|  30|   Andy|',
        '|  19| Justin|',
        'Name: Justin',
        ' |-- age: long (nullable = true)',
      ]),
    );
    expect(readdirSync(driverDirs())).toEqual([]);
  }, 600_000);

  it("runs Spark's pi.py unmodified", async () => {
    const app = await putObject(server, 'code', 'pi.py', readFileSync(path.join(EXAMPLES, 'pi.py'), 'utf8'));
    const out = await runStep('pi', { appUri: app, args: ['4'] });
    expect(out.filter((l) => /^Pi is roughly 3\.1\d+$/.test(l))).toHaveLength(1);
  }, 600_000);

  it("runs Spark's wordcount.py unmodified: the same lines as a local spark-submit of it", async () => {
    const words = ['spark', 'ember', 'plane', 'node', 'worker', 'Bucket', 'step', 'ünïcode'];
    const text = Array.from({ length: 300 }, (_, i) =>
      Array.from({ length: 1 + (i % 5) }, (_, j) => words[(i * 3 + j * 5) % words.length]).join(' '),
    ).join('\n');
    const input = await putObject(server, 'data', 'wc/input.txt', `${text}\n`);
    const source = path.join(EXAMPLES, 'wordcount.py');
    const app = await putObject(server, 'code', 'wordcount.py', readFileSync(source, 'utf8'));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wc-local-'));
    try {
      writeFileSync(path.join(dir, 'input.txt'), `${text}\n`);
      // beside the cluster's step, and asynchronously: the server runs in this process, and a
      // blocked event loop misses the nodes' heartbeats (they would be failed)
      const [out, local] = await Promise.all([
        runStep('wordcount', { appUri: app, args: [input] }),
        runLocal(
          path.join(sparkRuntime.sparkHome!, 'bin', 'spark-submit'),
          ['--master', 'local[2]', ...TEST_JOB_ARGS, '--conf', 'spark.ui.enabled=false', source, path.join(dir, 'input.txt')],
          { cwd: dir, env: { ...process.env, PYSPARK_PYTHON: sparkRuntime.python ?? 'python3' } },
        ),
      ]);
      expect(local.status, local.stderr.slice(-3000)).toBe(0);
      const expected = local.stdout.split('\n').filter(Boolean);
      expect(expected.length).toBe(words.length);
      expect([...out].sort()).toEqual([...expected].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
