import type { Db, Sql } from '../../platform/db/client.js';
import type { InvocationRow, InvocationStatus } from '../tables.js';
import { Channel } from '../../platform/notifications/channels.js';
import { newTraceId } from '../../engine/functions/platform-log.js';

export type NewInvocation = Omit<InvocationRow, 'createdAt' | 'claimedBy' | 'claimedUntil' | 'triggerId' | 'eventId' | 'traceId'> & {
  createdAt?: Date;
  /** absent: a new one */
  traceId?: string;
  triggerId?: string | null;
  eventId?: string | null;
};

const COLUMNS = [
  'id',
  'functionId',
  'functionName',
  'qualifier',
  'executedVersion',
  'invocationType',
  'status',
  'payload',
  'response',
  'functionError',
  'errorType',
  'errorMessage',
  'attempts',
  'maxRetryAttempts',
  'maxEventAgeSeconds',
  'nextAttemptAt',
  'sourceInvocationId',
  'coldStart',
  'initDurationMs',
  'durationMs',
  'billedDurationMs',
  'memoryMb',
  'maxMemoryUsedMb',
  'concurrency',
  'instanceId',
  'logs',
  'startedAt',
  'endedAt',
  'triggerId',
  'eventId',
] as const;

/** `maxRetryAttempts` → `max_retry_attempts`, as a type (recordJson names every column). */
type SnakeCase<S extends string> = S extends `${infer H}${infer T}`
  ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${SnakeCase<T>}`
  : S;

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
/** each column's field and its name in the table (made once: a record is written per invocation) */
const NAMED_COLUMNS = COLUMNS.map((c) => [c, snake(c)] as const);

function values(db: Db, inv: NewInvocation | InvocationRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [c, name] of NAMED_COLUMNS) out[name] = c === 'logs' ? (inv.logs ? db.json(inv.logs as never) : null) : (inv[c] ?? null);
  if (inv.createdAt) out.created_at = inv.createdAt;
  out.trace_id = inv.traceId ?? newTraceId();
  return out;
}

export async function insertInvocation(db: Db, inv: NewInvocation): Promise<InvocationRow> {
  const [row] = await db<InvocationRow[]>`insert into invocations ${db(values(db, inv))} returning *`;
  return row!;
}

/**
 * Stores invocation records that ended their call (a sync call, a throttle, a dry run) in one
 * statement, committed without waiting for the WAL flush (walFlushed() waits for it); a record
 * stored already stays as it was (the journal may hold it twice).
 */
export async function storeInvocations(sql: Sql, records: string[]): Promise<void> {
  // one statement: set_config(…, true) lasts until the end of the statement's own transaction, its
  // commit included; the CTE is read so that it is evaluated at all. The records go as one JSON
  // parameter (as the journal has them), not a parameter per column and record.
  await sql`
    with cfg as (select set_config('synchronous_commit', 'off', true) as v),
    ins as (insert into invocations
      select * from json_populate_recordset(null::invocations, (${`[${records.join(',')}]`}::text)::json)
      on conflict (id) do nothing returning 1)
    select (select v from cfg), (select count(*) from ins)`;
}

/**
 * An invocation record as a JSON row of the invocations table (what storeInvocations takes). One
 * is made per invocation: written out as a literal, the object has one shape V8 serialises on its
 * fast path (filled key by key, its 34 properties made it a dictionary, at several times the cost).
 */
export function recordJson(row: InvocationRow): string {
  return JSON.stringify({
    id: row.id,
    function_id: row.functionId,
    function_name: row.functionName,
    qualifier: row.qualifier,
    executed_version: row.executedVersion,
    invocation_type: row.invocationType,
    status: row.status,
    payload: row.payload,
    response: row.response,
    function_error: row.functionError,
    error_type: row.errorType,
    error_message: row.errorMessage,
    attempts: row.attempts,
    max_retry_attempts: row.maxRetryAttempts,
    max_event_age_seconds: row.maxEventAgeSeconds,
    next_attempt_at: row.nextAttemptAt,
    source_invocation_id: row.sourceInvocationId,
    cold_start: row.coldStart,
    init_duration_ms: row.initDurationMs,
    duration_ms: row.durationMs,
    billed_duration_ms: row.billedDurationMs,
    memory_mb: row.memoryMb,
    max_memory_used_mb: row.maxMemoryUsedMb,
    concurrency: row.concurrency,
    instance_id: row.instanceId,
    logs: row.logs,
    started_at: row.startedAt,
    ended_at: row.endedAt,
    trigger_id: row.triggerId,
    event_id: row.eventId,
    trace_id: row.traceId,
    created_at: row.createdAt,
    claimed_by: row.claimedBy,
    claimed_until: row.claimedUntil,
  } satisfies Record<SnakeCase<(typeof COLUMNS)[number]> | 'trace_id' | 'created_at' | 'claimed_by' | 'claimed_until', unknown>);
}

/**
 * Returns once every commit before it is flushed to the WAL on disk: a transaction with an id
 * writes a commit record, and (synchronous_commit on) waits for the flush up to it.
 */
export async function walFlushed(sql: Sql): Promise<void> {
  await sql`select pg_current_xact_id()`;
}

/** Which of these function ids this database knows. */
export async function knownFunctions(db: Db, ids: string[]): Promise<Set<string>> {
  const rows = await db<Array<{ id: string }>>`select id from functions where id = any(${db.array([...new Set(ids)])}::text[])`;
  return new Set(rows.map((r) => r.id));
}

/** Queues an async invocation and wakes the invokers (on every server). */
export async function enqueueInvocation(db: Db, inv: NewInvocation): Promise<InvocationRow> {
  const row = await insertInvocation(db, inv);
  await db`select pg_notify(${Channel.invocation}, ${row.id})`;
  return row;
}

export async function invocationById(db: Db, id: string): Promise<InvocationRow | undefined> {
  const [row] = await db<InvocationRow[]>`select * from invocations where id = ${id}`;
  return row;
}

/**
 * Claims due async invocations: queued ones whose time has come, and running ones whose claim
 * lapsed or whose server is gone (no heartbeat in the servers table for 30 s: it died). Each claim
 * counts an attempt, but a running one taken back (its run was cut short, not finished).
 */
export async function claimDue(
  db: Db,
  serverId: string,
  limit: number,
  leaseSeconds: number,
  skipFunctions: string[] = [],
): Promise<InvocationRow[]> {
  if (limit <= 0) return [];
  return db<InvocationRow[]>`
    update invocations set status = 'RUNNING', claimed_by = ${serverId},
      claimed_until = now() + make_interval(secs => ${leaseSeconds}),
      -- a RUNNING one was cut short by its server's end (a crash; the lease outlasts any timeout):
      -- the platform's failure, so its attempt is not spent again, as at a graceful shutdown
      attempts = case when status = 'RUNNING' then attempts else attempts + 1 end
    where id in (
      select id from invocations
      where ((status = 'QUEUED' and next_attempt_at <= now())
         or (status = 'RUNNING' and (claimed_until < now() or not exists (
               select 1 from servers s where s.id = invocations.claimed_by and s.heartbeat_at > now() - interval '30 seconds'))))
        ${skipFunctions.length ? db`and function_id <> all(${db.array(skipFunctions)}::text[])` : db``}
      order by next_attempt_at limit ${limit} for update skip locked)
    returning *`;
}

/** Hands a claimed invocation back to the queue, as if it had not been claimed (no attempt counted). */
/**
 * Puts a claimed invocation back in the queue without spending an attempt (due at `dueAt`, or when
 * it was due), if this server still holds it: a claim that lapsed to another server is left alone.
 */
export async function releaseClaim(db: Db, id: string, serverId: string, dueAt: Date | null = null): Promise<void> {
  await db`
    update invocations set status = 'QUEUED', attempts = attempts - 1, claimed_by = null, claimed_until = null,
      next_attempt_at = coalesce(${dueAt}::timestamptz, next_attempt_at)
    where id = ${id} and claimed_by = ${serverId}`;
}

export async function updateInvocation(
  db: Db,
  id: string,
  patch: Partial<NewInvocation> & { claimedBy?: string | null; claimedUntil?: Date | null },
): Promise<InvocationRow> {
  const v: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(patch)) {
    if (val === undefined) continue;
    v[snake(k)] = k === 'logs' ? (val ? db.json(val as never) : null) : val;
  }
  const [row] = await db<InvocationRow[]>`update invocations set ${db(v)} where id = ${id} returning *`;
  return row!;
}

export interface InvocationFilter {
  functionId?: string | null;
  /** a trigger's deliveries */
  triggerId?: string | null;
  /** the invocation with this X-Ray trace id */
  traceId?: string | null;
  statuses?: InvocationStatus[] | null;
  invocationType?: string | null;
  executedVersion?: string | null;
  since?: Date | null;
  until?: Date | null;
}

/** Newest first; the cursor is `<created_at iso>|<id>`. */
export async function listInvocations(
  db: Db,
  f: InvocationFilter,
  limit: number,
  before: { at: Date; id: string } | null,
): Promise<InvocationRow[]> {
  return db<InvocationRow[]>`
    select * from invocations where true
      ${f.functionId ? db`and function_id = ${f.functionId}` : db``}
      ${f.triggerId ? db`and trigger_id = ${f.triggerId}` : db``}
      ${f.traceId ? db`and trace_id = ${f.traceId}` : db``}
      ${f.statuses?.length ? db`and status = any(${db.array(f.statuses)})` : db``}
      ${f.invocationType ? db`and invocation_type = ${f.invocationType}` : db``}
      ${f.executedVersion ? db`and executed_version = ${f.executedVersion}` : db``}
      ${f.since ? db`and created_at >= ${f.since}` : db``}
      ${f.until ? db`and created_at < ${f.until}` : db``}
      ${before ? db`and (created_at, id) < (${before.at}, ${before.id})` : db``}
    order by created_at desc, id desc limit ${limit}`;
}

export interface MetricRow {
  bucket: Date;
  invocations: number;
  errors: number;
  throttles: number;
  durationAvg: number | null;
  durationP50: number | null;
  durationP99: number | null;
  maxConcurrency: number | null;
  coldStarts: number;
  gbSeconds: number;
}

/** Lambda's CloudWatch metrics, per period, from the invocation records. */
export async function metrics(
  db: Db,
  functionId: string,
  version: string | null,
  since: Date,
  until: Date,
  periodSeconds: number,
): Promise<MetricRow[]> {
  return db<MetricRow[]>`
    select date_bin(make_interval(secs => ${periodSeconds}), created_at, ${since}::timestamptz) as bucket,
      count(*) filter (where status not in ('THROTTLED', 'DRY_RUN', 'QUEUED'))::int as invocations,
      count(*) filter (where status = 'FAILED')::int as errors,
      count(*) filter (where status = 'THROTTLED')::int as throttles,
      avg(duration_ms) as duration_avg,
      percentile_cont(0.5) within group (order by duration_ms) as duration_p50,
      percentile_cont(0.99) within group (order by duration_ms) as duration_p99,
      max(concurrency)::int as max_concurrency,
      count(*) filter (where cold_start)::int as cold_starts,
      coalesce(sum(billed_duration_ms::float8 / 1000 * memory_mb / 1024), 0)::float8 as gb_seconds
    from invocations
    where function_id = ${functionId} and created_at >= ${since} and created_at < ${until}
      ${version ? db`and executed_version = ${version}` : db``}
    group by 1 order by 1`;
}
