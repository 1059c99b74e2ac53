// Bootstrap actions: scripts from buckets run on every node before it joins (also on nodes added
// later); a failing one ends the cluster with BOOTSTRAP_FAILURE and the node's output.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CORE, createCluster, CREATE_CLUSTER, expectError, Fixtures, MASTER, waitForCluster, waitForClusterState } from '../support/api.js';
import { nodeDirOf } from '../../src/engine/agent/node-sandbox.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { putObject } from '../support/put-object.js';

const CLUSTER = `query($id: ID!) { cluster(id: $id) { id state stateChangeReason { code message }
  bootstrapActions { name path args } instanceGroups { id role }
  instances { id role state stateChangeReason { code message } } } }`;
const MODIFY = `mutation($input: ModifyInstanceGroupInput!) { modifyInstanceGroup(input: $input) { instanceGroup { id } } }`;

let server: TestServer;
const fixtures = new Fixtures();
beforeAll(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await fixtures.cleanup(server);
});
afterAll(async () => {
  await server?.close();
});

describe('bootstrap actions', () => {
  it('run in order on every node before it is RUNNING, with their args, also on a node added later', async () => {
    // each node's actions write in the node's own directory (their HOME), where the test reads them
    const sh = await putObject(server, 'boot', 'first.sh', 'echo "$@" > "$HOME/$1.$CLUSTER_INSTANCE_ID.sh"\n');
    const py = await putObject(
      server,
      'boot',
      'second.py',
      'import os, sys\nassert os.path.exists(os.path.join(os.environ["HOME"], sys.argv[1] + "." + os.environ["CLUSTER_INSTANCE_ID"] + ".sh"))\n' +
        'open(os.path.join(os.environ["HOME"], sys.argv[1] + "." + os.environ["CLUSTER_INSTANCE_ID"] + ".py"), "w").write(os.environ["BOOTSTRAP_ACTION_NAME"])\n',
    );
    const actions = [
      { name: 'first', path: sh, args: ['marker', 'two words'] },
      { name: 'second', path: py, args: ['marker'] },
    ];
    const markers = (i: { id: string }) => nodeDirOf(path.join(server.dataDir, 'instances', i.id));
    const id = fixtures.cluster(
      await createCluster(server, { name: 'boot', instanceGroups: [MASTER, CORE(1)], bootstrapActions: actions }),
    );
    let c = await waitForClusterState(server, id, ['WAITING'], { query: CLUSTER });
    expect(c.bootstrapActions).toEqual(actions);
    const ran = (i: { id: string }) =>
      existsSync(path.join(markers(i), `marker.${i.id}.py`)) &&
      readFileSync(path.join(markers(i), `marker.${i.id}.sh`), 'utf8') === 'marker two words\n' &&
      readFileSync(path.join(markers(i), `marker.${i.id}.py`), 'utf8') === 'second';
    expect(c.instances).toHaveLength(2);
    for (const i of c.instances) expect(ran(i), i.id).toBe(true);

    const core = c.instanceGroups.find((g: any) => g.role === 'CORE');
    await server.data(MODIFY, { input: { instanceGroupId: core.id, instanceCount: 2 } });
    c = await waitForCluster(server, id, (x) => x.instances.filter((i: any) => i.state === 'RUNNING').length === 3, '3 running nodes', {
      query: CLUSTER,
    });
    for (const i of c.instances) expect(ran(i), i.id).toBe(true);
  });

  it("a failing action ends the cluster TERMINATED_WITH_ERRORS (BOOTSTRAP_FAILURE) with the node's output", async () => {
    const ok = await putObject(server, 'boot', 'ok.sh', 'exit 0\n');
    const bad = await putObject(server, 'boot', 'bad', '#!/bin/sh\necho "installing things"\necho "disk full on purpose" >&2\nexit 3\n');
    const id = fixtures.cluster(
      await createCluster(server, {
        name: 'boot-fail',
        instanceGroups: [MASTER],
        bootstrapActions: [
          { name: 'ok', path: ok },
          { name: 'install', path: bad },
        ],
      }),
    );
    const c = await waitForClusterState(server, id, ['TERMINATED_WITH_ERRORS'], { query: CLUSTER });
    expect(c.stateChangeReason.code).toBe('BOOTSTRAP_FAILURE');
    expect(c.stateChangeReason.message).toContain(`On MASTER node ${c.instances[0].id}: bootstrap action "install" failed (exit code 3)`);
    expect(c.stateChangeReason.message).toContain('installing things\ndisk full on purpose');
    expect(c.instances[0]).toMatchObject({ state: 'TERMINATED', stateChangeReason: { code: 'BOOTSTRAP_FAILURE' } });
  });

  it('a node added later whose action fails is failed with BOOTSTRAP_FAILURE and replaced; the cluster keeps running', async () => {
    // the gate is the script itself: nodes read it when they start (they see nothing else of the host)
    const script = await putObject(server, 'boot', 'gated.sh', 'exit 0\n');
    const id = fixtures.cluster(
      await createCluster(server, {
        name: 'boot-later',
        instanceGroups: [MASTER, CORE(1)],
        bootstrapActions: [{ name: 'gated', path: script }],
      }),
    );
    let c = await waitForClusterState(server, id, ['WAITING'], { query: CLUSTER });
    await putObject(server, 'boot', 'gated.sh', 'echo "gate is closed"; exit 7\n');
    const core = c.instanceGroups.find((g: any) => g.role === 'CORE');
    await server.data(MODIFY, { input: { instanceGroupId: core.id, instanceCount: 2 } });
    c = await waitForCluster(
      server,
      id,
      (x) => x.instances.some((i: any) => i.stateChangeReason?.code === 'BOOTSTRAP_FAILURE'),
      'a failed bootstrap',
      { query: CLUSTER },
    );
    const failed = c.instances.find((i: any) => i.stateChangeReason?.code === 'BOOTSTRAP_FAILURE');
    expect(failed.state).toBe('TERMINATED');
    expect(failed.stateChangeReason.message).toContain('bootstrap action "gated" failed (exit code 7)');
    expect(failed.stateChangeReason.message).toContain('gate is closed');
    expect(c.state).toBe('WAITING');
    await putObject(server, 'boot', 'gated.sh', 'exit 0\n');
    c = await waitForCluster(
      server,
      id,
      (x) => x.instances.filter((i: any) => i.role === 'CORE' && i.state === 'RUNNING').length === 2,
      'the replacement running',
      { query: CLUSTER },
    );
    expect(c.state).toBe('WAITING');
  });

  it('are validated: at most 16, named, an existing script object, a known interpreter', async () => {
    const ok = await putObject(server, 'boot', 'ok.sh', 'exit 0\n');
    await putObject(server, 'boot', 'data.txt', 'not a script\n');
    const create = (bootstrapActions: unknown[]) =>
      server.gql(CREATE_CLUSTER, { input: { name: 'v', instanceGroups: [MASTER], bootstrapActions } });
    expectError(
      await create(Array.from({ length: 17 }, (_, i) => ({ name: `a${i}`, path: ok }))),
      'BAD_USER_INPUT',
      'input.bootstrapActions',
    );
    expectError(await create([{ name: ' ', path: ok }]), 'BAD_USER_INPUT', 'input.bootstrapActions.0.name');
    expectError(
      await create([
        { name: 'a', path: ok },
        { name: 'b', path: 's3://boot/missing.sh' },
      ]),
      'NOT_FOUND',
      'input.bootstrapActions.1.path',
    );
    expectError(await create([{ name: 'a', path: 'http://example.com/x.sh' }]), 'BAD_USER_INPUT', 'input.bootstrapActions.0.path');
    expectError(await create([{ name: 'a', path: 's3://boot/data.txt' }]), 'BAD_USER_INPUT', 'input.bootstrapActions.0.path');
    expectError(await create([{ name: 'a', path: 's3://boot/../x.sh' }]), 'BAD_USER_INPUT', 'input.bootstrapActions.0.path');
    // nothing was created
    expect(
      (await server.data(`{ clusters(first: 100) { edges { node { name } } } }`)).clusters.edges.filter((e: any) => e.node.name === 'v'),
    ).toEqual([]);
  });
});
