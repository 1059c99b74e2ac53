// Managed scaling on a real Spark cluster: applications that wait for cores grow the TASK nodes
// (whose workers then run them), and once the cluster is idle the TASK nodes go again.
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCluster, Fixtures, masterScratch, waitForCluster, waitForClusterState, waitForStepState } from '../support/api.js';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  HOLD_UNTIL_GATE,
  httpGate,
  SPARK_CLUSTER,
  SPARK_CORE,
  SPARK_MASTER,
  sparkAvailable,
  sparkRuntime,
  TEST_JOB_ARGS,
} from './support.js';

const PUT_MANAGED = `mutation($input: PutManagedScalingPolicyInput!) { putManagedScalingPolicy(input: $input) { cluster { id } } }`;
const ADD = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id } } }`;
const SCALING = `query($id: ID!) { cluster(id: $id) { id state spark { aliveWorkers coresTotal }
  instanceGroups { id role instanceType requestedCount }
  instances { id groupId role state }
  scalingActivities(first: 20) { edges { node { instanceGroupId fromCount toCount trigger reason } } } } }`;
const METRICS = `query($id: ID!, $from: DateTime!) { clusterMetrics(clusterId: $id, names: ["AppsPending", "AppsRunning", "CoresTotal"], from: $from,
  periodSeconds: 3600, statistic: MAXIMUM) { name datapoints { value } } }`;

// Holds its executors (one task per core it got) until the gate file exists.
const APP = `${HOLD_UNTIL_GATE}
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName(os.environ["APP_NAME"]).getOrCreate()
print("held", spark.sparkContext.parallelize(range(2), 2).map(hold).sum())
spark.stop()
`;

describe.skipIf(!sparkAvailable)('managed scaling with Spark', () => {
  let server: TestServer;
  const fixtures = new Fixtures();
  const spark = sparkRuntime;

  beforeAll(async () => {
    server = await startTestServer({
      agentMetricsMs: 500,
      metricsIntervalMs: 500,
      scalingCooldownSeconds: 2,
      scalingIdlePeriods: 4,
      sparkDecommissionTimeoutSeconds: 20,
    });
  });
  afterEach(async () => {
    await fixtures.cleanup(server);
  });
  const closers: Array<() => Promise<void>> = [];
  afterAll(async () => {
    await server?.close();
    for (const close of closers) await close();
  });

  it('grows TASK nodes under a queue of applications and shrinks them when idle', async () => {
    const id = fixtures.cluster(
      await createCluster(server, {
        name: 'managed-spark',
        applications: ['SPARK'],
        instanceGroups: [SPARK_MASTER, SPARK_CORE(1)],
        stepConcurrencyLevel: 2,
      }),
    );
    const ready = await waitForClusterState(server, id, ['WAITING'], { query: SPARK_CLUSTER, timeoutMs: 180_000 });
    const masterUrl = ready.spark.masterUrl;
    await server.data(PUT_MANAGED, { input: { clusterId: id, computeLimits: { minimumCapacityUnits: 1, maximumCapacityUnits: 3 } } });
    const since = new Date().toISOString();

    // the steps' drivers run sandboxed on the master node: the app lives in its own directory; the
    // executors, sandboxed on the workers, wait on a loopback URL
    const scratch = await masterScratch(server, id);
    const app = path.join(scratch, 'hold.py');
    writeFileSync(app, APP);
    // the server in this process set a umask that closes new files to others: the node's uid reads it
    chmodSync(app, 0o644);
    const gate = await httpGate();
    closers.push(gate.close);
    // two applications that each want every core of the cluster's one worker: the second waits
    const submit = (name: string) => ({
      name,
      actionOnFailure: 'CONTINUE',
      command: {
        args: [
          path.join(spark.sparkHome!, 'bin', 'spark-submit'),
          '--master',
          masterUrl,
          '--conf',
          'spark.cores.max=2',
          ...TEST_JOB_ARGS,
          '--conf',
          'spark.driver.memory=512m',
          app,
        ],
        env: { APP_NAME: name, GATE: gate.url, PYSPARK_PYTHON: spark.python!, PYSPARK_DRIVER_PYTHON: spark.python! },
      },
    });
    const steps = (await server.data(ADD, { input: { clusterId: id, steps: [submit('first'), submit('second')] } })).addSteps.steps;

    // AppsPending > 0 → a TASK group of the CORE type grows, and its worker joins Spark
    const grown = await waitForCluster(
      server,
      id,
      (c) => {
        const task = c.instanceGroups.find((g: any) => g.role === 'TASK');
        return task && c.instances.some((i: any) => i.groupId === task.id && i.state === 'RUNNING') && c.spark.aliveWorkers >= 2;
      },
      'a TASK node running a Spark worker',
      { query: SCALING, timeoutMs: 180_000 },
    );
    const task = grown.instanceGroups.find((g: any) => g.role === 'TASK');
    expect(task.instanceType).toBe(SPARK_CORE(1).instanceType);
    const out = grown.scalingActivities.edges.map((e: any) => e.node).at(-1);
    expect(out).toMatchObject({ instanceGroupId: task.id, fromCount: 0, trigger: 'MANAGED_SCALING' });
    expect(out.toCount).toBeGreaterThanOrEqual(1);
    expect(out.reason).toMatch(/Spark application\(s\) waiting for cores|all cores busy/);
    const series = (await server.data(METRICS, { id, from: since })).clusterMetrics;
    expect(series.find((s: any) => s.name === 'AppsPending').datapoints[0].value).toBeGreaterThanOrEqual(1);

    // with the new worker's cores both applications run; then they finish and the cluster idles
    gate.open();
    for (const s of steps) await waitForStepState(server, s.id, ['COMPLETED'], { timeoutMs: 180_000 });
    const shrunk = await waitForCluster(
      server,
      id,
      (c) => c.instances.filter((i: any) => i.groupId === task.id && i.state !== 'TERMINATED').length === 0 && c.spark.aliveWorkers === 1,
      'the TASK nodes gone from the cluster and from Spark',
      { query: SCALING, timeoutMs: 180_000 },
    );
    expect(shrunk.scalingActivities.edges[0].node).toMatchObject({
      instanceGroupId: task.id,
      toCount: 0,
      reason: 'idle for 4 evaluation periods',
    });
    expect(shrunk.instanceGroups.find((g: any) => g.role === 'CORE').requestedCount).toBe(1);
  }, 600_000);
});
