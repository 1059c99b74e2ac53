// Cluster metrics: Postgres-derived samples taken by the leader, node reports from real agents,
// and the clusterMetrics query (range, period, statistic, per-node series).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CORE,
  createCluster,
  expectError,
  Fixtures,
  gated,
  MASTER,
  masterScratch,
  waitForClusterState,
  waitForStepState,
} from '../support/api.js';
import { waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
const fixtures = new Fixtures();

beforeAll(async () => {
  server = await startTestServer({ agentMetricsMs: 250, metricsIntervalMs: 250 });
});
afterAll(async () => {
  await server?.close();
});

const METRICS = `query($id: ID!, $names: [String!]!, $from: DateTime!, $to: DateTime, $period: Int!, $stat: MetricStatistic, $instanceId: ID) {
  clusterMetrics(clusterId: $id, names: $names, from: $from, to: $to, periodSeconds: $period, statistic: $stat, instanceId: $instanceId) {
    name instanceId datapoints { at value } } }`;
const ADD = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id } } }`;
const INSTANCES = `query($id: ID!) { cluster(id: $id) { id state instances { id role state } } }`;

interface Series {
  name: string;
  instanceId: string | null;
  datapoints: Array<{ at: string; value: number }>;
}

async function metrics(vars: Record<string, unknown>): Promise<Series[]> {
  return (await server.data(METRICS, { period: 1, ...vars })).clusterMetrics;
}

const values = (s: Series | undefined) => (s?.datapoints ?? []).map((d) => d.value);

describe('cluster metrics', () => {
  let clusterId: string;
  let masterId: string;
  let coreId: string;
  let start: Date;

  beforeAll(async () => {
    start = new Date(Date.now() - 1_000);
    clusterId = fixtures.cluster(await createCluster(server, { name: 'metrics', instanceGroups: [MASTER, CORE(1)] }));
    const c = await waitForClusterState(server, clusterId, ['WAITING'], { query: INSTANCES });
    masterId = c.instances.find((i: any) => i.role === 'MASTER').id;
    coreId = c.instances.find((i: any) => i.role === 'CORE').id;
  });
  afterAll(async () => {
    await fixtures.cleanup(server);
  });

  it('node counts, steps and IsIdle follow what the cluster does', async () => {
    // the idle cluster is sampled first (a fast start can be ready before the first sample)
    await waitUntil(async () => {
      const [idle] = await metrics({ id: clusterId, names: ['IsIdle'], from: start.toISOString(), stat: 'MAXIMUM' });
      return values(idle).includes(1) ? true : null;
    }, 'an IsIdle sample of 1 before any step');
    const gate = path.join(await masterScratch(server, clusterId), 'gate-1');
    const [step] = (await server.data(ADD, { input: { clusterId, steps: [gated('wait', gate)] } })).addSteps.steps;
    await waitForStepState(server, step.id, ['RUNNING']);
    // a sample taken while the step runs, with the period's maximum
    await waitUntil(async () => {
      const [running] = await metrics({ id: clusterId, names: ['StepsRunning'], from: start.toISOString(), stat: 'MAXIMUM' });
      return values(running).includes(1) ? true : null;
    }, 'a StepsRunning sample of 1');
    writeFileSync(gate, '');
    await waitForStepState(server, step.id, ['COMPLETED']);
    const stepDone = Date.now();
    await waitUntil(async () => {
      const [idle] = await metrics({ id: clusterId, names: ['IsIdle'], from: new Date(stepDone).toISOString(), stat: 'MINIMUM' });
      return values(idle).includes(1) ? true : null;
    }, 'IsIdle back to 1 after the step');

    const series = await metrics({
      id: clusterId,
      from: start.toISOString(),
      stat: 'MAXIMUM',
      names: ['CoreNodesRunning', 'CoreNodesRequested', 'TaskNodesRequested', 'TaskNodesRunning', 'StepsPending', 'IsIdle'],
    });
    const byName = new Map(series.map((s) => [s.name, s]));
    expect(series.map((s) => s.name)).toEqual([
      'CoreNodesRunning',
      'CoreNodesRequested',
      'TaskNodesRequested',
      'TaskNodesRunning',
      'StepsPending',
      'IsIdle',
    ]);
    expect(Math.max(...values(byName.get('CoreNodesRunning')))).toBe(1);
    expect(new Set(values(byName.get('CoreNodesRequested')))).toEqual(new Set([1]));
    expect(new Set(values(byName.get('TaskNodesRequested')))).toEqual(new Set([0]));
    expect(new Set(values(byName.get('TaskNodesRunning')))).toEqual(new Set([0]));
    // while the step ran there were samples with IsIdle = 0
    const minIdle = await metrics({ id: clusterId, names: ['IsIdle'], from: start.toISOString(), stat: 'MINIMUM' });
    expect(values(minIdle[0])).toContain(0);
  });

  it('a busy node shows in its own NodeCpuPercent and in the cluster mean', async () => {
    const gate = path.join(await masterScratch(server, clusterId), 'gate-cpu');
    const busy = {
      name: 'spin',
      command: { args: ['node', '-e', `const fs=require('fs');while(!fs.existsSync(${JSON.stringify(gate)})){}`] },
    };
    const [step] = (await server.data(ADD, { input: { clusterId, steps: [busy] } })).addSteps.steps;
    await waitForStepState(server, step.id, ['RUNNING']);
    const since = new Date().toISOString();
    try {
      // the machine is shared, so the spinning step gets what the scheduler gives it: the master
      // must clearly stand out from the idle CORE node rather than reach a fixed share
      await waitUntil(async () => {
        const [master] = await metrics({ id: clusterId, names: ['NodeCpuPercent'], from: since, stat: 'MAXIMUM', instanceId: masterId });
        const [core] = await metrics({ id: clusterId, names: ['NodeCpuPercent'], from: since, stat: 'MAXIMUM', instanceId: coreId });
        const m = Math.max(0, ...values(master));
        return m >= 5 && m > 2 * Math.max(0, ...values(core)) ? true : null;
      }, 'the master node CPU well above the idle CORE node');
      await waitUntil(async () => {
        const [mean] = await metrics({ id: clusterId, names: ['NodeCpuPercent'], from: since, stat: 'MAXIMUM' });
        return values(mean).some((v) => v >= 2) ? true : null;
      }, 'the cluster-wide mean raised by the busy master');
    } finally {
      writeFileSync(gate, '');
    }
    await waitForStepState(server, step.id, ['COMPLETED']);
    const [cpu, mem] = await metrics({ id: clusterId, names: ['NodeCpuPercent', 'NodeMemoryUsedMB'], from: since, instanceId: masterId });
    expect(cpu!.instanceId).toBe(masterId);
    for (const v of values(cpu)) expect(v).toBeGreaterThanOrEqual(0);
    // percent of one core, as top shows it: the agent and its step may use both of m5.large's 2 vCPUs
    for (const v of values(cpu)) expect(v).toBeLessThanOrEqual(200);
    // the agent itself is a Node.js process: tens of MB resident
    expect(values(mem).length).toBeGreaterThan(0);
    for (const v of values(mem)) expect(v).toBeGreaterThan(10);
  });

  it('periods are aligned on `from`, and the statistics agree with each other', async () => {
    const to = new Date();
    const from = new Date(start.getTime());
    const span = Math.ceil((to.getTime() - from.getTime()) / 1000) + 1;
    // a sample is stamped when its statement starts and seen once it commits: the range is read once
    // a sample stamped after it is seen (the collector writes one statement after another), so that
    // each statistic below counts the same samples
    await waitUntil(async () => {
      const [later] = await metrics({ id: clusterId, names: ['StepsRunning'], from: to.toISOString(), stat: 'SAMPLE_COUNT' });
      return values(later).length > 0 ? true : null;
    }, 'a StepsRunning sample stamped after the range');
    const one = async (stat: string, period: number) =>
      (await metrics({ id: clusterId, names: ['StepsRunning'], from: from.toISOString(), to: to.toISOString(), period, stat }))[0]!;
    const [avg, max, min, sum, count] = await Promise.all(
      ['AVERAGE', 'MAXIMUM', 'MINIMUM', 'SUM', 'SAMPLE_COUNT'].map((s) => one(s, span)),
    );
    // one period covers the whole range
    expect(count.datapoints).toHaveLength(1);
    expect(count.datapoints[0]!.at).toBe(from.toISOString());
    const n = count.datapoints[0]!.value;
    // how many samples the range holds depends on the machine's speed; a running and an idle one at least
    expect(n).toBeGreaterThanOrEqual(2);
    expect(max.datapoints[0]!.value).toBe(1);
    expect(min.datapoints[0]!.value).toBe(0);
    expect(avg.datapoints[0]!.value).toBeCloseTo(sum.datapoints[0]!.value / n, 9);
    // per second: several datapoints, each at from + k s, oldest first, counts adding up
    const perSecond = await one('SAMPLE_COUNT', 1);
    expect(perSecond.datapoints.length).toBeGreaterThan(1);
    const offsets = perSecond.datapoints.map((d) => (Date.parse(d.at) - from.getTime()) / 1000);
    for (const o of offsets) expect(Number.isInteger(o)).toBe(true);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    expect(perSecond.datapoints.reduce((s, d) => s + d.value, 0)).toBe(n);
    const perSecondSum = await one('SUM', 1);
    expect(perSecondSum.datapoints.reduce((s, d) => s + d.value, 0)).toBe(sum.datapoints[0]!.value);
  });

  it('bad queries are refused with the field at fault', async () => {
    const from = new Date(Date.now() - 60_000).toISOString();
    const q = (vars: Record<string, unknown>) => server.gql(METRICS, { id: clusterId, names: ['IsIdle'], from, period: 60, ...vars });
    expectError(await q({ names: ['IsIdle', 'NoSuchMetric'] }), 'BAD_USER_INPUT', 'names.1');
    expectError(await q({ names: [] }), 'BAD_USER_INPUT', 'names');
    expectError(await q({ period: 0 }), 'BAD_USER_INPUT', 'periodSeconds');
    expectError(await q({ to: from }), 'BAD_USER_INPUT', 'to');
    expectError(await q({ from: new Date(Date.now() - 86_400_000).toISOString(), period: 1 }), 'BAD_USER_INPUT', 'periodSeconds');
    expectError(await q({ id: 'j-NOSUCHCLUSTER' }), 'NOT_FOUND', 'clusterId');
  });

  it('clusterMetricNames lists what rules and queries can read', async () => {
    const { clusterMetricNames } = await server.data(`{ clusterMetricNames { name description } }`);
    const names = clusterMetricNames.map((m: any) => m.name);
    for (const n of [
      'IsIdle',
      'AppsRunning',
      'AppsPending',
      'CoresFree',
      'MemoryAvailableMB',
      'CoreNodesRunning',
      'TaskNodesRequested',
      'NodeCpuPercent',
      'StepsRunning',
    ]) {
      expect(names).toContain(n);
    }
  });

  // last: it drops the samples the other tests read
  it('samples older than the retention are dropped', async () => {
    const names = ['IsIdle', 'StepsRunning'];
    const before = await metrics({ id: clusterId, names, from: start.toISOString(), period: 3600, stat: 'SAMPLE_COUNT' });
    expect(before.every((s) => s.datapoints.length === 1)).toBe(true);
    // samples being written while the prune runs may land just before it: look a second earlier
    const to = new Date(Date.now() - 1_000).toISOString();
    // as the leader's periodic prune would, a retention period later
    const dropped = await server.app.modules.clusters.metrics.prune(Date.now() + 168 * 3_600_000 + 60_000);
    expect(dropped).toBeGreaterThan(0);
    const after = await metrics({ id: clusterId, names, from: start.toISOString(), to, period: 3600, stat: 'SAMPLE_COUNT' });
    expect(after.map((s) => s.datapoints)).toEqual([[], []]);
  });
});
