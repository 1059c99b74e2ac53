import type { Db } from '../../platform/db/client.js';
import type {
  FunctionAliasRow,
  FunctionConfig,
  FunctionLayer,
  FunctionRow,
  FunctionVersionRow,
  ProvisionedConcurrencyRow,
} from '../tables.js';

export interface NewFunction extends FunctionConfig {
  ephemeralStorageMb: number;
  layers: FunctionLayer[];
  id: string;
  name: string;
  tags: Record<string, string>;
  reservedConcurrency: number | null;
  revisionId: string;
  logStreamId: string;
  maxRetryAttempts: number;
  maxEventAgeSeconds: number;
  onSuccess: string | null;
  onFailure: string | null;
}

/** Inserts unless the name is taken (undefined then). */
export async function insertFunction(db: Db, f: NewFunction): Promise<FunctionRow | undefined> {
  const [row] = await db<FunctionRow[]>`
    insert into functions (id, name, runtime, handler, description, memory_mb, ephemeral_storage_mb, timeout_seconds, environment,
      execution_key, layers, logging_config, tags,
      reserved_concurrency, code_sha256, code_size, state, last_update_status, revision_id, log_stream_id,
      max_retry_attempts, max_event_age_seconds, on_success, on_failure)
    values (${f.id}, ${f.name}, ${f.runtime}, ${f.handler}, ${f.description}, ${f.memoryMb}, ${f.ephemeralStorageMb}, ${f.timeoutSeconds},
      ${db.json(f.environment)}, ${f.executionKey ? db.json(f.executionKey as never) : null}, ${db.json(f.layers as never)},
      ${f.loggingConfig ? db.json(f.loggingConfig as never) : null}, ${db.json(f.tags)}, ${f.reservedConcurrency}, ${f.codeSha256}, ${f.codeSize},
      'Pending', 'InProgress', ${f.revisionId}, ${f.logStreamId}, ${f.maxRetryAttempts}, ${f.maxEventAgeSeconds},
      ${f.onSuccess}, ${f.onFailure})
    on conflict (name) do nothing
    returning *`;
  return row;
}

export async function functionByName(db: Db, name: string): Promise<FunctionRow | undefined> {
  const [row] = await db<FunctionRow[]>`select * from functions where name = ${name}`;
  return row;
}

export async function functionById(db: Db, id: string): Promise<FunctionRow | undefined> {
  const [row] = await db<FunctionRow[]>`select * from functions where id = ${id}`;
  return row;
}

export async function lockFunctionByName(db: Db, name: string): Promise<FunctionRow | undefined> {
  const [row] = await db<FunctionRow[]>`select * from functions where name = ${name} for update`;
  return row;
}

/** Newest first; the cursor is `<created_at iso>|<id>`. */
export async function listFunctions(db: Db, limit: number, before: { at: Date; id: string } | null): Promise<FunctionRow[]> {
  return db<FunctionRow[]>`
    select * from functions
    where ${before ? db`(created_at, id) < (${before.at}, ${before.id})` : db`true`}
    order by created_at desc, id desc limit ${limit}`;
}

export type FunctionPatch = Partial<
  Pick<
    FunctionRow,
    | 'runtime'
    | 'handler'
    | 'description'
    | 'memoryMb'
    | 'ephemeralStorageMb'
    | 'timeoutSeconds'
    | 'environment'
    | 'executionKey'
    | 'layers'
    | 'loggingConfig'
    | 'tags'
    | 'reservedConcurrency'
    | 'codeSha256'
    | 'codeSize'
    | 'state'
    | 'stateReason'
    | 'stateReasonCode'
    | 'lastUpdateStatus'
    | 'lastUpdateStatusReason'
    | 'revisionId'
    | 'maxRetryAttempts'
    | 'maxEventAgeSeconds'
    | 'onSuccess'
    | 'onFailure'
    | 'lastVersion'
  >
>;

const COLUMNS: Record<keyof FunctionPatch, string> = {
  runtime: 'runtime',
  handler: 'handler',
  description: 'description',
  memoryMb: 'memory_mb',
  ephemeralStorageMb: 'ephemeral_storage_mb',
  timeoutSeconds: 'timeout_seconds',
  environment: 'environment',
  executionKey: 'execution_key',
  layers: 'layers',
  loggingConfig: 'logging_config',
  tags: 'tags',
  reservedConcurrency: 'reserved_concurrency',
  codeSha256: 'code_sha256',
  codeSize: 'code_size',
  state: 'state',
  stateReason: 'state_reason',
  stateReasonCode: 'state_reason_code',
  lastUpdateStatus: 'last_update_status',
  lastUpdateStatusReason: 'last_update_status_reason',
  revisionId: 'revision_id',
  maxRetryAttempts: 'max_retry_attempts',
  maxEventAgeSeconds: 'max_event_age_seconds',
  onSuccess: 'on_success',
  onFailure: 'on_failure',
  lastVersion: 'last_version',
};

