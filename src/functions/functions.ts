// Functions, their published versions and aliases: the rules (Lambda's limits, states, conflicts).
// Code unpacking happens in the function controller (Pending → Active / Failed).
import crypto from 'node:crypto';
import type { Sql, Tx } from '../platform/db/client.js';
import * as q from './queries/functions.js';
import { createStream, systemLog } from '../logs/queries.js';
import type {
  FunctionAliasRow,
  FunctionConfig,
  FunctionLoggingConfig,
  FunctionExecutionKey,
  FunctionRow,
  FunctionRuntimeName,
  FunctionVersionRow,
  FunctionLayer,
} from './tables.js';
import type { Principal } from '../platform/authorization.js';
import { Channel, notify } from '../platform/notifications/channels.js';
import { newId } from '../platform/ids.js';
import { AppError, badInput, conflict, notFound } from '../platform/errors.js';
import type { ApplicationLogLevel, InstanceSpec, LoggingSpec, LogFormat, SystemLogLevel } from '../engine/functions/types.js';
import { type FunctionCodeStore, hashOf, type CodeInput } from './code-store.js';
import { encodeTimeIdCursor, pageSize, parseTimeIdCursor } from '../platform/paging.js';
import { requireIdentifier, requireIntInRange } from '../platform/validate.js';
import { ACCOUNT, REGION } from '../platform/aws-account.js';
import type { Secrets } from '../platform/secrets.js';

export const FunctionLimits = {
  memoryMb: { min: 128, max: 10_240, default: 128 },
  ephemeralStorageMb: { min: 512, max: 10_240, default: 512 },
  timeoutSeconds: { min: 1, max: 900, default: 3 },
  environmentBytes: 4 * 1024,
  descriptionLength: 256,
  tags: 50,
  handlerLength: 128,
  /** reserved concurrency must leave this many unreserved (Lambda's rule) */
  unreservedMinimum: 100,
  retries: { min: 0, max: 2, default: 2 },
  eventAgeSeconds: { min: 60, max: 21_600, default: 21_600 },
} as const;

// Lambda refuses these as function environment: the runtime sets them
const RESERVED_ENV = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
  'TZ',
]);

export const RUNTIMES: FunctionRuntimeName[] = ['NODEJS20', 'PYTHON311', 'PROVIDED'];

export interface EventInvokeConfigInput {
  maximumRetryAttempts?: number | null;
  maximumEventAgeSeconds?: number | null;
  onSuccess?: string | null;
  onFailure?: string | null;
}

export interface FunctionConfigurationInput {
  runtime?: FunctionRuntimeName | null;
  handler?: string | null;
  memoryMb?: number | null;
  ephemeralStorageMb?: number | null;
  timeoutSeconds?: number | null;
  environment?: unknown;
  reservedConcurrency?: number | null;
  description?: string | null;
  tags?: unknown;
  eventInvokeConfig?: EventInvokeConfigInput | null;
  /** an API key id ("" clears it on update) */
  executionKeyId?: string | null;
  /** layer version ARNs, at most 5, in order ([] clears them on update) */
  layers?: string[] | null;
  loggingConfig?: LoggingConfigInput | null;
}

export interface CreateFunctionInput extends FunctionConfigurationInput {
  name: string;
  runtime: FunctionRuntimeName;
  handler: string;
  code: CodeInput;
}

export const ARN_PREFIX = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:`;

export function functionArn(name: string, qualifier?: string): string {
  return `${ARN_PREFIX}${name}${qualifier ? `:${qualifier}` : ''}`;
}

/**
 * A qualifier as given: none is $LATEST; otherwise $LATEST, a version number or an alias name
 * (whether it exists on the function is the caller's check).
 */
export function requireQualifier(value: string | null | undefined, field: string): string {
  const qualifier = value == null || value === '' ? '$LATEST' : value;
  if (qualifier !== '$LATEST' && !/^[A-Za-z0-9_-]{1,128}$/.test(qualifier))
    throw badInput(field, 'must be $LATEST, a version number or an alias name');
  return qualifier;
}

/** A function name, or its ARN (with no qualifier), as Lambda accepts. */
export function requireFunctionName(value: string, field: string): string {
  const name = value.startsWith(ARN_PREFIX) ? value.slice(ARN_PREFIX.length) : value;
  return requireIdentifier(name, field, 64);
}

function requireFunctionEnv(value: unknown, field: string): Record<string, string> {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badInput(field, 'must be an object of string values');
  let bytes = 0;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(k)) throw badInput(`${field}.${k}`, 'is not a valid environment variable name');
    if (RESERVED_ENV.has(k)) throw badInput(`${field}.${k}`, 'is a reserved key the runtime sets');
    if (typeof v !== 'string') throw badInput(`${field}.${k}`, 'must be a string');
    if (v.includes('\0')) throw badInput(`${field}.${k}`, 'must not contain NUL');
    bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
    env[k] = v;
  }
  if (bytes > FunctionLimits.environmentBytes)
    throw badInput(field, `must be at most ${FunctionLimits.environmentBytes} bytes in total (Lambda's limit)`);
  return env;
}

