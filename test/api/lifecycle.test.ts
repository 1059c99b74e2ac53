import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORE, CREATE_CLUSTER as CREATE, MASTER, waitForClusterState } from '../support/api.js';
import { isAlive, waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const CLUSTER = `query($id: ID!) { cluster(id: $id) { id state stateChangeReason { code message }
  instanceGroups { id role state requestedCount } instances { id role state pid host lastHeartbeatAt }
  steps(first: 50) { edges { node { id name state exitCode progress failureDetails { reason message } } } } } }`;

const waitForState = (id: string, states: string[]) => waitForClusterState(server, id, states, { query: CLUSTER, timeoutMs: 20_000 });

describe('cluster lifecycle', () => {
  it('starts one agent process per instance, runs given steps, then WAITING; terminate stops every process', async () => {
    const { createCluster } = await server.data(CREATE, {
      input: {
        name: 'lifecycle',
        instanceGroups: [MASTER, CORE(2)],
        steps: [{ name: 'hello', command: { args: ['sh', '-c', 'echo hello; echo "::progress 0.5"; echo done'] } }],
      },
    });
    expect(createCluster.cluster.state).toBe('STARTING');
    const id = createCluster.cluster.id;
    const ready = await waitForState(id, ['WAITING']);
    expect(ready.instances).toHaveLength(3);
    for (const i of ready.instances) {
      expect(i.state).toBe('RUNNING');
      expect(isAlive(i.pid)).toBe(true);
      expect(i.lastHeartbeatAt).not.toBeNull();
    }
    expect(ready.instanceGroups.map((g: any) => g.state)).toEqual(['RUNNING', 'RUNNING']);
    expect(ready.steps.edges[0].node).toMatchObject({ name: 'hello', state: 'COMPLETED', exitCode: 0, progress: 1 });

    const pids = ready.instances.map((i: any) => i.pid);
    const res = await server.data(
      `mutation($ids: [ID!]!) { terminateClusters(input: { ids: $ids }) { clusters { id state stateChangeReason { code } } } }`,
      { ids: [id] },
    );
    expect(res.terminateClusters.clusters[0]).toMatchObject({ state: 'TERMINATING', stateChangeReason: { code: 'USER_REQUEST' } });
    const ended = await waitForState(id, ['TERMINATED']);
    expect(ended.instances.every((i: any) => i.state === 'TERMINATED')).toBe(true);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    // the agents' last heartbeats, still on their way when the nodes ended, leave them as they ended
    await server.app.modules.clusters.instances.heartbeats(ended.instances.map((i: any) => i.id));
    const { cluster: after } = await server.data(CLUSTER, { id });
    expect(after.instances).toEqual(ended.instances);
  });
});

describe('healing', () => {
  it('replaces a dead CORE node, but a group whose nodes keep dying ends the cluster (INSTANCE_FAILURE)', async () => {
    const { createCluster } = await server.data(CREATE, { input: { name: 'crash-loop', instanceGroups: [MASTER, CORE(1)] } });
    const id = createCluster.cluster.id;
    await waitForState(id, ['WAITING']);
    const killed = new Set<string>();
    for (let round = 1; round <= 3; round++) {
      const c = await waitUntil(async () => {
        const now = (await server.data(CLUSTER, { id })).cluster;
        const core = now.instances.find((i: any) => i.role === 'CORE' && i.state === 'RUNNING' && !killed.has(i.id));
        return core ? { now, core } : null;
      }, `a running CORE node (round ${round})`);
      killed.add(c.core.id);
      process.kill(c.core.pid, 'SIGKILL');
      if (round < 3) {
        // healed: a new CORE node runs and the cluster never left WAITING
        await waitUntil(async () => {
          const now = (await server.data(CLUSTER, { id })).cluster;
          return now.instances.some((i: any) => i.role === 'CORE' && i.state === 'RUNNING' && !killed.has(i.id));
        }, `a replacement CORE node (round ${round})`);
        expect((await server.data(CLUSTER, { id })).cluster.state).toBe('WAITING');
      }
    }
    const ended = await waitForState(id, ['TERMINATED_WITH_ERRORS']);
    expect(ended.stateChangeReason.code).toBe('INSTANCE_FAILURE');
    expect(ended.stateChangeReason.message).toContain('too many CORE node failures');
    expect(ended.instances.every((i: any) => i.state === 'TERMINATED')).toBe(true);
    for (const i of ended.instances) expect(isAlive(i.pid)).toBe(false);
  });
});

describe('startup deadline', () => {
  it('a cluster not ready within STARTUP_TIMEOUT_SECONDS ends TERMINATED_WITH_ERRORS (BOOTSTRAP_FAILURE)', async () => {
    // a deadline of 0 s: no cluster can make it, whatever the machine's speed
    const impatient = await startTestServer({ startupTimeoutSeconds: 0 });
    try {
      const { createCluster } = await impatient.data(CREATE, { input: { name: 'too-slow', instanceGroups: [MASTER, CORE(1)] } });
      const ended = await waitForClusterState(impatient, createCluster.cluster.id, ['TERMINATED_WITH_ERRORS'], { query: CLUSTER });
      expect(ended.stateChangeReason).toMatchObject({ code: 'BOOTSTRAP_FAILURE' });
      expect(ended.stateChangeReason.message).toContain('did not become ready within 0 s');
      expect(ended.instances.every((i: any) => i.state === 'TERMINATED')).toBe(true);
    } finally {
      await impatient.close();
    }
  });
});