export async function updateFunction(db: Db, id: string, patch: FunctionPatch, touch = true): Promise<FunctionRow> {
  const values: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    const col = COLUMNS[k as keyof FunctionPatch];
    const jsonColumn = k === 'environment' || k === 'tags' || k === 'executionKey' || k === 'layers' || k === 'loggingConfig';
    values[col] = v !== null && jsonColumn ? db.json(v as never) : v;
  }
  if (touch) values.last_modified_at = new Date();
  const [row] = await db<FunctionRow[]>`update functions set ${db(values)} where id = ${id} returning *`;
  return row!;
}

export async function deleteFunction(db: Db, id: string): Promise<void> {
  await db`delete from functions where id = ${id}`;
}

/** Functions whose code is waiting to be unpacked (new, or updated), claimed by one server. */
export async function claimPendingFunctions(db: Db, limit: number): Promise<FunctionRow[]> {
  return db<FunctionRow[]>`
    select * from functions where state = 'Pending' or last_update_status = 'InProgress'
    order by last_modified_at limit ${limit} for update skip locked`;
}

/** Sum of reserved concurrency over all functions but one (which may be changing its own). */
export async function reservedConcurrencyTotal(db: Db, exceptId: string | null): Promise<number> {
  const [row] = await db<{ total: number }[]>`
    select coalesce(sum(reserved_concurrency), 0)::int as total from functions where id is distinct from ${exceptId}`;
  return row!.total;
}

// ---- versions ----

export async function insertVersion(db: Db, v: Omit<FunctionVersionRow, 'createdAt'>): Promise<FunctionVersionRow> {
  const [row] = await db<FunctionVersionRow[]>`
    insert into function_versions (function_id, version, config, code_sha256, revision_id, description)
    values (${v.functionId}, ${v.version}, ${db.json(v.config as never)}, ${v.codeSha256}, ${v.revisionId}, ${v.description})
    returning *`;
  return row!;
}

export async function versionsOfMany(db: Db, functionIds: readonly string[]): Promise<FunctionVersionRow[]> {
  return db<FunctionVersionRow[]>`
    select * from function_versions where function_id = any(${db.array(functionIds as string[])}) order by version`;
}

export async function versionByNumber(db: Db, functionId: string, version: number): Promise<FunctionVersionRow | undefined> {
  const [row] = await db<FunctionVersionRow[]>`select * from function_versions where function_id = ${functionId} and version = ${version}`;
  return row;
}

export async function latestVersion(db: Db, functionId: string): Promise<FunctionVersionRow | undefined> {
  const [row] = await db<FunctionVersionRow[]>`
    select * from function_versions where function_id = ${functionId} order by version desc limit 1`;
  return row;
}

// ---- aliases ----

export async function insertAlias(db: Db, a: Omit<FunctionAliasRow, 'createdAt' | 'updatedAt'>): Promise<FunctionAliasRow | undefined> {
  const [row] = await db<FunctionAliasRow[]>`
    insert into function_aliases (function_id, name, function_version, additional_version, additional_weight, description)
    values (${a.functionId}, ${a.name}, ${a.functionVersion}, ${a.additionalVersion}, ${a.additionalWeight}, ${a.description})
    on conflict do nothing returning *`;
  return row;
}

export async function updateAlias(db: Db, a: Omit<FunctionAliasRow, 'createdAt' | 'updatedAt'>): Promise<FunctionAliasRow | undefined> {
  const [row] = await db<FunctionAliasRow[]>`
    update function_aliases set function_version = ${a.functionVersion}, additional_version = ${a.additionalVersion},
      additional_weight = ${a.additionalWeight}, description = ${a.description}, updated_at = now()
    where function_id = ${a.functionId} and name = ${a.name} returning *`;
  return row;
}

export async function deleteAlias(db: Db, functionId: string, name: string): Promise<boolean> {
  const rows = await db`delete from function_aliases where function_id = ${functionId} and name = ${name} returning name`;
  return rows.length > 0;
}