function requireTags(value: unknown, field: string): Record<string, string> {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badInput(field, 'must be an object of string values');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > FunctionLimits.tags) throw badInput(field, `must have at most ${FunctionLimits.tags} tags`);
  for (const [k, v] of entries) {
    if (!k || k.length > 128) throw badInput(`${field}.${k}`, 'tag keys are 1 to 128 characters');
    if (typeof v !== 'string' || v.length > 256) throw badInput(`${field}.${k}`, 'must be a string of at most 256 characters');
  }
  return value as Record<string, string>;
}

function requireHandler(value: string, field: string): string {
  if (!/^\S{1,128}$/.test(value)) throw badInput(field, 'must be 1 to 128 characters without whitespace');
  return value;
}

function requireDescription(value: string, field: string): string {
  if (value.length > FunctionLimits.descriptionLength)
    throw badInput(field, `must be at most ${FunctionLimits.descriptionLength} characters`);
  return value;
}

function requireEphemeralStorage(value: number, field: string): number {
  return requireIntInRange(value, field, FunctionLimits.ephemeralStorageMb.min, FunctionLimits.ephemeralStorageMb.max);
}

/** A version's /tmp size (versions published before the setting existed have the default). */
export const ephemeralOf = (c: FunctionConfig) => c.ephemeralStorageMb ?? FunctionLimits.ephemeralStorageMb.default;

const LOG_FORMATS: LogFormat[] = ['Text', 'JSON'];
const APPLICATION_LOG_LEVELS: ApplicationLogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
const SYSTEM_LOG_LEVELS: SystemLogLevel[] = ['DEBUG', 'INFO', 'WARN'];

export interface LoggingConfigInput {
  logFormat?: LogFormat | null;
  applicationLogLevel?: ApplicationLogLevel | null;
  systemLogLevel?: SystemLogLevel | null;
}

/**
 * A LoggingConfig as given over the current one (fields left out keep their value): the levels
 * go with the JSON format (INFO unless given), and are refused with Text, as Lambda does.
 */
function requireLoggingConfig(input: LoggingConfigInput, current: FunctionLoggingConfig | null, field: string): FunctionLoggingConfig {
  const logFormat = input.logFormat ?? current?.logFormat ?? 'Text';
  if (!LOG_FORMATS.includes(logFormat)) throw badInput(`${field}.logFormat`, `must be one of ${LOG_FORMATS.join(', ')}`);
  if (input.applicationLogLevel != null && !APPLICATION_LOG_LEVELS.includes(input.applicationLogLevel))
    throw badInput(`${field}.applicationLogLevel`, `must be one of ${APPLICATION_LOG_LEVELS.join(', ')}`);
  if (input.systemLogLevel != null && !SYSTEM_LOG_LEVELS.includes(input.systemLogLevel))
    throw badInput(`${field}.systemLogLevel`, `must be one of ${SYSTEM_LOG_LEVELS.join(', ')}`);
  if (logFormat === 'Text') {
    const given = input.applicationLogLevel != null ? 'applicationLogLevel' : input.systemLogLevel != null ? 'systemLogLevel' : null;
    if (given)
      throw badInput(`${field}.${given}`, 'log levels are set with the JSON log format only: leave them out or set logFormat JSON');
    return { logFormat, applicationLogLevel: null, systemLogLevel: null };
  }
  return {
    logFormat,
    applicationLogLevel: input.applicationLogLevel ?? current?.applicationLogLevel ?? 'INFO',
    systemLogLevel: input.systemLogLevel ?? current?.systemLogLevel ?? 'INFO',
  };
}

/** A version's logging as its instances run it (versions published before LoggingConfig existed: Text). */
export const loggingOf = (c: { loggingConfig?: FunctionLoggingConfig | null }): LoggingSpec => ({
  format: c.loggingConfig?.logFormat ?? 'Text',
  applicationLogLevel: c.loggingConfig?.applicationLogLevel ?? 'INFO',
  systemLogLevel: c.loggingConfig?.systemLogLevel ?? 'INFO',
});

function requireRuntime(value: string, field: string): FunctionRuntimeName {
  if (!RUNTIMES.includes(value as FunctionRuntimeName)) throw badInput(field, `must be one of ${RUNTIMES.join(', ')}`);
  return value as FunctionRuntimeName;
}

const configOf = (f: FunctionRow): FunctionConfig => ({
  runtime: f.runtime,
  handler: f.handler,
  memoryMb: f.memoryMb,
  ephemeralStorageMb: f.ephemeralStorageMb,
  timeoutSeconds: f.timeoutSeconds,
  environment: f.environment,
  codeSha256: f.codeSha256,
  codeSize: f.codeSize,
  description: f.description,
  executionKey: f.executionKey,
  layers: f.layers,
  loggingConfig: f.loggingConfig,
});

