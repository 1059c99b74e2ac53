// Tenant code on cluster nodes runs sandboxed (issue 10): tried as an attacker would, with a key that
// may only create clusters and add steps. Each step runs as its node's own unprivileged uid, in its
// own pid and mount namespaces (the system read-only, its node's directory, a private /tmp), in the
// node's limit group (the instance type's memory and a process cap); nothing it starts outlives it,
// and removing a node's directory never follows a link the node made.
import crypto from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { nodeDirOf } from '../../src/engine/agent/node-sandbox.js';
import {
  CREATE_CLUSTER,
  ENDED_STEP_STATES as ENDED,
  Fixtures,
  MASTER,
  nodeScratch,
  waitForCluster,
  waitForClusterState,
  waitForStepState,
} from '../support/api.js';
import { pidsWithEnvPrefix, waitUntil } from '../support/processes.js';
import { putObject } from '../support/put-object.js';
import { functionsDirOf, startTestServer, type TestServer } from '../support/server.js';

const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }`;
const CLUSTER = `query($id: ID!) { cluster(id: $id) { id state stateChangeReason { code message }
  instances { id role state pid stateChangeReason { code message } } } }`;
const ADD = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id } } }`;
const STEP = `query($id: ID!) { step(id: $id) { id state exitCode failureDetails { reason message } } }`;
const LOGS = `query($id: ID!) { step(id: $id) { logs(first: 100) { edges { node { stream text } } } } }`;
const CANCEL = `mutation($input: CancelStepsInput!) { cancelSteps(input: $input) { results { status } } }`;
const SMALL = 't3.small'; // 2 vCPU, 2 GiB: the smallest node
const SMALL_MASTER = { role: 'MASTER', instanceType: SMALL, count: 1 };

let server: TestServer;
let attacker: string;
const fixtures = new Fixtures();

beforeAll(async () => {
  server = await startTestServer();
  // what a tenant may do: make clusters and run steps on them, and see how they went
  const actions = [
    'clusters:CreateCluster',
    'clusters:AddSteps',
    'clusters:CancelSteps',
    'clusters:DescribeCluster',
    'clusters:DescribeStep',
    'clusters:TerminateClusters',
    'logs:GetLogEvents',
    'buckets:GetObject',
  ];
  attacker = (await server.data(CREATE_KEY, { input: { name: 'tenant', actions } })).createApiKey.key;
});
afterEach(async () => {
  await fixtures.cleanup(server);
});
afterAll(async () => {
  await server?.close();
});

async function as<T = any>(query: string, variables: Record<string, unknown>): Promise<T> {
  const res = await server.gql<T>(query, variables, attacker);
  expect(res.errors).toBeUndefined();
  return res.data!;
}

async function newCluster(input: Record<string, unknown> = {}, waitFor = ['WAITING']): Promise<any> {
  const { createCluster } = await as(CREATE_CLUSTER, { input: { name: 'tenant', instanceGroups: [MASTER], ...input } });
  fixtures.cluster(createCluster.cluster.id);
  return waitForClusterState(server, createCluster.cluster.id, waitFor, { query: CLUSTER });
}

async function addStep(clusterId: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const { addSteps } = await as(ADD, { input: { clusterId, steps: [{ name: 'probe', command: { args, env } }] } });
  return addSteps.steps[0].id;
}

const ended = (id: string) => waitForStepState(server, id, ENDED, { query: STEP, timeoutMs: 60_000 });
const logs = async (id: string): Promise<Array<{ stream: string; text: string }>> =>
  (await as(LOGS, { id })).step.logs.edges.map((e: any) => e.node);
const stdout = async (id: string) => (await logs(id)).filter((l) => l.stream === 'STDOUT').map((l) => l.text);
/** host processes a step started (they inherit its CLUSTER_STEP_ID), wherever they are */
const processesOf = (stepId: string) => pidsWithEnvPrefix('CLUSTER_STEP_ID', stepId);

