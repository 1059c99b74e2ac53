import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_CLUSTER, MASTER, allPages, waitForClusterState, waitForStepState } from '../support/api.js';
import { startTestServer, type TestServer } from '../support/server.js';

// Reports from node agents that the control plane fails to record are not lost: it closes the
// agent's socket, the agent reconnects and resends what was not acknowledged.
let server: TestServer;
let db: postgres.Sql;

beforeAll(async () => {
  server = await startTestServer();
  db = postgres(server.databaseUrl, { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await db?.end();
  await server?.close();
});

const MASTER_PID = `query($id: ID!) { cluster(id: $id) { instances { id pid } } }`;
const LOGS = `query($id: ID!, $after: String) { step(id: $id) { logs(first: 100, after: $after) {
  edges { node { cursor stream text } } pageInfo { hasNextPage endCursor } } } }`;

/** Makes the next `times` writes matching `condition` on `table` fail (a sequence is not rolled back). */
async function failNext(name: string, table: string, condition: string, times: number) {
  await db.unsafe(`
    create sequence ${name}_seq;
    create function ${name}_fn() returns trigger language plpgsql as $$
    begin
      if (${condition}) and nextval('${name}_seq') <= ${times} then
        raise exception 'injected failure (${name})';
      end if;
      return new;
    end $$;
    create trigger ${name} before insert or update on ${table} for each row execute function ${name}_fn();`);
}

describe('reports that could not be recorded', () => {
  it('a step exit and a log batch that failed to store are resent; the step completes with every line once', async () => {
    const { createCluster } = await server.data(CREATE_CLUSTER, { input: { name: 'resilience', instanceGroups: [MASTER] } });
    const clusterId = createCluster.cluster.id;
    await waitForClusterState(server, clusterId, ['WAITING']);
    const [master] = (await server.data(MASTER_PID, { id: clusterId })).cluster.instances;
    // the first batch of output lines and the first COMPLETED transition both fail once
    await failNext('fail_log', 'log_lines', `new.stream = 1`, 1);
    await failNext('fail_exit', 'steps', `new.state = 'COMPLETED'`, 1);
    const { addSteps } = await server.data(`mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id } } }`, {
      input: { clusterId, steps: [{ name: 'lines', command: { args: ['sh', '-c', 'for i in 1 2 3 4 5; do echo line $i; done'] } }] },
    });
    const stepId = addSteps.steps[0].id;
    const step = await waitForStepState(server, stepId, ['COMPLETED', 'FAILED', 'INTERRUPTED', 'CANCELLED']);
    expect(step.state).toBe('COMPLETED');
    const lines = await allPages(async (after) => (await server.data(LOGS, { id: stepId, after })).step.logs);
    expect(lines.filter((l: any) => l.stream === 'STDOUT').map((l: any) => l.text)).toEqual([
      'line 1',
      'line 2',
      'line 3',
      'line 4',
      'line 5',
    ]);
    expect(lines.map((l: any) => Number(l.cursor))).toEqual(lines.map((_: unknown, i: number) => i + 1));
    // both failures really happened (the sequences moved past them) and the same agent carried on
    const [{ n: logFailures }] = await db`select last_value as n from fail_log_seq`;
    const [{ n: exitFailures }] = await db`select last_value as n from fail_exit_seq`;
    expect(Number(logFailures)).toBeGreaterThanOrEqual(1);
    expect(Number(exitFailures)).toBeGreaterThanOrEqual(1);
    const [after] = (await server.data(MASTER_PID, { id: clusterId })).cluster.instances;
    expect(after.pid).toBe(master.pid);
    expect((await waitForClusterState(server, clusterId, ['WAITING'])).state).toBe('WAITING');
    await db.unsafe('drop trigger fail_log on log_lines; drop trigger fail_exit on steps');
  });
});
