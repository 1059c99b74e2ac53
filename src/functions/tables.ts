// Functions (the Lambda model): functions, versions, aliases, invocations, provisioned concurrency.
import { sql } from 'drizzle-orm';
import { bigint, boolean, doublePrecision, index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { ts } from '../platform/db/columns.js';
import type { ApplicationLogLevel, LogFormat, SystemLogLevel } from '../engine/functions/types.js';

export type FunctionRuntimeName = 'NODEJS20' | 'PYTHON311' | 'PROVIDED';
export type FunctionState = 'Pending' | 'Active' | 'Inactive' | 'Failed';
export type LastUpdateStatus = 'Successful' | 'Failed' | 'InProgress';

/** What a version runs: $LATEST's columns, or a published version's snapshot. */
export interface FunctionConfig {
  runtime: FunctionRuntimeName;
  handler: string;
  memoryMb: number;
  /** the instances' /tmp size; absent in versions published before it existed (the default then) */
  ephemeralStorageMb?: number;
  timeoutSeconds: number;
  environment: Record<string, string>;
  codeSha256: string;
  codeSize: number;
  description: string;
  /** the API key whose S3 credentials the instances get (absent: none) */
  executionKey?: FunctionExecutionKey | null;
  /** the layer versions the instances see at /opt, in order (absent in versions published before layers: none) */
  layers?: FunctionLayer[];
  /** Lambda's LoggingConfig; absent in versions published before it existed (Text then) */
  loggingConfig?: FunctionLoggingConfig | null;
}

/** A layer version a function lists (the version's zip is kept with the code, so deleting the version leaves it working). */
export interface FunctionLayer {
  arn: string;
  codeSha256: string;
  codeSize: number;
}

/** Lambda's advanced logging controls: the levels are set with the JSON format only. */
export interface FunctionLoggingConfig {
  logFormat: LogFormat;
  applicationLogLevel: ApplicationLogLevel | null;
  systemLogLevel: SystemLogLevel | null;
}

/** An API key's S3 credentials as a function keeps them: the secret sealed (platform Secrets). */
export interface FunctionExecutionKey {
  keyId: string;
  accessKeyId: string;
  secretSealed: string;
}

export const functions = pgTable(
  'functions',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    runtime: text('runtime').$type<FunctionRuntimeName>().notNull(),
    handler: text('handler').notNull(),
    description: text('description').notNull().default(''),
    memoryMb: integer('memory_mb').notNull(),
    // the size of the instances' private /tmp (Lambda's EphemeralStorage.Size)
    ephemeralStorageMb: integer('ephemeral_storage_mb').notNull().default(512),
    timeoutSeconds: integer('timeout_seconds').notNull(),
    environment: jsonb('environment').$type<Record<string, string>>().notNull(),
    // the API key the instances' S3 requests run as (its credentials copied sealed, so that an instance
    // starts without a lookup; revoking the key still stops them at the S3 endpoint)
    executionKey: jsonb('execution_key').$type<FunctionExecutionKey>(),
    // the layer versions its instances unpack at /opt, in order (later ones override earlier files)
    layers: jsonb('layers').$type<FunctionLayer[]>().notNull().default([]),
    // Lambda's LoggingConfig (null: the Text format)
    loggingConfig: jsonb('logging_config').$type<FunctionLoggingConfig>(),
    tags: jsonb('tags').$type<Record<string, string>>().notNull(),
    reservedConcurrency: integer('reserved_concurrency'),
    // base64 sha256 of the code zip (Lambda's CodeSha256); the zip is stored by its hex digest
    codeSha256: text('code_sha256').notNull(),
    codeSize: bigint('code_size', { mode: 'number' }).notNull(),
    state: text('state').$type<FunctionState>().notNull(),
    stateReason: text('state_reason'),
    stateReasonCode: text('state_reason_code'),
    lastUpdateStatus: text('last_update_status').$type<LastUpdateStatus>().notNull(),
    lastUpdateStatusReason: text('last_update_status_reason'),
    // changes with every code or configuration update: warm instances of an older revision are retired
    revisionId: text('revision_id').notNull(),
    maxRetryAttempts: integer('max_retry_attempts').notNull().default(2),
    maxEventAgeSeconds: integer('max_event_age_seconds').notNull().default(21_600),
    onSuccess: text('on_success'),
    onFailure: text('on_failure'),
    lastVersion: integer('last_version').notNull().default(0),
    logStreamId: text('log_stream_id').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    lastModifiedAt: ts('last_modified_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('functions_name_idx').on(t.name),
    index('functions_created_idx').on(t.createdAt, t.id),
    index('functions_pending_idx').on(t.id).where(sql`state = 'Pending' or last_update_status = 'InProgress'`),
  ],
);

export const functionVersions = pgTable(
  'function_versions',
  {
    functionId: text('function_id')
      .notNull()
      .references(() => functions.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    // the configuration and code snapshot this version runs (runtime, handler, memory, env, …)
    config: jsonb('config').$type<FunctionConfig>().notNull(),
    codeSha256: text('code_sha256').notNull(),
    revisionId: text('revision_id').notNull(),
    description: text('description').notNull().default(''),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.functionId, t.version] })],
);

