// A SPARK cluster is a real Spark standalone cluster: a master on the MASTER node, a worker per
// CORE/TASK node; resizing adds and decommissions workers, and Spark's own count follows.
// Both tests use one cluster: the resize test leaves it as it was made, the last test kills its master.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCluster, Fixtures, waitForCluster, waitForClusterState } from '../support/api.js';
import { isAlive, pidsWithEnvPrefix, waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { SPARK_CLUSTER, SPARK_CORE, SPARK_MASTER, sparkAvailable } from './support.js';

const MODIFY = `mutation($input: ModifyInstanceGroupInput!) { modifyInstanceGroup(input: $input) { instanceGroup { id requestedCount state } } }`;

describe.skipIf(!sparkAvailable)('SPARK clusters', () => {
  let server: TestServer;
  let id: string;
  const fixtures = new Fixtures();
  beforeAll(async () => {
    server = await startTestServer({ sparkDecommissionTimeoutSeconds: 20, agentMetricsMs: 300 });
    id = fixtures.cluster(
      await createCluster(server, {
        name: 'spark',
        applications: ['SPARK'],
        terminationProtected: true,
        instanceGroups: [SPARK_MASTER, SPARK_CORE(1)],
      }),
    );
  });
  const METRICS = `query($id: ID!, $names: [String!]!, $from: DateTime!, $instanceId: ID) {
    clusterMetrics(clusterId: $id, names: $names, from: $from, periodSeconds: 1, statistic: MAXIMUM, instanceId: $instanceId) {
      name datapoints { value } } }`;
  /** the latest value of each named series the agents' reports produced */
  async function latest(id: string, names: string[], instanceId?: string): Promise<Record<string, number | undefined>> {
    const from = new Date(Date.now() - 10 * 60_000).toISOString();
    const series = (await server.data(METRICS, { id, names, from, instanceId })).clusterMetrics as Array<{
      name: string;
      datapoints: Array<{ value: number }>;
    }>;
    return Object.fromEntries(names.map((n) => [n, series.find((x) => x.name === n)?.datapoints.at(-1)?.value]));
  }
  afterAll(async () => {
    if (server) await fixtures.cleanup(server);
    await server?.close();
  });

  it('starts a master and a worker per core node; the cluster shows its Spark addresses; resize up and down follows in Spark', async () => {
    let c = await waitForClusterState(server, id, ['WAITING'], { query: SPARK_CLUSTER, timeoutMs: 180_000 });
    expect(c.spark.masterUrl).toMatch(/^spark:\/\/127\.0\.0\.1:\d+$/);
    expect(c.spark.status).toBe('ALIVE');
    expect(c.spark.aliveWorkers).toBe(1);
    expect(c.spark.coresTotal).toBe(2);
    const master = c.instances.find((i: any) => i.role === 'MASTER');
    expect(master.endpoints).toMatchObject({ sparkMasterUrl: c.spark.masterUrl, sparkMasterWebUrl: c.spark.masterWebUrl });
    const core = c.instances.find((i: any) => i.role === 'CORE');
    expect(core.endpoints.sparkWorkerWebUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(c.spark.workers.find((w: any) => w.state === 'ALIVE').webUrl).toBe(core.endpoints.sparkWorkerWebUrl);

    // every node reports its CPU and memory; the MASTER also Spark's own counts (through the metrics store)
    const spark = await waitUntil(
      async () => {
        const m = await latest(id, ['SparkWorkersAlive', 'CoresTotal', 'CoresUsed', 'MemoryTotalMB', 'AppsRunning', 'AppsPending']);
        return m.SparkWorkersAlive === 1 ? m : null;
      },
      'Spark figures from the master node',
      30_000,
    );
    expect(spark).toMatchObject({ CoresTotal: 2, CoresUsed: 0, MemoryTotalMB: 2048, AppsRunning: 0, AppsPending: 0 });
    // the core node's tree holds a JVM (the Spark worker)
    const node = await waitUntil(
      async () => {
        const m = await latest(id, ['NodeMemoryUsedMB', 'NodeCpuPercent'], core.id);
        return m.NodeMemoryUsedMB !== undefined ? m : null;
      },
      'node figures from the core node',
      30_000,
    );
    expect(node.NodeMemoryUsedMB).toBeGreaterThan(50);
    expect(node.NodeCpuPercent).toBeGreaterThanOrEqual(0);

    // grow: a second worker joins Spark
    const group = c.instanceGroups.find((g: any) => g.role === 'CORE');
    await server.data(MODIFY, { input: { instanceGroupId: group.id, instanceCount: 2 } });
    c = await waitForCluster(
      server,
      id,
      (x) => x.spark.aliveWorkers === 2 && x.instances.filter((i: any) => i.role === 'CORE' && i.state === 'RUNNING').length === 2,
      '2 alive workers',
      { query: SPARK_CLUSTER, timeoutMs: 180_000 },
    );
    expect(c.spark.coresTotal).toBe(4);

    // shrink: the newest worker is decommissioned and leaves
    await server.data(MODIFY, { input: { instanceGroupId: group.id, instanceCount: 1 } });
    c = await waitForCluster(
      server,
      id,
      (x) => x.spark.aliveWorkers === 1 && x.instances.filter((i: any) => i.role === 'CORE' && i.state !== 'TERMINATED').length === 1,
      '1 alive worker',
      { query: SPARK_CLUSTER, timeoutMs: 180_000 },
    );
    const gone = c.instances.filter((i: any) => i.role === 'CORE' && i.state === 'TERMINATED');
    expect(gone).toHaveLength(1);
    expect(gone[0].stateChangeReason).toMatchObject({ code: 'USER_REQUEST' });
    expect(c.instanceGroups.find((g: any) => g.role === 'CORE')).toMatchObject({ requestedCount: 1, state: 'RUNNING' });
  }, 600_000);

  it('ends the cluster with INSTANCE_FAILURE when the master node dies, and its daemons die with it', async () => {
    const c = await waitForClusterState(server, id, ['WAITING'], { query: SPARK_CLUSTER, timeoutMs: 180_000 });
    const master = c.instances.find((i: any) => i.role === 'MASTER');
    const java = pidsWithEnvPrefix('AGENT_INSTANCE_ID', master.id).filter((p) => p !== master.pid);
    expect(java.length).toBeGreaterThan(0);
    process.kill(master.pid, 'SIGKILL');
    const ended = await waitForClusterState(server, id, ['TERMINATED_WITH_ERRORS'], { query: SPARK_CLUSTER, timeoutMs: 180_000 });
    expect(ended.stateChangeReason.code).toBe('INSTANCE_FAILURE');
    expect(ended.stateChangeReason.message).toContain(`Master node ${master.id} failed`);
    await waitUntil(() => java.every((p) => !isAlive(p)), "the master node's Spark daemon gone");
  }, 300_000);
});
