// What the tests of steps without the object path mapping (OBJECT_PATH_MAPPING=off) share: data
// uploaded with the aws CLI (through the S3 endpoint, not GraphQL) and DuckDB on the test's side to
// make and read Parquet files.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { expect } from 'vitest';
import type { Config } from '../../src/platform/config.js';
import { createCluster, Fixtures, waitForClusterState } from './api.js';
import { aws, createS3Key, type S3Key } from './s3.js';
import { startTestServer, type TestServer } from './server.js';

export const PEOPLE_CSV = 'id,name\n1,ada\n2,grace\n3,linus\n';
/** people.csv joined with scores.parquet: ids 1 and 2 are in both */
export const JOINED_ROWS = [
  [1, 'ada', 90],
  [2, 'grace', 75],
];

/** Uploads `content` to `uri` with the aws CLI (through a file in `dir`); the URI. */
async function awsUpload(server: TestServer, key: S3Key, dir: string, uri: string, content: string | Buffer): Promise<string> {
  const file = path.join(dir, `upload-${path.basename(uri)}`);
  writeFileSync(file, content);
  const put = await aws(server, key, ['s3', 'cp', file, uri]);
  expect(put.code, put.stderr).toBe(0);
  return uri;
}

/** The rows of one statement run by an in-memory DuckDB here. */
export async function duckdbRows(sql: string): Promise<unknown[][]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRows();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** A Parquet file (id, score) with ids 1, 2 and 4, made by DuckDB in `dir`: its bytes. */
export async function scoresParquet(dir: string): Promise<Buffer> {
  const file = path.join(dir, 'scores.parquet');
  await duckdbRows(`COPY (SELECT * FROM (VALUES (1, 90), (2, 75), (4, 60)) t(id, score)) TO '${file}' (FORMAT parquet)`);
  return readFileSync(file);
}

/** A server without the path mapping, with an S3 key, buckets, a cluster and a scratch directory of the test's. */
export interface OverS3 {
  server: TestServer;
  /** an S3 key of every action (the test's own uploads and checks) */
  key: S3Key;
  /** a scratch directory on the test's side */
  work: string;
  /** the cluster, WAITING */
  clusterId: string;
  /** uploads with the aws CLI; the URI */
  upload(uri: string, content: string | Buffer): Promise<string>;
  close(): Promise<void>;
}

/** Starts a server with OBJECT_PATH_MAPPING=off, makes `buckets` over S3 and a cluster of `cluster` (an input of createCluster). */
export async function startOverS3(options: {
  buckets: string[];
  cluster: Record<string, unknown>;
  server?: Partial<Config>;
  readyTimeoutMs?: number;
}): Promise<OverS3> {
  const server = await startTestServer({ ...options.server, objectPathMapping: false });
  const fixtures = new Fixtures();
  const work = mkdtempSync(path.join(os.tmpdir(), 'over-s3-test-'));
  const close = async () => {
    await fixtures.cleanup(server);
    await server.close();
    rmSync(work, { recursive: true, force: true });
  };
  try {
    const key = await createS3Key(server, 'test-data');
    for (const bucket of options.buckets) {
      const made = await aws(server, key, ['s3', 'mb', `s3://${bucket}`]);
      expect(made.code, made.stderr).toBe(0);
    }
    const clusterId = fixtures.cluster(await createCluster(server, options.cluster));
    await waitForClusterState(server, clusterId, ['WAITING'], { timeoutMs: options.readyTimeoutMs ?? 30_000 });
    return { server, key, work, clusterId, upload: (uri, content) => awsUpload(server, key, work, uri, content), close };
  } catch (err) {
    await close();
    throw err;
  }
}