describe('a step sees nothing of the host but its node', () => {
  it('runs as an unprivileged uid of its node, and can read neither the data dir, other nodes, function roots nor the server', async () => {
    const other = await newCluster();
    const otherNodeDir = nodeDirOf(path.join(server.dataDir, 'instances', other.instances[0].id));
    writeFileSync(path.join(otherNodeDir, 'theirs.txt'), "another tenant's data");
    // a secret beside the data (as the embedded Postgres' credentials are)
    writeFileSync(path.join(server.dataDir, 'postgres-credentials.json'), '{"password":"not-for-steps"}', { mode: 0o600 });
    mkdirSync(functionsDirOf(server.dataDir), { recursive: true });
    const c = await newCluster();
    const probes = {
      DATA: server.dataDir,
      CREDS: path.join(server.dataDir, 'postgres-credentials.json'),
      INSTANCES: path.join(server.dataDir, 'instances'),
      OTHER: path.join(otherNodeDir, 'theirs.txt'),
      FN: functionsDirOf(server.dataDir),
      SERVER: String(process.pid),
    };
    const script = [
      'echo "uid=$(id -u) gid=$(id -g)"',
      'for f in "$CREDS" "$OTHER" "/proc/$SERVER/environ"; do cat "$f" >/dev/null 2>&1 && echo "read $f" || echo "denied $f"; done',
      // what the sandbox shows of these paths: at most the way to its own directory
      'for d in "$DATA" "$INSTANCES" "$FN"; do echo "$d: $(ls -A "$d" 2>&1 >/dev/null | grep -q . && echo denied || ls -A "$d" | tr "\n" " ")"; done',
      'kill -0 "$SERVER" 2>/dev/null && echo "signalled server" || echo "cannot signal server"',
      'echo "pids: $(ls /proc | grep -E "^[0-9]+$" | tr "\\n" " ")"',
    ].join('\n');
    const id = await addStep(c.id, ['sh', '-c', script], probes);
    expect((await ended(id)).state).toBe('COMPLETED');
    const out = await stdout(id);
    const [, uid, gid] = /^uid=(\d+) gid=(\d+)$/.exec(out[0]!)!.map(Number);
    expect(uid).not.toBe(0);
    expect(uid).not.toBe(process.getuid!());
    expect(gid).not.toBe(0);
    // another node of the same tenant is another uid
    const otherId = await addStep(other.id, ['id', '-u']);
    expect((await ended(otherId)).state).toBe('COMPLETED');
    expect(Number((await stdout(otherId))[0])).not.toBe(uid);
    expect(out.slice(1, 7)).toEqual([
      `denied ${probes.CREDS}`,
      `denied ${probes.OTHER}`,
      `denied /proc/${process.pid}/environ`,
      // the data dir holds nothing but the way to the node's own directory (no buckets, no
      // credentials, no other instance); the function roots are not there at all
      `${probes.DATA}: instances `,
      `${probes.INSTANCES}: ${c.instances[0].id} `,
      `${probes.FN}: denied`,
    ]);
    expect(out[7]).toBe('cannot signal server');
    // its own pid namespace: a handful of its own processes, numbered from 1
    const pids = out[8]!
      .replace(/^pids: /, '')
      .trim()
      .split(' ')
      .map(Number);
    expect(pids).toContain(1);
    expect(pids).not.toContain(process.pid);
    expect(pids.length).toBeLessThan(10);
  });

  it("has a private /tmp: not the host's, not shared with the next step, gone after", async () => {
    const mark = `ep-${crypto.randomBytes(6).toString('hex')}`;
    writeFileSync(path.join('/tmp', `${mark}-host`), "the host's");
    // (a data dir under /tmp, as the tests' is, shows as the way to the node's own directory; a
    // checkout under /tmp, as the way to the engine code the sandbox binds read-only)
    const checkout = fileURLToPath(new URL('../..', import.meta.url));
    const wayIn = [
      ...new Set(
        [server.dataDir, checkout]
          .map((p) => path.relative('/tmp', p))
          .filter((rel) => rel !== '' && !rel.startsWith('..'))
          .map((rel) => rel.split(path.sep)[0]!),
      ),
    ].sort();
    try {
      const c = await newCluster();
      const first = await addStep(c.id, ['sh', '-c', 'ls -A /tmp; echo mine > "/tmp/$M-step"; cat "/tmp/$M-step"'], { M: mark });
      expect((await ended(first)).state).toBe('COMPLETED');
      const firstOut = await stdout(first);
      expect(firstOut.at(-1)).toBe('mine');
      expect(firstOut.slice(0, -1).sort()).toEqual(wayIn);
      expect(existsSync(path.join('/tmp', `${mark}-step`))).toBe(false);
      const second = await addStep(c.id, ['sh', '-c', 'ls -A /tmp'], { M: mark });
      expect((await ended(second)).state).toBe('COMPLETED');
      expect((await stdout(second)).sort()).toEqual(wayIn);
    } finally {
      rmSync(path.join('/tmp', `${mark}-host`), { force: true });
    }
  });
});

