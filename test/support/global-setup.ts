import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.js';
import { runMigrations } from '../../src/db/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** superuser URL of the test run's Postgres (database `postgres`) */
    pgUrl: string;
  }
}

export const TEMPLATE_DB = 'emberplane_template';

/** One real Postgres per test run; each test file clones a migrated template database (fast). */
export default async function setup(project: TestProject) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'emberplane-test-pg-'));
  const log = pino({ level: 'warn' });
  const pg = await startEmbeddedPostgres(dir, log);
  const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${TEMPLATE_DB}`);
  await admin.end();
  await runMigrations(pg.url.replace(/\/postgres$/, `/${TEMPLATE_DB}`));
  project.provide('pgUrl', pg.url);
  return async () => {
    await pg.stop();
    await fs.rm(dir, { recursive: true, force: true });
  };
}
