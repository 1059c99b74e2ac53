// Each cluster's own S3 credential (docs/security.md "Cluster credentials"): every process of its
// nodes gets it as the AWS SDKs' variables, scoped to the object actions the cluster's creator
// holds, and void once the cluster has ended. Driven with the aws CLI, as a step would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_CLUSTER, Fixtures, MASTER, TERMINATE_CLUSTERS, waitForClusterState, waitForStepState } from '../support/api.js';
import { aws } from '../support/s3.js';
import { startTestServer, type TestServer } from '../support/server.js';

const BUCKET = 'cluster-creds';
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }`;
const ADD = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id } } }`;
const STEP = `query($id: ID!) { step(id: $id) { state logs(first: 100) { edges { node { stream text } } } } }`;
// everything the API says about a cluster, its nodes and steps: none of it may carry the secret
const CLUSTER_ALL = `query($id: ID!) { cluster(id: $id) { id name state applications
  instances { id role state endpoints { sparkMasterUrl } } steps(first: 50) { edges { node { id command { args env } } } } } }`;

interface NodeCredential {
  accessKeyId: string;
  secretAccessKey: string;
  endpoint: string;
}

let server: TestServer;
const fixtures = new Fixtures();

beforeAll(async () => {
  server = await startTestServer();
  await server.data(`mutation { createBucket(input: { name: "${BUCKET}" }) { bucket { name } } }`);
});
afterAll(async () => {
  await fixtures.cleanup(server);
  await server?.close();
});

const keyWith = async (name: string, actions: string[]): Promise<string> =>
  (await server.data(CREATE_KEY, { input: { name, actions } })).createApiKey.key;

/** A cluster created with `key`, WAITING. */
async function clusterOf(key: string, name: string): Promise<string> {
  const res = await server.gql(CREATE_CLUSTER, { input: { name, instanceGroups: [MASTER] } }, key);
  expect(res.errors).toBeUndefined();
  const id = res.data!.createCluster.cluster.id as string;
  fixtures.cluster(id);
  await waitForClusterState(server, id, ['WAITING']);
  return id;
}

/** What a step on the cluster's master sees: the AWS SDKs' variables its node agent set. */
async function credentialSeenBySteps(clusterId: string): Promise<NodeCredential> {
  const script =
    'printf "%s %s %s %s\\n" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_ENDPOINT_URL_S3" "$AWS_EC2_METADATA_DISABLED"';
  const [step] = (await server.data(ADD, { input: { clusterId, steps: [{ name: 'creds', command: { args: ['sh', '-c', script] } }] } }))
    .addSteps.steps;
  await waitForStepState(server, step.id, ['COMPLETED', 'FAILED']);
  const done = (await server.data(STEP, { id: step.id })).step;
  expect(done.state).toBe('COMPLETED');
  const [line] = done.logs.edges.filter((e: any) => e.node.stream === 'STDOUT').map((e: any) => e.node.text as string);
  const [accessKeyId, secretAccessKey, endpoint, noMetadata] = line!.split(' ');
  expect(accessKeyId).toMatch(/^EMW[A-Z2-7]{17}$/);
  expect(secretAccessKey).toHaveLength(40);
  expect(endpoint).toBe(server.url);
  expect(noMetadata).toBe('true');
  return { accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey!, endpoint: endpoint! };
}

