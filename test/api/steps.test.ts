// Steps as real processes on the master node agent, driven and observed through the GraphQL API.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  allPages,
  CREATE_CLUSTER as CREATE,
  ENDED_STEP_STATES as ENDED,
  expectError,
  Fixtures,
  gateStep,
  getStep,
  MASTER,
  nodeScratch,
  TERMINATE_CLUSTERS as TERMINATE,
  waitForClusterState,
  waitForStepState,
} from '../support/api.js';
import { Subscription } from '../support/client.js';
import { isAlive, isStillAlive, processIdentity, waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
const fixtures = new Fixtures();

beforeAll(async () => {
  server = await startTestServer();
});
// running steps (sleep 300 …) must not outlive their test
afterEach(async () => {
  await fixtures.cleanup(server);
});
afterAll(async () => {
  await server?.close();
});

const STEP = `id clusterId name state actionOnFailure progress exitCode pid instanceId logStreamId createdAt startedAt endedAt
  command { args env } failureDetails { reason message logFile }`;
const CLUSTER = `query($id: ID!) { cluster(id: $id) { id state stateChangeReason { code message } readyAt endedAt
  instances { id role state pid } steps(first: 100) { edges { node { ${STEP} } } } } }`;
const ADD = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { ${STEP} } } }`;
const CANCEL = `mutation($input: CancelStepsInput!) { cancelSteps(input: $input) { results { stepId status reason } } }`;
const STEP_Q = `query($id: ID!) { step(id: $id) { ${STEP} } }`;
const LOGS = `query($id: ID!, $first: Int, $after: String) { step(id: $id) { logs(first: $first, after: $after) {
  edges { cursor node { cursor at stream text } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`;
const LOGS_BACK = `query($id: ID!, $last: Int, $before: String) { step(id: $id) { logs(last: $last, before: $before) {
  totalCount edges { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`;
const STEP_UPDATES = `subscription($id: ID!) { stepUpdates(stepId: $id) { id state progress exitCode } }`;

interface StepSpec {
  name: string;
  args: string[];
  env?: Record<string, string>;
  actionOnFailure?: string;
}
interface LogLine {
  cursor: string;
  at: string;
  stream: string;
  text: string;
}

const toInput = (s: StepSpec) => ({
  name: s.name,
  ...(s.actionOnFailure ? { actionOnFailure: s.actionOnFailure } : {}),
  command: { args: s.args, ...(s.env ? { env: s.env } : {}) },
});

const waitForCluster = (id: string, states: string[]) => waitForClusterState(server, id, states, { query: CLUSTER });

/** A one-node cluster (the master runs the steps); waits until it can run steps unless told otherwise. */
async function newCluster(extra: Record<string, unknown> = {}, waitFor: string[] | null = ['WAITING']) {
  const { createCluster } = await server.data(CREATE, { input: { name: 'steps', instanceGroups: [MASTER], ...extra } });
  fixtures.cluster(createCluster.cluster.id);
  if (waitFor) return waitForCluster(createCluster.cluster.id, waitFor);
  return createCluster.cluster;
}

async function addSteps(clusterId: string, steps: StepSpec[]): Promise<any[]> {
  return (await server.data(ADD, { input: { clusterId, steps: steps.map(toInput) } })).addSteps.steps;
}

const step = (id: string) => getStep(server, id, STEP_Q);
const waitForStep = (id: string, states: string[]) => waitForStepState(server, id, states, { query: STEP_Q });

/** Every stored line of a step, following pageInfo. */
async function allLogs(stepId: string, first = 100): Promise<LogLine[]> {
  return allPages(async (after) => (await server.data(LOGS, { id: stepId, first, after })).step.logs);
}

const brief = (lines: LogLine[]) => lines.map((l) => [l.stream, l.text]);

/** pids of every descendant of `pid`, from the ppid field of /proc/<pid>/stat. */
function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited while we looked
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

const ms = (iso: string) => new Date(iso).getTime();

describe('command steps', () => {
  it('runs argv without a shell, with env and CLUSTER_STEP_ID; stdout/stderr stored in order between SYSTEM lines', async () => {
    const c = await newCluster();
    const master = c.instances[0];
    const [added] = await addSteps(c.id, [
      {
        name: 'echo',
        env: { FOO: 'bar' },
        args: ['sh', '-c', 'echo "$FOO" "$CLUSTER_STEP_ID"; echo err >&2'],
      },
    ]);
    // the cluster is WAITING with its master's agent connected to this server: the step is claimed for the
    // master in the transaction that adds it, and the response says so
    expect(added).toMatchObject({
      clusterId: c.id,
      name: 'echo',
      state: 'RUNNING',
      instanceId: master.id,
      actionOnFailure: 'CONTINUE',
      progress: null,
      exitCode: null,
      endedAt: null,
      failureDetails: null,
      command: { args: ['sh', '-c', 'echo "$FOO" "$CLUSTER_STEP_ID"; echo err >&2'], env: { FOO: 'bar' } },
    });
    expect(added.startedAt).not.toBeNull();
    const done = await waitForStep(added.id, ENDED);
    expect(done).toMatchObject({ state: 'COMPLETED', exitCode: 0, progress: 1, instanceId: master.id, failureDetails: null });
    expect(done.startedAt).not.toBeNull();
    expect(done.endedAt).not.toBeNull();

    const lines = await allLogs(added.id);
    expect(brief(lines)).toEqual([
      ['SYSTEM', `Step started on ${master.id}`],
      ['STDOUT', `bar ${added.id}`],
      ['STDERR', 'err'],
      ['SYSTEM', 'Step completed (exit code 0)'],
    ]);
    expect(lines.map((l) => l.cursor)).toEqual(['1', '2', '3', '4']);
    // the cluster had work, then none: it is back to WAITING
    expect((await waitForCluster(c.id, ['WAITING'])).state).toBe('WAITING');
    // a step can't start before it was created, nor end before it started
    expect(ms(done.startedAt)).toBeGreaterThanOrEqual(ms(done.createdAt));
    expect(ms(done.endedAt)).toBeGreaterThanOrEqual(ms(done.startedAt));
  });

  it('args are not interpreted by a shell: metacharacters reach the program verbatim', async () => {
    const c = await newCluster();
    const [s] = await addSteps(c.id, [{ name: 'literal', args: ['echo', '$HOME', '*', '; rm -rf /', '"q"'] }]);
    expect((await waitForStep(s.id, ENDED)).state).toBe('COMPLETED');
    expect(brief(await allLogs(s.id))[1]).toEqual(['STDOUT', '$HOME * ; rm -rf / "q"']);
  });

  it('args and env reach the program byte for byte: empty strings, newlines, multibyte characters', async () => {
    const c = await newCluster();
    // (a command step takes a sandbox started ahead: these fields reach it counted in bytes)
    const [s] = await addSteps(c.id, [
      { name: 'bytes', env: { V: 'ä\nß€' }, args: ['sh', '-c', 'printf "[%s]" "$V" "$1" "$2"', 'x', '', '日本'] },
    ]);
    expect((await waitForStep(s.id, ENDED)).state).toBe('COMPLETED');
    expect(brief(await allLogs(s.id)).slice(1, 3)).toEqual([
      ['STDOUT', '[ä'],
      ['STDOUT', 'ß€][][日本]'],
    ]);
  });

  it("steps don't see the server's environment (its database URL, keys), only the basics", async () => {
    // set before the cluster's agent is launched: the agent inherits from this process
    process.env.EMBERPLANE_TEST_SECRET = 'hunter2-not-for-steps';
    try {
      const c = await newCluster();
      // its own environment (its agent's is out of its sight: see node-sandbox.test.ts)
      const [s] = await addSteps(c.id, [{ name: 'env', args: ['env'] }]);
      expect((await waitForStep(s.id, ENDED)).state).toBe('COMPLETED');
      const text = (await allLogs(s.id)).map((l) => l.text);
      expect(text.some((t) => t.startsWith('PATH='))).toBe(true);
      expect(text.some((t) => t.startsWith(`CLUSTER_STEP_ID=${s.id}`))).toBe(true);
      expect(text.filter((t) => t.includes('hunter2') || t.startsWith('AGENT_TOKEN'))).toEqual([]);
    } finally {
      delete process.env.EMBERPLANE_TEST_SECRET;
    }
  });

  it('a non-zero exit code fails the step with STEP_FAILURE naming the code', async () => {
    const c = await newCluster();
    const [s] = await addSteps(c.id, [{ name: 'exit3', args: ['sh', '-c', 'echo before; exit 3'] }]);
    const done = await waitForStep(s.id, ENDED);
    expect(done).toMatchObject({ state: 'FAILED', exitCode: 3 });
    expect(done.failureDetails.reason).toBe('STEP_FAILURE');
    expect(done.failureDetails.message).toMatch(/\b3\b/);
    expect(done.failureDetails.logFile).toBe(s.logStreamId);
    expect(done.endedAt).not.toBeNull();
    const lines = brief(await allLogs(s.id));
    expect(lines.slice(0, 2)).toEqual([
      ['SYSTEM', `Step started on ${done.instanceId}`],
      ['STDOUT', 'before'],
    ]);
    expect(lines).toHaveLength(3);
    expect(lines[2]![0]).toBe('SYSTEM');
    expect(lines[2]![1]).toMatch(/^Step failed: .*\b3\b/);
  });

  it('a program that does not exist fails with exit code 127 and a SYSTEM line saying why', async () => {
    const c = await newCluster();
    const [s] = await addSteps(c.id, [{ name: 'missing', args: ['no-such-program-ep-test', 'x'] }]);
    const done = await waitForStep(s.id, ENDED);
    expect(done).toMatchObject({ state: 'FAILED', exitCode: 127, failureDetails: { reason: 'STEP_FAILURE' } });
    const lines = await allLogs(s.id);
    expect(lines.every((l) => l.stream === 'SYSTEM')).toBe(true);
    const explanation = lines.find((l) => l.text.includes('no-such-program-ep-test'));
    expect(explanation?.text).toMatch(/ENOENT|not found|no such file/i);
    expect(lines[lines.length - 1]!.text).toMatch(/^Step failed: .*127/);
  });

  it('logs page 100 at a time with no gaps or duplicates', async () => {
    const c = await newCluster();
    const [s] = await addSteps(c.id, [
      { name: 'many', args: ['sh', '-c', 'i=1; while [ $i -le 250 ]; do echo "line $i"; i=$((i+1)); done'] },
    ]);
    expect((await waitForStep(s.id, ENDED)).state).toBe('COMPLETED');
    const pages: any[] = [];
    let after: string | null = null;
    do {
      const { logs }: { logs: any } = (await server.data(LOGS, { id: s.id, first: 100, after })).step;
      pages.push(logs);
      after = logs.pageInfo.endCursor;
    } while (pages[pages.length - 1].pageInfo.hasNextPage);
    expect(pages.map((p) => p.edges.length)).toEqual([100, 100, 52]);
    expect(pages.map((p) => p.pageInfo.hasNextPage)).toEqual([true, true, false]);
    expect(pages.map((p) => p.pageInfo.hasPreviousPage)).toEqual([false, true, true]);
    const edges = pages.flatMap((p) => p.edges);
    expect(edges.map((e: any) => e.cursor)).toEqual(Array.from({ length: 252 }, (_, i) => String(i + 1)));
    expect(edges.every((e: any) => e.cursor === e.node.cursor)).toBe(true);
    expect(pages.map((p) => [p.pageInfo.startCursor, p.pageInfo.endCursor])).toEqual([
      ['1', '100'],
      ['101', '200'],
      ['201', '252'],
    ]);
    expect(edges.map((e: any) => e.node.text)).toEqual([
      `Step started on ${c.instances[0].id}`,
      ...Array.from({ length: 250 }, (_, i) => `line ${i + 1}`),
      'Step completed (exit code 0)',
    ]);
    // past the end: an empty page, not an error
    const { logs: empty } = (await server.data(LOGS, { id: s.id, first: 100, after: '252' })).step;
    expect(empty).toMatchObject({ edges: [], pageInfo: { hasNextPage: false, startCursor: null, endCursor: null } });

    // from the end: `last`/`before` walk back through the same lines; totalCount is the whole log
    const back: any[] = [];
    let before: string | null = null;
    do {
      const { logs }: { logs: any } = (await server.data(LOGS_BACK, { id: s.id, last: 100, before })).step;
      back.push(logs);
      before = logs.pageInfo.startCursor;
    } while (back[back.length - 1].pageInfo.hasPreviousPage);
    expect(back.map((p) => p.edges.length)).toEqual([100, 100, 52]);
    expect(back.map((p) => [p.pageInfo.startCursor, p.pageInfo.endCursor])).toEqual([
      ['153', '252'],
      ['53', '152'],
      ['1', '52'],
    ]);
    expect(back.map((p) => p.pageInfo.hasNextPage)).toEqual([false, true, true]);
    expect(back.map((p) => p.totalCount)).toEqual([252, 252, 252]);
    expect(back.reverse().flatMap((p) => p.edges.map((e: any) => e.cursor))).toEqual(edges.map((e: any) => e.cursor));
    expectError(
      await server.gql(`query($id: ID!) { step(id: $id) { logs(first: 1, last: 1) { totalCount } } }`, { id: s.id }),
      'BAD_USER_INPUT',
      'last',
    );
    expectError(await server.gql(LOGS_BACK, { id: s.id, last: 1, before: 'x' }), 'BAD_USER_INPUT', 'before');

    // the subscription opens at the tail: the last 3 stored lines, then (none here: the step ended) live ones
    const client = server.ws();
    const tail = new Subscription(
      client,
      `subscription($s: ID!) { logs(streamId: $s, tail: 3) { cursor text } }`,
      { s: s.logStreamId },
      (d) => d.logs,
    );
    try {
      const lines = await tail.waitFor((v) => v.length >= 3, 'the last 3 lines');
      expect(lines.map((l: any) => [l.cursor, l.text])).toEqual([
        ['250', 'line 249'],
        ['251', 'line 250'],
        ['252', 'Step completed (exit code 0)'],
      ]);
    } finally {
      tail.close();
      await client.dispose();
    }
  });

  it('a 200 KB line is stored cut at 16 KiB with a truncation marker; the next line is intact', async () => {
    const c = await newCluster();
    const [s] = await addSteps(c.id, [{ name: 'long', args: ['sh', '-c', "head -c 200000 /dev/zero | tr '\\0' a; echo; echo after"] }]);
    expect((await waitForStep(s.id, ENDED)).state).toBe('COMPLETED');
    const lines = await allLogs(s.id);
    expect(lines.map((l) => l.stream)).toEqual(['SYSTEM', 'STDOUT', 'STDOUT', 'SYSTEM']);
    const long = lines[1]!.text;
    const marker = long.indexOf(' …[truncated');
    expect(marker).toBeGreaterThan(0);
    expect(Buffer.byteLength(long.slice(0, marker))).toBeLessThanOrEqual(16 * 1024);
    expect(long.slice(0, marker)).toBe('a'.repeat(16 * 1024));
    expect(long.slice(marker)).toBe(` …[truncated ${200_000 - 16 * 1024} bytes]`);
    expect(lines[2]!.text).toBe('after');
  });

  it('binary output never breaks the stream: lines are clean strings and later lines arrive', async () => {
    const c = await newCluster();
    const [s] = await addSteps(c.id, [{ name: 'binary', args: ['sh', '-c', 'head -c 5000 /dev/urandom; echo; echo after'] }]);
    expect(await waitForStep(s.id, ENDED)).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
    const lines = await allLogs(s.id);
    expect(lines[0]!.stream).toBe('SYSTEM');
    expect(lines[lines.length - 1]).toMatchObject({ stream: 'SYSTEM', text: 'Step completed (exit code 0)' });
    expect(lines[lines.length - 2]).toMatchObject({ stream: 'STDOUT', text: 'after' });
    for (const l of lines) {
      expect(typeof l.text).toBe('string');
      // eslint-disable-next-line no-control-regex
      expect(l.text).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f]/);
      expect(Buffer.byteLength(l.text)).toBeLessThanOrEqual(16 * 1024 + 64);
    }
  });

  it('::progress directives set progress (0..1 or %), are not stored as lines, and COMPLETED sets 1', async () => {
    const c = await newCluster();
    const gate = path.join(nodeScratch(server, c), 'progress-gate');
    // the gate keeps the progress step PENDING until the subscription below is in place
    const [, s] = await addSteps(c.id, [
      gateStep('gate', gate),
      {
        name: 'progress',
        args: [
          'sh',
          '-c',
          'echo one; echo "::progress 0.25"; sleep 0.3; echo two; echo "::progress 50%"; sleep 0.3; echo "::progress 0.75"; sleep 0.3; echo three',
        ],
      },
    ]);
    const sub = fixtures.subscribe(fixtures.ws(server), STEP_UPDATES, { id: s.id }, (d) => d.stepUpdates);
    await sub.waitFor((v) => v.length >= 1, 'the current step');
    writeFileSync(gate, '');
    await sub.waitForComplete(30_000);
    expect(sub.values.map((v) => [v.state, v.progress])).toEqual([
      ['PENDING', null],
      ['RUNNING', null],
      ['RUNNING', 0.25],
      ['RUNNING', 0.5],
      ['RUNNING', 0.75],
      ['COMPLETED', 1],
    ]);
    expect(brief(await allLogs(s.id))).toEqual([
      ['SYSTEM', `Step started on ${c.instances[0].id}`],
      ['STDOUT', 'one'],
      ['STDOUT', 'two'],
      ['STDOUT', 'three'],
      ['SYSTEM', 'Step completed (exit code 0)'],
    ]);
    expect(await step(s.id)).toMatchObject({ state: 'COMPLETED', progress: 1 });
  });

  it('::result lines are not stored; the last JSON object becomes Step.result, also on failure', async () => {
    const c = await newCluster();
    const [ok, failed] = await addSteps(c.id, [
      {
        name: 'ok',
        args: [
          'sh',
          '-c',
          'echo \'::result {"rowsWritten": 1}\'; echo \'::result {"rowsWritten": 42, "files": ["a"]}\'; echo \'::result [1]\'; echo done',
        ],
      },
      { name: 'failed', args: ['sh', '-c', 'echo \'::result {"partial": true}\'; exit 3'] },
    ]);
    await waitForStep(failed.id, ['FAILED']);
    const q = `query($id: ID!) { step(id: $id) { state kind result } }`;
    expect((await server.data(q, { id: ok.id })).step).toEqual({
      state: 'COMPLETED',
      kind: 'COMMAND',
      result: { rowsWritten: 42, files: ['a'] },
    });
    expect((await server.data(q, { id: failed.id })).step).toEqual({ state: 'FAILED', kind: 'COMMAND', result: { partial: true } });
    // a line that is not a JSON object stays an ordinary line
    expect(brief(await allLogs(ok.id)).filter(([k]) => k === 'STDOUT')).toEqual([
      ['STDOUT', '::result [1]'],
      ['STDOUT', 'done'],
    ]);
  });
});

describe('ordering and concurrency', () => {
  it('stepConcurrencyLevel 1 runs steps one after another in submission order', async () => {
    const c = await newCluster();
    const file = path.join(nodeScratch(server, c), 'order.txt');
    const steps = await addSteps(
      c.id,
      [1, 2, 3].map((n) => ({
        name: `s${n}`,
        env: { N: String(n), F: file },
        args: ['sh', '-c', 'echo "start $N" >> "$F"; sleep 0.2; echo "end $N" >> "$F"'],
      })),
    );
    const done = [];
    for (const s of steps) done.push(await waitForStep(s.id, ENDED));
    expect(done.map((s) => s.state)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
    for (let i = 1; i < done.length; i++) {
      expect(ms(done[i]!.startedAt)).toBeGreaterThanOrEqual(ms(done[i - 1]!.endedAt));
    }
  });

  it('stepConcurrencyLevel 3 runs 3 steps at once: each waits for all 3 to have started', async () => {
    const c = await newCluster({ stepConcurrencyLevel: 3 });
    const dir = nodeScratch(server, c, 'level3');
    const steps = await addSteps(
      c.id,
      [1, 2, 3].map((n) => ({
        name: `w${n}`,
        env: { D: dir },
        // exit 1 after ~20 s: without concurrency the markers never reach 3
        args: [
          'sh',
          '-c',
          'touch "$D/$CLUSTER_STEP_ID"; i=0; while [ "$(ls "$D" | wc -l)" -lt 3 ]; do sleep 0.05; i=$((i+1)); [ $i -gt 400 ] && exit 1; done; exit 0',
        ],
      })),
    );
    for (const s of steps) expect(await waitForStep(s.id, ENDED)).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
  });

  it('stepConcurrencyLevel 2 runs at most 2 steps at once: the third starts after one ends', async () => {
    const c = await newCluster({ stepConcurrencyLevel: 2 });
    const dir = nodeScratch(server, c, 'level2');
    const running = nodeScratch(server, c, 'level2-running');
    const log = path.join(nodeScratch(server, c), 'level2-seen.txt');
    const steps = await addSteps(
      c.id,
      [1, 2, 3].map((n) => ({
        name: `w${n}`,
        env: { D: dir, R: running, L: log },
        // each records how many steps run with it, then waits for a second one to have started
        args: [
          'sh',
          '-c',
          [
            'touch "$R/$CLUSTER_STEP_ID"; ls "$R" | wc -l >> "$L"; touch "$D/$CLUSTER_STEP_ID"',
            'i=0; while [ "$(ls "$D" | wc -l)" -lt 2 ]; do sleep 0.05; i=$((i+1)); [ $i -gt 400 ] && exit 1; done',
            'sleep 0.3; rm "$R/$CLUSTER_STEP_ID"; exit 0',
          ].join('; '),
        ],
      })),
    );
    const done = [];
    for (const s of steps) done.push(await waitForStep(s.id, ENDED));
    expect(done.map((s) => s.state)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    // the first two overlapped (each waited for the other), the third waited for one of them
    expect(ms(done[1]!.startedAt)).toBeLessThan(ms(done[0]!.endedAt));
    expect(ms(done[2]!.startedAt)).toBeGreaterThanOrEqual(Math.min(ms(done[0]!.endedAt), ms(done[1]!.endedAt)));
    const seen = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((x) => Number(x.trim()));
    expect(seen).toHaveLength(3);
    expect(Math.max(...seen)).toBeLessThanOrEqual(2);
  });
});

describe('actionOnFailure', () => {
  it('CONTINUE: the next step still runs and completes', async () => {
    const c = await newCluster();
    const [bad, next] = await addSteps(c.id, [
      { name: 'bad', actionOnFailure: 'CONTINUE', args: ['sh', '-c', 'exit 1'] },
      { name: 'next', args: ['true'] },
    ]);
    expect(await waitForStep(bad.id, ENDED)).toMatchObject({ state: 'FAILED', exitCode: 1, actionOnFailure: 'CONTINUE' });
    expect(await waitForStep(next.id, ENDED)).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
    expect((await waitForCluster(c.id, ['WAITING'])).stateChangeReason.code).toBeNull();
  });

  it('CANCEL_AND_WAIT: following PENDING steps are CANCELLED and the cluster goes back to WAITING', async () => {
    const c = await newCluster();
    const [bad, s2, s3] = await addSteps(c.id, [
      { name: 'bad', actionOnFailure: 'CANCEL_AND_WAIT', args: ['sh', '-c', 'exit 2'] },
      { name: 's2', args: ['true'] },
      { name: 's3', args: ['true'] },
    ]);
    expect(await waitForStep(bad.id, ENDED)).toMatchObject({ state: 'FAILED', exitCode: 2 });
    for (const s of [s2, s3]) {
      const after = await waitForStep(s.id, ENDED);
      expect(after).toMatchObject({ state: 'CANCELLED', exitCode: null, startedAt: null, pid: null });
      const lines = await allLogs(s.id);
      expect(lines).toHaveLength(1);
      expect(lines[0]!.stream).toBe('SYSTEM');
      expect(lines[0]!.text).toContain(bad.id);
    }
    const ready = await waitForCluster(c.id, ['WAITING', 'TERMINATING', 'TERMINATED', 'TERMINATED_WITH_ERRORS']);
    expect(ready.state).toBe('WAITING');
    // the cluster still takes work
    const [again] = await addSteps(c.id, [{ name: 'again', args: ['true'] }]);
    expect((await waitForStep(again.id, ENDED)).state).toBe('COMPLETED');
  });

  it('TERMINATE_CLUSTER: following steps CANCELLED, cluster TERMINATED_WITH_ERRORS with STEP_FAILURE', async () => {
    const c = await newCluster();
    const [bad, s2] = await addSteps(c.id, [
      { name: 'bad', actionOnFailure: 'TERMINATE_CLUSTER', args: ['false'] },
      { name: 's2', args: ['true'] },
    ]);
    expect(await waitForStep(bad.id, ENDED)).toMatchObject({ state: 'FAILED', exitCode: 1 });
    expect(await waitForStep(s2.id, ENDED)).toMatchObject({ state: 'CANCELLED', startedAt: null });
    const ended = await waitForCluster(c.id, ['TERMINATED', 'TERMINATED_WITH_ERRORS']);
    expect(ended.state).toBe('TERMINATED_WITH_ERRORS');
    expect(ended.stateChangeReason.code).toBe('STEP_FAILURE');
    expect(ended.stateChangeReason.message).toContain(bad.id);
    expect(ended.endedAt).not.toBeNull();
    for (const i of ended.instances) {
      expect(i.state).toBe('TERMINATED');
      expect(isAlive(i.pid)).toBe(false);
    }
  });
});

describe('cancelSteps', () => {
  it('a PENDING step is CANCELLED at once', async () => {
    const c = await newCluster();
    const [blocker, pending] = await addSteps(c.id, [
      { name: 'blocker', args: ['sleep', '30'] },
      { name: 'pending', args: ['true'] },
    ]);
    await waitForStep(blocker.id, ['RUNNING']);
    const res = await server.data(CANCEL, { input: { clusterId: c.id, stepIds: [pending.id] } });
    expect(res.cancelSteps.results).toEqual([{ stepId: pending.id, status: 'SUBMITTED', reason: null }]);
    expect(await step(pending.id)).toMatchObject({ state: 'CANCELLED', startedAt: null, pid: null });
    expect((await step(pending.id)).endedAt).not.toBeNull();
    expect((await step(blocker.id)).state).toBe('RUNNING');
    const lines = await allLogs(pending.id);
    expect(lines.map((l) => l.stream)).toEqual(['SYSTEM']);
    expect(lines[0]!.text).toMatch(/cancel/i);
  });

  it('SEND_INTERRUPT on a RUNNING step: CANCEL_PENDING, then CANCELLED with the step and all its children dead', async () => {
    const c = await newCluster();
    const [s] = await addSteps(c.id, [{ name: 'forks', args: ['sh', '-c', 'sleep 300 & sleep 300 & echo started; wait'] }]);
    await waitUntil(async () => (await allLogs(s.id)).some((l) => l.text === 'started'), 'the "started" line', 30_000);
    const running = await step(s.id);
    expect(running.state).toBe('RUNNING');
    expect(running.pid).toBeGreaterThan(1);
    const tree = [running.pid, ...descendantsOf(running.pid)].map((pid) => processIdentity(pid)!);
    expect(tree.length).toBeGreaterThanOrEqual(3);
    for (const p of tree) expect(isStillAlive(p)).toBe(true);

    const sub = fixtures.subscribe(fixtures.ws(server), STEP_UPDATES, { id: s.id }, (d) => d.stepUpdates);
    await sub.waitFor((v) => v.length >= 1, 'the current step');
    const res = await server.data(CANCEL, { input: { clusterId: c.id, stepIds: [s.id], cancellationOption: 'SEND_INTERRUPT' } });
    expect(res.cancelSteps.results).toEqual([{ stepId: s.id, status: 'SUBMITTED', reason: null }]);
    await sub.waitForComplete(30_000);
    expect(sub.values.map((v) => v.state)).toEqual(['RUNNING', 'CANCEL_PENDING', 'CANCELLED']);
    expect(await step(s.id)).toMatchObject({ state: 'CANCELLED' });
    // the step ends only when its output pipes close, i.e. when every holder of them is gone
    for (const p of tree) expect(isStillAlive(p), `pid ${p.pid}`).toBe(false);
    const system = (await allLogs(s.id)).filter((l) => l.stream === 'SYSTEM').map((l) => l.text);
    expect(system[0]).toBe(`Step started on ${c.instances[0].id}`);
    expect(system.slice(1)).toHaveLength(2);
    expect(system[1]).toMatch(/cancel/i);
    expect(system[2]).toMatch(/cancel/i);
    // SEND_INTERRUPT means SIGTERM first (SIGKILL only after a 10 s grace)
    expect(system[2]).toContain('SIGTERM');
    expect((await waitForCluster(c.id, ['WAITING'])).state).toBe('WAITING');
  });

  it('a step that exits 0 on the SIGTERM of a cancel is CANCELLED, not COMPLETED; the step after it runs', async () => {
    const c = await newCluster();
    const [s, next] = await addSteps(c.id, [
      { name: 'graceful', args: ['sh', '-c', 'trap "exit 0" TERM; echo started; while :; do sleep 0.1; done'] },
      { name: 'next', args: ['true'] },
    ]);
    await waitUntil(async () => (await allLogs(s.id)).some((l) => l.text === 'started'), 'the "started" line', 30_000);
    const res = await server.data(CANCEL, { input: { clusterId: c.id, stepIds: [s.id], cancellationOption: 'SEND_INTERRUPT' } });
    expect(res.cancelSteps.results).toEqual([{ stepId: s.id, status: 'SUBMITTED', reason: null }]);
    expect(await waitForStep(s.id, ENDED)).toMatchObject({ state: 'CANCELLED', exitCode: 0 });
    expect(await waitForStep(next.id, ENDED)).toMatchObject({ state: 'COMPLETED' });
    expect((await waitForCluster(c.id, ['WAITING'])).state).toBe('WAITING');
  });

  it('TERMINATE_PROCESS kills at once, even a tree that ignores SIGTERM', async () => {
    const c = await newCluster();
    const [s] = await addSteps(c.id, [
      { name: 'stubborn', args: ['sh', '-c', 'trap "" TERM; sleep 300 & sleep 300 & echo started; wait'] },
    ]);
    await waitUntil(async () => (await allLogs(s.id)).some((l) => l.text === 'started'), 'the "started" line', 30_000);
    const running = await step(s.id);
    const tree = [running.pid, ...descendantsOf(running.pid)];
    expect(tree.length).toBeGreaterThanOrEqual(3);
    const res = await server.data(CANCEL, { input: { clusterId: c.id, stepIds: [s.id], cancellationOption: 'TERMINATE_PROCESS' } });
    expect(res.cancelSteps.results).toEqual([{ stepId: s.id, status: 'SUBMITTED', reason: null }]);
    expect(await waitForStep(s.id, ENDED)).toMatchObject({ state: 'CANCELLED' });
    for (const pid of tree) expect(isAlive(pid)).toBe(false);
    // SIGTERM is ignored here, so only an immediate SIGKILL can have ended it
    const last = (await allLogs(s.id)).pop()!;
    expect(last.stream).toBe('SYSTEM');
    expect(last.text).toContain('SIGKILL');
  });

  it('cancelling a COMPLETED step fails with a reason and changes nothing; unknown ids fail too', async () => {
    const c = await newCluster();
    const [s] = await addSteps(c.id, [{ name: 'quick', args: ['true'] }]);
    const before = await waitForStep(s.id, ENDED);
    expect(before.state).toBe('COMPLETED');
    const res = await server.data(CANCEL, { input: { clusterId: c.id, stepIds: [s.id, 's-does-not-exist'] } });
    expect(res.cancelSteps.results).toHaveLength(2);
    expect(res.cancelSteps.results[0]).toMatchObject({ stepId: s.id, status: 'FAILED' });
    expect(res.cancelSteps.results[0].reason).toMatch(/COMPLETED/);
    expect(res.cancelSteps.results[1]).toMatchObject({ stepId: 's-does-not-exist', status: 'FAILED' });
    expect(res.cancelSteps.results[1].reason).toMatch(/s-does-not-exist does not exist/);
    expect(await step(s.id)).toEqual(before);
  });
});

describe('steps and the cluster lifecycle', () => {
  it('steps given at creation run, in order, once the cluster is ready', async () => {
    const created = await newCluster(
      {
        steps: [
          { name: 'first', command: { args: ['echo', 'one'] } },
          { name: 'second', command: { args: ['echo', 'two'] } },
        ],
      },
      null,
    );
    expect(created.state).toBe('STARTING');
    const c = await waitForCluster(created.id, ['WAITING']);
    const steps = c.steps.edges.map((e: any) => e.node).reverse(); // newest first in the connection
    expect(steps.map((s: any) => [s.name, s.state, s.exitCode])).toEqual([
      ['first', 'COMPLETED', 0],
      ['second', 'COMPLETED', 0],
    ]);
    expect(c.readyAt).not.toBeNull();
    expect(ms(steps[0].startedAt)).toBeGreaterThanOrEqual(ms(c.readyAt));
    expect(ms(steps[1].startedAt)).toBeGreaterThanOrEqual(ms(steps[0].endedAt));
    expect(brief(await allLogs(steps[1].id))[1]).toEqual(['STDOUT', 'two']);
  });

  it('keepAliveWhenNoSteps false: the cluster ends TERMINATED (ALL_STEPS_COMPLETED) after its steps', async () => {
    const created = await newCluster(
      {
        keepAliveWhenNoSteps: false,
        steps: [
          { name: 'a', command: { args: ['sh', '-c', 'sleep 0.2; echo a'] } },
          { name: 'b', command: { args: ['echo', 'b'] } },
        ],
      },
      null,
    );
    const ended = await waitForCluster(created.id, ['TERMINATED', 'TERMINATED_WITH_ERRORS']);
    expect(ended.state).toBe('TERMINATED');
    expect(ended.stateChangeReason.code).toBe('ALL_STEPS_COMPLETED');
    expect(ended.steps.edges.map((e: any) => [e.node.name, e.node.state])).toEqual([
      ['b', 'COMPLETED'],
      ['a', 'COMPLETED'],
    ]);
    for (const e of ended.steps.edges) expect(ms(ended.endedAt)).toBeGreaterThanOrEqual(ms(e.node.endedAt));
    for (const i of ended.instances) expect(isAlive(i.pid)).toBe(false);
  });

  it('terminating the cluster interrupts the running step (its process dies) and cancels pending ones', async () => {
    const c = await newCluster();
    const [running, pending] = await addSteps(c.id, [
      { name: 'long', args: ['sleep', '300'] },
      { name: 'pending', args: ['true'] },
    ]);
    const r = await waitUntil(
      async () => {
        const s = await step(running.id);
        return s.state === 'RUNNING' && s.pid ? s : null;
      },
      'the step to run with a pid',
      30_000,
    );
    expect(isAlive(r.pid)).toBe(true);
    const res = await server.data(TERMINATE, { ids: [c.id] });
    expect(res.terminateClusters.clusters[0].state).toBe('TERMINATING');
    // pending steps are cancelled in the same transaction as the termination request
    expect((await step(pending.id)).state).toBe('CANCELLED');
    const ended = await waitForCluster(c.id, ['TERMINATED', 'TERMINATED_WITH_ERRORS']);
    expect(ended.state).toBe('TERMINATED');
    expect(ended.stateChangeReason.code).toBe('USER_REQUEST');
    expect(await step(running.id)).toMatchObject({ state: 'INTERRUPTED' });
    expect((await step(running.id)).endedAt).not.toBeNull();
    expect(isAlive(r.pid)).toBe(false);
    expect(await step(pending.id)).toMatchObject({ state: 'CANCELLED', startedAt: null });
  });
});
