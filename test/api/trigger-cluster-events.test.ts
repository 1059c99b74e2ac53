// CLUSTER_EVENTS triggers: step and cluster state changes delivered with EventBridge's
// "EMR Step Status Change" / "EMR Cluster State Change" shapes, filtered by cluster, kind and state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_CLUSTER, Fixtures, MASTER, TERMINATE_CLUSTERS, waitForClusterState, waitForStepState } from '../support/api.js';
import { checkAwsEvent } from '../support/aws-events.js';
import { deploy } from '../support/functions.js';
import { waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { createTrigger, deliveriesOf, waitForDeliveries } from '../support/triggers.js';

let server: TestServer;
const fixtures = new Fixtures();
beforeAll(async () => {
  server = await startTestServer();
  await deploy(server, {
    name: 'ce-rec',
    runtime: 'NODEJS20',
    handler: 'index.handler',
    code: { files: [{ path: 'index.js', content: RECORDER }] },
  });
});
afterAll(async () => {
  await fixtures.cleanup(server);
  await server?.close();
});

const RECORDER = `exports.handler = async (event) => ({ got: event['detail-type'], state: event.detail.state, event });`;
const ADD = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id name } } }`;
const detailOf = (d: any) => d.invocation.payload.detail;

async function newCluster(name: string): Promise<string> {
  const c = await server.data(CREATE_CLUSTER, { input: { name, instanceGroups: [MASTER] } });
  return fixtures.cluster(c.createCluster.cluster.id);
}

/** Waits for the catch-all trigger to deliver the cluster's TERMINATED: every earlier event of it was dispatched. */
async function terminateAndSettle(clusterId: string, catchAll: string): Promise<void> {
  await server.data(TERMINATE_CLUSTERS, { ids: [clusterId] });
  await waitUntil(
    async () =>
      (await deliveriesOf(server, catchAll)).some((d) => detailOf(d).clusterId === clusterId && detailOf(d).state === 'TERMINATED'),
    `${clusterId} TERMINATED to be delivered`,
  );
}

describe('CLUSTER_EVENTS triggers', () => {
  it('a step completing (and one failing) runs the function with the EMR Step Status Change event; other states and clusters are filtered out', async () => {
    await createTrigger(server, {
      name: 'ce-all-clusters',
      functionName: 'ce-rec',
      clusterEvents: { kinds: ['CLUSTER'], states: ['TERMINATED'] },
    });
    const clusterId = await newCluster('ce-steps');
    const other = await newCluster('ce-other');
    await waitForClusterState(server, clusterId, ['WAITING']);
    await waitForClusterState(server, other, ['WAITING']);
    await createTrigger(server, {
      name: 'ce-steps',
      functionName: 'ce-rec',
      clusterEvents: { clusterId, kinds: ['STEP'], states: ['COMPLETED', 'FAILED'] },
    });
    const added = (
      await server.data(ADD, {
        input: {
          clusterId,
          steps: [
            { name: 'good', command: { args: ['echo', 'hi'] } },
            { name: 'bad', command: { args: ['sh', '-c', 'exit 3'] }, actionOnFailure: 'CONTINUE' },
          ],
        },
      })
    ).addSteps.steps;
    await server.data(ADD, { input: { clusterId: other, steps: [{ name: 'elsewhere', command: { args: ['true'] } }] } });
    for (const s of added) await waitForStepState(server, s.id, ['COMPLETED', 'FAILED']);
    await terminateAndSettle(other, 'ce-all-clusters');
    await terminateAndSettle(clusterId, 'ce-all-clusters');

    const list = (await waitForDeliveries(server, 'ce-steps', 2)).sort(
      (a, b) => Date.parse(a.invocation.payload.time) - Date.parse(b.invocation.payload.time),
    );
    expect(list.map((d) => [detailOf(d).name, detailOf(d).state])).toEqual([
      ['good', 'COMPLETED'],
      ['bad', 'FAILED'],
    ]);
    const [good, bad] = list;
    expect(good.status).toBe('SUCCEEDED');
    expect(good.invocation.payload).toEqual({
      version: '0',
      id: good.eventId,
      'detail-type': 'EMR Step Status Change',
      source: 'aws.emr',
      account: '000000000000',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
      region: 'local',
      resources: [],
      detail: {
        severity: 'INFO',
        actionOnFailure: 'CONTINUE',
        stepId: added[0].id,
        name: 'good',
        clusterId,
        state: 'COMPLETED',
        previousState: 'RUNNING',
        message: expect.stringContaining(`Step ${added[0].id} (good) in cluster ${clusterId} (ce-steps) completed execution at `),
      },
    });
    expect(good.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // the function received it
    expect(good.invocation.response).toEqual({ got: 'EMR Step Status Change', state: 'COMPLETED', event: good.invocation.payload });
    // EventBridge's event as AWS's published model has it: every field but a replay's name
    expect(await checkAwsEvent('EventBridgeModel', good.invocation.response.event)).toEqual({ error: null, missing: ['replay-name'] });
    expect(detailOf(bad)).toEqual({
      severity: 'WARNING',
      actionOnFailure: 'CONTINUE',
      stepId: added[1].id,
      name: 'bad',
      clusterId,
      state: 'FAILED',
      previousState: 'RUNNING',
      failureReason: 'STEP_FAILURE',
      exitCode: 3,
      message: expect.stringMatching(
        new RegExp(
          `^Step ${added[1].id} \\(bad\\) in cluster ${clusterId} \\(ce-steps\\) failed at \\d{4}-.*Z\\. Reason: the step process exited with code 3$`,
        ),
      ),
    });
  });

  it('every cluster (no clusterId): the EMR Cluster State Change events of a cluster made after the trigger, in order', async () => {
    await createTrigger(server, { name: 'ce-lifecycle', functionName: 'ce-rec', clusterEvents: { kinds: ['CLUSTER'] } });
    const clusterId = await newCluster('ce-life');
    await waitForClusterState(server, clusterId, ['WAITING']);
    await terminateAndSettle(clusterId, 'ce-lifecycle');
    const delivered = (await waitForDeliveries(server, 'ce-lifecycle', 1)).filter((d) => detailOf(d).clusterId === clusterId);
    // one batch's deliveries share a time: the events' own previousState chains them
    const mine: any[] = [];
    for (let prev: string | null = null; ; ) {
      const next = delivered.find((d) => detailOf(d).previousState === prev);
      if (!next) break;
      mine.push(next);
      prev = detailOf(next).state;
    }
    expect(mine.length).toBe(delivered.length);
    const states = mine.map((d) => detailOf(d).state);
    // each exactly once, chained by previousState (no steps ran: EMR's cluster goes from BOOTSTRAPPING to WAITING)
    expect(states).toEqual(['STARTING', 'BOOTSTRAPPING', 'WAITING', 'TERMINATING', 'TERMINATED']);
    expect(mine[0].invocation.payload['detail-type']).toBe('EMR Cluster State Change');
    expect(await checkAwsEvent('EventBridgeModel', mine[0].invocation.response.event)).toEqual({ error: null, missing: ['replay-name'] });
    expect(detailOf(mine[mine.length - 1])).toMatchObject({
      severity: 'INFO',
      name: 'ce-life',
      clusterId,
      state: 'TERMINATED',
      stateChangeReason: expect.stringContaining('"code":"USER_REQUEST"'),
      message: expect.stringContaining(`Cluster ${clusterId} (ce-life) is TERMINATED`),
    });
    expect(mine.every((d) => d.status === 'SUCCEEDED')).toBe(true);
  });
});