describe('cluster S3 credentials', () => {
  it('a step reaches the buckets with its cluster credential, within its creator object actions, until the cluster ends', async () => {
    const creator = await keyWith('etl', [
      'clusters:*',
      'buckets:GetObject',
      'buckets:ListObjects',
      'buckets:PutObject',
      'buckets:DeleteObject',
    ]);
    const clusterId = await clusterOf(creator, 'with-creds');
    const cred = await credentialSeenBySteps(clusterId);

    const put = await aws(server, cred, ['s3api', 'put-object', '--bucket', BUCKET, '--key', 'from-node/a.txt']);
    expect(put.code, put.stderr).toBe(0);
    const ls = await aws(server, cred, ['s3', 'ls', `s3://${BUCKET}/from-node/`]);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toContain('a.txt');
    const rm = await aws(server, cred, ['s3', 'rm', `s3://${BUCKET}/from-node/a.txt`]);
    expect(rm.code, rm.stderr).toBe(0);
    // nothing beyond objects: no bucket made or removed, not even a list of buckets
    const mb = await aws(server, cred, ['s3api', 'create-bucket', '--bucket', 'made-by-a-node']);
    expect(mb.code).not.toBe(0);
    expect(mb.stderr).toContain('AccessDenied');
    const buckets = await aws(server, cred, ['s3api', 'list-buckets']);
    expect(buckets.stderr).toContain('AccessDenied');

    // the API never shows it: not in the cluster, its nodes, its steps or their environments
    const described = JSON.stringify(await server.data(CLUSTER_ALL, { id: clusterId }));
    expect(described).not.toContain(cred.secretAccessKey);
    expect(described).not.toContain(cred.accessKeyId);

    await server.data(TERMINATE_CLUSTERS, { ids: [clusterId] });
    await waitForClusterState(server, clusterId, ['TERMINATED']);
    const after = await aws(server, cred, ['s3api', 'head-object', '--bucket', BUCKET, '--key', 'anything']);
    expect(after.code).not.toBe(0);
    const denied = await aws(server, cred, ['s3', 'ls', `s3://${BUCKET}/`]);
    expect(denied.stderr).toContain('InvalidAccessKeyId');
  });

  it('a cluster made by a key without buckets:PutObject reads but cannot write or delete', async () => {
    await server.data(`mutation { putObject(input: { bucket: "${BUCKET}", key: "shared/in.txt", content: "hello" }) { object { key } } }`);
    const reader = await keyWith('reader', ['clusters:*', 'buckets:GetObject', 'buckets:ListObjects']);
    const clusterId = await clusterOf(reader, 'read-only');
    const cred = await credentialSeenBySteps(clusterId);

    const get = await aws(server, cred, ['s3', 'cp', `s3://${BUCKET}/shared/in.txt`, '-']);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toBe('hello');
    const put = await aws(server, cred, ['s3api', 'put-object', '--bucket', BUCKET, '--key', 'shared/out.txt']);
    expect(put.code).not.toBe(0);
    expect(put.stderr).toContain('AccessDenied');
    const del = await aws(server, cred, ['s3api', 'delete-object', '--bucket', BUCKET, '--key', 'shared/in.txt']);
    expect(del.stderr).toContain('AccessDenied');
    // still there, nothing written
    const listed = await server.data(`{ objects(bucket: "${BUCKET}", prefix: "shared/", first: 10) { edges { node { key } } } }`);
    expect(listed.objects.edges.map((e: any) => e.node.key)).toEqual(['shared/in.txt']);
  });

  it('two clusters get different credentials; each stops only with its own cluster', async () => {
    const creator = await keyWith('two', ['clusters:*', 'buckets:*']);
    const [first, second] = [await clusterOf(creator, 'first'), await clusterOf(creator, 'second')];
    const [a, b] = [await credentialSeenBySteps(first), await credentialSeenBySteps(second)];
    expect(a.accessKeyId).not.toBe(b.accessKeyId);
    expect(a.secretAccessKey).not.toBe(b.secretAccessKey);
    await server.data(TERMINATE_CLUSTERS, { ids: [first] });
    await waitForClusterState(server, first, ['TERMINATED']);
    expect((await aws(server, a, ['s3', 'ls', `s3://${BUCKET}/`])).stderr).toContain('InvalidAccessKeyId');
    const stillOn = await aws(server, b, ['s3', 'ls', `s3://${BUCKET}/`]);
    expect(stillOn.code, stillOn.stderr).toBe(0);
    // a signature with the right key id and a wrong secret is refused
    const forged = await aws(server, { accessKeyId: b.accessKeyId, secretAccessKey: a.secretAccessKey }, ['s3', 'ls', `s3://${BUCKET}/`]);
    expect(forged.stderr).toContain('SignatureDoesNotMatch');
  });
});
