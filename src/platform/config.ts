import path from 'node:path';
import { DEFAULT_SPARK_JARS_DIR } from '../engine/spark-runtime.js';

/**
 * Everything the server reads from its environment, in one place (docs/configuration.md lists each
 * variable). Grouped by the part of the server that uses it.
 */
export interface Config {
  // ---- platform: the server, its database and keys ----
  port: number;
  host: string;
  /** the base URL clients reach this server at (HTTP trigger and function URLs); default http://<host>:<port> */
  publicUrl: string | undefined;
  dataDir: string;
  databaseUrl: string | undefined;
  dbPoolSize: number;
  /** the key secrets at rest are hashed and encrypted with (SECRETS_KEY); default DATA_DIR/secrets.key */
  secretsKey: string | undefined;
  production: boolean;
  logLevel: string;
  /** how often controllers re-read everything even without a NOTIFY hint */
  reconcileIntervalMs: number;
  /** run tenant code (function instances, cluster steps) sandboxed: SANDBOX=off runs it unconfined (development only) */
  sandbox: boolean;
  /** SANDBOX_BWRAP: the bubblewrap program to use instead of the one found on the system path */
  sandboxBwrap: string | undefined;
  /** STOP_AGENTS_ON_EXIT: a stopped server stops its node agents too (by default they outlive a restart) */
  stopAgentsOnExit: boolean;

  // ---- the GraphQL API ----
  introspection: boolean;
  /** the GraphiQL explorer at GET /graphql (EXPLORER; default on unless production) */
  explorer: boolean;
  /** the web console at GET / (CONSOLE; default on) */
  console: boolean;
  /** largest GraphQL request body (2 MiB: bigger function code goes through /objects and an s3Uri) */
  graphqlBodyLimitBytes: number;
  /** WebSocket connections one API key may hold open on one server (WS_CONNECTIONS_PER_KEY) */
  wsConnectionsPerKey: number;
  /** operations (subscriptions, or a query/mutation while it runs) at once on one connection (WS_OPERATIONS_PER_CONNECTION) */
  wsOperationsPerConnection: number;
  /** operations at once across one API key's connections to one server (WS_OPERATIONS_PER_KEY) */
  wsOperationsPerKey: number;

  // ---- access ----
  adminApiKey: string | undefined;

  // ---- storage ----
  /** object bytes live here, at <bucketsDir>/<bucket>/<key> (the s3:// → local path mapping) */
  bucketsDir: string;
  /** largest object an HTTP upload may store (OBJECT_MAX_BYTES, default 5 GiB, as one S3 PUT) */
  objectMaxBytes: number;
  /** S3 multipart uploads not completed or aborted this long after their creation are aborted (0: kept until aborted) */
  multipartExpirySeconds: number;
  /** the region the S3 endpoint names (GetBucketLocation); signatures may be scoped to any region */
  s3Region: string;
  /** Host suffixes under which the S3 endpoint takes `<bucket>.<domain>` as virtual-hosted-style addressing */
  s3VirtualHostDomains: string[];
  /**
   * OBJECT_PATH_MAPPING: SPARK and SQL steps reach objects as local files of the buckets directory
   * (on: nodes on this server's host); off: over the S3 endpoint, with the cluster's own credential
   */
  objectPathMapping: boolean;

  // ---- hosts: the machines nodes run on ----
  /** EMBEDDED_HOST: this server's own machine runs nodes (off: the server only controls; nodes go to joined hosts) */
  embeddedHost: boolean;
  /** EMBEDDED_HOST_OVERCOMMIT: placement allocates the server's own machine up to its capacity × this */
  embeddedHostOvercommit: number;
  /** HOST_LOST_AFTER_SECONDS: a joined host not heard from this long is LOST and its nodes replaced */
  hostLostAfterSeconds: number;

