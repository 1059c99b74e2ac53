// Nodes that share no disk with the server (OBJECT_PATH_MAPPING=off): bootstrap actions and SCRIPT
// steps' scripts are fetched by the node's agent through the S3 endpoint with the cluster's own
// credential, and no step's argv names a path of the server's install.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { nodeDirOf, nodeUid } from '../../src/engine/agent/node-sandbox.js';
import {
  allPages,
  CORE,
  createCluster,
  Fixtures,
  gated,
  MASTER,
  masterScratch,
  waitForClusterState,
  waitForStepState,
} from '../support/api.js';
import { type OverS3, startOverS3 } from '../support/over-s3.js';
import { aws } from '../support/s3.js';

const CLUSTER = `query($id: ID!) { cluster(id: $id) { id state stateChangeReason { code message } instances { id role state } } }`;
const ADD = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id } } }`;
const STEP = `query($id: ID!) { step(id: $id) { id state exitCode failureDetails { reason message } } }`;
const LOGS = `query($id: ID!, $after: String) { step(id: $id) { logs(first: 100, after: $after) {
  edges { node { stream text } } pageInfo { hasNextPage endCursor } } } }`;

// clusters and several steps each: slower than the default under a loaded machine; waits are on states
const TEST_TIMEOUT_MS = 180_000;

let env: OverS3;
let bucketsDir: string;
const fixtures = new Fixtures();

beforeAll(async () => {
  env = await startOverS3({
    buckets: ['boot', 'scripts', 'lake'],
    cluster: { name: 'fetch-over-s3', applications: ['DUCKDB'], instanceGroups: [MASTER] },
  });
  bucketsDir = env.server.app.modules.storage.storage.options.bucketsDir;
});
afterEach(async () => {
  await fixtures.cleanup(env.server);
});
afterAll(async () => {
  await env?.close();
});

const instanceDir = (id: string) => path.join(env.server.dataDir, 'instances', id);
/** What the server stored for a step: the argv, mounts and objects its agent runs it with. */
const specOf = async (id: string) => (await env.server.app.modules.clusters.steps.get(id))!.spec;

const logsOf = (id: string) =>
  allPages<{ stream: string; text: string }>(async (after) => (await env.server.data(LOGS, { id, after })).step.logs);

interface RunStep {
  id: string;
  state: string;
  exitCode: number | null;
  logs: Array<{ stream: string; text: string }>;
}

async function addAndRun(steps: unknown[]): Promise<RunStep[]> {
  const added: Array<{ id: string }> = (await env.server.data(ADD, { input: { clusterId: env.clusterId, steps } })).addSteps.steps;
  const done: RunStep[] = [];
  for (const s of added) {
    const step = await waitForStepState(env.server, s.id, ['COMPLETED', 'FAILED'], { query: STEP, timeoutMs: 60_000 });
    done.push({ ...step, logs: await logsOf(s.id) });
  }
  return done;
}

describe('bootstrap actions without the path mapping', () => {
  it(
    'are fetched over S3 into every node directory (.sh and .py) and run there, with no buckets directory in the sandbox',
    async () => {
      // $2: the server's buckets directory, which a node on another host would not have either
      const sh =
        'set -e\n[ ! -e "$2" ] || { echo "the server\'s buckets are visible: $2" >&2; exit 9; }\necho "$1" > "$HOME/first.$CLUSTER_INSTANCE_ID"\n';
      const py =
        'import os, sys\nhome = os.environ["HOME"]\n' +
        'assert not os.path.exists(sys.argv[1]), "the buckets directory is visible"\n' +
        'open(os.path.join(home, "second." + os.environ["CLUSTER_INSTANCE_ID"]), "w").write(os.environ["BOOTSTRAP_ACTION_NAME"])\n';
      const actions = [
        { name: 'first', path: await env.upload('s3://boot/setup/first.sh', sh), args: ['marker', bucketsDir] },
        { name: 'second', path: await env.upload('s3://boot/second.py', py), args: [bucketsDir] },
      ];
      const id = fixtures.cluster(
        await createCluster(env.server, { name: 'boot-over-s3', instanceGroups: [MASTER, CORE(1)], bootstrapActions: actions }),
      );
      const c = await waitForClusterState(env.server, id, ['WAITING'], { query: CLUSTER, timeoutMs: 120_000 });
      expect(c.instances).toHaveLength(2);
      for (const i of c.instances) {
        const nodeDir = nodeDirOf(instanceDir(i.id));
        expect(readFileSync(path.join(nodeDir, `first.${i.id}`), 'utf8')).toBe('marker\n');
        expect(readFileSync(path.join(nodeDir, `second.${i.id}`), 'utf8')).toBe('second');
        // the node's own copies of the objects, written by the node's uid, private to it
        for (const [file, content] of [
          ['1-first.sh', sh],
          ['2-second.py', py],
        ]) {
          const copy = path.join(nodeDir, 'bootstrap', 'actions', file);
          expect(readFileSync(copy, 'utf8')).toBe(content);
          const stat = statSync(copy);
          expect(stat.mode & 0o777).toBe(0o600);
          if (process.getuid?.() === 0) expect(stat.uid).toBe(nodeUid(i.id));
        }
        const log = readFileSync(path.join(instanceDir(i.id), 'bootstrap.log'), 'utf8');
        expect(log).toContain(
          `fetched s3://boot/setup/first.sh (${Buffer.byteLength(sh)} bytes) to ${path.join(nodeDir, 'bootstrap', 'actions', '1-first.sh')}`,
        );
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'an object gone by the time the node fetches it ends the cluster with BOOTSTRAP_FAILURE naming the action and the S3 error',
    async () => {
      // the first action holds the node until the test has deleted the second's object
      const hold = await env.upload('s3://boot/hold.sh', 'while [ ! -e "$HOME/scratch/boot/release" ]; do sleep 0.05; done\n');
      const gone = await env.upload('s3://boot/gone.sh', 'echo never\n');
      const id = fixtures.cluster(
        await createCluster(env.server, {
          name: 'boot-gone',
          instanceGroups: [MASTER],
          bootstrapActions: [
            { name: 'hold', path: hold },
            { name: 'install', path: gone },
          ],
        }),
      );
      const scratch = await masterScratch(env.server, id, 'boot');
      const removed = await aws(env.server, env.key, ['s3', 'rm', gone]);
      expect(removed.code, removed.stderr).toBe(0);
      writeFileSync(path.join(scratch, 'release'), '');
      const c = await waitForClusterState(env.server, id, ['TERMINATED_WITH_ERRORS'], { query: CLUSTER, timeoutMs: 120_000 });
      expect(c.stateChangeReason.code).toBe('BOOTSTRAP_FAILURE');
      expect(c.stateChangeReason.message).toContain('bootstrap action "install" failed (could not run)');
      expect(c.stateChangeReason.message).toContain('s3://boot/gone.sh: NoSuchKey (The specified key does not exist.)');
    },
    TEST_TIMEOUT_MS,
  );
});

