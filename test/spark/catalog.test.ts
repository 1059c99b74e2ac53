// The install's catalog and history (docs/spark.md "Catalog", "History"): a table written by
// one SPARK step (CREATE TABLE … AS SELECT) is read by a step on another cluster, listed by the
// catalog query and read by name from a SQL step; the finished app is in the History Server.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Secrets } from '../../src/platform/secrets.js';
import {
  allPages,
  createCluster,
  expectError,
  Fixtures,
  TERMINATE_CLUSTERS,
  waitForClusterState,
  waitForStepState,
} from '../support/api.js';
import { waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { putObject, SPARK_CORE, SPARK_MASTER, sparkAvailable, TEST_JOB_CONF } from './support.js';

const ADD = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id state } } }`;
const STEP = `query($id: ID!) { step(id: $id) { id state exitCode result failureDetails { reason message }
  spark { applicationId uiUrl historyUrl } } }`;
const LOGS = `query($id: ID!, $after: String) { step(id: $id) { logs(first: 100, after: $after) {
  edges { node { stream text } } pageInfo { hasNextPage endCursor } } } }`;
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }`;
const CATALOG = `query($db: String) { catalog(database: $db) { available reason warehouseUri
  databases { name tables { database name type location columns { name type } } } } }`;
const WRITE = readFileSync(new URL('./fixtures/write_table.py', import.meta.url), 'utf8');
const READ = readFileSync(new URL('./fixtures/read_table.py', import.meta.url), 'utf8');

const TEXT = 'ember plane spark\nspark node\nspark ember\n';
const EXPECTED: Array<[string, number]> = [
  ['ember', 2],
  ['node', 1],
  ['plane', 1],
  ['spark', 3],
];