/** `openEnv`: environments are stored encrypted (each time with a new IV), so they are compared opened */
const sameConfig = (a: FunctionConfig, b: FunctionConfig, openEnv: (env: Record<string, string>) => Record<string, string>) => {
  const norm = (c: FunctionConfig) =>
    JSON.stringify([
      c.runtime,
      c.handler,
      c.memoryMb,
      ephemeralOf(c),
      c.timeoutSeconds,
      Object.entries(openEnv(c.environment)).sort(),
      c.codeSha256,
      c.executionKey?.keyId ?? null,
      (c.layers ?? []).map((l) => l.arn),
      loggingOf(c),
    ]);
  return norm(a) === norm(b);
};

/** What one qualifier of a function runs. */
export interface ResolvedVersion {
  /** "$LATEST" or a version number */
  version: string;
  config: FunctionConfig;
  revisionId: string;
}

/** How instances reach the buckets over S3, and with whose rights; where their X-Ray SDKs send segments. */
export interface FunctionAccess {
  /** the S3 endpoint as processes on this host reach it */
  s3EndpointUrl(): string;
  /** host:port of the X-Ray daemon (FUNCTION_XRAY_DAEMON_ADDRESS), or null */
  xrayDaemonAddress: string | null;
  /** an API key's S3 credentials for a function, if `caller` may hand them out (access module) */
  executionKey(caller: Principal, keyId: string, field: string): Promise<FunctionExecutionKey>;
  /** a function's list of layer version ARNs, if `caller` may use them (layers/service.ts) */
  layerVersions(caller: Principal, arns: unknown, field: string): Promise<FunctionLayer[]>;
}

/** What the functions module does when a function changes, told by the service after the commit. */
export interface FunctionLifecycle {
  /** a function waits for its code to be unpacked */
  pending(): void;
  /** a function was deleted: its instances and unpacked code go */
  deleted(functionId: string): void;
}

export class FunctionService {
  // What invocations read of functions, kept until a change is announced (see forInvoke). A read
  // that started before a change must not fill the cache after it: `generation` tells.
  private reservedCache: number | null = null;
  private readonly rows = new Map<string, FunctionRow>();
  private readonly aliases = new Map<string, FunctionAliasRow | null>();
  private readonly versions = new Map<string, ResolvedVersion | null>();
  private readonly specs = new WeakMap<FunctionRow, Map<string, InstanceSpec>>();
  private generation = 0;
  constructor(
    private readonly sql: Sql,
    readonly code: FunctionCodeStore,
    private readonly concurrencyLimit: number,
    private readonly secrets: Secrets,
    private readonly lifecycle: FunctionLifecycle,
    private readonly access: FunctionAccess,
  ) {}

  async get(name: string): Promise<FunctionRow | undefined> {
    return q.functionByName(this.sql, name);
  }

  /**
   * A function changed: here (at once, after the commit) or on another server (its NOTIFY on
   * Channel.functions, and when the listener reconnects, since notifications may have been
   * missed meanwhile). Changes are rare: everything cached is dropped.
   */
  forget(): void {
    this.generation++;
    this.reservedCache = null;
    this.rows.clear();
    this.aliases.clear();
    this.versions.clear();
  }

  /** Every transaction that changes a function, its versions or aliases announces it. */
  private changed(tx: Tx, name: string): Promise<void> {
    return notify(tx, Channel.functions, name);
  }

  /** Reads through a cache that forget() empties; a read that overlapped a change is not kept. */
  private async cachedRead<K, V>(cache: Map<K, V>, key: K, read: () => Promise<V>): Promise<V> {
    if (cache.has(key)) return cache.get(key)!;
    const generation = this.generation;
    const value = await read();
    if (generation === this.generation) {
      if (cache.size > 10_000) cache.clear();
      cache.set(key, value);
    }
    return value;
  }

  /**
   * The function as invocations see it, without a statement on warm invokes: cached until the
   * function changes. A change made here is seen by the next invoke; one made through another
   * server as soon as its NOTIFY arrives (a few milliseconds after its commit).
   */
  async forInvoke(name: string, field: string): Promise<FunctionRow> {
    return this.cachedRead(this.rows, name, () => this.require(name, field));
  }

  async require(name: string, field = 'functionName'): Promise<FunctionRow> {
    const fn = await q.functionByName(this.sql, requireFunctionName(name, field));
    if (!fn) throw notFound('function', name, field);
    return fn;
  }

  async list(first: number | null | undefined, after: string | null | undefined) {
    const limit = pageSize(first);
    const before = parseTimeIdCursor(after);
    const rows = await q.listFunctions(this.sql, limit + 1, before);
    return {
      nodes: rows.slice(0, limit),
      hasNextPage: rows.length > limit,
      cursorOf: (f: FunctionRow) => encodeTimeIdCursor(f.createdAt, f.id),
    };
  }

