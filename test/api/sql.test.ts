// SQL steps (DuckDB on the master node) and sqlPreview, through the GraphQL API, on real DuckDB and
// real processes: outputs are read back with DuckDB and compared.
import fs from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allPages,
  CREATE_CLUSTER,
  expectError,
  Fixtures,
  MASTER,
  TERMINATE_CLUSTERS,
  waitForClusterState,
  waitForStepState,
} from '../support/api.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let clusterId: string;
let plainClusterId: string;
const fixtures = new Fixtures();

const STEP = `id state progress exitCode result failureDetails { reason message } sql { query outputUri format }`;
const ADD = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { ${STEP} } } }`;
const STEP_Q = `query($id: ID!) { step(id: $id) { ${STEP} } }`;
const LOGS = `query($id: ID!, $after: String) { step(id: $id) { logs(first: 100, after: $after) {
  edges { node { stream text } } pageInfo { hasNextPage endCursor } } } }`;
const CANCEL = `mutation($input: CancelStepsInput!) { cancelSteps(input: $input) { results { stepId status reason } } }`;
const PREVIEW = `query($clusterId: ID!, $query: String!, $limit: Int) {
  sqlPreview(clusterId: $clusterId, query: $query, limit: $limit) { columns { name type } rows truncated } }`;
const STEP_UPDATES = `subscription($id: ID!) { stepUpdates(stepId: $id) { id state progress } }`;

const bucketsDir = () => path.join(server.dataDir, 'buckets');
const localPath = (bucket: string, key: string) => path.join(bucketsDir(), bucket, key);

const PUT = `mutation($input: PutObjectInput!) { putObject(input: $input) { object { key size } } }`;
const OBJECT = `query($bucket: String!, $key: String!) { object(bucket: $bucket, key: $key) { uri size contentType } }`;

/** Text through putObject; bytes through the HTTP upload route. */
/** Unfinished outputs (hidden temp files next to their target) left in a bucket's directory. */
async function hiddenFiles(dir: string): Promise<string[]> {
  return (await fs.readdir(path.join(bucketsDir(), dir))).filter((name) => name.startsWith('.'));
}

async function putFile(bucket: string, key: string, content: string | Buffer): Promise<void> {
  if (typeof content === 'string') {
    await server.data(PUT, { input: { bucket, key, content } });
    return;
  }
  const res = await fetch(`${server.url}/objects/${bucket}/${key}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${server.key}` },
    body: content,
  });
  expect(res.status, await res.text()).toBe(200);
}

async function download(bucket: string, key: string): Promise<string> {
  const res = await fetch(`${server.url}/objects/${bucket}/${key}`, { headers: { authorization: `Bearer ${server.key}` } });
  expect(res.status).toBe(200);
  return res.text();
}

/** Runs `sql` in a plain DuckDB (no lock-down): how the tests make Parquet inputs and read outputs. */
async function duck(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function addSql(sql: Record<string, unknown>, cluster = clusterId) {
  return server.gql(ADD, { input: { clusterId: cluster, steps: [{ name: 'sql', sql }] } });
}

async function runSql(sql: Record<string, unknown>): Promise<any> {
  const res = await addSql(sql);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  const id = (res.data as any).addSteps.steps[0].id;
  return waitForStepState(server, id, ['COMPLETED', 'FAILED', 'CANCELLED', 'INTERRUPTED'], { query: STEP_Q, timeoutMs: 60_000 });
}

async function logsOf(stepId: string): Promise<Array<{ stream: string; text: string }>> {
  return allPages(async (after) => (await server.data(LOGS, { id: stepId, after })).step.logs);
}

const preview = (query: string, limit?: number, cluster = clusterId) =>
  server.gql(PREVIEW, { clusterId: cluster, query, ...(limit === undefined ? {} : { limit }) });

beforeAll(async () => {
  // previews are rate-limited per key (api-edge.test.ts): room for every preview of this file
  server = await startTestServer({ sqlPreviewTimeoutMs: 5_000, sqlPreviewBurst: 1_000 });
  for (const name of ['data', 'out'])
    await server.data(`mutation($name: String!) { createBucket(input: { name: $name }) { bucket { name } } }`, { name });
  const sales = [
    'city,amount,day',
    'Oslo,10,2024-01-01',
    'Bergen,5,2024-01-01',
    'Oslo,7,2024-01-02',
    'Tromsø,1,2024-01-03',
    'Bergen,2,2024-01-03',
  ];
  await putFile('data', 'sales/2024-01.csv', `${sales.slice(0, 3).join('\n')}\n`);
  await putFile('data', 'sales/2024-02.csv', `${[sales[0], ...sales.slice(3)].join('\n')}\n`);
  await putFile('data', 'events.json', '{"user":"ann","clicks":3}\n{"user":"bob","clicks":5}\n{"user":"ann","clicks":4}\n');
  const parquet = path.join(server.dataDir, 'made-by-test.parquet');
  await duck(
    `COPY (SELECT * FROM (VALUES ('Oslo', 'NO-03'), ('Bergen', 'NO-46'), ('Tromsø', 'NO-55')) t(city, region)) TO '${parquet}' (FORMAT parquet)`,
  );
  await putFile('data', 'cities/part-0.parquet', await fs.readFile(parquet));
  await duck(`COPY (SELECT 'Trondheim' AS city, 'NO-50' AS region) TO '${parquet}' (FORMAT parquet)`);
  await putFile('data', 'cities/part-1.parquet', await fs.readFile(parquet));

  const duckCluster = await server.data(CREATE_CLUSTER, { input: { name: 'sql', applications: ['DUCKDB'], instanceGroups: [MASTER] } });
  clusterId = fixtures.cluster(duckCluster.createCluster.cluster.id);
  const plain = await server.data(CREATE_CLUSTER, { input: { name: 'plain', instanceGroups: [MASTER] } });
  plainClusterId = fixtures.cluster(plain.createCluster.cluster.id);
  await waitForClusterState(server, clusterId, ['WAITING']);
  await waitForClusterState(server, plainClusterId, ['WAITING']);
});

afterAll(async () => {
  await fixtures.cleanup(server);
  await server?.close();
});

describe('SQL steps', () => {
  it('aggregates CSV objects (a glob) into a Parquet object: rows written, progress 1, logs, output read back', async () => {
    const ws = fixtures.ws(server);
    const query = `SELECT city, count(*) AS n, sum(amount) AS total
      FROM 's3://data/sales/*.csv' -- both months: 's3://nope/ignored.csv' in a comment is left alone
      GROUP BY city ORDER BY city;`;
    const res = await addSql({ query, outputUri: 's3://out/by-city/' });
    expect(res.errors).toBeUndefined();
    const added = (res.data as any).addSteps.steps[0];
    expect(added.sql).toEqual({ query, outputUri: 's3://out/by-city/part-00000.parquet', format: 'PARQUET' });
    const updates = fixtures.subscribe(ws, STEP_UPDATES, { id: added.id }, (d) => d.stepUpdates);

    const step = await waitForStepState(server, added.id, ['COMPLETED', 'FAILED'], { query: STEP_Q, timeoutMs: 60_000 });
    expect(step.state, JSON.stringify(await logsOf(added.id))).toBe('COMPLETED');
    expect(step.progress).toBe(1);
    expect(step.result).toEqual({
      rowsWritten: 3,
      outputUri: 's3://out/by-city/part-00000.parquet',
      format: 'PARQUET',
      bytes: expect.any(Number),
    });
    // registered as an object when the step completed
    expect((await server.data(OBJECT, { bucket: 'out', key: 'by-city/part-00000.parquet' })).object).toEqual({
      uri: 's3://out/by-city/part-00000.parquet',
      size: step.result.bytes,
      contentType: expect.any(String),
    });
    await updates.waitFor(
      (v) => v.some((u) => u.state === 'COMPLETED' && u.progress === 1),
      'COMPLETED with progress 1 over the WebSocket',
    );

    expect(await duck(`SELECT city, n::INT AS n, total::INT AS total FROM '${localPath('out', 'by-city/part-00000.parquet')}'`)).toEqual([
      { city: 'Bergen', n: 2, total: 7 },
      { city: 'Oslo', n: 2, total: 17 },
      { city: 'Tromsø', n: 1, total: 1 },
    ]);
    const logs = await logsOf(added.id);
    const text = logs.map((l) => l.text);
    // sized to the master node (m5.large: 2 vCPU, 8 GiB; 80 % of it for DuckDB)
    expect(text).toContainEqual(
      expect.stringMatching(
        /^DuckDB v\d+\.\d+\.\d+ \(2 threads, [\d.]+ GiB memory\): writing PARQUET to s3:\/\/out\/by-city\/part-00000\.parquet$/,
      ),
    );
    expect(text).toContainEqual(
      expect.stringMatching(/^wrote 3 rows \(\d+ bytes\) to s3:\/\/out\/by-city\/part-00000\.parquet in [\d.]+ s$/),
    );
    // directives are not log lines
    expect(text.filter((t) => t.startsWith('::'))).toEqual([]);
    // the temp file was renamed into place
    expect(await hiddenFiles('out/by-city')).toEqual([]);
  });

  it('joins a Parquet prefix with CSV into a CSV object with a header', async () => {
    const step = await runSql({
      query: `SELECT s.city, c.region, sum(s.amount) AS total
        FROM read_csv('s3://data/sales/2024-01.csv') s JOIN read_parquet('s3://data/cities/') c USING (city)
        GROUP BY ALL ORDER BY total DESC`,
      outputUri: 's3://out/joined.csv',
      format: 'csv',
    });
    expect(step.state).toBe('COMPLETED');
    expect(step.sql.format).toBe('CSV');
    expect(step.result).toMatchObject({ rowsWritten: 2, outputUri: 's3://out/joined.csv', format: 'CSV' });
    expect(await download('out', 'joined.csv')).toBe('city,region,total\nOslo,NO-03,10\nBergen,NO-46,5\n');
    // the prefix is read whole: both Parquet parts
    const all = await runSql({
      query: `SELECT count(*) AS n FROM read_parquet('s3://data/cities/')`,
      outputUri: 's3://out/cities-count.csv',
      format: 'CSV',
    });
    expect(all.state).toBe('COMPLETED');
    expect(await download('out', 'cities-count.csv')).toBe('n\n4\n');
  });

  it('reads newline-delimited JSON and overwrites its output atomically on a rerun', async () => {
    const query = `SELECT "user", sum(clicks) AS clicks FROM read_json('s3://data/events.json') GROUP BY "user" ORDER BY "user"`;
    const first = await runSql({ query, outputUri: 's3://out/clicks.parquet' });
    expect(first.state).toBe('COMPLETED');
    expect(first.result.rowsWritten).toBe(2);
    await putFile('data', 'events.json', '{"user":"cy","clicks":1}\n');
    const second = await runSql({ query, outputUri: 's3://out/clicks.parquet' });
    expect(second.result.rowsWritten).toBe(1);
    expect(await duck(`SELECT "user", clicks::INT AS clicks FROM '${localPath('out', 'clicks.parquet')}'`)).toEqual([
      { user: 'cy', clicks: 1 },
    ]);
  });

  it("a query DuckDB fails at run time fails the step with DuckDB's message, leaving no output", async () => {
    const step = await runSql({ query: `SELECT * FROM 's3://data/missing/*.csv'`, outputUri: 's3://out/never.parquet' });
    expect(step.state).toBe('FAILED');
    expect(step.exitCode).toBe(1);
    const logs = await logsOf(step.id);
    expect(logs).toContainEqual({
      stream: 'STDERR',
      text: 'SQL step failed: IO Error: No files found that match the pattern "s3://data/missing/*.csv"',
    });
    expect(logs).toContainEqual({ stream: 'STDOUT', text: `query: SELECT * FROM 's3://data/missing/*.csv'` });
    await expect(fs.stat(localPath('out', 'never.parquet'))).rejects.toThrow(/ENOENT/);
    expect((await server.data(OBJECT, { bucket: 'out', key: 'never.parquet' })).object).toBeNull();
    expect(await hiddenFiles('out')).toEqual([]);
  });

  it('reading outside the buckets fails inside DuckDB without leaking the file', async () => {
    const step = await runSql({ query: `SELECT * FROM read_csv('/etc/passwd')`, outputUri: 's3://out/passwd.csv', format: 'CSV' });
    expect(step.state).toBe('FAILED');
    const text = (await logsOf(step.id)).map((l) => l.text).join('\n');
    expect(text).toContain('Permission Error: Cannot access file "/etc/passwd" - file system operations are disabled by configuration');
    expect(text).not.toContain('root:');
    await expect(fs.stat(localPath('out', 'passwd.csv'))).rejects.toThrow(/ENOENT/);
  });

  it("a query reads only the buckets it names: not another run's unfinished output nor other buckets", async () => {
    const other = path.join(bucketsDir(), '.sql-tmp', 'run-other');
    await fs.mkdir(other, { recursive: true });
    await fs.writeFile(path.join(other, 'output.csv'), 'secret\nunfinished\n');
    try {
      for (const file of [path.join(other, 'output.csv'), localPath('data', 'sales/2024-01.csv')]) {
        const step = await runSql({ query: `SELECT * FROM read_csv('${file}')`, outputUri: 's3://out/peek.csv', format: 'CSV' });
        expect(step.state).toBe('FAILED');
        const text = (await logsOf(step.id)).map((l) => l.text).join('\n');
        expect(text).toContain('file system operations are disabled by configuration');
        expect(text).not.toContain('unfinished');
        const res = await preview(`SELECT * FROM read_csv('${file}')`);
        expectError(res, 'BAD_USER_INPUT', 'query');
        expect(res.errors![0]!.message).toContain('file system operations are disabled by configuration');
      }
    } finally {
      await fs.rm(other, { recursive: true, force: true });
    }
    await expect(fs.stat(localPath('out', 'peek.csv'))).rejects.toThrow(/ENOENT/);
  });

  it('a cancelled SQL step stops DuckDB and leaves neither output nor temp file', async () => {
    const res = await addSql({
      query: 'SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 99',
      outputUri: 's3://out/slow.parquet',
    });
    const id = (res.data as any).addSteps.steps[0].id;
    await waitForStepState(server, id, ['RUNNING'], { query: STEP_Q });
    const cancelled = await server.data(CANCEL, { input: { clusterId, stepIds: [id] } });
    expect(cancelled.cancelSteps.results[0].status).toBe('SUBMITTED');
    const step = await waitForStepState(server, id, ['CANCELLED'], { query: STEP_Q, timeoutMs: 30_000 });
    expect(step.state).toBe('CANCELLED');
    await expect(fs.stat(localPath('out', 'slow.parquet'))).rejects.toThrow(/ENOENT/);
    expect(await hiddenFiles('out')).toEqual([]);
  });

  it('is refused on a cluster without DUCKDB', async () => {
    const res = await addSql({ query: 'SELECT 1', outputUri: 's3://out/x.parquet' }, plainClusterId);
    expectError(res, 'BAD_USER_INPUT', 'input.steps.0.sql');
    expect(res.errors![0]!.message).toContain('DUCKDB');
  });

  it("refuses anything but one SELECT, with DuckDB's parser message, adding nothing", async () => {
    const refused = [
      `COPY (SELECT 1) TO '/tmp/sql-test-escape.csv'`,
      `COPY (SELECT 1) TO 's3://out/copy.csv'`,
      `ATTACH '/tmp/sql-test.db'`,
      'INSTALL httpfs',
      'LOAD httpfs',
      'CREATE TABLE t AS SELECT 1',
      'INSERT INTO t VALUES (1)',
      'PRAGMA version',
      `SET enable_external_access = true`,
      'SELECT 1; SELECT 2',
      `SELECT 1; COPY (SELECT 1) TO '/tmp/sql-test-escape.csv'`,
      'CALL pragma_version()',
    ];
    for (const query of refused) {
      const res = await addSql({ query, outputUri: 's3://out/refused.parquet' });
      expectError(res, 'BAD_USER_INPUT', 'input.steps.0.sql.query');
    }
    const copy = await addSql({ query: refused[0], outputUri: 's3://out/refused.parquet' });
    expect(copy.errors![0]!.message).toMatch(/only a SELECT query/);
    const two = await addSql({ query: 'SELECT 1; SELECT 2', outputUri: 's3://out/refused.parquet' });
    expect(two.errors![0]!.message).toBe('must be exactly one SELECT statement, got 2');
    const bad = await addSql({ query: 'SELEC 1', outputUri: 's3://out/refused.parquet' });
    expect(bad.errors![0]!.message).toContain('syntax error at or near "SELEC"');
    await expect(fs.stat('/tmp/sql-test-escape.csv')).rejects.toThrow(/ENOENT/);
    const steps = await server.data(`query($id: ID!) { cluster(id: $id) { steps(first: 100) { edges { node { sql { query } } } } } }`, {
      id: clusterId,
    });
    expect(steps.cluster.steps.edges.map((e: any) => e.node.sql?.query)).not.toContain('INSTALL httpfs');
  });

  it('validates URIs, buckets, the output and the format', async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [
        { query: `SELECT * FROM 's3://data/../../etc/passwd'`, outputUri: 's3://out/x.csv' },
        'input.steps.0.sql.query',
        /"s3:\/\/data\/\.\.\/\.\.\/etc\/passwd": must not contain "\." or "\.\." path segments/,
      ],
      [{ query: `SELECT * FROM 's3://Bad_Bucket/x.csv'`, outputUri: 's3://out/x.csv' }, 'input.steps.0.sql.query', /3 to 63 characters/],
      [
        { query: `SELECT * FROM read_csv(E's3://data/sales/2024-01.csv')`, outputUri: 's3://out/x.csv' },
        'input.steps.0.sql.query',
        /plain '…' string literals/,
      ],
      [
        { query: `SELECT * FROM read_csv($$s3://data/sales/2024-01.csv$$)`, outputUri: 's3://out/x.csv' },
        'input.steps.0.sql.query',
        /plain '…' string literals/,
      ],
      [{ query: `SELECT 'unterminated`, outputUri: 's3://out/x.csv' }, 'input.steps.0.sql.query', /unterminated string literal/],
      [{ query: '   ', outputUri: 's3://out/x.csv' }, 'input.steps.0.sql.query', /must not be empty/],
      [
        { query: `SELECT '${'x'.repeat(65_536)}'`, outputUri: 's3://out/x.csv' },
        'input.steps.0.sql.query',
        /must be at most 65536 characters/,
      ],
      [
        { query: `SELECT '${'é'.repeat(65_000)}'`, outputUri: 's3://out/x.csv' },
        'input.steps.0.sql.query',
        /is too long: with its s3:\/\/ URIs mapped/,
      ],
      [{ query: 'SELECT 1' }, 'input.steps.0.sql.outputUri', /is required/],
      [{ query: 'SELECT 1', outputUri: '/tmp/x.csv' }, 'input.steps.0.sql.outputUri', /s3:\/\/bucket\/key/],
      [{ query: 'SELECT 1', outputUri: 's3://out/../x.csv' }, 'input.steps.0.sql.outputUri', /path segments/],
      [{ query: 'SELECT 1', outputUri: 's3://out/x.json', format: 'JSON' }, 'input.steps.0.sql.format', /PARQUET, CSV/],
    ];
    for (const [sql, field, message] of cases) {
      const res = await addSql(sql);
      expectError(res, 'BAD_USER_INPUT', field);
      expect(res.errors![0]!.message).toMatch(message);
    }
    // a missing bucket is NOT_FOUND, as in the URIs of SCRIPT and SPARK steps
    const missing: Array<[Record<string, unknown>, string]> = [
      [{ query: `SELECT * FROM 's3://no-such-bucket/x.csv'`, outputUri: 's3://out/x.csv' }, 'input.steps.0.sql.query'],
      [{ query: 'SELECT 1', outputUri: 's3://no-such-bucket/x.csv' }, 'input.steps.0.sql.outputUri'],
    ];
    for (const [sql, field] of missing) {
      const res = await addSql(sql);
      expectError(res, 'NOT_FOUND', field);
      expect(res.errors![0]!.message).toBe('bucket "no-such-bucket" does not exist');
    }
  });
});

