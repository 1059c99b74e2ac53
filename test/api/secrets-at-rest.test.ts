// Secrets at rest: what a copy of the database gives away. API keys are keyed hashes (a bare
// SHA-256 of an older install is rehashed at its first use); function and step environments are
// encrypted (AES-256-GCM) with a key kept outside the database, opened only for the process and
// for keys allowed to see them.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from '../../src/app.js';
import { CREATE_CLUSTER, MASTER, TERMINATE_CLUSTERS, waitForClusterState } from '../support/api.js';
import { deploy, invoke } from '../support/functions.js';
import { waitUntil } from '../support/processes.js';
import { startTestServer, testConfig, type TestServer } from '../support/server.js';

let server: TestServer;
let db: postgres.Sql;
const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { id } } }`;

beforeAll(async () => {
  server = await startTestServer();
  db = postgres(server.databaseUrl, { max: 1, onnotice: () => {}, transform: postgres.camel });
});
afterAll(async () => {
  await db?.end();
  await server?.close();
});

describe('API keys', () => {
  it('are stored as an HMAC with the server secret, never as their bare SHA-256', async () => {
    const { createApiKey } = await server.data(CREATE_KEY, { input: { name: 'reader', actions: ['clusters:Describe*'] } });
    const rows = await db<{ id: string; hash: string }[]>`select id, hash from api_keys`;
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const r of rows) expect(r.hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    const stored = rows.find((r) => r.id === createApiKey.apiKey.id)!;
    expect(stored.hash).not.toContain(sha256(createApiKey.key));
    const res = await server.gql('{ cluster(id: "j-none") { id } }', {}, createApiKey.key);
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  });

  it('a key of an older install (bare SHA-256) still works and is rehashed at its first use', async () => {
    const key = `ep_${crypto.randomBytes(24).toString('base64url')}`;
    await db`insert into api_keys (id, name, hash, actions) values ('ak-legacy', 'legacy', ${sha256(key)}, ${db.array(['clusters:Describe*'])})`;
    expect((await server.gql('{ cluster(id: "j-none") { id } }', {}, key)).errors).toBeUndefined();
    const [row] = await db<{ hash: string }[]>`select hash from api_keys where id = 'ak-legacy'`;
    expect(row!.hash).toMatch(/^hmac-sha256:/);
    expect((await db`select 1 from api_keys where hash = ${sha256(key)}`).length).toBe(0);
    // and keeps working under its new hash (past the 5 s cache: a fresh server process of the same database)
    const other = await startTestServer({ databaseUrl: server.databaseUrl, adminApiKey: server.key });
    try {
      expect((await other.gql('{ cluster(id: "j-none") { id } }', {}, key)).errors).toBeUndefined();
      expect(await other.gql('{ cluster(id: "j-none") { id } }', {}, `${key}x`)).toMatchObject({
        errors: [{ extensions: { code: 'UNAUTHENTICATED' } }],
      });
    } finally {
      await other.close();
    }
  });
});

describe('function environments', () => {
  it('are encrypted in Postgres, given to the process, and shown to keys that may read the function', async () => {
    await deploy(server, {
      name: 'env-reader',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      environment: { DB_PASSWORD: 'hunter2-fn-secret' },
      code: { files: [{ path: 'index.js', content: 'exports.handler = async () => process.env.DB_PASSWORD;' }] },
    });
    expect((await invoke(server, { functionName: 'env-reader' })).payload).toBe('hunter2-fn-secret');
    await server.data(`mutation { publishVersion(input: { functionName: "env-reader" }) { version { version } } }`);
    // publishing again with nothing changed makes no new version (environments compare opened)
    const again = await server.data(`mutation { publishVersion(input: { functionName: "env-reader" }) { version { version } } }`);
    expect(again.publishVersion.version.version).toBe('1');
    const dump = JSON.stringify([await db`select * from functions where name = 'env-reader'`, await db`select * from function_versions`]);
    expect(dump).not.toContain('hunter2-fn-secret');
    expect(dump).toContain('$encrypted');

    const reader = (await server.data(CREATE_KEY, { input: { name: 'fn-reader', actions: ['functions:GetFunction'] } })).createApiKey.key;
    const seen = await server.gql(`{ function(name: "env-reader") { environment } }`, {}, reader);
    expect(seen.data.function.environment).toEqual({ DB_PASSWORD: 'hunter2-fn-secret' });
    const lister = (await server.data(CREATE_KEY, { input: { name: 'fn-lister', actions: ['functions:ListInvocations'] } })).createApiKey
      .key;
    expect((await server.gql(`{ function(name: "env-reader") { environment } }`, {}, lister)).errors?.[0]?.extensions?.code).toBe(
      'FORBIDDEN',
    );

    await server.data(
      `mutation { updateFunctionConfiguration(input: { functionName: "env-reader", environment: { DB_PASSWORD: "rotated-fn-secret" } }) { function { name } } }`,
    );
    await waitUntil(
      async () => (await invoke(server, { functionName: 'env-reader' })).payload === 'rotated-fn-secret',
      'the new environment to apply',
    );
    expect(JSON.stringify(await db`select environment from functions where name = 'env-reader'`)).not.toContain('rotated-fn-secret');
  });
});

describe('step environments', () => {
  it('are encrypted in Postgres, given to the process, and not shown to a key that may only describe', async () => {
    const { createCluster } = await server.data(CREATE_CLUSTER, {
      input: {
        name: 'env-steps',
        instanceGroups: [MASTER],
        clientToken: 'env-steps-1',
        steps: [
          {
            name: 'uses-secret',
            command: { args: ['sh', '-c', 'echo "got $API_TOKEN"'], env: { API_TOKEN: 'step-secret-42', MODE: 'fast' } },
          },
        ],
      },
    });
    const clusterId = createCluster.cluster.id;
    const stepId = await waitUntil(async () => {
      const { cluster } = await server.data(`query($id: ID!) { cluster(id: $id) { steps { edges { node { id state } } } } }`, {
        id: clusterId,
      });
      const s = cluster.steps.edges[0].node;
      return s.state === 'COMPLETED' ? (s.id as string) : null;
    }, 'the step to complete');
    const logs = await server.data(`query($id: ID!) { step(id: $id) { logs(first: 100) { edges { node { text } } } } }`, { id: stepId });
    expect(logs.step.logs.edges.map((e: any) => e.node.text)).toContain('got step-secret-42');
    expect(JSON.stringify(await db`select * from steps where id = ${stepId}`)).not.toContain('step-secret-42');
    expect(JSON.stringify(await db`select * from events`)).not.toContain('step-secret-42');
    // the idempotency hash of the request (which holds the environment) is keyed too
    const [cluster] = await db<{ requestHash: string }[]>`select request_hash from clusters where id = ${clusterId}`;
    expect(cluster!.requestHash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);

    const q = `query($id: ID!) { step(id: $id) { command { args env } } }`;
    const describer = (await server.data(CREATE_KEY, { input: { name: 'describer', actions: ['clusters:Describe*'] } })).createApiKey.key;
    const described = await server.gql(q, { id: stepId }, describer);
    expect(described.data.step.command).toEqual({ args: ['sh', '-c', 'echo "got $API_TOKEN"'], env: { API_TOKEN: null, MODE: null } });
    const operator = (await server.data(CREATE_KEY, { input: { name: 'operator', actions: ['clusters:Describe*', 'clusters:AddSteps'] } }))
      .createApiKey.key;
    expect((await server.gql(q, { id: stepId }, operator)).data.step.command.env).toEqual({ API_TOKEN: 'step-secret-42', MODE: 'fast' });

    await server.data(TERMINATE_CLUSTERS, { ids: [clusterId] });
    await waitForClusterState(server, clusterId, ['TERMINATED']);
  });
});

describe('an install from before encryption', () => {
  it('has its environments in the clear encrypted at the next start, and still read the same', async () => {
    await deploy(server, {
      name: 'old-env',
      runtime: 'NODEJS20',
      handler: 'index.handler',
      code: { files: [{ path: 'index.js', content: 'exports.handler = async () => process.env.OLD;' }] },
    });
    const { createCluster } = await server.data(CREATE_CLUSTER, {
      input: { name: 'old-steps', instanceGroups: [MASTER], steps: [{ name: 'old', command: { args: ['true'] } }] },
    });
    await server.data(TERMINATE_CLUSTERS, { ids: [createCluster.cluster.id] });
    await waitForClusterState(server, createCluster.cluster.id, ['TERMINATED']);
    // as an older version stored them (it kept no record of having encrypted anything)
    await db`delete from settings where name = 'environments_sealed'`;
    await db`update functions set environment = ${db.json({ OLD: 'plain-old-secret' })} where name = 'old-env'`;
    await db`update steps set spec = jsonb_set(spec, '{env}', ${db.json({ OLD_STEP: 'plain-old-step-secret' })}) where cluster_id = ${createCluster.cluster.id}`;
    const next = await startTestServer({ databaseUrl: server.databaseUrl, adminApiKey: server.key });
    try {
      const dump = JSON.stringify([await db`select environment from functions`, await db`select spec from steps`]);
      expect(dump).not.toContain('plain-old-secret');
      expect(dump).not.toContain('plain-old-step-secret');
      expect((await next.data(`{ function(name: "old-env") { environment } }`)).function.environment).toEqual({ OLD: 'plain-old-secret' });
    } finally {
      await next.close();
    }
  });
});

describe('the secrets key', () => {
  it('is made as DATA_DIR/secrets.key (0600) on a first start; a server with another key refuses the same database', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'emberplane-secrets-'));
    const other = await startTestServer({ dataDir, secretsKey: undefined });
    try {
      const stat = await fs.stat(path.join(dataDir, 'secrets.key'));
      expect(stat.mode & 0o777).toBe(0o600);
      expect((await fs.readFile(path.join(dataDir, 'secrets.key'), 'utf8')).trim()).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      const wrong = testConfig({
        dataDir: await fs.mkdtemp(path.join(os.tmpdir(), 'emberplane-secrets-')),
        databaseUrl: other.databaseUrl,
        adminApiKey: other.key,
        secretsKey: crypto.randomBytes(32).toString('base64'),
      });
      await expect(startApp(wrong, pino({ level: 'silent' }))).rejects.toThrow(/not the one this database's secrets were stored with/);
      await fs.rm(wrong.dataDir, { recursive: true, force: true });
      // the key it made is the one it keeps using: a restart on the same data dir works
      await other.app.close();
      const again = await startTestServer({
        dataDir: await fs.mkdtemp(path.join(os.tmpdir(), 'emberplane-secrets-')),
        databaseUrl: other.databaseUrl,
        adminApiKey: other.key,
        secretsKey: (await fs.readFile(path.join(dataDir, 'secrets.key'), 'utf8')).trim(),
      });
      await again.close();
    } finally {
      await other.close().catch(() => {});
    }
  });
});