  /** Sum of every function's reserved concurrency (read on each invoke: cached like the rows). */
  async reservedTotal(): Promise<number> {
    if (this.reservedCache !== null) return this.reservedCache;
    const generation = this.generation;
    const total = await q.reservedConcurrencyTotal(this.sql, null);
    if (generation === this.generation) this.reservedCache = total;
    return total;
  }

  private async checkReserved(tx: Tx, functionId: string | null, value: number | null, field: string): Promise<void> {
    if (value === null) return;
    const others = await q.reservedConcurrencyTotal(tx, functionId);
    // (an account limit under 100 — a test or a small host — can reserve nothing)
    const max = this.concurrencyLimit - Math.min(FunctionLimits.unreservedMinimum, this.concurrencyLimit) - others;
    if (!Number.isInteger(value) || value < 0) throw badInput(field, 'must be an integer of at least 0');
    if (value > max) {
      throw badInput(
        field,
        `must be at most ${Math.max(0, max)}: the account's unreserved concurrency can't go below ${FunctionLimits.unreservedMinimum} (limit ${this.concurrencyLimit})`,
      );
    }
  }

  private asyncSettings(input: EventInvokeConfigInput | null | undefined, current: FunctionRow | null, field: string) {
    const out = {
      maxRetryAttempts: current?.maxRetryAttempts ?? FunctionLimits.retries.default,
      maxEventAgeSeconds: current?.maxEventAgeSeconds ?? FunctionLimits.eventAgeSeconds.default,
      onSuccess: current?.onSuccess ?? null,
      onFailure: current?.onFailure ?? null,
    };
    if (!input) return out;
    if (input.maximumRetryAttempts != null) {
      out.maxRetryAttempts = requireIntInRange(
        input.maximumRetryAttempts,
        `${field}.maximumRetryAttempts`,
        FunctionLimits.retries.min,
        FunctionLimits.retries.max,
      );
    }
    if (input.maximumEventAgeSeconds != null) {
      out.maxEventAgeSeconds = requireIntInRange(
        input.maximumEventAgeSeconds,
        `${field}.maximumEventAgeSeconds`,
        FunctionLimits.eventAgeSeconds.min,
        FunctionLimits.eventAgeSeconds.max,
      );
    }
    // "" clears a destination
    if (input.onSuccess !== undefined && input.onSuccess !== null)
      out.onSuccess = input.onSuccess === '' ? null : requireFunctionName(input.onSuccess, `${field}.onSuccess`);
    if (input.onFailure !== undefined && input.onFailure !== null)
      out.onFailure = input.onFailure === '' ? null : requireFunctionName(input.onFailure, `${field}.onFailure`);
    return out;
  }

  async create(caller: Principal, input: CreateFunctionInput): Promise<FunctionRow> {
    const name = requireFunctionName(input.name, 'name');
    const runtime = requireRuntime(input.runtime, 'runtime');
    const handler = requireHandler(input.handler, 'handler');
    const memoryMb =
      input.memoryMb == null
        ? FunctionLimits.memoryMb.default
        : requireIntInRange(input.memoryMb, 'memoryMb', FunctionLimits.memoryMb.min, FunctionLimits.memoryMb.max);
    const ephemeralStorageMb =
      input.ephemeralStorageMb == null
        ? FunctionLimits.ephemeralStorageMb.default
        : requireEphemeralStorage(input.ephemeralStorageMb, 'ephemeralStorageMb');
    const timeoutSeconds =
      input.timeoutSeconds == null
        ? FunctionLimits.timeoutSeconds.default
        : requireIntInRange(input.timeoutSeconds, 'timeoutSeconds', FunctionLimits.timeoutSeconds.min, FunctionLimits.timeoutSeconds.max);
    // stored encrypted: opened only to start an instance (specOf) and for the API (Function.environment)
    const environment = this.secrets.sealEnv(requireFunctionEnv(input.environment, 'environment'));
    const tags = requireTags(input.tags, 'tags');
    const description = requireDescription(input.description ?? '', 'description');
    const asyncSettings = this.asyncSettings(input.eventInvokeConfig, null, 'eventInvokeConfig');
    const executionKey = input.executionKeyId ? await this.access.executionKey(caller, input.executionKeyId, 'executionKeyId') : null;
    const layers = input.layers != null ? await this.access.layerVersions(caller, input.layers, 'layers') : [];
    const loggingConfig = input.loggingConfig ? requireLoggingConfig(input.loggingConfig, null, 'loggingConfig') : null;
    if (await q.functionByName(this.sql, name)) throw conflict(`Function already exist: ${name}`, 'name');
    const stored = await this.code.store(input.code, 'code', caller);
    await this.code.assertFitsWithLayers(stored.hash, layers, 'layers');
    const id = newId('fn');
    const row = await this.sql.begin(async (tx) => {
      await this.checkReserved(tx, null, input.reservedConcurrency ?? null, 'reservedConcurrency');
      const logStreamId = `fnlog-${id}`;
      await createStream(tx, logStreamId);
      const created = await q.insertFunction(tx, {
        id,
        name,
        runtime,
        handler,
        description,
        memoryMb,
        ephemeralStorageMb,
        timeoutSeconds,
        environment,
        executionKey,
        layers,
        loggingConfig,
        tags,
        reservedConcurrency: input.reservedConcurrency ?? null,
        codeSha256: stored.sha256,
        codeSize: stored.size,
        revisionId: crypto.randomUUID(),
        logStreamId,
        ...asyncSettings,
      });
      if (!created) throw conflict(`Function already exist: ${name}`, 'name');
      await this.changed(tx, name);
      await systemLog(tx, logStreamId, `Function ${name} created: state Pending (${runtime}, ${memoryMb} MB, ${timeoutSeconds} s)`);
      return created;
    });
    this.forget();
    this.lifecycle.pending();
    return row;
  }