describe('sqlPreview', () => {
  it('returns columns, rows as JSON and whether there were more', async () => {
    const res = await preview(`SELECT city, amount, day FROM 's3://data/sales/*.csv' ORDER BY amount DESC`, 2);
    expect(res.errors).toBeUndefined();
    expect((res.data as any).sqlPreview).toEqual({
      columns: [
        { name: 'city', type: 'VARCHAR' },
        { name: 'amount', type: 'BIGINT' },
        { name: 'day', type: 'DATE' },
      ],
      rows: [
        ['Oslo', '10', '2024-01-01'],
        ['Oslo', '7', '2024-01-02'],
      ],
      truncated: true,
    });
    const all = (await server.data(PREVIEW, { clusterId, query: `FROM read_parquet('s3://data/cities/') ORDER BY city` })).sqlPreview;
    expect(all.rows).toEqual([
      ['Bergen', 'NO-46'],
      ['Oslo', 'NO-03'],
      ['Tromsø', 'NO-55'],
      ['Trondheim', 'NO-50'],
    ]);
    expect(all.truncated).toBe(false);
    // a quoted identifier naming an object is mapped too; a literal with quotes in it stays intact
    const ident = (
      await server.data(PREVIEW, { clusterId, query: `SELECT count(*) AS n, 'it''s' AS s FROM "s3://data/sales/2024-01.csv"` })
    ).sqlPreview;
    expect(ident.rows).toEqual([['2', "it's"]]);
  });

  it('limit: default 100, at most 1000; exactly limit rows is not truncated', async () => {
    const rangeOf = async (n: number, limit?: number) =>
      (await server.data(PREVIEW, { clusterId, query: `SELECT range AS i FROM range(${n})`, limit })).sqlPreview;
    const byDefault = await rangeOf(250);
    expect(byDefault.rows).toHaveLength(100);
    expect(byDefault.truncated).toBe(true);
    const max = await rangeOf(5000, 1000);
    expect(max.rows).toHaveLength(1000);
    expect(max.rows[999]).toEqual(['999']);
    expect(max.truncated).toBe(true);
    const exact = await rangeOf(7, 7);
    expect(exact.rows).toHaveLength(7);
    expect(exact.truncated).toBe(false);
    expectError(await preview('SELECT 1', 1001), 'BAD_USER_INPUT', 'limit');
    expectError(await preview('SELECT 1', 0), 'BAD_USER_INPUT', 'limit');
  });

  it('interrupts a query past the timeout with a clear error, and keeps working', async () => {
    const res = await preview('SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 99');
    expectError(res, 'BAD_USER_INPUT', 'query');
    expect(res.errors![0]!.message).toMatch(/^query timed out: it did not finish within 5000 ms \(SQL_PREVIEW_TIMEOUT_MS\)/);
    expect((await server.data(PREVIEW, { clusterId, query: 'SELECT 42 AS answer' })).sqlPreview.rows).toEqual([[42]]);
  });

  it("bad SQL is BAD_USER_INPUT with DuckDB's message, in s3:// terms", async () => {
    const syntax = await preview('SELECT FROM WHERE');
    expectError(syntax, 'BAD_USER_INPUT', 'query');
    expect(syntax.errors![0]!.message).toContain('syntax error at or near');
    const binder = await preview(`SELECT nope FROM 's3://data/sales/2024-01.csv'`);
    expectError(binder, 'BAD_USER_INPUT', 'query');
    expect(binder.errors![0]!.message).toContain('Referenced column "nope" not found');
    const missing = await preview(`SELECT * FROM 's3://data/sales/1999.csv'`);
    expectError(missing, 'BAD_USER_INPUT', 'query');
    expect(missing.errors![0]!.message).toContain('s3://data/sales/1999.csv');
    expect(missing.errors![0]!.message).not.toContain(bucketsDir());
  });

  it('refuses writes and anything outside the buckets', async () => {
    for (const query of [
      `COPY (SELECT 1) TO '/tmp/sql-preview-escape.csv'`,
      `COPY (SELECT 1) TO 's3://out/p.csv'`,
      `ATTACH '/tmp/p.db'`,
      'INSTALL httpfs',
      'CREATE TABLE t (a INT)',
    ]) {
      const res = await preview(query);
      expectError(res, 'BAD_USER_INPUT', 'query');
      expect(res.errors![0]!.message).toMatch(/only a SELECT query/);
    }
    await expect(fs.stat('/tmp/sql-preview-escape.csv')).rejects.toThrow(/ENOENT/);
    for (const query of [
      `SELECT * FROM read_csv('/etc/passwd')`,
      `SELECT * FROM read_text('/proc/self/environ')`,
      `SELECT * FROM glob('/*')`,
      `SELECT * FROM read_csv('${bucketsDir()}/../../../etc/passwd')`,
    ]) {
      const res = await preview(query);
      expectError(res, 'BAD_USER_INPUT', 'query');
      expect(res.errors![0]!.message).toContain('file system operations are disabled by configuration');
      expect(res.errors![0]!.message).not.toContain('root:');
    }
  });

  it('needs an existing RUNNING or WAITING cluster with DUCKDB', async () => {
    const noDuck = await preview('SELECT 1', 10, plainClusterId);
    expectError(noDuck, 'BAD_USER_INPUT', 'clusterId');
    expect(noDuck.errors![0]!.message).toContain('DUCKDB');
    expectError(await preview('SELECT 1', 10, 'j-nope'), 'NOT_FOUND', 'clusterId');
    expectError(await preview(`SELECT * FROM 's3://no-such-bucket/x.csv'`), 'NOT_FOUND', 'query');
    const ending = await server.data(CREATE_CLUSTER, { input: { name: 'ending', applications: ['DUCKDB'], instanceGroups: [MASTER] } });
    const endingId = fixtures.cluster(ending.createCluster.cluster.id);
    await server.data(TERMINATE_CLUSTERS, { ids: [endingId] });
    const conflict = await preview('SELECT 1', 10, endingId);
    expectError(conflict, 'CONFLICT', 'clusterId');
    expect(conflict.errors![0]!.message).toMatch(/needs a RUNNING or WAITING cluster; cluster j-\w+ is TERMINAT(ING|ED)/);
  });

  it('needs the clusters:SqlPreview action', async () => {
    const { createApiKey } = await server.data(`mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }`, {
      input: { name: 'watcher', actions: ['clusters:Describe*'] },
    });
    const res = await server.gql(PREVIEW, { clusterId, query: 'SELECT 1' }, createApiKey.key);
    expectError(res, 'FORBIDDEN');
    expect(res.data ?? null).toBeNull();
  });
});
