import path from 'node:path';

/** Everything the server reads from its environment, in one place (README "Configuration"). */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** object bytes live here, at <bucketsDir>/<bucket>/<key> (the s3:// → local path mapping) */
  bucketsDir: string;
  databaseUrl: string | undefined;
  adminApiKey: string | undefined;
  production: boolean;
  introspection: boolean;
  logLevel: string;
  /** an instance whose agent has not been heard from for this long is failed */
  heartbeatTimeoutMs: number;
  agentHeartbeatMs: number;
  agentOrphanSeconds: number;
  /** how often controllers re-read everything even without a NOTIFY hint */
  reconcileIntervalMs: number;
  dbPoolSize: number;
  /** a cluster or node not ready this long after its creation ends with BOOTSTRAP_FAILURE */
  startupTimeoutSeconds: number;
  /** the URL node agents dial (default ws://<host>:<port>/agent); set it when agents run elsewhere */
  agentUrl: string | undefined;
  /** where function code is unpacked and instances get their /tmp (a cache; default <tmpdir>/emberplane-fn-<server>) */
  functionsRuntimeDir: string | undefined;
  /** account-wide concurrent invocations (Lambda's default 1,000) */
  functionConcurrencyLimit: number;
  /** warm instances unused this long are stopped */
  functionIdleSeconds: number;
  /** async retries wait this times the attempt number (Lambda: about 1 min, then 2) */
  functionRetryDelayMs: number;
  /** async invocations run at once per server */
  functionAsyncParallel: number;
  /** the python3 command for PYTHON311 (resolved once to the real interpreter) */
  functionPython: string;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const production = env.NODE_ENV === 'production';
  const dataDir = path.resolve(env.DATA_DIR || '.data');
  return {
    port: int(env, 'PORT', 4000),
    host: env.HOST || '127.0.0.1',
    dataDir,
    bucketsDir: path.join(dataDir, 'buckets'),
    databaseUrl: env.DATABASE_URL || undefined,
    adminApiKey: env.ADMIN_API_KEY || undefined,
    production,
    introspection: env.INTROSPECTION ? env.INTROSPECTION === 'true' : true,
    logLevel: env.LOG_LEVEL || 'info',
    heartbeatTimeoutMs: int(env, 'HEARTBEAT_TIMEOUT_MS', 10_000),
    agentHeartbeatMs: int(env, 'AGENT_HEARTBEAT_MS', 2_000),
    agentOrphanSeconds: int(env, 'AGENT_ORPHAN_SECONDS', 300),
    reconcileIntervalMs: int(env, 'RECONCILE_INTERVAL_MS', 1_000),
    dbPoolSize: int(env, 'DB_POOL_SIZE', 20),
    startupTimeoutSeconds: int(env, 'STARTUP_TIMEOUT_SECONDS', 600),
    agentUrl: env.AGENT_URL || undefined,
    functionsRuntimeDir: env.FUNCTIONS_RUNTIME_DIR || undefined,
    functionConcurrencyLimit: int(env, 'FUNCTION_CONCURRENCY_LIMIT', 1_000),
    functionIdleSeconds: int(env, 'FUNCTION_IDLE_SECONDS', 300),
    functionRetryDelayMs: int(env, 'FUNCTION_RETRY_DELAY_MS', 60_000),
    functionAsyncParallel: int(env, 'FUNCTION_ASYNC_PARALLEL', 64),
    functionPython: env.FUNCTION_PYTHON || 'python3',
  };
}