  /** Locks a function for a change; refuses while an update is still being applied (as Lambda does). */
  private async lockForUpdate(tx: Tx, name: string, field = 'functionName'): Promise<FunctionRow> {
    const fn = await q.lockFunctionByName(tx, requireFunctionName(name, field));
    if (!fn) throw notFound('function', name, field);
    if (fn.state === 'Pending' || fn.lastUpdateStatus === 'InProgress') {
      throw conflict(
        `The operation cannot be performed at this time. An update is in progress for resource: ${functionArn(fn.name)}`,
        field,
      );
    }
    return fn;
  }

  async updateCode(
    caller: Principal,
    input: {
      functionName: string;
      code: CodeInput;
      publish?: boolean | null;
    },
  ): Promise<{ fn: FunctionRow; version: FunctionVersionRow | null }> {
    const stored = await this.code.store(input.code, 'code', caller);
    let replaced = '';
    const fn = await this.sql.begin(async (tx) => {
      const current = await this.lockForUpdate(tx, input.functionName);
      await this.code.assertFitsWithLayers(stored.hash, current.layers, 'code');
      replaced = current.codeSha256;
      const row = await q.updateFunction(tx, current.id, {
        codeSha256: stored.sha256,
        codeSize: stored.size,
        lastUpdateStatus: 'InProgress',
        lastUpdateStatusReason: null,
        revisionId: crypto.randomUUID(),
      });
      await this.changed(tx, row.name);
      await systemLog(tx, row.logStreamId, `Function code updated (CodeSha256 ${stored.sha256}): LastUpdateStatus InProgress`);
      return row;
    });
    // the sweep's grace counts from now for the code replaced: an instance starting may still fetch it
    if (replaced !== stored.sha256) await this.code.freshen([hashOf(replaced)]);
    this.forget();
    this.lifecycle.pending();
    return { fn, version: null };
  }

  async updateConfiguration(caller: Principal, input: FunctionConfigurationInput & { functionName: string }): Promise<FunctionRow> {
    const patch: q.FunctionPatch = {};
    if (input.runtime != null) patch.runtime = requireRuntime(input.runtime, 'runtime');
    if (input.handler != null) patch.handler = requireHandler(input.handler, 'handler');
    if (input.memoryMb != null)
      patch.memoryMb = requireIntInRange(input.memoryMb, 'memoryMb', FunctionLimits.memoryMb.min, FunctionLimits.memoryMb.max);
    if (input.ephemeralStorageMb != null)
      patch.ephemeralStorageMb = requireEphemeralStorage(input.ephemeralStorageMb, 'ephemeralStorageMb');
    if (input.timeoutSeconds != null) {
      patch.timeoutSeconds = requireIntInRange(
        input.timeoutSeconds,
        'timeoutSeconds',
        FunctionLimits.timeoutSeconds.min,
        FunctionLimits.timeoutSeconds.max,
      );
    }
    if (input.environment !== undefined && input.environment !== null)
      patch.environment = this.secrets.sealEnv(requireFunctionEnv(input.environment, 'environment'));
    if (input.tags !== undefined && input.tags !== null) patch.tags = requireTags(input.tags, 'tags');
    if (input.description != null) patch.description = requireDescription(input.description, 'description');
    if (input.executionKeyId != null)
      patch.executionKey =
        input.executionKeyId === '' ? null : await this.access.executionKey(caller, input.executionKeyId, 'executionKeyId');
    if (input.layers != null) patch.layers = await this.access.layerVersions(caller, input.layers, 'layers');
    let replacedLayers: readonly FunctionLayer[] = [];
    const row = await this.sql.begin(async (tx) => {
      const current = await this.lockForUpdate(tx, input.functionName);
      if (patch.layers) {
        await this.code.assertFitsWithLayers(hashOf(current.codeSha256), patch.layers, 'layers');
        replacedLayers = current.layers;
      }
      if (input.reservedConcurrency !== undefined) {
        // -1 removes the reservation (GraphQL can't tell null from absent in every client)
        const value = input.reservedConcurrency === null || input.reservedConcurrency === -1 ? null : input.reservedConcurrency;
        await this.checkReserved(tx, current.id, value, 'reservedConcurrency');
        patch.reservedConcurrency = value;
      }
      Object.assign(patch, this.asyncSettings(input.eventInvokeConfig, current, 'eventInvokeConfig'));
      if (input.loggingConfig) patch.loggingConfig = requireLoggingConfig(input.loggingConfig, current.loggingConfig, 'loggingConfig');
      const updated = await q.updateFunction(tx, current.id, { ...patch, revisionId: crypto.randomUUID() });
      await this.changed(tx, updated.name);
      await systemLog(tx, updated.logStreamId, 'Function configuration updated');
      return updated;
    });
    await this.code.freshen(replacedLayers.map((l) => hashOf(l.codeSha256)));
    this.forget();
    return row;
  }

