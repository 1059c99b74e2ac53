// Auto-termination on a SPARK cluster: a running Spark application keeps the cluster from being
// idle even without steps; once it ends, the idle timeout runs and the cluster ends itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCluster, Fixtures, getCluster, waitForClusterState } from '../support/api.js';
import { isAlive, waitUntil } from '../support/processes.js';
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

const APP = `${HOLD_UNTIL_GATE}
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("outside-steps").getOrCreate()
spark.sparkContext.parallelize(range(1), 1).map(hold).sum()
spark.stop()
`;
const IDLE_SECONDS = 15;
const STATE = `query($id: ID!) { cluster(id: $id) { id state readyAt endedAt stateChangeReason { code message } } }`;
const APPS = `query($id: ID!, $from: DateTime!) { clusterMetrics(clusterId: $id, names: ["AppsRunning", "IsIdle"], from: $from,
  periodSeconds: 1, statistic: MAXIMUM) { name datapoints { at value } } }`;

describe.skipIf(!sparkAvailable)('auto-termination with Spark applications', () => {
  let server: TestServer;
  let tmp: string;
  let driver: ChildProcess | null = null;
  const closers: Array<() => Promise<void>> = [];
  const fixtures = new Fixtures();
  const spark = sparkRuntime;

  beforeAll(async () => {
    // a shorter least idle timeout than EMR's 60 s: the same behaviour in a quarter of the time
    server = await startTestServer({ agentMetricsMs: 500, metricsIntervalMs: 500, minIdleTimeoutSeconds: IDLE_SECONDS });
    tmp = mkdtempSync(path.join(os.tmpdir(), 'idle-spark-'));
  });
  afterAll(async () => {
    // the driver was started here, not by an agent: its process group is ours to end
    if (driver?.pid && isAlive(driver.pid)) process.kill(-driver.pid, 'SIGKILL');
    await fixtures.cleanup(server);
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    for (const close of closers) await close();
  });

  it('an application running without steps keeps the cluster; after it ends the idle timeout ends the cluster', async () => {
    const id = fixtures.cluster(
      await createCluster(server, {
        name: 'idle-spark',
        applications: ['SPARK'],
        instanceGroups: [SPARK_MASTER, SPARK_CORE(1)],
        autoTerminationIdleTimeoutSeconds: IDLE_SECONDS,
      }),
    );
    const ready = await waitForClusterState(server, id, ['WAITING'], { query: SPARK_CLUSTER, timeoutMs: 180_000 });
    const app = path.join(tmp, 'hold.py');
    writeFileSync(app, APP);
    // the executors run sandboxed on the CORE node: the gate is a loopback URL, not a file of ours
    const gate = await httpGate();
    closers.push(gate.close);
    // a client-mode driver submitted from outside the cluster's steps (as a notebook would)
    driver = spawn(
      path.join(spark.sparkHome!, 'bin', 'spark-submit'),
      ['--master', ready.spark.masterUrl, '--conf', 'spark.driver.memory=512m', ...TEST_JOB_ARGS, app],
      {
        env: { ...process.env, GATE: gate.url, PYSPARK_PYTHON: spark.python!, PYSPARK_DRIVER_PYTHON: spark.python! },
        detached: true,
        stdio: 'ignore',
      },
    );
    const { readyAt } = await getCluster(server, id, STATE);
    // past the idle timeout since the cluster became WAITING, with the application still running
    const pastTimeout = Date.parse(readyAt) + (IDLE_SECONDS + 5) * 1_000;
    await waitUntil(
      async () => {
        if (Date.now() < pastTimeout + 1_000) return null;
        const [running] = (await server.data(APPS, { id, from: new Date(pastTimeout).toISOString() })).clusterMetrics;
        return running.datapoints.some((d: any) => d.value >= 1) ? true : null;
      },
      `an AppsRunning sample more than ${IDLE_SECONDS + 5} s after the cluster became ready`,
      150_000,
    );
    expect((await getCluster(server, id, STATE)).state).toBe('WAITING');

    const released = Date.now();
    gate.open();
    await waitUntil(() => (isAlive(driver!.pid!) ? null : true), 'the driver to finish', 60_000);
    const ended = await waitForClusterState(server, id, ['TERMINATED'], { query: STATE, timeoutMs: 150_000 });
    expect(ended.stateChangeReason.code).toBe('ALL_STEPS_COMPLETED');
    expect(ended.stateChangeReason.message).toContain(`Idle for more than ${IDLE_SECONDS} seconds`);
    // the timeout ran from the application's end (its last report comes after the gate opened),
    // not from when the cluster became WAITING
    expect(Date.parse(ended.endedAt) - released).toBeGreaterThan((IDLE_SECONDS - 5) * 1_000);
  }, 420_000);
});
