import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/platform/db/embedded-postgres.js';
import { runMigrations } from '../../src/platform/db/migrate.js';
import { namespacesAvailable, sweepLeftoverNetworks } from './netns.js';
import { pidsWithEnvPrefix } from './processes.js';

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
  // Every temporary dir of this run (test data dirs, the node agents' working dirs) lives under one
  // run dir, so that the end of the run can tell whether any process started by a test survived it.
  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'emberplane-run-'));
  await fs.chmod(runDir, 0o755); // the embedded Postgres user must be able to traverse it
  process.env.TMPDIR = runDir;
  return async () => {
    // every test file has ended: a network namespace still there is a killed worker's (its owner is gone)
    if (namespacesAvailable() === null) await sweepLeftoverNetworks();
    await pg.stop();
    await fs.rm(dir, { recursive: true, force: true });
    const leaked = [...pidsWithEnvPrefix('AGENT_WORKDIR', runDir), ...pidsWithEnvPrefix('LAMBDA_TASK_ROOT', runDir)];
    for (const pid of leaked) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
    }
    await fs.rm(runDir, { recursive: true, force: true });
    // a leaked process is a failing test run (vitest reports a teardown error but keeps exit code 0)
    if (leaked.length) process.exitCode = 1;
    if (leaked.length) throw new Error(`processes left running by the tests (now killed): ${leaked.join(', ')}`);
  };
}