  async delete(name: string): Promise<FunctionRow> {
    const fn = await this.sql.begin(async (tx) => {
      const current = await q.lockFunctionByName(tx, requireFunctionName(name, 'functionName'));
      if (!current) throw notFound('function', name, 'functionName');
      await q.lockTriggersOfFunction(tx, current.id);
      await q.deleteFunction(tx, current.id);
      await this.changed(tx, current.name);
      // its triggers went with it (ON DELETE CASCADE): caches of triggers reload
      await notify(tx, Channel.triggers, `fn:${current.id}`);
      await systemLog(tx, current.logStreamId, `Function ${current.name} deleted`);
      return current;
    });
    this.forget();
    this.lifecycle.deleted(fn.id);
    return fn;
  }

  // ---- code preparation (the function controller) ----

  /**
   * Claims functions waiting for their code and settles each with `prepare`'s verdict, in the
   * claiming transaction: Pending → Active | Failed, LastUpdateStatus InProgress → Successful | Failed.
   */
  async settlePending(prepare: (fn: FunctionRow) => Promise<string | null>): Promise<number> {
    return this.sql
      .begin(async (tx) => {
        const claimed = await q.claimPendingFunctions(tx, 8);
        for (const fn of claimed) {
          const failure = await prepare(fn);
          const patch: q.FunctionPatch =
            failure === null
              ? { state: 'Active', stateReason: null, stateReasonCode: null, lastUpdateStatus: 'Successful', lastUpdateStatusReason: null }
              : {
                  state: 'Failed',
                  stateReason: failure,
                  stateReasonCode: 'InvalidZipFileException',
                  lastUpdateStatus: 'Failed',
                  lastUpdateStatusReason: failure,
                };
          const row = await q.updateFunction(tx, fn.id, patch, false);
          await this.changed(tx, row.name);
          await systemLog(
            tx,
            row.logStreamId,
            failure === null ? `Function state: Active (LastUpdateStatus Successful)` : `Function state: Failed: ${failure}`,
          );
        }
        return claimed.length;
      })
      .then((n) => {
        if (n > 0) this.forget();
        return n;
      });
  }

  // ---- versions ----

  async publishVersion(input: {
    functionName: string;
    description?: string | null;
    codeSha256?: string | null;
  }): Promise<FunctionVersionRow> {
    const description = requireDescription(input.description ?? '', 'description');
    return this.sql
      .begin(async (tx) => {
        const fn = await this.lockForUpdate(tx, input.functionName);
        if (fn.state !== 'Active')
          throw conflict(`The function is in state ${fn.state}: only an Active function can be published`, 'functionName');
        if (input.codeSha256 && input.codeSha256 !== fn.codeSha256) {
          throw new AppError(
            'CONFLICT',
            `CodeSha256 ${input.codeSha256} does not match the function's current code (${fn.codeSha256})`,
            'codeSha256',
          );
        }
        const config = configOf(fn);
        const last = await q.latestVersion(tx, fn.id);
        // Lambda publishes nothing new when neither code nor configuration changed since the last version
        if (last && sameConfig(last.config, config, (env) => this.secrets.openEnv(env))) return last;
        const version = fn.lastVersion + 1;
        await q.updateFunction(tx, fn.id, { lastVersion: version }, false);
        await this.changed(tx, fn.name);
        const row = await q.insertVersion(tx, {
          functionId: fn.id,
          version,
          config: { ...config, description: description || fn.description },
          codeSha256: fn.codeSha256,
          revisionId: `v${version}`,
          description: description || fn.description,
        });
        await systemLog(tx, fn.logStreamId, `Version ${version} published (CodeSha256 ${fn.codeSha256})`);
        return row;
      })
      .finally(() => this.forget());
  }

  versionsOf(functionIds: readonly string[]): Promise<FunctionVersionRow[]> {
    return q.versionsOfMany(this.sql, functionIds);
  }

  aliasesOf(functionIds: readonly string[]): Promise<FunctionAliasRow[]> {
    return q.aliasesOfMany(this.sql, functionIds);
  }

  // ---- aliases ----

