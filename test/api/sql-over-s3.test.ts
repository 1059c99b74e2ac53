import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allPages, expectError, MASTER, waitForStepState } from '../support/api.js';
import { aws, type S3Key } from '../support/s3.js';
import { duckdbRows, JOINED_ROWS, type OverS3, PEOPLE_CSV, scoresParquet, startOverS3 } from '../support/over-s3.js';
import type { TestServer } from '../support/server.js';

const STEP = `id state exitCode result failureDetails { reason message }`;
const ADD = `mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { ${STEP} } } }`;
const STEP_Q = `query($id: ID!) { step(id: $id) { ${STEP} } }`;
const LOGS = `query($id: ID!, $after: String) { step(id: $id) { logs(first: 100, after: $after) {
  edges { node { stream text } } pageInfo { hasNextPage endCursor } } } }`;

let env: OverS3;
let server: TestServer;
let key: S3Key;
let work: string;
let clusterId: string;

beforeAll(async () => {
  env = await startOverS3({
    buckets: ['lake', 'private'],
    cluster: { name: 'sql-over-s3', applications: ['DUCKDB'], instanceGroups: [MASTER] },
  });
  ({ server, key, work, clusterId } = env);
  await env.upload('s3://lake/in/people.csv', PEOPLE_CSV);
  await env.upload('s3://private/secret.csv', 'x\n42\n');
  await env.upload('s3://lake/in/scores/part-0.parquet', await scoresParquet(work));
});
afterAll(async () => {
  await env?.close();
});

async function runSql(query: string, outputUri: string, format = 'PARQUET') {
  const [step] = (await server.data(ADD, { input: { clusterId, steps: [{ name: 'sql', sql: { query, outputUri, format } }] } })).addSteps
    .steps;
  const done = await waitForStepState(server, step.id, ['COMPLETED', 'FAILED'], { query: STEP_Q, timeoutMs: 120_000 });
  const logs = await allPages<{ stream: string; text: string }>(
    async (after) => (await server.data(LOGS, { id: step.id, after })).step.logs,
  );
  return { done, text: logs.map((l) => l.text).join('\n') };
}

describe('SQL steps over S3 (OBJECT_PATH_MAPPING=off)', () => {
  it('joins CSV and a Parquet prefix read over S3 and uploads its result as an object', async () => {
    const { done, text } = await runSql(
      `SELECT p.id, p.name, s.score FROM read_csv('s3://lake/in/people.csv') p JOIN read_parquet('s3://lake/in/scores/*.parquet') s USING (id) ORDER BY p.id`,
      's3://lake/out/joined.parquet',
    );
    expect(done, text).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
    expect(done.result).toMatchObject({ rowsWritten: 2, outputUri: 's3://lake/out/joined.parquet', format: 'PARQUET' });
    // the object, as any S3 client sees it
    const file = path.join(work, 'joined.parquet');
    const got = await aws(server, key, ['s3', 'cp', 's3://lake/out/joined.parquet', file]);
    expect(got.code, got.stderr).toBe(0);
    expect(await duckdbRows(`SELECT id::INTEGER, name, score::INTEGER FROM read_parquet('${file}') ORDER BY id`)).toEqual(JOINED_ROWS);
  });

  it('refuses a bare prefix (a directory read on local paths) with the glob to use instead; the glob works', async () => {
    const sql = {
      query: `SELECT count(*) AS n FROM read_parquet('s3://lake/in/scores/')`,
      outputUri: 's3://lake/out/count.csv',
      format: 'CSV',
    };
    const refused = await server.gql(ADD, { input: { clusterId, steps: [{ name: 'prefix', sql }] } });
    expectError(refused, 'BAD_USER_INPUT', 'input.steps.0.sql.query');
    expect(refused.errors![0]!.message).toContain(`'s3://lake/in/scores/*.parquet'`);
    const { done, text } = await runSql(`SELECT count(*) AS n FROM read_parquet('s3://lake/in/scores/**/*.parquet')`, sql.outputUri, 'CSV');
    expect(done, text).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
    expect((await aws(server, key, ['s3', 'cp', sql.outputUri, '-'])).stdout).toBe('n\n3\n');
  });

  it('reaches only the buckets the query names: not another bucket through a computed URI, nor the local buckets directory', async () => {
    const computed = await runSql(`SELECT * FROM read_csv('s3:/' || '/private/secret.csv')`, 's3://lake/out/leak.csv', 'CSV');
    expect(computed.done.state).toBe('FAILED');
    expect(computed.text).toMatch(/Permission Error|not allowed|disabled/i);
    const local = path.join(server.dataDir, 'buckets', 'private', 'secret.csv');
    const onDisk = await runSql(`SELECT * FROM read_csv('${local}')`, 's3://lake/out/leak2.csv', 'CSV');
    expect(onDisk.done.state).toBe('FAILED');
    const listed = await aws(server, key, ['s3', 'ls', 's3://lake/out/']);
    expect(listed.stdout).not.toContain('leak');
  });
});