describe('nothing a step starts outlives it', () => {
  it('a setsid child dies when the step ends', async () => {
    const c = await newCluster();
    const scratch = nodeScratch(server, c, 'setsid');
    const id = await addStep(c.id, ['sh', '-c', 'setsid sleep 300 & touch "$S/started"; while [ ! -e "$S/go" ]; do sleep 0.05; done'], {
      S: scratch,
    });
    await waitUntil(() => existsSync(path.join(scratch, 'started')), 'the step to start its child');
    await waitUntil(
      () => processesOf(id).some((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('sleep\u0000300')),
      'the setsid sleep',
    );
    writeFileSync(path.join(scratch, 'go'), '');
    expect((await ended(id)).state).toBe('COMPLETED');
    await waitUntil(() => processesOf(id).length === 0, 'no process of the step left');
  });

  it('a setsid child dies when the step is cancelled', async () => {
    const c = await newCluster();
    const scratch = nodeScratch(server, c, 'setsid-cancel');
    const id = await addStep(c.id, ['sh', '-c', 'setsid sleep 300 & touch "$S/started"; sleep 300'], { S: scratch });
    await waitUntil(() => existsSync(path.join(scratch, 'started')), 'the step to start its child');
    expect(processesOf(id).length).toBeGreaterThanOrEqual(2);
    expect(
      (await as(CANCEL, { input: { clusterId: c.id, stepIds: [id], cancellationOption: 'SEND_INTERRUPT' } })).cancelSteps.results[0].status,
    ).toBe('SUBMITTED');
    const done = await ended(id);
    expect(done.state).toBe('CANCELLED');
    await waitUntil(() => processesOf(id).length === 0, 'no process of the step left');
  });
});

describe('limits from the instance type', () => {
  it("a pids bomb is contained by the node's process cap; the node runs the next step", async () => {
    const c = await newCluster({ instanceGroups: [SMALL_MASTER] });
    const bomb = [
      'import os',
      'n = 0',
      'while n < 5000:',
      '    try:',
      '        pid = os.fork()',
      '    except OSError as e:',
      '        print("fork failed:", e.strerror, flush=True)',
      '        break',
      '    if pid == 0:',
      '        os.execv("/bin/sleep", ["sleep", "300"])',
      '    n += 1',
      'print("children", n, flush=True)',
    ].join('\n');
    const id = await addStep(c.id, ['python3', '-c', bomb]);
    expect((await ended(id)).state).toBe('COMPLETED');
    const out = await stdout(id);
    expect(out[0]).toBe('fork failed: Resource temporarily unavailable');
    const children = Number(/^children (\d+)$/.exec(out[1]!)![1]);
    // t3.small: 2 vCPU × 512, at least 1024 processes and threads in the node
    expect(children).toBeGreaterThan(100);
    expect(children).toBeLessThan(1024);
    await waitUntil(() => processesOf(id).length === 0, 'no process of the bomb left');
    const next = await addStep(c.id, ['echo', 'still here']);
    expect((await ended(next)).state).toBe('COMPLETED');
  });

  // python's bytes repetition writes every page: the memory is really used
  const HOG = 'b = b"x" * (3 << 30); print(len(b))';

  it("a step over the node's memory is killed by the kernel; the node is failed for it (a MASTER: the cluster ends)", async () => {
    const c = await newCluster({ instanceGroups: [SMALL_MASTER] });
    const id = await addStep(c.id, ['python3', '-c', HOG]);
    const step = await ended(id);
    expect(step.state).toBe('FAILED');
    // said by the agent as the step ended, or by the control plane failing the node under it (whichever came first)
    const said = [step.failureDetails.message, ...(await logs(id)).map((l) => l.text)];
    expect(
      said.some((t) => /out of memory/.test(t)),
      said.join('\n'),
    ).toBe(true);
    const done = await waitForClusterState(server, c.id, ['TERMINATED_WITH_ERRORS'], { query: CLUSTER, timeoutMs: 60_000 });
    expect(done.instances[0].stateChangeReason.code).toBe('INSTANCE_FAILURE');
    expect(done.instances[0].stateChangeReason.message).toMatch(
      /^node ran out of memory: the kernel killed \d+ process(es)? over the 2048 MiB of t3\.small$/,
    );
    expect(done.stateChangeReason).toMatchObject({ code: 'INSTANCE_FAILURE' });
    expect(done.stateChangeReason.message).toContain('out of memory');
  });

  it('a TASK node over its memory is failed for it and replaced', async () => {
    // only TASK nodes run the hog: the master stays up, and each TASK node (the replacement too) dies of it
    const hog = await putObject(server, 'boot', 'hog.sh', `if [ "$CLUSTER_INSTANCE_ROLE" = TASK ]; then python3 -c '${HOG}'; fi\n`);
    const { createCluster } = await as(CREATE_CLUSTER, {
      input: {
        name: 'hog',
        instanceGroups: [SMALL_MASTER, { role: 'TASK', instanceType: SMALL, count: 1 }],
        bootstrapActions: [{ name: 'hog', path: hog }],
      },
    });
    fixtures.cluster(createCluster.cluster.id);
    const c = await waitForCluster(
      server,
      createCluster.cluster.id,
      (x) => x.instances.filter((i: any) => i.role === 'TASK').length >= 2,
      'a TASK node failed and its replacement',
      { query: CLUSTER, timeoutMs: 60_000 },
    );
    const [first] = c.instances.filter((i: any) => i.role === 'TASK');
    expect(first).toMatchObject({ state: 'TERMINATED', stateChangeReason: { code: 'INSTANCE_FAILURE' } });
    expect(first.stateChangeReason.message).toMatch(/^node ran out of memory: /);
  });
});

describe("removing a node's directory never follows a link the node made", () => {
  it('a node swapping its directories for links to the host while it is terminated, many times: nothing outside is removed', async () => {
    const victim = `${server.dataDir}-victim`;
    mkdirSync(path.join(victim, 'sub'), { recursive: true });
    chmodSync(`${server.dataDir}-victim`, 0o755);
    for (const f of ['a.txt', 'sub/b.txt']) writeFileSync(path.join(victim, f), 'keep me');
    await putObject(server, 'vault', 'keep.txt', 'keep me too');
    const vault = path.join(server.dataDir, 'buckets', 'vault');
    // in the step's directory and in the node's own (HOME): a directory, then a link to the host, again and again
    const swap =
      'while :; do mkdir -p "$1/d/sub"; touch "$1/d/sub/f"; rm -rf "$1/d"; ln -s "$2" "$1/d"; rm -f "$1/d"; ' +
      'mkdir -p "$1/d"; rm -rf "$1/d"; ln -s "$3" "$1/d"; rm -f "$1/d"; done';
    const script = `swap() { ${swap}; }; swap . "$V" "$B" & swap "$HOME" "$V" "$B" & touch "$S/swapping"; wait`;
    try {
      for (let round = 0; round < 3; round++) {
        const clusters = await Promise.all([0, 1, 2].map(() => newCluster()));
        const ids = clusters.map((c) => c.id);
        for (const c of clusters) {
          const scratch = nodeScratch(server, c);
          await addStep(c.id, ['sh', '-c', script], { V: victim, B: vault, S: scratch });
          await waitUntil(() => existsSync(path.join(scratch, 'swapping')), 'the swapping to start');
        }
        await as(`mutation($ids: [ID!]!) { terminateClusters(input: { ids: $ids }) { clusters { id } } }`, { ids });
        for (const c of clusters) {
          await waitForClusterState(server, c.id, ['TERMINATED'], { query: CLUSTER, timeoutMs: 60_000 });
          // the node's directory is gone (the agent's log stays)
          const workdir = path.join(server.dataDir, 'instances', c.instances[0].id);
          expect(existsSync(nodeDirOf(workdir))).toBe(false);
          expect(existsSync(path.join(workdir, 'agent.log'))).toBe(true);
        }
        expect(readFileSync(path.join(victim, 'a.txt'), 'utf8')).toBe('keep me');
        expect(readFileSync(path.join(victim, 'sub', 'b.txt'), 'utf8')).toBe('keep me');
        expect(readdirSync(vault)).toEqual(['keep.txt']);
      }
    } finally {
      rmSync(victim, { recursive: true, force: true });
    }
  }, 180_000);
});
