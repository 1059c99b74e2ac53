// Scaling policies through the API: validation, automatic scaling rules firing on the cluster's own
// metrics (with their cooldown), managed scaling limits and idle shrink; every decision is a
// SCALING event, a resize and a scaling activity, and the nodes follow.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CORE,
  createCluster,
  expectError,
  Fixtures,
  gated,
  MASTER,
  masterScratch,
  TERMINATE_CLUSTERS,
  waitForCluster,
  waitForClusterState,
  waitForStepState,
} from '../support/api.js';
import { waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
const fixtures = new Fixtures();

beforeAll(async () => {
  server = await startTestServer({ agentMetricsMs: 250, metricsIntervalMs: 250, scalingCooldownSeconds: 1, scalingIdlePeriods: 3 });
});
afterEach(async () => {
  await fixtures.cleanup(server);
});
afterAll(async () => {
  await server?.close();
});

const PUT_MANAGED = `mutation($input: PutManagedScalingPolicyInput!) { putManagedScalingPolicy(input: $input) {
  cluster { id managedScalingPolicy { computeLimits { unitType minimumCapacityUnits maximumCapacityUnits maximumCoreCapacityUnits } } }
  managedScalingPolicy { computeLimits { unitType minimumCapacityUnits maximumCapacityUnits maximumCoreCapacityUnits } } } }`;
const REMOVE_MANAGED = `mutation($id: ID!) { removeManagedScalingPolicy(input: { clusterId: $id }) { cluster { id managedScalingPolicy { updatedAt } } } }`;
const PUT_AUTO = `mutation($input: PutAutoScalingPolicyInput!) { putAutoScalingPolicy(input: $input) {
  instanceGroup { id role autoScalingPolicy { constraints { minCapacity maxCapacity } } }
  autoScalingPolicy { constraints { minCapacity maxCapacity } rules { name description action { adjustmentType scalingAdjustment coolDown }
    trigger { comparisonOperator evaluationPeriods metricName period statistic threshold } } } } }`;
const REMOVE_AUTO = `mutation($input: RemoveAutoScalingPolicyInput!) { removeAutoScalingPolicy(input: $input) { instanceGroup { id autoScalingPolicy { updatedAt } } } }`;
const ADD = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id } } }`;
const CLUSTER = `query($id: ID!) { cluster(id: $id) { id state
  instanceGroups { id role instanceType requestedCount state autoScalingPolicy { constraints { minCapacity maxCapacity } } }
  instances { id groupId role state }
  scalingActivities(first: 100) { edges { cursor node { id at instanceGroupId fromCount toCount trigger ruleName reason } } pageInfo { hasNextPage } } } }`;
const EVENTS = `subscription($id: ID!) { clusterEvents(clusterId: $id) { cursor kind resourceId state message detail } }`;
const SAMPLES = `query($id: ID!, $from: DateTime!) { clusterMetrics(clusterId: $id, names: ["StepsRunning"], from: $from, periodSeconds: 3600, statistic: SAMPLE_COUNT) {
  datapoints { value } } }`;

const cluster = async (id: string) => (await server.data(CLUSTER, { id })).cluster;
const activities = async (id: string) => (await cluster(id)).scalingActivities.edges.map((e: any) => e.node);
const group = (c: any, role: string) => c.instanceGroups.find((g: any) => g.role === role);
const running = (c: any, groupId: string) => c.instances.filter((i: any) => i.groupId === groupId && i.state === 'RUNNING').length;
const live = (c: any, groupId: string) => c.instances.filter((i: any) => i.groupId === groupId && i.state !== 'TERMINATED').length;

/** How many samples the leader has taken of the cluster since `from` (one per metrics interval). */
async function samplesSince(id: string, from: string): Promise<number> {
  const [series] = (await server.data(SAMPLES, { id, from })).clusterMetrics;
  return series.datapoints.reduce((s: number, d: any) => s + d.value, 0);
}

function rule(name: string, over: { trigger?: Record<string, unknown>; action?: Record<string, unknown> } = {}) {
  return {
    name,
    action: { adjustmentType: 'CHANGE_IN_CAPACITY', scalingAdjustment: 1, coolDown: 0, ...over.action },
    trigger: {
      comparisonOperator: 'GREATER_THAN_OR_EQUAL',
      evaluationPeriods: 1,
      metricName: 'StepsRunning',
      period: 1,
      statistic: 'MAXIMUM',
      threshold: 1,
      ...over.trigger,
    },
  };
}

describe('validation', () => {
  let clusterId: string;
  let masterGroup: string;
  let coreGroup: string;
  beforeAll(async () => {
    clusterId = await createCluster(server, { name: 'scaling-validation', instanceGroups: [MASTER, CORE(1)] });
    const c = await cluster(clusterId);
    masterGroup = group(c, 'MASTER').id;
    coreGroup = group(c, 'CORE').id;
  });
  afterAll(async () => {
    await server.data(TERMINATE_CLUSTERS, { ids: [clusterId] });
  });

  const managed = (limits: Record<string, unknown>, id = clusterId) =>
    server.gql(PUT_MANAGED, {
      input: { clusterId: id, computeLimits: { unitType: 'INSTANCES', minimumCapacityUnits: 1, maximumCapacityUnits: 4, ...limits } },
    });
  const auto = (policy: Record<string, unknown>, groupId = coreGroup) =>
    server.gql(PUT_AUTO, {
      input: {
        clusterId,
        instanceGroupId: groupId,
        autoScalingPolicy: { constraints: { minCapacity: 1, maxCapacity: 3 }, rules: [rule('r')], ...policy },
      },
    });

  it("managed scaling limits are checked like EMR's", async () => {
    expectError(await managed({ minimumCapacityUnits: 0 }), 'BAD_USER_INPUT', 'input.computeLimits.minimumCapacityUnits');
    expectError(
      await managed({ minimumCapacityUnits: 3, maximumCapacityUnits: 2 }),
      'BAD_USER_INPUT',
      'input.computeLimits.maximumCapacityUnits',
    );
    expectError(await managed({ maximumCoreCapacityUnits: 5 }), 'BAD_USER_INPUT', 'input.computeLimits.maximumCoreCapacityUnits');
    expectError(await managed({ maximumCapacityUnits: 1000 }), 'BAD_USER_INPUT', 'input.computeLimits.maximumCapacityUnits');
    expectError(await managed({ unitType: 'VCPU' }), 'BAD_USER_INPUT', 'input.computeLimits.unitType');
    expectError(await managed({}, 'j-NOSUCHCLUSTER'), 'NOT_FOUND', 'input.clusterId');
    // nothing was stored by the refused calls
    expect(
      (await server.data(`query($id: ID!) { cluster(id: $id) { managedScalingPolicy { updatedAt } } }`, { id: clusterId })).cluster
        .managedScalingPolicy,
    ).toBeNull();
  });

  it('automatic scaling rules are checked field by field', async () => {
    expectError(await auto({}, masterGroup), 'BAD_USER_INPUT', 'input.instanceGroupId');
    expectError(await auto({}, 'ig-NOSUCHGROUP'), 'NOT_FOUND', 'input.instanceGroupId');
    expectError(
      await auto({ constraints: { minCapacity: 3, maxCapacity: 2 } }),
      'BAD_USER_INPUT',
      'input.autoScalingPolicy.constraints.maxCapacity',
    );
    expectError(
      await auto({ constraints: { minCapacity: -1, maxCapacity: 2 } }),
      'BAD_USER_INPUT',
      'input.autoScalingPolicy.constraints.minCapacity',
    );
    expectError(await auto({ rules: [] }), 'BAD_USER_INPUT', 'input.autoScalingPolicy.rules');
    expectError(await auto({ rules: [rule('a'), rule('a')] }), 'BAD_USER_INPUT', 'input.autoScalingPolicy.rules.1.name');
    expectError(
      await auto({ rules: [rule('a', { trigger: { metricName: 'Bogus' } })] }),
      'BAD_USER_INPUT',
      'input.autoScalingPolicy.rules.0.trigger.metricName',
    );
    expectError(
      await auto({ rules: [rule('a', { trigger: { evaluationPeriods: 0 } })] }),
      'BAD_USER_INPUT',
      'input.autoScalingPolicy.rules.0.trigger.evaluationPeriods',
    );
    expectError(
      await auto({ rules: [rule('a', { trigger: { period: 0 } })] }),
      'BAD_USER_INPUT',
      'input.autoScalingPolicy.rules.0.trigger.period',
    );
    expectError(
      await auto({ rules: [rule('a', { action: { scalingAdjustment: 0 } })] }),
      'BAD_USER_INPUT',
      'input.autoScalingPolicy.rules.0.action.scalingAdjustment',
    );
    expectError(
      await auto({ rules: [rule('a', { action: { adjustmentType: 'EXACT_CAPACITY', scalingAdjustment: -1 } })] }),
      'BAD_USER_INPUT',
      'input.autoScalingPolicy.rules.0.action.scalingAdjustment',
    );
    expectError(
      await auto({ rules: [rule('a', { action: { coolDown: -5 } })] }),
      'BAD_USER_INPUT',
      'input.autoScalingPolicy.rules.0.action.coolDown',
    );
    expect(group(await cluster(clusterId), 'CORE').autoScalingPolicy).toBeNull();
  });

  it('managed scaling and automatic scaling rules exclude each other', async () => {
    const put = await auto({});
    expect(put.errors).toBeUndefined();
    expect(put.data.putAutoScalingPolicy.autoScalingPolicy.rules[0]).toEqual({
      name: 'r',
      description: null,
      action: { adjustmentType: 'CHANGE_IN_CAPACITY', scalingAdjustment: 1, coolDown: 0 },
      trigger: {
        comparisonOperator: 'GREATER_THAN_OR_EQUAL',
        evaluationPeriods: 1,
        metricName: 'StepsRunning',
        period: 1,
        statistic: 'MAXIMUM',
        threshold: 1,
      },
    });
    expectError(await managed({}), 'CONFLICT', 'input.clusterId');
    await server.data(REMOVE_AUTO, { input: { clusterId, instanceGroupId: coreGroup } });
    expect((await managed({})).errors).toBeUndefined();
    expectError(await auto({}), 'CONFLICT', 'input.clusterId');
    const removed = await server.data(REMOVE_MANAGED, { id: clusterId });
    expect(removed.removeManagedScalingPolicy.cluster.managedScalingPolicy).toBeNull();
  });

  it('an ended cluster takes no policy', async () => {
    const id = await createCluster(server, { name: 'scaling-ended', instanceGroups: [MASTER] });
    await server.data(TERMINATE_CLUSTERS, { ids: [id] });
    await waitForClusterState(server, id, ['TERMINATED']);
    expectError(await managed({}, id), 'CONFLICT', 'input.clusterId');
  });
});

describe('automatic scaling rules', () => {
  it('a rule on StepsRunning grows the TASK group; its cooldown holds it; each decision is an event and an activity', async () => {
    const clusterId = fixtures.cluster(
      await createCluster(server, {
        name: 'auto-scaling',
        instanceGroups: [MASTER, CORE(1), { role: 'TASK', instanceType: 'm5.large', count: 0 }],
      }),
    );
    const events = fixtures.subscribe(fixtures.ws(server), EVENTS, { id: clusterId }, (d) => d.clusterEvents);
    await waitForClusterState(server, clusterId, ['WAITING']);
    const taskGroup = group(await cluster(clusterId), 'TASK').id;
    const put = (coolDown: number) =>
      server.data(PUT_AUTO, {
        input: {
          clusterId,
          instanceGroupId: taskGroup,
          autoScalingPolicy: { constraints: { minCapacity: 0, maxCapacity: 2 }, rules: [rule('busy', { action: { coolDown } })] },
        },
      });
    const { putAutoScalingPolicy } = await put(3600);
    expect(putAutoScalingPolicy.instanceGroup.autoScalingPolicy.constraints).toEqual({ minCapacity: 0, maxCapacity: 2 });
    // nothing runs yet: the rule has no reason to fire
    const gate = path.join(await masterScratch(server, clusterId), 'auto-gate');
    const [step] = (await server.data(ADD, { input: { clusterId, steps: [gated('hold', gate)] } })).addSteps.steps;
    await waitForStepState(server, step.id, ['RUNNING']);

    const first = await waitForCluster(server, clusterId, (c) => running(c, taskGroup) === 1, 'a TASK node running', {
      query: CLUSTER,
      timeoutMs: 60_000,
    });
    expect(group(first, 'TASK').requestedCount).toBe(1);
    const [activity] = first.scalingActivities.edges.map((e: any) => e.node);
    expect(activity).toMatchObject({ instanceGroupId: taskGroup, fromCount: 0, toCount: 1, trigger: 'AUTO_SCALING', ruleName: 'busy' });
    expect(activity.reason).toMatch(/StepsRunning MAXIMUM GREATER_THAN_OR_EQUAL 1/);
    const scaled = await events.waitFor((v) => v.some((e) => e.kind === 'SCALING' && e.state === 'SCALE_OUT'), 'a SCALE_OUT event');
    const event = scaled.find((e) => e.kind === 'SCALING' && e.state === 'SCALE_OUT')!;
    expect(event).toMatchObject({ resourceId: taskGroup, message: activity.reason });
    expect(event.detail).toMatchObject({
      activityId: Number(activity.id),
      from: 0,
      to: 1,
      trigger: 'AUTO_SCALING',
      ruleName: 'busy',
      role: 'TASK',
    });
    // the resize itself is in the same feed, right before the decision's event (one transaction)
    const idx = scaled.indexOf(event);
    expect(scaled[idx - 1]).toMatchObject({ kind: 'INSTANCE_GROUP', resourceId: taskGroup });
    expect(scaled[idx - 1].detail.requestedCount).toBe(1);

    // cooldown: StepsRunning stays at 1 for many more evaluations, and nothing else happens
    await waitUntil(async () => ((await samplesSince(clusterId, activity.at)) >= 8 ? true : null), 'eight more evaluations');
    const held = await cluster(clusterId);
    expect(held.scalingActivities.edges).toHaveLength(1);
    expect(group(held, 'TASK').requestedCount).toBe(1);

    // without the cooldown the same rule acts again, up to the constraint's maximum and no further
    await put(0);
    const second = await waitForCluster(server, clusterId, (c) => group(c, 'TASK').requestedCount === 2, 'the TASK group at 2', {
      query: CLUSTER,
    });
    const latest = second.scalingActivities.edges[0].node;
    expect(latest).toMatchObject({ fromCount: 1, toCount: 2, ruleName: 'busy' });
    await waitUntil(async () => ((await samplesSince(clusterId, latest.at)) >= 6 ? true : null), 'six more evaluations');
    expect(await activities(clusterId)).toHaveLength(2);

    // a rule on the way down: once the step ends, StepsRunning ≤ 0 shrinks the group to 0
    await server.data(PUT_AUTO, {
      input: {
        clusterId,
        instanceGroupId: taskGroup,
        autoScalingPolicy: {
          constraints: { minCapacity: 0, maxCapacity: 2 },
          rules: [
            rule('busy', { action: { coolDown: 3600 } }),
            rule('quiet', {
              trigger: { comparisonOperator: 'LESS_THAN_OR_EQUAL', threshold: 0, evaluationPeriods: 2 },
              action: { adjustmentType: 'EXACT_CAPACITY', scalingAdjustment: 0 },
            }),
          ],
        },
      },
    });
    writeFileSync(gate, '');
    await waitForStepState(server, step.id, ['COMPLETED']);
    const shrunk = await waitForCluster(server, clusterId, (c) => live(c, taskGroup) === 0, 'the TASK nodes stopped', {
      query: CLUSTER,
      timeoutMs: 60_000,
    });
    expect(shrunk.scalingActivities.edges[0].node).toMatchObject({ fromCount: 2, toCount: 0, ruleName: 'quiet' });
    await events.waitFor(
      (v) => v.some((e) => e.kind === 'SCALING' && e.state === 'SCALE_IN' && e.detail.ruleName === 'quiet'),
      'a SCALE_IN event',
    );
    const policyEvents = events.values.filter((e) => e.kind === 'SCALING' && e.state === 'AUTO_SCALING_POLICY_PUT');
    expect(policyEvents).toHaveLength(3);
  });
});

describe('managed scaling', () => {
  it('restores its limits with a TASK group of the CORE type, and shrinks TASK nodes once idle', async () => {
    const clusterId = fixtures.cluster(
      await createCluster(server, {
        name: 'managed',
        instanceGroups: [MASTER, { role: 'CORE', instanceType: 'c5.large', count: 1 }],
      }),
    );
    const events = fixtures.subscribe(fixtures.ws(server), EVENTS, { id: clusterId }, (d) => d.clusterEvents);
    const gate = path.join(await masterScratch(server, clusterId), 'managed-gate');
    // a running step keeps the cluster busy (IsIdle 0), so only the limits act at first
    const [step] = (await server.data(ADD, { input: { clusterId, steps: [gated('hold', gate)] } })).addSteps.steps;
    await waitForStepState(server, step.id, ['RUNNING']);
    const put = await server.data(PUT_MANAGED, {
      input: { clusterId, computeLimits: { minimumCapacityUnits: 3, maximumCapacityUnits: 5 } },
    });
    expect(put.putManagedScalingPolicy.managedScalingPolicy.computeLimits).toEqual({
      unitType: 'INSTANCES',
      minimumCapacityUnits: 3,
      maximumCapacityUnits: 5,
      maximumCoreCapacityUnits: null,
    });
    expect(put.putManagedScalingPolicy.cluster.managedScalingPolicy.computeLimits.minimumCapacityUnits).toBe(3);

    const grown = await waitForCluster(
      server,
      clusterId,
      (c) => group(c, 'TASK') && running(c, group(c, 'TASK').id) === 2,
      'two TASK nodes running',
      { query: CLUSTER, timeoutMs: 60_000 },
    );
    const task = group(grown, 'TASK');
    expect(task.instanceType).toBe('c5.large');
    expect(task.requestedCount).toBe(2);
    expect(grown.scalingActivities.edges.map((e: any) => e.node)).toEqual([
      expect.objectContaining({
        instanceGroupId: task.id,
        fromCount: 0,
        toCount: 2,
        trigger: 'MANAGED_SCALING',
        ruleName: null,
        reason: "capacity 1 below the policy's minimum (3)",
      }),
    ]);

    // lower limits: above the maximum shrinks TASK at once, even while busy
    await server.data(PUT_MANAGED, { input: { clusterId, computeLimits: { minimumCapacityUnits: 1, maximumCapacityUnits: 2 } } });
    const capped = await waitForCluster(server, clusterId, (c) => live(c, task.id) === 1, 'one TASK node left', {
      query: CLUSTER,
      timeoutMs: 60_000,
    });
    expect(capped.scalingActivities.edges[0].node).toMatchObject({
      fromCount: 2,
      toCount: 1,
      reason: "capacity 3 above the policy's maximum (2)",
    });

    // idle for 3 evaluation periods (SCALING_IDLE_PERIODS) after the step: TASK shrinks to the floor
    writeFileSync(gate, '');
    await waitForStepState(server, step.id, ['COMPLETED']);
    const idle = await waitForCluster(server, clusterId, (c) => live(c, task.id) === 0, 'no TASK node left', {
      query: CLUSTER,
      timeoutMs: 60_000,
    });
    expect(idle.scalingActivities.edges[0].node).toMatchObject({ fromCount: 1, toCount: 0, reason: 'idle for 3 evaluation periods' });
    expect(group(idle, 'CORE').requestedCount).toBe(1);
    const states = (
      await events.waitFor((v) => v.filter((e) => e.kind === 'SCALING' && e.state === 'SCALE_IN').length === 2, 'two SCALE_IN events')
    )
      .filter((e) => e.kind === 'SCALING')
      .map((e) => e.state);
    expect(states).toEqual(['MANAGED_SCALING_POLICY_PUT', 'SCALE_OUT', 'MANAGED_SCALING_POLICY_PUT', 'SCALE_IN', 'SCALE_IN']);

    await server.data(REMOVE_MANAGED, { id: clusterId });
    await events.waitFor((v) => v.some((e) => e.state === 'MANAGED_SCALING_POLICY_REMOVED'), 'the removal event');
  });
});