  private async requireVersion(tx: Tx, fn: FunctionRow, version: string, field: string, allowLatest: boolean): Promise<string> {
    if (version === '$LATEST') {
      if (!allowLatest) throw badInput(field, 'must be a published version (routing needs two published versions)');
      return version;
    }
    if (!/^[1-9][0-9]{0,9}$/.test(version)) throw badInput(field, 'must be a version number or $LATEST');
    if (!(await q.versionByNumber(tx, fn.id, Number(version)))) throw notFound('version', `${fn.name}:${version}`, field);
    return version;
  }

  private async aliasRow(tx: Tx, fn: FunctionRow, input: AliasInput, current: FunctionAliasRow | null) {
    const functionVersion =
      input.functionVersion != null
        ? await this.requireVersion(tx, fn, input.functionVersion, 'functionVersion', true)
        : current!.functionVersion;
    let additionalVersion = current?.additionalVersion ?? null;
    let additionalWeight = current?.additionalWeight ?? null;
    if (input.routing !== undefined) {
      const weights = input.routing?.additionalVersionWeights ?? [];
      if (weights.length > 1)
        throw badInput('routing.additionalVersionWeights', 'must have at most one entry (an alias routes to at most two versions)');
      const [w] = weights;
      if (w) {
        if (!Number.isFinite(w.weight) || w.weight < 0 || w.weight > 1)
          throw badInput('routing.additionalVersionWeights.0.weight', 'must be from 0.0 to 1.0');
        additionalVersion = await this.requireVersion(tx, fn, w.version, 'routing.additionalVersionWeights.0.version', false);
        additionalWeight = w.weight;
      } else {
        additionalVersion = null;
        additionalWeight = null;
      }
    }
    if (additionalVersion !== null) {
      if (functionVersion === '$LATEST')
        throw badInput('functionVersion', 'must be a published version when the alias routes to two versions');
      if (additionalVersion === functionVersion)
        throw badInput('routing.additionalVersionWeights.0.version', 'must differ from functionVersion');
    }
    const description = input.description != null ? requireDescription(input.description, 'description') : (current?.description ?? '');
    return { functionId: fn.id, name: input.name, functionVersion, additionalVersion, additionalWeight, description };
  }

  async createAlias(input: AliasInput & { functionVersion: string }): Promise<FunctionAliasRow> {
    requireAliasName(input.name, 'name');
    return this.sql
      .begin(async (tx) => {
        const fn = await q.lockFunctionByName(tx, requireFunctionName(input.functionName, 'functionName'));
        if (!fn) throw notFound('function', input.functionName, 'functionName');
        const row = await q.insertAlias(tx, await this.aliasRow(tx, fn, input, null));
        if (!row) throw conflict(`Alias already exists: ${functionArn(fn.name, input.name)}`, 'name');
        await this.changed(tx, fn.name);
        await systemLog(tx, fn.logStreamId, `Alias ${input.name} created → ${describeRouting(row)}`);
        return row;
      })
      .finally(() => this.forget());
  }

  async updateAlias(input: AliasInput): Promise<FunctionAliasRow> {
    requireAliasName(input.name, 'name');
    return this.sql
      .begin(async (tx) => {
        const fn = await q.lockFunctionByName(tx, requireFunctionName(input.functionName, 'functionName'));
        if (!fn) throw notFound('function', input.functionName, 'functionName');
        const current = await q.aliasByName(tx, fn.id, input.name);
        if (!current) throw notFound('alias', `${fn.name}:${input.name}`, 'name');
        const row = (await q.updateAlias(tx, await this.aliasRow(tx, fn, input, current)))!;
        await this.changed(tx, fn.name);
        await systemLog(tx, fn.logStreamId, `Alias ${input.name} updated → ${describeRouting(row)}`);
        return row;
      })
      .finally(() => this.forget());
  }

  async deleteAlias(input: { functionName: string; name: string }): Promise<FunctionAliasRow> {
    return this.sql
      .begin(async (tx) => {
        const fn = await q.lockFunctionByName(tx, requireFunctionName(input.functionName, 'functionName'));
        if (!fn) throw notFound('function', input.functionName, 'functionName');
        const current = await q.aliasByName(tx, fn.id, input.name);
        if (!current) throw notFound('alias', `${fn.name}:${input.name}`, 'name');
        await q.deleteAlias(tx, fn.id, input.name);
        await this.changed(tx, fn.name);
        await systemLog(tx, fn.logStreamId, `Alias ${input.name} deleted`);
        return current;
      })
      .finally(() => this.forget());
  }

  /**
   * What an instance of this version needs (the engine's view of it). Kept per function row (a
   * change reads a new row) and revision: a warm invoke opens no sealed environment or key.
   */
  specOf(fn: FunctionRow, resolved: ResolvedVersion): InstanceSpec {
    const key = `${resolved.version}|${resolved.revisionId}`;
    let specs = this.specs.get(fn);
    if (!specs) this.specs.set(fn, (specs = new Map()));
    const kept = specs.get(key);
    if (kept && kept.s3.endpointUrl === this.access.s3EndpointUrl()) return kept;
    const spec = this.buildSpec(fn, resolved);
    specs.set(key, spec);
    return spec;
  }

