// A SPARK step's driver output: every line it prints is stored, in order, even under CPU load,
// and polling its status API leaves no trace (EofException) in its log.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allPages, createCluster, Fixtures, waitForClusterState, waitForStepState } from '../support/api.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { putObject, SPARK_CORE, SPARK_MASTER, sparkAvailable, TEST_JOB_CONF } from './support.js';

const ADD = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id } } }`;
const STEP = `query($id: ID!) { step(id: $id) { id state progress failureDetails { message } } }`;
const STEP_UPDATES = `subscription($id: ID!) { stepUpdates(stepId: $id) { id state progress } }`;
const LOGS = `query($id: ID!, $after: String) { step(id: $id) { logs(first: 100, after: $after) {
  edges { node { stream text } } pageInfo { hasNextPage endCursor } } } }`;
const PRINT_LINES = readFileSync(new URL('./fixtures/print_lines.py', import.meta.url), 'utf8');

describe.skipIf(!sparkAvailable)('SPARK driver output', () => {
  let server: TestServer;
  const fixtures = new Fixtures();
  let busy: ChildProcess | null = null;
  beforeAll(async () => {
    server = await startTestServer({ heartbeatTimeoutMs: 5_000 });
  });
  afterEach(async () => {
    busy?.kill('SIGKILL');
    busy = null;
    await fixtures.cleanup(server);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('stores every one of 100,000 numbered lines, bursts and long lines in order under CPU load; progress only rises; no EofException', async () => {
    const app = await putObject(server, 'code', 'print_lines.py', PRINT_LINES);
    const id = fixtures.cluster(
      await createCluster(server, {
        name: 'lines',
        applications: ['SPARK'],
        instanceGroups: [SPARK_MASTER, SPARK_CORE(1)],
      }),
    );
    await waitForClusterState(server, id, ['WAITING'], { timeoutMs: 180_000 });
    // a process on the side keeping a core busy
    busy = spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' });
    const total = 100_000;
    const [step] = (
      await server.data(ADD, {
        input: {
          clusterId: id,
          steps: [
            {
              name: 'print',
              spark: { appUri: app, args: [String(total)], conf: TEST_JOB_CONF },
            },
          ],
        },
      })
    ).addSteps.steps;
    const updates = fixtures.subscribe(fixtures.ws(server), STEP_UPDATES, { id: step.id }, (d) => d.stepUpdates);
    const done = await waitForStepState(server, step.id, ['COMPLETED', 'FAILED'], { query: STEP, timeoutMs: 600_000 });
    const logs = await allPages<{ stream: string; text: string }>(
      async (after) => (await server.data(LOGS, { id: step.id, after })).step.logs,
    );
    expect(done.state, JSON.stringify(done.failureDetails)).toBe('COMPLETED');

    const out = logs.filter((l) => l.stream === 'STDOUT').map((l) => l.text);
    const numbered = out.filter((t) => t.startsWith('line ')).map((t) => Number(t.slice(5)));
    expect(numbered.length).toBe(total);
    expect(numbered.every((n, i) => n === i + 1)).toBe(true);
    expect(out.filter((t) => t.startsWith('long ')).map((t) => t.slice(0, 7))).toEqual(['long 0 ', 'long 1 ', 'long 2 ', 'long 3 ']);
    expect(out.filter((t) => t.startsWith('long ')).every((t) => t.length === 7 + 12_000)).toBe(true);
    // nothing of the runner's control lines among the app's output
    expect(logs.some((l) => l.text.startsWith('::progress') || l.text.startsWith('::result'))).toBe(false);
    expect(logs.some((l) => l.text.includes('EofException'))).toBe(false);

    await updates.waitFor((v) => v.some((u) => u.state === 'COMPLETED'), 'the completed update');
    const seen = updates.values.map((u) => u.progress as number | null).filter((p): p is number => p !== null);
    expect(seen.at(-1)).toBe(1);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
  }, 900_000);
});
