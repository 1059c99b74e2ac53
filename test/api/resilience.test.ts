import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_CLUSTER, ENDED_STEP_STATES, MASTER, allPages, waitForClusterState, waitForStepState } from '../support/api.js';
import { waitUntil } from '../support/processes.js';
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

const ADD_STEPS = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id state } } }`;
const CANCEL = `mutation($input: CancelStepsInput!) { cancelSteps(input: $input) { results { stepId status reason } } }`;
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
    const [{ id: stepId }] = await addSteps(clusterId, [
      { name: 'lines', command: { args: ['sh', '-c', 'for i in 1 2 3 4 5; do echo line $i; done'] } },
    ]);
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

  it('a step cancelled after it was claimed but before its agent got it: on reconnect the step claimed in its place is sent and runs', async () => {
    const { createCluster } = await server.data(CREATE_CLUSTER, {
      input: { name: 'unsent', instanceGroups: [MASTER], stepConcurrencyLevel: 2 },
    });
    const clusterId = createCluster.cluster.id;
    await waitForClusterState(server, clusterId, ['WAITING']);
    const [master] = (await server.data(MASTER_PID, { id: clusterId })).cluster.instances;
    // the exit of `first` is recorded only after the test lets go of a lock, and then fails once: the
    // server closes the agent's socket, and the agent, stopped meanwhile, does not finish the close
    await db`select pg_advisory_lock(1818)`;
    await db.unsafe(`
      create sequence held_exit_seq;
      create function held_exit_fn() returns trigger language plpgsql as $$
      begin
        if new.state = 'COMPLETED' then
          if nextval('held_exit_seq') = 1 then
            perform pg_advisory_xact_lock(1818);
            raise exception 'injected failure (held_exit)';
          end if;
        end if;
        return new;
      end $$;
      create trigger held_exit before update on steps for each row execute function held_exit_fn();`);
    let stopped = false;
    try {
      const [first] = await addSteps(clusterId, [{ name: 'first', command: { args: ['true'] } }]);
      await waitUntil(
        async () => (await db`select 1 from pg_locks where locktype = 'advisory' and objid = 1818 and not granted`).length > 0,
        'the exit of the first step to wait for the lock',
      );
      process.kill(master.pid, 'SIGSTOP');
      stopped = true;
      await db`select pg_advisory_unlock(1818)`;
      // claimed while the socket closes: never sent (first still RUNNING, so `replacement` waits)
      const [unsent, replacement] = await addSteps(clusterId, [
        { name: 'unsent', command: { args: ['true'] } },
        { name: 'replacement', command: { args: ['true'] } },
      ]);
      expect([unsent.state, replacement.state]).toEqual(['RUNNING', 'PENDING']);
      const { cancelSteps } = await server.data(CANCEL, { input: { clusterId, stepIds: [unsent.id] } });
      expect(cancelSteps.results).toEqual([{ stepId: unsent.id, status: 'SUBMITTED', reason: null }]);
      process.kill(master.pid, 'SIGCONT');
      stopped = false;
      // the agent reconnects: `unsent` ends CANCELLED without a process, `replacement` is claimed in
      // its place and must reach the agent (else it stays RUNNING, and this wait fails after 30 s);
      // the resent exit completes `first`
      const ended = await waitForStepState(server, replacement.id, ENDED_STEP_STATES);
      expect(ended.state).toBe('COMPLETED');
      expect((await waitForStepState(server, unsent.id, ENDED_STEP_STATES)).state).toBe('CANCELLED');
      expect((await waitForStepState(server, first.id, ENDED_STEP_STATES)).state).toBe('COMPLETED');
      const [after] = (await server.data(MASTER_PID, { id: clusterId })).cluster.instances;
      expect(after.pid).toBe(master.pid);
      expect((await waitForClusterState(server, clusterId, ['WAITING'])).state).toBe('WAITING');
    } finally {
      if (stopped) process.kill(master.pid, 'SIGCONT');
      await db`select pg_advisory_unlock_all()`;
      await db.unsafe('drop trigger held_exit on steps');
    }
  }, 90_000);
});

async function addSteps(clusterId: string, steps: object[]): Promise<Array<{ id: string; state: string }>> {
  const { addSteps } = await server.data(ADD_STEPS, { input: { clusterId, steps } });
  return addSteps.steps;
}

describe('the database connections lost', () => {
  const CREATE_BUCKET = `mutation($name: String!) { createBucket(input: { name: $name }) { bucket { name } } }`;
  const BUCKET = `query($name: String!) { bucket(name: $name) { name } }`;

  it('every backend of the server terminated again and again under writes: what was answered ok is stored, and the server goes on serving', async () => {
    let stop = false;
    const answered: Array<{ name: string; code: string }> = [];
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const name = `loss-${w}-${i}`;
        const res = await server.gql(CREATE_BUCKET, { name });
        answered.push({ name, code: res.errors ? String(res.errors[0]?.extensions?.code) : 'ok' });
      }
    });
    const terminateAll = () =>
      db`select pg_terminate_backend(pid) from pg_stat_activity
         where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'`;
    for (let round = 1; round <= 5; round++) {
      // writes in flight between each round of kills
      await waitUntil(() => answered.length >= round * 8, `${round * 8} writes answered`);
      await terminateAll();
    }
    stop = true;
    await Promise.all(writers);

    // a lost connection is the server's trouble, not the client's: INTERNAL (with the request id) or ok
    expect(new Set(answered.map((a) => a.code))).toEqual(new Set(answered.some((a) => a.code !== 'ok') ? ['ok', 'INTERNAL'] : ['ok']));
    for (const { name } of answered.filter((a) => a.code === 'ok')) expect((await server.data(BUCKET, { name })).bucket).toEqual({ name });
    // the server writes and reads again, and its notifications (LISTEN on its own connection) come back
    expect((await server.data(CREATE_BUCKET, { name: 'loss-after' })).createBucket.bucket.name).toBe('loss-after');
    await waitUntil(async () => {
      const [{ n }] =
        await db`select count(*)::int as n from pg_stat_activity where datname = current_database() and query ilike 'listen%'`;
      return n > 0;
    }, 'the server listening again');
  });
});
