import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { startApp, type AppHooks, type RunningApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/platform/config.js';
import { createTestDatabase } from './db.js';
import { gql, gqlData, wsClient, type GqlResponse } from './client.js';
import { pidsWithEnvPrefix, sandboxedProcessesUnder, waitUntil } from './processes.js';

export interface TestServer {
  app: RunningApp;
  url: string;
  key: string;
  dataDir: string;
  databaseUrl: string;
  gql<T = any>(query: string, variables?: Record<string, unknown>, key?: string | null): Promise<GqlResponse<T>>;
  data<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
  ws(key?: string | null): ReturnType<typeof wsClient>;
  /** stops the server and every agent it started; fails if any agent or step process is left */
  close(): Promise<void>;
}

export function testConfig(overrides: Partial<Config> & { dataDir: string; databaseUrl: string; adminApiKey: string }): Config {
  // the defaults of a fresh start, faster loops, and what the test asks for
  return {
    ...loadConfig({}),
    port: 0,
    logLevel: 'warn',
    agentHeartbeatMs: 500,
    agentOrphanSeconds: 60,
    reconcileIntervalMs: 200,
    dbPoolSize: 10,
    bucketsDir: path.join(overrides.dataDir, 'buckets'),
    functionRetryDelayMs: 500,
    // every server of one database needs the same secrets key: tests start several with their own
    // data dirs, so the key comes from the database (secretsKey: undefined tests DATA_DIR/secrets.key)
    secretsKey: crypto.createHash('sha256').update(overrides.databaseUrl).digest('hex'),
    ...overrides,
  };
}

/** The function runtime dir of a test server (beside its data dir, which instances may not enter). */
export const functionsDirOf = (dataDir: string) => `${dataDir}-fn`;

/** Processes started for a data dir: agents and their steps carry AGENT_WORKDIR under it; function
 *  instances are sandboxes showing dirs of its function runtime dir (or, unconfined, carry
 *  LAMBDA_TASK_ROOT under it). */
export function processesOf(dataDir: string): number[] {
  return [
    ...pidsWithEnvPrefix('AGENT_WORKDIR', dataDir),
    ...pidsWithEnvPrefix('LAMBDA_TASK_ROOT', functionsDirOf(dataDir)),
    ...sandboxedProcessesUnder(functionsDirOf(dataDir)),
  ];
}

/** The node agents of a data dir (not the steps and sandboxes they started, which carry its environment too). */
export function agentProcessesOf(dataDir: string): number[] {
  return pidsWithEnvPrefix('AGENT_WORKDIR', dataDir).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
        .split('\0')
        .some((arg) => arg.endsWith('node-agent.js'));
    } catch {
      return false; // gone meanwhile
    }
  });
}

export async function assertNoProcessesLeft(dataDir: string): Promise<void> {
  await waitUntil(() => processesOf(dataDir).length === 0, `no processes left under ${dataDir}`, 10_000);
}

export async function startTestServer(overrides: Partial<Config> = {}, hooks: AppHooks = {}, logger?: Logger): Promise<TestServer> {
  const dataDir = overrides.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'emberplane-test-')));
  const databaseUrl = overrides.databaseUrl ?? (await createTestDatabase());
  const key = overrides.adminApiKey ?? `ep_test_${crypto.randomBytes(12).toString('hex')}`;
  const functionsRuntimeDir = overrides.functionsRuntimeDir ?? functionsDirOf(dataDir);
  const log = logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'warn' });
  const app = await startApp(testConfig({ ...overrides, dataDir, databaseUrl, adminApiKey: key, functionsRuntimeDir }), log, hooks);
  const url = app.url;
  return {
    app,
    url,
    key,
    dataDir,
    databaseUrl,
    gql: (query, variables, k = key) => gql(url, k, query, variables),
    data: (query, variables) => gqlData(url, key, query, variables),
    ws: (k = key) => wsClient(url, k),
    async close() {
      await app.close({ stopAgents: true });
      await assertNoProcessesLeft(dataDir);
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}