  // ---- clusters: nodes, steps, scaling, metrics, usage ----
  /** an instance whose agent has not been heard from for this long is failed */
  heartbeatTimeoutMs: number;
  agentHeartbeatMs: number;
  agentOrphanSeconds: number;
  /** how often node agents report metrics */
  agentMetricsMs: number;
  /** the URL node agents dial (default ws://<host>:<port>/agent); set it when agents run elsewhere */
  agentUrl: string | undefined;
  /** AGENT_ENV_PASSTHROUGH: environment variables node agents inherit besides the basics */
  agentEnvPassthrough: string[];
  /** a cluster or node not ready this long after its creation ends with BOOTSTRAP_FAILURE */
  startupTimeoutSeconds: number;
  /** how often the leader samples cluster metrics and evaluates scaling policies */
  metricsIntervalMs: number;
  metricsRetentionHours: number;
  /** MIN_IDLE_TIMEOUT_SECONDS: the least autoTerminationIdleTimeoutSeconds a cluster may ask for */
  minIdleTimeoutSeconds: number;
  /** managed scaling: no decision sooner than this after the previous one of the cluster */
  scalingCooldownSeconds: number;
  /** managed scaling shrinks TASK nodes after this many idle evaluation periods in a row */
  scalingIdlePeriods: number;
  /** PRICE_TABLE: a JSON file path or inline JSON; null = the built-in prices */
  priceTable: string | null;

  // ---- clusters: Spark ----
  /** the python3 whose pyspark runs SPARK clusters (default: python3 on PATH, resolved past shims) */
  python: string | undefined;
  /** a Spark home to use instead of the pyspark package's */
  sparkHome: string | undefined;
  /** the Java that runs Spark (JAVA_HOME/bin/java, else java on PATH) */
  javaHome: string | undefined;
  /** how long a shrinking node's Spark worker may drain before it is stopped anyway (EMR: 3600 s) */
  sparkDecommissionTimeoutSeconds: number;
  /** where `npm run spark:install` put the PostgreSQL JDBC jar the Hive metastore client needs */
  sparkJarsDir: string;
  /** DUCKDB_EXTENSIONS_DIR: where `npm run spark:install` puts DuckDB's httpfs (SQL steps read s3:// over S3 with it) */
  duckdbExtensionsDir: string;
  /** the bucket holding the catalog's warehouse (made at start if missing) */
  sparkWarehouseBucket: string;
  /** the bucket holding every Spark app's event logs, which the History Servers read (made at start if missing) */
  sparkEventLogBucket: string;

  // ---- sql: previews ----
  /** a sqlPreview query still running after this long is interrupted */
  sqlPreviewTimeoutMs: number;
  /** memory DuckDB may use for sqlPreview queries in the control plane's process */
  sqlPreviewMemoryMb: number;
  /** sqlPreview calls per API key: this many at once, then sqlPreviewPerMinute */
  sqlPreviewBurst: number;
  sqlPreviewPerMinute: number;

  // ---- functions ----
  /** where each server's function runtime root goes (<dir>/emberplane-fn-<server>: unpacked code, instances' /tmp; a cache; default the tmpdir) */
  functionsRuntimeDir: string | undefined;
  /** account-wide concurrent invocations (Lambda's default 1,000) */
  functionConcurrencyLimit: number;
  /** warm instances unused this long are stopped */
  functionIdleSeconds: number;
  /** async retries wait this times the attempt number (Lambda: about 1 min, then 2) */
  functionRetryDelayMs: number;
  /** how long a function package nothing refers to is kept before the sweep removes it (FUNCTION_PACKAGE_GRACE_SECONDS) */
  functionPackageGraceSeconds: number;
  /** how often the unused packages are looked for (FUNCTION_PACKAGE_SWEEP_MS) */
  functionPackageSweepMs: number;
  /** host:port of an X-Ray daemon for function instances (AWS_XRAY_DAEMON_ADDRESS); null: none */
  functionXrayDaemonAddress: string | null;
  /** async invocations run at once per server */
  functionAsyncParallel: number;
  /** a stopping server waits this long for running async invocations, then hands them back to the queue */
  functionShutdownGraceMs: number;
  /** spare sandboxes each server keeps started for cold starts (0: none) */
  functionSpareSandboxes: number;
  /** the python3 command for PYTHON311 (resolved once to the real interpreter) */
  functionPython: string;
  /** boto3 for PYTHON311 functions, as Lambda's runtime includes it (npm run functions:install) */
  functionPythonSdkDir: string;
  /** the AWS SDK for JavaScript v3 for NODEJS20 functions, as Lambda's runtime includes it (npm run functions:install) */
  functionNodeSdkDir: string;

