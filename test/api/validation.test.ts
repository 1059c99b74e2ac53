import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allClusterIds,
  allPages,
  CORE,
  CREATE_CLUSTER as CREATE,
  createCluster,
  expectError,
  getCluster,
  MASTER,
  TERMINATE_CLUSTERS as TERMINATE,
  waitForClusterState,
} from '../support/api.js';
import { waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;

const ADD_STEPS = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id state } } }`;
const PROTECT = `mutation($ids: [ID!]!, $on: Boolean!) { setTerminationProtection(input: { ids: $ids, terminationProtected: $on }) { clusters { id terminationProtected } } }`;
const MODIFY = `mutation($input: ModifyInstanceGroupInput!) { modifyInstanceGroup(input: $input) { instanceGroup { id requestedCount state } } }`;
const CANCEL = `mutation($input: CancelStepsInput!) { cancelSteps(input: $input) { results { stepId status reason } } }`;
const CLUSTER = `query($id: ID!) { cluster(id: $id) { id state terminationProtected stateChangeReason { code }
  instanceGroups { id role requestedCount state } instances { id role state } } }`;
const STEP_PAGE = `query($id: ID!, $after: String) { cluster(id: $id) { steps(first: 100, after: $after) {
  edges { node { id state } } pageInfo { hasNextPage endCursor } } } }`;

const cmd = (name: string, args: string[] = ['true']) => ({ name, command: { args } });

/** Every cluster id, sorted. */
const sortedClusterIds = async () => (await allClusterIds(server)).sort();

async function allSteps(clusterId: string): Promise<Array<{ id: string; state: string }>> {
  return allPages(async (after) => (await server.data(STEP_PAGE, { id: clusterId, after })).cluster.steps);
}

const cluster = (id: string) => getCluster(server, id, CLUSTER);
const waitForState = (id: string, states: string[]) => waitForClusterState(server, id, states, { query: CLUSTER });

/** A createCluster that must be refused with `code`/`field` and leave the set of clusters as it was. */
async function expectCreateRefused(input: Record<string, unknown>, code: string, field: string) {
  const before = await sortedClusterIds();
  const res = await server.gql(CREATE, { input });
  expectError(res, code, field);
  expect(res.data ?? null).toBeNull();
  expect(await sortedClusterIds()).toEqual(before);
}

/** An addSteps that must be refused and add no step to the cluster. */
async function expectAddRefused(clusterId: string, steps: unknown[], code: string, field: string) {
  const ids = async () => (await allSteps(clusterId)).map((s) => s.id);
  const before = await ids();
  const res = await server.gql(ADD_STEPS, { input: { clusterId, steps } });
  expectError(res, code, field);
  expect(res.data ?? null).toBeNull();
  expect(await ids()).toEqual(before);
}

// `live`: WAITING, MASTER + CORE(1), keeps running for the whole file; `ended`: TERMINATED.
let live: string;
let liveMasterGroup: string;
let liveCoreGroup: string;
let ended: string;
let endedCoreGroup: string;

beforeAll(async () => {
  server = await startTestServer();
  live = await createCluster(server, { name: 'validation-live', instanceGroups: [MASTER, CORE(1)] });
  ended = await createCluster(server, { name: 'validation-ended', instanceGroups: [MASTER, CORE(1)] });
  const l = await waitForState(live, ['WAITING']);
  liveMasterGroup = l.instanceGroups.find((g: any) => g.role === 'MASTER').id;
  liveCoreGroup = l.instanceGroups.find((g: any) => g.role === 'CORE').id;
  await server.data(TERMINATE, { ids: [ended] });
  const e = await waitForState(ended, ['TERMINATED']);
  endedCoreGroup = e.instanceGroups.find((g: any) => g.role === 'CORE').id;
});
afterAll(async () => {
  if (live) await server.data(TERMINATE, { ids: [live] }).catch(() => {});
  if (live) await waitForState(live, ['TERMINATED']).catch(() => {});
  await server?.close();
});

describe('unknown ids', () => {
  it('cluster(id) of an unknown id is null, not an error', async () => {
    const res = await server.gql(`query($id: ID!) { cluster(id: $id) { id } }`, { id: 'j-doesnotexist' });
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ cluster: null });
    const step = await server.gql(`query($id: ID!) { step(id: $id) { id } }`, { id: 's-doesnotexist' });
    expect(step.errors).toBeUndefined();
    expect(step.data).toEqual({ step: null });
  });

  it('ids and cursors the database cannot even compare (NUL, far-off dates) are BAD_USER_INPUT, not INTERNAL', async () => {
    expectError(await server.gql(`query($id: ID!) { cluster(id: $id) { id } }`, { id: 'j-\u0000x' }), 'BAD_USER_INPUT');
    const farPast = Buffer.from('-999999-01-01T00:00:00.000Z|j-x').toString('base64url');
    const res = await server.gql(`query($after: String) { clusters(after: $after) { edges { node { id } } } }`, { after: farPast });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('addSteps to an unknown cluster is NOT_FOUND', async () => {
    const res = await server.gql(ADD_STEPS, { input: { clusterId: 'j-doesnotexist', steps: [cmd('x')] } });
    expectError(res, 'NOT_FOUND', 'input.clusterId');
  });

  it('terminateClusters with an unknown id is NOT_FOUND for that id, and terminates nothing', async () => {
    const res = await server.gql(TERMINATE, { ids: [live, 'j-doesnotexist'] });
    expectError(res, 'NOT_FOUND', 'input.ids.1');
    expect((await cluster(live)).state).toBe('WAITING');
  });

  it('modifyInstanceGroup of an unknown group, or a group of another cluster, is NOT_FOUND', async () => {
    expectError(
      await server.gql(MODIFY, { input: { instanceGroupId: 'ig-doesnotexist', instanceCount: 2 } }),
      'NOT_FOUND',
      'input.instanceGroupId',
    );
    expectError(
      await server.gql(MODIFY, { input: { clusterId: ended, instanceGroupId: liveCoreGroup, instanceCount: 2 } }),
      'NOT_FOUND',
      'input.instanceGroupId',
    );
    const groups = (await cluster(live)).instanceGroups;
    expect(groups.find((g: any) => g.id === liveCoreGroup).requestedCount).toBe(1);
  });

  it('cancelSteps on an unknown cluster is NOT_FOUND; unknown step ids of a real cluster are reported per step', async () => {
    expectError(await server.gql(CANCEL, { input: { clusterId: 'j-doesnotexist', stepIds: ['s-x'] } }), 'NOT_FOUND', 'input.clusterId');
    const res = await server.data(CANCEL, { input: { clusterId: live, stepIds: ['s-doesnotexist'] } });
    expect(res.cancelSteps.results).toEqual([
      { stepId: 's-doesnotexist', status: 'FAILED', reason: expect.stringContaining('does not exist') },
    ]);
  });
});

describe('createCluster input', () => {
  it('the MASTER group must have exactly one instance', async () => {
    await expectCreateRefused({ name: 'm0', instanceGroups: [{ ...MASTER, count: 0 }] }, 'BAD_USER_INPUT', 'input.instanceGroups.0.count');
    await expectCreateRefused({ name: 'm2', instanceGroups: [{ ...MASTER, count: 2 }] }, 'BAD_USER_INPUT', 'input.instanceGroups.0.count');
    await expectCreateRefused(
      { name: 'm2', instanceGroups: [CORE(1), { ...MASTER, count: 2 }] },
      'BAD_USER_INPUT',
      'input.instanceGroups.1.count',
    );
  });

  it('exactly one MASTER group', async () => {
    await expectCreateRefused({ name: 'nomaster', instanceGroups: [CORE(2)] }, 'BAD_USER_INPUT', 'input.instanceGroups');
    await expectCreateRefused({ name: 'twomasters', instanceGroups: [MASTER, MASTER] }, 'BAD_USER_INPUT', 'input.instanceGroups');
    await expectCreateRefused({ name: 'nogroups', instanceGroups: [] }, 'BAD_USER_INPUT', 'input.instanceGroups');
  });

  it('CORE counts: negative and huge are refused', async () => {
    await expectCreateRefused({ name: 'neg', instanceGroups: [MASTER, CORE(-1)] }, 'BAD_USER_INPUT', 'input.instanceGroups.1.count');
    await expectCreateRefused({ name: 'huge', instanceGroups: [MASTER, CORE(10_000)] }, 'BAD_USER_INPUT', 'input.instanceGroups.1.count');
    // no single group too big, but the cluster is (three groups of 64 plus the master)
    await expectCreateRefused(
      { name: 'sum', instanceGroups: [MASTER, CORE(64), CORE(64), { ...CORE(64), role: 'TASK' }] },
      'BAD_USER_INPUT',
      'input.instanceGroups',
    );
  });

  it('unknown instance type names the group', async () => {
    await expectCreateRefused(
      { name: 'type', instanceGroups: [MASTER, { ...CORE(1), instanceType: 'x9.mega' }] },
      'BAD_USER_INPUT',
      'input.instanceGroups.1.instanceType',
    );
    await expectCreateRefused(
      { name: 'type', instanceGroups: [{ ...MASTER, instanceType: '' }] },
      'BAD_USER_INPUT',
      'input.instanceGroups.0.instanceType',
    );
  });

  it('step commands: empty argv, empty program', async () => {
    await expectCreateRefused(
      { name: 's', instanceGroups: [MASTER], steps: [{ name: 'a', command: { args: [] } }] },
      'BAD_USER_INPUT',
      'input.steps.0.command.args',
    );
    await expectCreateRefused(
      { name: 's', instanceGroups: [MASTER], steps: [cmd('ok'), { name: 'b', command: { args: [''] } }] },
      'BAD_USER_INPUT',
      'input.steps.1.command.args.0',
    );
    await expectCreateRefused(
      { name: 's', instanceGroups: [MASTER], steps: [{ name: 'b', command: { args: ['  ', 'x'] } }] },
      'BAD_USER_INPUT',
      'input.steps.0.command.args.0',
    );
  });

  it('a step needs exactly one of command, script, spark, sql', async () => {
    await expectCreateRefused({ name: 's', instanceGroups: [MASTER], steps: [{ name: 'none' }] }, 'BAD_USER_INPUT', 'input.steps.0');
    await expectCreateRefused(
      { name: 's', instanceGroups: [MASTER], steps: [{ name: 'two', command: { args: ['true'] }, script: { uri: 's3://b/k.sh' } }] },
      'BAD_USER_INPUT',
      'input.steps.0',
    );
    await expectCreateRefused(
      { name: 's', instanceGroups: [MASTER], steps: [{ name: 'two', command: { args: ['true'] }, sql: { query: 'select 1' } }] },
      'BAD_USER_INPUT',
      'input.steps.0',
    );
    // kinds this engine does not run yet are refused, not ignored
    await expectCreateRefused(
      { name: 's', instanceGroups: [MASTER], steps: [{ name: 'sp', spark: { appUri: 's3://b/app.py' } }] },
      'BAD_USER_INPUT',
      'input.steps.0.spark',
    );
  });

  it('names: empty, blank, 10,000 characters, control characters', async () => {
    await expectCreateRefused({ name: '', instanceGroups: [MASTER] }, 'BAD_USER_INPUT', 'input.name');
    await expectCreateRefused({ name: '   ', instanceGroups: [MASTER] }, 'BAD_USER_INPUT', 'input.name');
    await expectCreateRefused({ name: 'n'.repeat(10_000), instanceGroups: [MASTER] }, 'BAD_USER_INPUT', 'input.name');
    await expectCreateRefused({ name: 'line\nbreak', instanceGroups: [MASTER] }, 'BAD_USER_INPUT', 'input.name');
    await expectCreateRefused({ name: 'bell\u0007', instanceGroups: [MASTER] }, 'BAD_USER_INPUT', 'input.name');
    await expectCreateRefused({ name: 'ok', instanceGroups: [MASTER], steps: [cmd('tab\there')] }, 'BAD_USER_INPUT', 'input.steps.0.name');
    await expectCreateRefused({ name: 'ok', instanceGroups: [MASTER], steps: [cmd('')] }, 'BAD_USER_INPUT', 'input.steps.0.name');
  });

  it('clientToken over 64 characters', async () => {
    await expectCreateRefused(
      { name: 'tok', instanceGroups: [MASTER], clientToken: 't'.repeat(65) },
      'BAD_USER_INPUT',
      'input.clientToken',
    );
  });

  it('stepConcurrencyLevel 1..256, idle timeout at least 60 s', async () => {
    await expectCreateRefused(
      { name: 'c', instanceGroups: [MASTER], stepConcurrencyLevel: 0 },
      'BAD_USER_INPUT',
      'input.stepConcurrencyLevel',
    );
    await expectCreateRefused(
      { name: 'c', instanceGroups: [MASTER], stepConcurrencyLevel: 257 },
      'BAD_USER_INPUT',
      'input.stepConcurrencyLevel',
    );
    await expectCreateRefused(
      { name: 'i', instanceGroups: [MASTER], autoTerminationIdleTimeoutSeconds: 59 },
      'BAD_USER_INPUT',
      'input.autoTerminationIdleTimeoutSeconds',
    );
    await expectCreateRefused(
      { name: 'i', instanceGroups: [MASTER], autoTerminationIdleTimeoutSeconds: 604_801 },
      'BAD_USER_INPUT',
      'input.autoTerminationIdleTimeoutSeconds',
    );
  });

  it('with stepConcurrencyLevel > 1 only CONTINUE is allowed', async () => {
    await expectCreateRefused(
      {
        name: 'aof',
        instanceGroups: [MASTER],
        stepConcurrencyLevel: 2,
        steps: [cmd('fine'), { ...cmd('caw'), actionOnFailure: 'CANCEL_AND_WAIT' }],
      },
      'BAD_USER_INPUT',
      'input.steps.1.actionOnFailure',
    );
    await expectCreateRefused(
      {
        name: 'aof',
        instanceGroups: [MASTER],
        stepConcurrencyLevel: 2,
        steps: [{ ...cmd('tc'), actionOnFailure: 'TERMINATE_CLUSTER' }],
      },
      'BAD_USER_INPUT',
      'input.steps.0.actionOnFailure',
    );
  });

  it('unknown applications are refused, and SQL steps need DUCKDB among the applications', async () => {
    await expectCreateRefused({ name: 'hive', instanceGroups: [MASTER], applications: ['HIVE'] }, 'BAD_USER_INPUT', 'input.applications.0');
    const sqlStep = { name: 'q', sql: { query: 'SELECT 1', outputUri: 's3://out/x.csv' } };
    await expectCreateRefused({ name: 'duckless', instanceGroups: [MASTER], steps: [sqlStep] }, 'BAD_USER_INPUT', 'input.steps.0.sql');
  });

  it('257 steps in one createCluster is too many', async () => {
    const steps = Array.from({ length: 257 }, (_, i) => cmd(`s${i}`));
    await expectCreateRefused({ name: 'many', instanceGroups: [MASTER], steps }, 'BAD_USER_INPUT', 'input.steps');
  });

  it('env must be an object of strings with valid names', async () => {
    const withEnv = (env: unknown) => ({ name: 'env', instanceGroups: [MASTER], steps: [{ name: 'e', command: { args: ['env'], env } }] });
    await expectCreateRefused(withEnv({ GOOD: 'x', COUNT: 1 }), 'BAD_USER_INPUT', 'input.steps.0.command.env.COUNT');
    await expectCreateRefused(withEnv({ NESTED: { a: 'b' } }), 'BAD_USER_INPUT', 'input.steps.0.command.env.NESTED');
    await expectCreateRefused(withEnv({ '1BAD': 'x' }), 'BAD_USER_INPUT', 'input.steps.0.command.env.1BAD');
    await expectCreateRefused(withEnv({ 'WITH=EQUALS': 'x' }), 'BAD_USER_INPUT', 'input.steps.0.command.env.WITH=EQUALS');
    await expectCreateRefused(withEnv(['A=b']), 'BAD_USER_INPUT', 'input.steps.0.command.env');
    await expectCreateRefused(withEnv('A=b'), 'BAD_USER_INPUT', 'input.steps.0.command.env');
  });
});

describe('GraphQL coercion errors', () => {
  it('a wrong enum value in variables is BAD_USER_INPUT naming the path', async () => {
    const before = await sortedClusterIds();
    const res = await server.gql(CREATE, { input: { name: 'enum', instanceGroups: [MASTER, { ...CORE(1), role: 'BOSS' }] } });
    expectError(res, 'BAD_USER_INPUT', 'input.instanceGroups.1.role');
    const aof = await server.gql(CREATE, {
      input: { name: 'enum', instanceGroups: [MASTER], steps: [{ ...cmd('a'), actionOnFailure: 'RETRY' }] },
    });
    expectError(aof, 'BAD_USER_INPUT', 'input.steps.0.actionOnFailure');
    expect(await sortedClusterIds()).toEqual(before);
  });

  it('a wrong type in variables is BAD_USER_INPUT naming the path', async () => {
    const before = await sortedClusterIds();
    expectError(
      await server.gql(CREATE, { input: { name: 'type', instanceGroups: [{ ...MASTER, count: 'one' }] } }),
      'BAD_USER_INPUT',
      'input.instanceGroups.0.count',
    );
    expectError(
      await server.gql(CREATE, { input: { name: 'type', instanceGroups: [{ ...MASTER, count: 1.5 }] } }),
      'BAD_USER_INPUT',
      'input.instanceGroups.0.count',
    );
    expectError(await server.gql(CREATE, { input: { name: 42, instanceGroups: [MASTER] } }), 'BAD_USER_INPUT', 'input.name');
    expectError(
      await server.gql(CREATE, { input: { name: 'type', instanceGroups: [MASTER], stepConcurrencyLevel: '2' } }),
      'BAD_USER_INPUT',
      'input.stepConcurrencyLevel',
    );
    expectError(
      await server.gql(CREATE, { input: { name: 'type', instanceGroups: [MASTER], steps: [{ name: 'a', command: { args: [1] } }] } }),
      'BAD_USER_INPUT',
      'input.steps.0.command.args.0',
    );
    // a missing required field names where it is missing
    expectError(await server.gql(CREATE, { input: { instanceGroups: [MASTER] } }), 'BAD_USER_INPUT', 'input');
    expect(await sortedClusterIds()).toEqual(before);
  });
});

describe('addSteps', () => {
  it('refuses bad steps and adds none of the batch', async () => {
    await expectAddRefused(live, [cmd('good'), { name: 'bad', command: { args: [] } }], 'BAD_USER_INPUT', 'input.steps.1.command.args');
    await expectAddRefused(live, [], 'BAD_USER_INPUT', 'input.steps');
    await expectAddRefused(
      live,
      [{ name: 'e', command: { args: ['env'], env: { X: true } } }],
      'BAD_USER_INPUT',
      'input.steps.0.command.env.X',
    );
    await expectAddRefused(
      live,
      Array.from({ length: 257 }, (_, i) => cmd(`s${i}`)),
      'BAD_USER_INPUT',
      'input.steps',
    );
  });

  it('on a TERMINATED cluster is a CONFLICT', async () => {
    await expectAddRefused(ended, [cmd('late')], 'CONFLICT', 'input.clusterId');
  });

  it('a cluster holds at most 256 PENDING or RUNNING steps', async () => {
    const busy = await createCluster(server, {
      name: 'validation-busy',
      instanceGroups: [MASTER],
      stepConcurrencyLevel: 1,
      steps: [cmd('long', ['sleep', '30'])],
    });
    try {
      await waitUntil(async () => (await allSteps(busy))[0]?.state === 'RUNNING', 'the long step to run', 30_000);
      const first = await server.data(ADD_STEPS, {
        input: { clusterId: busy, steps: Array.from({ length: 255 }, (_, i) => cmd(`p${i}`)) },
      });
      expect(first.addSteps.steps).toHaveLength(255);
      const steps = await allSteps(busy);
      expect(steps).toHaveLength(256);
      // the sleep holds the only slot: nothing else can have started
      expect(steps.filter((s) => s.state === 'PENDING')).toHaveLength(255);
      expect(steps.at(-1)!.state).toBe('RUNNING');

      await expectAddRefused(busy, [cmd('one-more'), cmd('two-more')], 'BAD_USER_INPUT', 'input.steps');
      await expectAddRefused(busy, [cmd('one-more')], 'BAD_USER_INPUT', 'input.steps');
      expect(await allSteps(busy)).toHaveLength(256);
    } finally {
      await server.data(TERMINATE, { ids: [busy] });
    }
    const done = await waitForState(busy, ['TERMINATED']);
    expect(done.stateChangeReason.code).toBe('USER_REQUEST');
    const steps = await allSteps(busy);
    expect(steps).toHaveLength(256);
    expect(steps.filter((s) => s.state === 'CANCELLED')).toHaveLength(255);
  });
});

describe('termination protection', () => {
  it('a protected cluster is not terminated, alone or with others (all or nothing); unprotected it is', async () => {
    const a = await createCluster(server, { name: 'validation-unprotected', instanceGroups: [MASTER] });
    const b = await createCluster(server, { name: 'validation-protected', instanceGroups: [MASTER], terminationProtected: true });
    await waitForState(a, ['WAITING']);
    expect((await waitForState(b, ['WAITING'])).terminationProtected).toBe(true);

    expectError(await server.gql(TERMINATE, { ids: [b] }), 'CONFLICT', 'input.ids.0');
    expectError(await server.gql(TERMINATE, { ids: [a, b] }), 'CONFLICT', 'input.ids.1');
    for (const id of [a, b]) {
      const c = await cluster(id);
      expect(c.state).toBe('WAITING');
      expect(c.stateChangeReason?.code ?? null).toBeNull();
      expect(c.instances.map((i: any) => i.state)).toEqual(['RUNNING']);
    }

    const off = await server.data(PROTECT, { ids: [b], on: false });
    expect(off.setTerminationProtection.clusters).toEqual([{ id: b, terminationProtected: false }]);
    const res = await server.data(TERMINATE, { ids: [a, b] });
    expect(res.terminateClusters.clusters.map((c: any) => c.state)).toEqual(['TERMINATING', 'TERMINATING']);
    await waitForState(a, ['TERMINATED']);
    await waitForState(b, ['TERMINATED']);
  });

  it('a failing TERMINATE_CLUSTER step does not end a protected cluster: it cancels the rest and waits', async () => {
    const id = await createCluster(server, { name: 'validation-protected-failure', instanceGroups: [MASTER], terminationProtected: true });
    await waitForState(id, ['WAITING']);
    await server.data(ADD_STEPS, {
      input: {
        clusterId: id,
        steps: [{ name: 'fails', actionOnFailure: 'TERMINATE_CLUSTER', command: { args: ['sh', '-c', 'exit 4'] } }, cmd('never')],
      },
    });
    const c = await waitForState(id, ['WAITING', 'TERMINATING', 'TERMINATED_WITH_ERRORS']);
    expect(c.state).toBe('WAITING');
    const { cluster: after } = await server.data(`query($id: ID!) { cluster(id: $id) { steps { edges { node { name state } } } } }`, {
      id,
    });
    expect(after.steps.edges.map((e: any) => [e.node.name, e.node.state])).toEqual([
      ['never', 'CANCELLED'],
      ['fails', 'FAILED'],
    ]);
    await server.data(PROTECT, { ids: [id], on: false });
    await server.data(TERMINATE, { ids: [id] });
  });

  it('setTerminationProtection on an ended or unknown cluster is refused', async () => {
    expectError(await server.gql(PROTECT, { ids: [ended], on: true }), 'CONFLICT', 'input.ids.0');
    expectError(await server.gql(PROTECT, { ids: [live, 'j-doesnotexist'], on: true }), 'NOT_FOUND', 'input.ids.1');
    expect((await cluster(live)).terminationProtected).toBe(false);
  });
});

describe('modifyInstanceGroup', () => {
  it('the MASTER group cannot be resized', async () => {
    const res = await server.gql(MODIFY, { input: { clusterId: live, instanceGroupId: liveMasterGroup, instanceCount: 2 } });
    expectError(res, 'BAD_USER_INPUT', 'input.instanceCount');
    const c = await cluster(live);
    expect(c.instanceGroups.find((g: any) => g.role === 'MASTER')).toMatchObject({ requestedCount: 1, state: 'RUNNING' });
    expect(c.instances.filter((i: any) => i.role === 'MASTER')).toHaveLength(1);
  });

  it('counts out of range are refused', async () => {
    expectError(
      await server.gql(MODIFY, { input: { clusterId: live, instanceGroupId: liveCoreGroup, instanceCount: -1 } }),
      'BAD_USER_INPUT',
      'input.instanceCount',
    );
    expectError(
      await server.gql(MODIFY, { input: { clusterId: live, instanceGroupId: liveCoreGroup, instanceCount: 10_000 } }),
      'BAD_USER_INPUT',
      'input.instanceCount',
    );
    const c = await cluster(live);
    expect(c.instanceGroups.find((g: any) => g.id === liveCoreGroup)).toMatchObject({ requestedCount: 1, state: 'RUNNING' });
  });

  it('a group of a terminated cluster is a CONFLICT', async () => {
    const res = await server.gql(MODIFY, { input: { clusterId: ended, instanceGroupId: endedCoreGroup, instanceCount: 2 } });
    expectError(res, 'CONFLICT', 'input.instanceGroupId');
    const c = await cluster(ended);
    expect(c.instanceGroups.find((g: any) => g.id === endedCoreGroup)).toMatchObject({ requestedCount: 1, state: 'TERMINATED' });
    expect(c.instances.every((i: any) => i.state === 'TERMINATED')).toBe(true);
  });
});

describe('paging arguments', () => {
  it('first over 100 or negative is BAD_USER_INPUT', async () => {
    expectError(await server.gql(`{ clusters(first: 101) { edges { node { id } } } }`), 'BAD_USER_INPUT', 'first');
    expectError(await server.gql(`{ clusters(first: -1) { edges { node { id } } } }`), 'BAD_USER_INPUT', 'first');
    const steps = await server.gql(`query($id: ID!) { cluster(id: $id) { steps(first: 101) { edges { node { id } } } } }`, { id: live });
    expectError(steps, 'BAD_USER_INPUT', 'first');
  });

  it('a cursor this API did not return is BAD_USER_INPUT', async () => {
    for (const after of ['garbage', Buffer.from('not-a-date|j-1').toString('base64url')]) {
      expectError(
        await server.gql(`query($after: String) { clusters(after: $after) { edges { node { id } } } }`, { after }),
        'BAD_USER_INPUT',
        'after',
      );
    }
    const steps = await server.gql(`query($id: ID!) { cluster(id: $id) { steps(after: "nope") { edges { node { id } } } } }`, { id: live });
    expectError(steps, 'BAD_USER_INPUT', 'after');
  });
});