describe.skipIf(!sparkAvailable)('the catalog and history of SPARK clusters', () => {
  let server: TestServer;
  const fixtures = new Fixtures();
  beforeAll(async () => {
    server = await startTestServer({ heartbeatTimeoutMs: 5_000 });
  });
  afterEach(async () => {
    await fixtures.cleanup(server);
  });
  afterAll(async () => {
    await server?.close();
  });

  const logsOf = async (id: string) =>
    allPages<{ stream: string; text: string }>(async (after) => (await server.data(LOGS, { id, after })).step.logs);
  const runStep = async (clusterId: string, step: Record<string, unknown>) => {
    const [added] = (await server.data(ADD, { input: { clusterId, steps: [step] } })).addSteps.steps;
    const done = await waitForStepState(server, added.id, ['COMPLETED', 'FAILED', 'CANCELLED', 'INTERRUPTED'], {
      query: STEP,
      timeoutMs: 300_000,
    });
    const logs = await logsOf(added.id);
    expect(
      done.state,
      `${JSON.stringify(done.failureDetails)}\n${logs
        .slice(-60)
        .map((l) => l.text)
        .join('\n')}`,
    ).toBe('COMPLETED');
    return { step: done, logs };
  };

  it('keeps a CTAS table across steps and clusters, lists it, reads it from SQL, and serves the app from the History Server', async () => {
    const input = await putObject(server, 'data', 'words.txt', TEXT);
    const writeApp = await putObject(server, 'code', 'write_table.py', WRITE);
    const readApp = await putObject(server, 'code', 'read_table.py', READ);

    const writer = fixtures.cluster(
      await createCluster(server, { name: 'writer', applications: ['SPARK'], instanceGroups: [SPARK_MASTER, SPARK_CORE(1)] }),
    );
    // the reader starts now, beside the writer: only its step has to wait for the writer to be gone
    const reader = fixtures.cluster(
      await createCluster(server, { name: 'reader', applications: ['SPARK', 'DUCKDB'], instanceGroups: [SPARK_MASTER, SPARK_CORE(1)] }),
    );
    await waitForClusterState(server, writer, ['WAITING'], { timeoutMs: 180_000 });
    const { step: written } = await runStep(writer, {
      name: 'ctas',
      spark: { appUri: writeApp, args: [input, 'sales', 'word_counts'], conf: TEST_JOB_CONF },
    });

    // the finished app, in the writer's History Server (it reads the shared event log bucket)
    expect(written.spark.applicationId).toMatch(/^app-/);
    expect(written.spark.uiUrl).toBeNull();
    expect(written.spark.historyUrl).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/history/${written.spark.applicationId}/$`));
    const historyBase = written.spark.historyUrl.replace(/\/history\/.*$/, '');
    const app = await waitUntil(
      async () => {
        const res = await fetch(`${historyBase}/api/v1/applications`);
        const apps = res.ok ? ((await res.json()) as Array<{ id: string; name: string; attempts: Array<{ completed: boolean }> }>) : [];
        return apps.find((a) => a.id === written.spark.applicationId && a.attempts.every((t) => t.completed)) ?? null;
      },
      'the app listed as completed by the History Server',
      60_000,
      250,
    );
    expect(app.name).toBe('write-table');
    expect((await fetch(written.spark.historyUrl)).status).toBe(200);

    // the catalog query: database, table, its columns in order, its location in the warehouse bucket
    const catalog = (await server.data(CATALOG, { db: 'sales' })).catalog;
    expect(catalog).toMatchObject({ available: true, reason: null, warehouseUri: 's3://emberplane-warehouse/' });
    expect(catalog.databases).toEqual([
      {
        name: 'sales',
        tables: [
          {
            database: 'sales',
            name: 'word_counts',
            type: 'MANAGED_TABLE',
            location: 's3://emberplane-warehouse/sales.db/word_counts',
            columns: [
              { name: 'word', type: 'string' },
              { name: 'n', type: 'bigint' },
            ],
          },
        ],
      },
    ]);
    expect((await server.data(CATALOG, { db: 'nothing' })).catalog.databases).toEqual([]);

    // another cluster reads it by name: the writer is gone by then
    await server.data(TERMINATE_CLUSTERS, { ids: [writer] });
    await waitForClusterState(server, writer, ['TERMINATED'], { timeoutMs: 120_000 });
    await waitForClusterState(server, reader, ['WAITING'], { timeoutMs: 180_000 });
    const { logs } = await runStep(reader, {
      name: 'read',
      spark: { appUri: readApp, args: ['sales', 'word_counts'], conf: TEST_JOB_CONF },
    });
    expect(logs.filter((l) => l.stream === 'STDOUT' && l.text.startsWith('row ')).map((l) => l.text)).toEqual(
      EXPECTED.map(([w, n]) => `row ${w} ${n}`),
    );

    // a SQL step reads it by name (DuckDB over the table's Parquet files)
    await runStep(reader, {
      name: 'sql',
      sql: {
        query: 'SELECT word, n FROM catalog.sales.word_counts ORDER BY word',
        outputUri: 's3://data/out/counts.csv',
        format: 'CSV',
      },
    });
    const csv = readFileSync(path.join(server.dataDir, 'buckets', 'data', 'out', 'counts.csv'), 'utf8')
      .trim()
      .split('\n');
    expect(csv).toEqual(['word,n', ...EXPECTED.map(([w, n]) => `${w},${n}`)]);

    // a table that is not there: NOT_FOUND on the query's field, no step added
    expectError(
      await server.gql(ADD, {
        input: {
          clusterId: reader,
          steps: [
            {
              name: 'missing',
              sql: {
                query: 'SELECT * FROM catalog.sales.nope',
                outputUri: 's3://data/out/nope.csv',
                format: 'CSV',
              },
            },
          ],
        },
      }),
      'NOT_FOUND',
      'input.steps.0.sql.query',
    );

    // the catalog is read with its own action; nothing in the API shows the metastore's credentials
    const { createApiKey } = await server.data(CREATE_KEY, { input: { name: 'no-catalog', actions: ['clusters:DescribeStep'] } });
    expectError(await server.gql(CATALOG, { db: null }, createApiKey.key), 'FORBIDDEN');
    const { createApiKey: reading } = await server.data(CREATE_KEY, { input: { name: 'catalog', actions: ['catalog:GetTables'] } });
    expect((await server.gql(CATALOG, { db: null }, reading.key)).data.catalog.databases.map((d: { name: string }) => d.name)).toEqual([
      'sales',
    ]);
    expect(JSON.stringify(await server.data(CATALOG, { db: null }))).not.toContain('jdbc:');
  }, 900_000);

  it("gives drivers a Postgres role that reaches the metastore's schema and none of the product's tables", async () => {
    // what a tenant app finds in its hive-site.xml: this role and its password (the server's test key)
    const url = new URL(server.databaseUrl);
    const database = url.pathname.slice(1);
    const secretsKey = crypto.createHash('sha256').update(server.databaseUrl).digest('hex');
    url.username = `${database}_hive_metastore`;
    url.password = new Secrets(Buffer.from(secretsKey, 'hex')).metastorePassword;
    const tenant = postgres(url.toString(), { max: 1, onnotice: () => {} });
    try {
      const [own] = await tenant<{ schema: string; superuser: boolean }[]>`
        select current_schema() as schema, rolsuper as superuser from pg_roles where rolname = current_user`;
      expect(own).toEqual({ schema: 'hive_metastore', superuser: false });
      await tenant`create table hive_metastore.scratch (i int)`;
      await tenant`drop table hive_metastore.scratch`;
      for (const attack of [
        () => tenant`select count(*) from public.api_keys`,
        () => tenant`select count(*) from public.settings`,
        () => tenant`create table public.planted (i int)`,
        () => tenant`create role sneaky login`,
      ]) {
        await expect(attack()).rejects.toMatchObject({ code: '42501' });
      }
    } finally {
      await tenant.end();
    }
  });
});