export async function aliasByName(db: Db, functionId: string, name: string): Promise<FunctionAliasRow | undefined> {
  const [row] = await db<FunctionAliasRow[]>`select * from function_aliases where function_id = ${functionId} and name = ${name}`;
  return row;
}

export async function aliasesOfMany(db: Db, functionIds: readonly string[]): Promise<FunctionAliasRow[]> {
  return db<FunctionAliasRow[]>`
    select * from function_aliases where function_id = any(${db.array(functionIds as string[])}) order by name`;
}

export async function functionsOf(db: Db, ids: readonly string[]): Promise<FunctionRow[]> {
  return db<FunctionRow[]>`select * from functions where id = any(${db.array(ids as string[])})`;
}

// ---- provisioned concurrency ----

export async function upsertProvisioned(
  db: Db,
  functionId: string,
  qualifier: string,
  requested: number,
): Promise<ProvisionedConcurrencyRow> {
  const [row] = await db<ProvisionedConcurrencyRow[]>`
    insert into function_provisioned_concurrency (function_id, qualifier, requested, status)
    values (${functionId}, ${qualifier}, ${requested}, 'IN_PROGRESS')
    on conflict (function_id, qualifier) do update set requested = excluded.requested, status = 'IN_PROGRESS',
      status_reason = null, updated_at = now(), generation = function_provisioned_concurrency.generation + 1
    returning *`;
  return row!;
}

export async function deleteProvisioned(db: Db, functionId: string, qualifier: string): Promise<boolean> {
  return (
    (await db`delete from function_provisioned_concurrency where function_id = ${functionId} and qualifier = ${qualifier} returning 1`)
      .length > 0
  );
}

export async function allProvisioned(db: Db): Promise<Array<ProvisionedConcurrencyRow & { functionName: string }>> {
  return db<Array<ProvisionedConcurrencyRow & { functionName: string }>>`
    select p.*, f.name as function_name from function_provisioned_concurrency p join functions f on f.id = p.function_id
    order by p.function_id, p.qualifier`;
}

export async function provisionedOf(db: Db, functionIds: readonly string[]): Promise<ProvisionedConcurrencyRow[]> {
  return db<ProvisionedConcurrencyRow[]>`
    select * from function_provisioned_concurrency where function_id = any(${db.array(functionIds as string[])}) order by qualifier`;
}

/** Sum of provisioned concurrency over all functions but one qualifier of one function. */
export async function provisionedTotal(db: Db, except: { functionId: string; qualifier: string }): Promise<number> {
  const [row] = await db<{ total: number }[]>`
    select coalesce(sum(requested), 0)::int as total from function_provisioned_concurrency
    where not (function_id = ${except.functionId} and qualifier = ${except.qualifier})`;
  return row!.total;
}

export async function setProvisionedStatus(
  db: Db,
  functionId: string,
  qualifier: string,
  status: ProvisionedConcurrencyRow['status'],
  available: number,
  reason: string | null,
): Promise<ProvisionedConcurrencyRow | undefined> {
  const [row] = await db<ProvisionedConcurrencyRow[]>`
    update function_provisioned_concurrency set status = ${status}, available = ${available}, status_reason = ${reason}, updated_at = now()
    where function_id = ${functionId} and qualifier = ${qualifier}
      and (status, available, status_reason) is distinct from (${status}, ${available}::int, ${reason})
    returning *`;
  return row;
}

/**
 * Locks the triggers that reference a function (the triggers module's rows, bound to it by a
 * foreign key) in the trigger dispatcher's order (created_at, id), before the function's delete
 * cascades to them: the cascade's own order could deadlock with a dispatch pass.
 */
export async function lockTriggersOfFunction(tx: Db, functionId: string): Promise<void> {
  await tx`select id from triggers where function_id = ${functionId} order by created_at, id for update`;
}

/**
 * The code packages something still runs or may run: functions' $LATEST, their versions, layer
 * versions, and the layers functions and versions list (base64 CodeSha256): a deleted layer
 * version stays with the functions that list it.
 */
export async function packagesInUse(db: Db): Promise<string[]> {
  const rows = await db<{ codeSha256: string }[]>`
    select code_sha256 from functions
    union select code_sha256 from function_versions
    union select code_sha256 from layer_versions
    union select l->>'codeSha256' from functions, jsonb_array_elements(layers) l
    union select l->>'codeSha256' from function_versions, jsonb_array_elements(coalesce(config->'layers', '[]')) l`;
  return rows.map((r) => r.codeSha256);
}