describe('steps without the path mapping', () => {
  it(
    'SCRIPT steps: the node fetches the script into the step directory and runs it with its args; argv names no server path',
    async () => {
      const py = await env.upload(
        's3://scripts/jobs/job.py',
        'import os, sys\nprint("args", sys.argv[1:])\nprint("buckets visible", os.path.exists(sys.argv[2]))\nprint("here", os.path.exists("job.py"))\n',
      );
      // no extension: the interpreter comes from the object's first bytes, read where it is stored
      const tool = await env.upload('s3://scripts/tool', '#!/bin/sh\necho "tool $1 $(cat tool | wc -l)"\n');
      const mjs = await env.upload('s3://scripts/hello.mjs', 'console.log(`node ${process.version} ${process.argv[2]}`);\n');
      const [a, b, c] = await addAndRun([
        { name: 'py', script: { uri: py, args: ['two words', bucketsDir] } },
        { name: 'tool', script: { uri: tool, args: ['x'] } },
        { name: 'mjs', script: { uri: mjs, args: ['y'] } },
      ]);
      expect(a, JSON.stringify(a.logs)).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
      expect(a.logs.filter((l) => l.stream === 'STDOUT').map((l) => l.text)).toEqual([
        `args ['two words', '${bucketsDir}']`,
        'buckets visible False',
        'here True',
      ]);
      expect(b, JSON.stringify(b.logs)).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
      expect(b.logs.filter((l) => l.stream === 'STDOUT').map((l) => l.text)).toEqual(['tool x 2']);
      expect(c, JSON.stringify(c.logs)).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
      expect(c.logs.filter((l) => l.stream === 'STDOUT').map((l) => l.text)).toEqual([`node ${process.version} y`]);

      const specs = await Promise.all([a, b, c].map((s) => specOf(s.id)));
      expect(specs.map((s) => ({ args: s.args, fetch: s.fetch, mounts: s.mounts }))).toEqual([
        {
          args: ['{{python}}', './job.py', 'two words', bucketsDir],
          fetch: [{ uri: py, path: 'job.py' }],
          mounts: undefined,
        },
        { args: ['/bin/sh', './tool', 'x'], fetch: [{ uri: tool, path: 'tool' }], mounts: undefined },
        { args: ['{{node}}', './hello.mjs', 'y'], fetch: [{ uri: mjs, path: 'hello.mjs' }], mounts: undefined },
      ]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a SCRIPT step whose object is gone when it starts fails with a SYSTEM line naming the URI and the S3 error',
    async () => {
      const uri = await env.upload('s3://scripts/vanishing.sh', 'echo never\n');
      const gate = path.join(await masterScratch(env.server, env.clusterId, 'steps'), 'release');
      const added: Array<{ id: string }> = (
        await env.server.data(ADD, { input: { clusterId: env.clusterId, steps: [gated('hold', gate), { name: 'gone', script: { uri } }] } })
      ).addSteps.steps;
      const removed = await aws(env.server, env.key, ['s3', 'rm', uri]);
      expect(removed.code, removed.stderr).toBe(0);
      writeFileSync(gate, '');
      const step = await waitForStepState(env.server, added[1]!.id, ['COMPLETED', 'FAILED'], { query: STEP, timeoutMs: 120_000 });
      expect(step.state).toBe('FAILED');
      const logs = await logsOf(step.id);
      // nothing ran: between the control plane's own lines, only the agent's
      expect(logs).toEqual([
        { stream: 'SYSTEM', text: expect.stringMatching(/^Step started on i-/) },
        { stream: 'SYSTEM', text: `cannot fetch ${uri}: NoSuchKey (The specified key does not exist.)` },
        { stream: 'SYSTEM', text: 'Step failed: the step process exited with code 127' },
      ]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "SQL steps name the node's own node and runner: {{node}} {{engine}}/sql/sql-step.js, and run",
    async () => {
      const [done] = await addAndRun([{ name: 'sql', sql: { query: 'SELECT 42 AS n', outputUri: 's3://lake/out/n.csv', format: 'CSV' } }]);
      expect(done, JSON.stringify(done.logs)).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
      expect((await aws(env.server, env.key, ['s3', 'cp', 's3://lake/out/n.csv', '-'])).stdout).toBe('n\n42\n');
      const { args } = await specOf(done.id);
      expect(args.slice(0, 2)).toEqual(['{{node}}', '{{engine}}/sql/sql-step.js']);
    },
    TEST_TIMEOUT_MS,
  );
});