  // ---- triggers ----
  /** a schedule tick missed (all servers down) by more than this is skipped; the latest one within it fires once */
  scheduleMissedTickGraceSeconds: number;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

/**
 * How long a function package nothing uses is kept, and how often such packages are looked for: the
 * server's own packages and the copies a joined host fetched alike (`emberplane host join` reads them too).
 */
export function functionPackageSettings(env: NodeJS.ProcessEnv): { graceSeconds: number; sweepMs: number } {
  return { graceSeconds: int(env, 'FUNCTION_PACKAGE_GRACE_SECONDS', 3_600), sweepMs: int(env, 'FUNCTION_PACKAGE_SWEEP_MS', 600_000) };
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

/** host:port (the X-Ray SDKs' daemon address form), or null when unset */
function hostPort(env: NodeJS.ProcessEnv, name: string): string | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return null;
  const port = Number(/^[^\s:]+:(\d+)$/.exec(raw)?.[1]);
  if (!(port > 0 && port < 65_536)) throw new Error(`${name} must be host:port, got "${raw}"`);
  return raw;
}

function onOff(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'on' || raw === 'true') return true;
  if (raw === 'off' || raw === 'false') return false;
  throw new Error(`${name} must be on or off, got "${raw}"`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const production = env.NODE_ENV === 'production';
  const dataDir = path.resolve(env.DATA_DIR || '.data');
  const packages = functionPackageSettings(env);
  return {
    port: int(env, 'PORT', 4000),
    host: env.HOST || '127.0.0.1',
    dataDir,
    bucketsDir: path.join(dataDir, 'buckets'),
    objectMaxBytes: int(env, 'OBJECT_MAX_BYTES', 5 * 1024 ** 3),
    multipartExpirySeconds: int(env, 'MULTIPART_EXPIRY_SECONDS', 7 * 24 * 3600),
    s3Region: env.S3_REGION || 'us-east-1',
    s3VirtualHostDomains: (env.S3_VIRTUAL_HOST_DOMAINS ?? 'localhost')
      .split(',')
      .map((domain) => domain.trim().toLowerCase())
      .filter(Boolean),
    objectPathMapping: onOff(env, 'OBJECT_PATH_MAPPING', true),
    embeddedHost: onOff(env, 'EMBEDDED_HOST', true),
    // instance types are nominal on the server's own machine: many nodes share it, as before hosts
    embeddedHostOvercommit: positive(env, 'EMBEDDED_HOST_OVERCOMMIT', 1_000),
    hostLostAfterSeconds: int(env, 'HOST_LOST_AFTER_SECONDS', 10),
    databaseUrl: env.DATABASE_URL || undefined,
    adminApiKey: env.ADMIN_API_KEY || undefined,
    secretsKey: env.SECRETS_KEY || undefined,
    production,
    introspection: env.INTROSPECTION ? env.INTROSPECTION === 'true' : true,
    explorer: env.EXPLORER ? env.EXPLORER === 'true' : !production,
    console: onOff(env, 'CONSOLE', true),
    logLevel: env.LOG_LEVEL || 'info',
    heartbeatTimeoutMs: int(env, 'HEARTBEAT_TIMEOUT_MS', 10_000),
    agentHeartbeatMs: int(env, 'AGENT_HEARTBEAT_MS', 2_000),
    agentOrphanSeconds: int(env, 'AGENT_ORPHAN_SECONDS', 300),
    reconcileIntervalMs: int(env, 'RECONCILE_INTERVAL_MS', 1_000),
    dbPoolSize: int(env, 'DB_POOL_SIZE', 20),
    graphqlBodyLimitBytes: int(env, 'GRAPHQL_BODY_LIMIT_BYTES', 2 * 1024 * 1024),
    wsConnectionsPerKey: int(env, 'WS_CONNECTIONS_PER_KEY', 2_000),
    wsOperationsPerConnection: int(env, 'WS_OPERATIONS_PER_CONNECTION', 100),
    wsOperationsPerKey: int(env, 'WS_OPERATIONS_PER_KEY', 2_000),
    startupTimeoutSeconds: int(env, 'STARTUP_TIMEOUT_SECONDS', 600),
    agentUrl: env.AGENT_URL || undefined,
    publicUrl: env.PUBLIC_URL?.replace(/\/+$/, '') || undefined,
    python: env.PYTHON || undefined,
    sparkHome: env.SPARK_HOME || undefined,
    sparkDecommissionTimeoutSeconds: int(env, 'SPARK_DECOMMISSION_TIMEOUT_SECONDS', 3_600),
    sparkJarsDir: env.SPARK_JARS_DIR || DEFAULT_SPARK_JARS_DIR,
    duckdbExtensionsDir: env.DUCKDB_EXTENSIONS_DIR || '/usr/local/share/emberplane/duckdb-extensions',
    sparkWarehouseBucket: env.SPARK_WAREHOUSE_BUCKET || 'emberplane-warehouse',
    sparkEventLogBucket: env.SPARK_EVENT_LOG_BUCKET || 'emberplane-spark-events',
    agentMetricsMs: int(env, 'AGENT_METRICS_MS', 5_000),
    sqlPreviewTimeoutMs: int(env, 'SQL_PREVIEW_TIMEOUT_MS', 30_000),
    sqlPreviewMemoryMb: int(env, 'SQL_PREVIEW_MEMORY_MB', 1_024),
    sqlPreviewBurst: int(env, 'SQL_PREVIEW_BURST', 10),
    sqlPreviewPerMinute: int(env, 'SQL_PREVIEW_PER_MINUTE', 60),
    metricsIntervalMs: int(env, 'METRICS_INTERVAL_MS', 10_000),
    metricsRetentionHours: int(env, 'METRICS_RETENTION_HOURS', 168),
    minIdleTimeoutSeconds: positive(env, 'MIN_IDLE_TIMEOUT_SECONDS', 60),
    scalingCooldownSeconds: int(env, 'SCALING_COOLDOWN_SECONDS', 60),
    scalingIdlePeriods: int(env, 'SCALING_IDLE_PERIODS', 6),
    priceTable: env.PRICE_TABLE || null,
    functionsRuntimeDir: env.FUNCTIONS_RUNTIME_DIR || undefined,
    functionConcurrencyLimit: int(env, 'FUNCTION_CONCURRENCY_LIMIT', 1_000),
    functionIdleSeconds: int(env, 'FUNCTION_IDLE_SECONDS', 300),
    functionRetryDelayMs: int(env, 'FUNCTION_RETRY_DELAY_MS', 60_000),
    functionPackageGraceSeconds: packages.graceSeconds,
    functionPackageSweepMs: packages.sweepMs,
    functionXrayDaemonAddress: hostPort(env, 'FUNCTION_XRAY_DAEMON_ADDRESS'),
    functionAsyncParallel: int(env, 'FUNCTION_ASYNC_PARALLEL', 64),
    functionShutdownGraceMs: int(env, 'FUNCTION_SHUTDOWN_GRACE_MS', 10_000),
    functionSpareSandboxes: int(env, 'FUNCTION_SPARE_SANDBOXES', 2),
    functionPython: env.FUNCTION_PYTHON || 'python3',
    functionPythonSdkDir: env.FUNCTION_PYTHON_SDK_DIR || '/usr/local/share/emberplane/python-sdk',
    functionNodeSdkDir: env.FUNCTION_NODE_SDK_DIR || '/usr/local/share/emberplane/node-sdk',
    scheduleMissedTickGraceSeconds: int(env, 'SCHEDULE_MISSED_TICK_GRACE_SECONDS', 300),
    sandbox: onOff(env, 'SANDBOX', true),
    sandboxBwrap: env.SANDBOX_BWRAP || undefined,
    stopAgentsOnExit: env.STOP_AGENTS_ON_EXIT === 'true',
    agentEnvPassthrough: (env.AGENT_ENV_PASSTHROUGH ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
    javaHome: env.JAVA_HOME || undefined,
  };
}