  private buildSpec(fn: FunctionRow, resolved: ResolvedVersion): InstanceSpec {
    const c = resolved.config;
    const codeHash = hashOf(c.codeSha256);
    return {
      functionId: fn.id,
      functionName: fn.name,
      version: resolved.version,
      revisionId: resolved.revisionId,
      runtime: c.runtime,
      handler: c.handler,
      memoryMb: c.memoryMb,
      ephemeralStorageMb: ephemeralOf(c),
      timeoutSeconds: c.timeoutSeconds,
      environment: this.secrets.openEnv(c.environment),
      s3: {
        endpointUrl: this.access.s3EndpointUrl(),
        credentials: c.executionKey
          ? { accessKeyId: c.executionKey.accessKeyId, secretAccessKey: this.secrets.decrypt(c.executionKey.secretSealed) }
          : null,
      },
      logging: loggingOf(c),
      xrayDaemonAddress: this.access.xrayDaemonAddress,
      codeHash,
      packagePath: this.code.packagePath(codeHash),
      layers: (c.layers ?? []).map((l) => {
        const hash = hashOf(l.codeSha256);
        return { hash, packagePath: this.code.packagePath(hash) };
      }),
    };
  }

  /**
   * What a qualifier runs: $LATEST, a version, or an alias (which picks one of its two versions
   * by weight, at random: routing is probabilistic, as Lambda's).
   */
  async resolve(fn: FunctionRow, qualifier: string | null | undefined, field = 'qualifier', tx?: Tx): Promise<ResolvedVersion> {
    if (qualifier == null || qualifier === '' || qualifier === '$LATEST') return this.version(fn, '$LATEST', field, tx);
    if (/^[0-9]+$/.test(qualifier)) return this.version(fn, qualifier, field, tx);
    const alias = tx ? await q.aliasByName(tx, fn.id, qualifier) : await this.alias(fn, qualifier);
    if (!alias) throw notFound('alias', `${fn.name}:${qualifier}`, field);
    const pick =
      alias.additionalVersion !== null && Math.random() < (alias.additionalWeight ?? 0) ? alias.additionalVersion : alias.functionVersion;
    return this.version(fn, pick, field, tx);
  }

  /** The versions a qualifier routes to, with their share of the traffic. */
  async routes(fn: FunctionRow, qualifier: string, field: string): Promise<Array<{ resolved: ResolvedVersion; weight: number }>> {
    if (qualifier === '$LATEST' || /^[0-9]+$/.test(qualifier)) return [{ resolved: await this.version(fn, qualifier, field), weight: 1 }];
    const alias = await this.alias(fn, qualifier);
    if (!alias) throw notFound('alias', `${fn.name}:${qualifier}`, field);
    const main = { resolved: await this.version(fn, alias.functionVersion, field), weight: 1 - (alias.additionalWeight ?? 0) };
    if (alias.additionalVersion === null) return [main];
    return [main, { resolved: await this.version(fn, alias.additionalVersion, field), weight: alias.additionalWeight ?? 0 }];
  }

  private alias(fn: FunctionRow, name: string): Promise<FunctionAliasRow | null> {
    return this.cachedRead(this.aliases, `${fn.id}:${name}`, async () => (await q.aliasByName(this.sql, fn.id, name)) ?? null);
  }

  /** In a transaction (`tx`), what it sees: the cache may not have heard of its own changes yet. */
  private async version(fn: FunctionRow, version: string, field: string, tx?: Tx): Promise<ResolvedVersion> {
    if (version === '$LATEST') return { version: '$LATEST', config: configOf(fn), revisionId: fn.revisionId };
    const read = async () => {
      const row = await q.versionByNumber(tx ?? this.sql, fn.id, Number(version));
      return row ? { version: String(row.version), config: row.config, revisionId: row.revisionId } : null;
    };
    const resolved = tx ? await read() : await this.cachedRead(this.versions, `${fn.id}:${version}`, read);
    if (!resolved) throw notFound('version', `${fn.name}:${version}`, field);
    return resolved;
  }
}

export interface AliasInput {
  functionName: string;
  name: string;
  functionVersion?: string | null;
  description?: string | null;
  routing?: { additionalVersionWeights?: Array<{ version: string; weight: number }> | null } | null;
}

function requireAliasName(name: string, field: string): string {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(name) || /^[0-9]+$/.test(name) || name === '$LATEST') {
    throw badInput(field, 'must be 1 to 128 letters, digits, hyphens or underscores, and not a number');
  }
  return name;
}

function describeRouting(a: FunctionAliasRow): string {
  if (a.additionalVersion === null) return `version ${a.functionVersion}`;
  return `version ${a.functionVersion} (${((1 - (a.additionalWeight ?? 0)) * 100).toFixed(1)}%), version ${a.additionalVersion} (${((a.additionalWeight ?? 0) * 100).toFixed(1)}%)`;
}