export const functionAliases = pgTable(
  'function_aliases',
  {
    functionId: text('function_id')
      .notNull()
      .references(() => functions.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    functionVersion: text('function_version').notNull(),
    additionalVersion: text('additional_version'),
    additionalWeight: doublePrecision('additional_weight'),
    description: text('description').notNull().default(''),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.functionId, t.name] })],
);

export type InvocationStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'THROTTLED' | 'DRY_RUN';

export interface InvocationLogLine {
  at: string;
  stream: 'STDOUT' | 'STDERR' | 'SYSTEM';
  text: string;
}

export const invocations = pgTable(
  'invocations',
  {
    id: text('id').primaryKey(),
    functionId: text('function_id').notNull(),
    functionName: text('function_name').notNull(),
    qualifier: text('qualifier').notNull(),
    executedVersion: text('executed_version').notNull(),
    invocationType: text('invocation_type').$type<'REQUEST_RESPONSE' | 'EVENT' | 'DRY_RUN'>().notNull(),
    // QUEUED → RUNNING → SUCCEEDED | FAILED (async, with retries); sync calls are stored once ended
    status: text('status').$type<InvocationStatus>().notNull(),
    payload: text('payload'),
    response: text('response'),
    functionError: text('function_error'),
    errorType: text('error_type'),
    errorMessage: text('error_message'),
    attempts: integer('attempts').notNull().default(0),
    maxRetryAttempts: integer('max_retry_attempts').notNull().default(0),
    maxEventAgeSeconds: integer('max_event_age_seconds'),
    nextAttemptAt: ts('next_attempt_at'),
    claimedBy: text('claimed_by'),
    claimedUntil: ts('claimed_until'),
    // the async invocation whose destination record this is
    sourceInvocationId: text('source_invocation_id'),
    // a trigger's delivery: the trigger and the id of the source event it delivers
    triggerId: text('trigger_id'),
    eventId: text('event_id'),
    coldStart: boolean('cold_start').notNull().default(false),
    initDurationMs: doublePrecision('init_duration_ms'),
    durationMs: doublePrecision('duration_ms'),
    billedDurationMs: integer('billed_duration_ms'),
    memoryMb: integer('memory_mb').notNull(),
    maxMemoryUsedMb: integer('max_memory_used_mb'),
    concurrency: integer('concurrency'),
    instanceId: text('instance_id'),
    // the X-Ray trace id its runs get (Lambda-Runtime-Trace-Id, _X_AMZN_TRACE_ID): one for every attempt
    traceId: text('trace_id'),
    logs: jsonb('logs').$type<InvocationLogLine[]>(),
    createdAt: ts('created_at').notNull().defaultNow(),
    startedAt: ts('started_at'),
    endedAt: ts('ended_at'),
  },
  (t) => [
    index('invocations_function_created_idx').on(t.functionId, t.createdAt, t.id),
    index('invocations_created_idx').on(t.createdAt, t.id),
    index('invocations_queued_idx').on(t.nextAttemptAt).where(sql`status in ('QUEUED', 'RUNNING')`),
    index('invocations_trigger_idx').on(t.triggerId, t.createdAt, t.id).where(sql`trigger_id is not null`),
    index('invocations_trace_idx').on(t.traceId),
  ],
);

export const provisionedConcurrency = pgTable(
  'function_provisioned_concurrency',
  {
    functionId: text('function_id')
      .notNull()
      .references(() => functions.id, { onDelete: 'cascade' }),
    // a published version number or an alias name
    qualifier: text('qualifier').notNull(),
    requested: integer('requested').notNull(),
    // bumped by every put: a provisioning that failed is retried when the setting is written again
    generation: integer('generation').notNull().default(1),
    available: integer('available').notNull().default(0),
    status: text('status').$type<'IN_PROGRESS' | 'READY' | 'FAILED'>().notNull(),
    statusReason: text('status_reason'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.functionId, t.qualifier] })],
);

export type FunctionRow = typeof functions.$inferSelect;
export type FunctionVersionRow = typeof functionVersions.$inferSelect;
export type FunctionAliasRow = typeof functionAliases.$inferSelect;
export type InvocationRow = typeof invocations.$inferSelect;
export type ProvisionedConcurrencyRow = typeof provisionedConcurrency.$inferSelect;
