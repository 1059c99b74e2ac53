// SCRIPT steps (script-runner): a script from a bucket, run on the master node by the interpreter
// its extension or #! line names, with its arguments.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allPages, CREATE_CLUSTER, expectError, Fixtures, MASTER, waitForClusterState, waitForStepState } from '../support/api.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
const fixtures = new Fixtures();
const BUCKET = 'scripts-test';
let clusterId: string;

const PUT = `mutation($input: PutObjectInput!) { putObject(input: $input) { object { uri } } }`;
const ADD = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id kind state script { uri args } command { args } } } }`;
const STEP = `query($id: ID!) { step(id: $id) { id state exitCode failureDetails { message } logs(first: 100) { edges { node { stream text } } } } }`;

const put = async (key: string, content: string) =>
  (await server.data(PUT, { input: { bucket: BUCKET, key, content } })).putObject.object.uri as string;

beforeAll(async () => {
  server = await startTestServer();
  await server.data(`mutation { createBucket(input: { name: "${BUCKET}" }) { bucket { name } } }`);
  const { createCluster } = await server.data(CREATE_CLUSTER, { input: { name: 'scripts', instanceGroups: [MASTER] } });
  clusterId = createCluster.cluster.id;
  fixtures.cluster(clusterId);
  await waitForClusterState(server, clusterId, ['WAITING']);
});
afterAll(async () => {
  await fixtures.cleanup(server);
  await server?.close();
});

async function runScript(uri: string, args: string[]) {
  const res = await server.gql(ADD, { input: { clusterId, steps: [{ name: 'script', script: { uri, args } }] } });
  const [step] = res.data!.addSteps.steps;
  await waitForStepState(server, step.id, ['COMPLETED', 'FAILED']);
  const done = (await server.data(STEP, { id: step.id })).step;
  return { added: step, done, stdout: done.logs.edges.filter((e: any) => e.node.stream === 'STDOUT').map((e: any) => e.node.text) };
}

describe('SCRIPT steps', () => {
  it('runs a bash script (.sh) with its arguments; the step shows kind SCRIPT and its script', async () => {
    const uri = await put('jobs/hello.sh', 'echo "hello $1 and $2"; echo "cwd step: ${CLUSTER_STEP_ID:+yes}"\n');
    const { added, done, stdout } = await runScript(uri, ['a b', '$HOME']);
    expect(added).toMatchObject({
      kind: 'SCRIPT',
      state: 'RUNNING', // claimed for the WAITING cluster's master as it was added
      script: { uri: `s3://${BUCKET}/jobs/hello.sh`, args: ['a b', '$HOME'] },
      command: null,
    });
    expect(done.state).toBe('COMPLETED');
    expect(stdout).toEqual(['hello a b and $HOME', 'cwd step: yes']);
  });

  it('runs python (.py) and node (.mjs) scripts, and a file without extension by its #! line', async () => {
    const py = await runScript(await put('py/job.py', 'import sys\nprint("py", sys.version_info[0], sys.argv[1:])\n'), ['x']);
    expect(py.stdout).toEqual(["py 3 ['x']"]);
    const js = await runScript(await put('js/job.mjs', 'console.log("node", process.argv.slice(2).join(","));\n'), ['1', '2']);
    expect(js.stdout).toEqual(['node 1,2']);
    const sh = await runScript(await put('bin/tool', '#!/bin/sh -e\necho "shebang $#"\n'), ['a', 'b', 'c']);
    expect(sh.stdout).toEqual(['shebang 3']);
  });

  it('a failing script fails the step with its exit code', async () => {
    const { done } = await runScript(await put('fail.sh', 'echo bad >&2; exit 7\n'), []);
    expect(done).toMatchObject({ state: 'FAILED', exitCode: 7, failureDetails: { message: 'the step process exited with code 7' } });
  });

  it('refuses a missing object, a bad URI and a script it cannot tell how to run, adding nothing', async () => {
    const before = await allPages(
      async (after) =>
        (
          await server.data(
            `query($id: ID!, $after: String) { cluster(id: $id) { steps(first: 100, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } } }`,
            { id: clusterId, after },
          )
        ).cluster.steps,
    );
    const add = (script: unknown) => server.gql(ADD, { input: { clusterId, steps: [{ name: 's', script }] } });
    expectError(await add({ uri: `s3://${BUCKET}/nope.sh` }), 'NOT_FOUND', 'input.steps.0.script.uri');
    expectError(await add({ uri: 'https://example.com/x.sh' }), 'BAD_USER_INPUT', 'input.steps.0.script.uri');
    expectError(await add({ uri: `s3://${BUCKET}/../etc/passwd` }), 'BAD_USER_INPUT', 'input.steps.0.script.uri');
    const plain = await put('notes.txt', 'just text\n');
    const res = await add({ uri: plain });
    expectError(res, 'BAD_USER_INPUT', 'input.steps.0.script.uri');
    expect(res.errors![0]!.message).toMatch(/can't tell how to run .*notes\.txt/);
    expectError(await add({ uri: plain, args: ['ok', 'bad\u0000'] }), 'BAD_USER_INPUT', 'input.steps.0.script.args.1');
    const after = await allPages(
      async (a) =>
        (
          await server.data(
            `query($id: ID!, $after: String) { cluster(id: $id) { steps(first: 100, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } } }`,
            { id: clusterId, after: a },
          )
        ).cluster.steps,
    );
    expect(after.length).toBe(before.length);
  });

  it("a key that may run steps but not read objects can't run scripts, SQL or previews through a cluster", async () => {
    const key = async (actions: string[]) =>
      (await server.data(`mutation($a: [String!]) { createApiKey(input: { name: "steps-only", actions: $a }) { key } }`, { a: actions }))
        .createApiKey.key as string;
    const uri = await put('jobs/secret.sh', 'echo secret\n');
    const stepsOnly = await key(['clusters:*']);
    const add = (k: string, step: Record<string, unknown>) => server.gql(ADD, { input: { clusterId, steps: [{ name: 's', ...step }] } }, k);
    expectError(await add(stepsOnly, { script: { uri } }), 'FORBIDDEN');
    expectError(await add(stepsOnly, { sql: { query: `select 1`, outputUri: `s3://${BUCKET}/out.csv`, format: 'CSV' } }), 'FORBIDDEN');
    expectError(await server.gql(`{ sqlPreview(clusterId: "${clusterId}", query: "select 1") { rows } }`, {}, stepsOnly), 'FORBIDDEN');
    expectError(
      await server.gql(
        CREATE_CLUSTER,
        {
          input: {
            name: 'laundering',
            instanceGroups: [MASTER],
            bootstrapActions: [{ name: 'b', path: uri }],
          },
        },
        stepsOnly,
      ),
      'FORBIDDEN',
    );
    // reading is enough for a script; a command step needs no bucket rights at all
    const reader = await key(['clusters:*', 'buckets:GetObject']);
    expect((await add(reader, { script: { uri } })).errors).toBeUndefined();
    expect((await add(stepsOnly, { command: { args: ['true'] } })).errors).toBeUndefined();
  });
});
