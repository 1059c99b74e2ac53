// What the tests of steps without the object path mapping (OBJECT_PATH_MAPPING=off) share: data
// uploaded with the aws CLI (through the S3 endpoint, not GraphQL) and DuckDB on the test's side to
// make and read Parquet files.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { expect } from 'vitest';
import { aws, type S3Key } from './s3.js';
import type { TestServer } from './server.js';

export const PEOPLE_CSV = 'id,name\n1,ada\n2,grace\n3,linus\n';
/** people.csv joined with scores.parquet: ids 1 and 2 are in both */
export const JOINED_ROWS = [
  [1, 'ada', 90],
  [2, 'grace', 75],
];

/** Uploads `content` to `uri` with the aws CLI (through a file in `dir`); the URI. */
export async function awsUpload(server: TestServer, key: S3Key, dir: string, uri: string, content: string | Buffer): Promise<string> {
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
