import type { Db, Fragment } from '../../platform/db/client.js';
import type { StepRow, StepState } from '../tables.js';
import { appendingEvent } from './events.js';

/**
 * The row of a step's event (resource id, payload) from `s`, the step's row as the statement left it:
 * the step as subscribers and CLUSTER_EVENTS triggers see it, times as JSON gives a Date.
 */
function stepEventRow(db: Db, previousState: StepState | null): Fragment {
  const iso = (column: Fragment) => db`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  return db`select s.id, jsonb_build_object(
    'previousState', ${previousState}::text, 'id', s.id, 'name', s.name, 'state', s.state, 'progress', s.progress,
    'exitCode', s.exit_code, 'pid', s.pid, 'instanceId', s.instance_id, 'failureReason', s.failure_reason,
    'failureMessage', s.failure_message, 'result', s.result, 'startedAt', ${iso(db`s.started_at`)}, 'endedAt', ${iso(db`s.ended_at`)})
    from s`;
}

/**
 * Runs `change`, a statement over steps returning the changed row as `s`, with the step's event
 * appended in the same statement; returns the row (undefined when none changed, and then no event).
 */
async function withStepEvent(
  db: Db,
  clusterId: string,
  previousState: StepState | null,
  state: StepState,
  change: Fragment,
  options: { workHint?: boolean } = {},
): Promise<StepRow | undefined> {
  const row = stepEventRow(db, previousState);
  const { ctes, notifies } = appendingEvent(db, { clusterId, kind: 'STEP', state, previousState, row, ...options });
  const [changed] = await db<StepRow[]>`with s as (${change}), ${ctes} select s.* from s, (select ${notifies} from e) notified`;
  return changed;
}

/** A new PENDING step and its event, in one statement. */
export async function insertStep(
  db: Db,
  s: Pick<StepRow, 'id' | 'clusterId' | 'name' | 'kind' | 'spec' | 'actionOnFailure' | 'logStreamId'>,
): Promise<StepRow> {
  const row = await withStepEvent(
    db,
    s.clusterId,
    null,
    'PENDING',
    db`
    insert into steps (id, cluster_id, name, kind, spec, action_on_failure, state, log_stream_id)
    values (${s.id}, ${s.clusterId}, ${s.name}, ${s.kind}, ${db.json(s.spec as never)}, ${s.actionOnFailure}, 'PENDING',
            ${s.logStreamId})
    returning *`,
  );
  return row!;
}

export async function stepById(db: Db, id: string): Promise<StepRow | undefined> {
  const [row] = await db<StepRow[]>`select * from steps where id = ${id}`;
  return row;
}

export async function stepsByIds(db: Db, ids: readonly string[]): Promise<StepRow[]> {
  return db<StepRow[]>`select * from steps where id = any(${db.array(ids as string[])})`;
}

export async function lockSteps(db: Db, clusterId: string, ids: string[]): Promise<StepRow[]> {
  return db<StepRow[]>`
    select * from steps where cluster_id = ${clusterId} and id = any(${db.array(ids)}) order by position for update`;
}

/**
 * One page of steps per cluster, newest first (as EMR's ListSteps), in one statement: a lateral
 * index scan per cluster reads only the rows of the page, however many steps a cluster has run.
 */
export async function stepPages(db: Db, clusterIds: readonly string[], limit: number, beforePosition: number | null): Promise<StepRow[]> {
  return db<StepRow[]>`
    select s.* from unnest(${db.array(clusterIds as string[])}::text[]) as c(id)
    cross join lateral (
      select * from steps where cluster_id = c.id
        ${beforePosition !== null ? db`and position < ${beforePosition}` : db``}
      order by position desc limit ${limit}
    ) s
    order by s.cluster_id, s.position desc`;
}

export async function activeSteps(db: Db, clusterId: string): Promise<StepRow[]> {
  return db<StepRow[]>`
    select * from steps where cluster_id = ${clusterId} and state in ('PENDING', 'RUNNING', 'CANCEL_PENDING')
    order by position`;
}

export async function countActiveSteps(db: Db, clusterId: string): Promise<number> {
  const [row] = await db<{ n: number }[]>`
    select count(*)::int as n from steps
    where cluster_id = ${clusterId} and state in ('PENDING', 'RUNNING', 'CANCEL_PENDING')`;
  return row!.n;
}

/**
 * The next PENDING steps in submission order, as many as the cluster's concurrency level leaves room
 * for (read from its row, which the caller has locked: a statement sent before the caller has the
 * row reads the same level). SKIP LOCKED keeps two dispatchers off the same row.
 */
export async function claimablePending(db: Db, clusterId: string): Promise<StepRow[]> {
  return db<StepRow[]>`
    select * from steps where cluster_id = ${clusterId} and state = 'PENDING'
    order by position
    limit greatest(0, (select step_concurrency from clusters where id = ${clusterId}) - (select count(*) from steps
      where cluster_id = ${clusterId} and state in ('RUNNING', 'CANCEL_PENDING')))
    for update skip locked`;
}

export interface StepStatePatch {
  instanceId?: string;
  exitCode?: number | null;
  failureReason?: string | null;
  failureMessage?: string | null;
  result?: Record<string, unknown> | null;
}

/** A step's new state and its event, in one statement. */
export async function setStepState(db: Db, step: StepRow, state: StepState, patch: StepStatePatch = {}): Promise<StepRow> {
  return (await changeStepStateFrom(db, step, state, patch, false))!;
}

/**
 * A step's new state and its event, in one statement, if it is still in the state `step` has (a
 * statement sent before its row is read: the row as read decides); undefined if it is not.
 */
export async function setStepStateIfStill(
  db: Db,
  step: StepRow,
  state: StepState,
  patch: StepStatePatch = {},
): Promise<StepRow | undefined> {
  return changeStepStateFrom(db, step, state, patch, true);
}

async function changeStepStateFrom(
  db: Db,
  step: StepRow,
  state: StepState,
  patch: StepStatePatch,
  onlyIfStill: boolean,
): Promise<StepRow | undefined> {
  return withStepEvent(
    db,
    step.clusterId,
    step.state,
    state,
    db`
    update steps set state = ${state},
      instance_id = coalesce(${patch.instanceId ?? null}, instance_id),
      exit_code = coalesce(${patch.exitCode ?? null}::int, exit_code),
      failure_reason = coalesce(${patch.failureReason ?? null}, failure_reason),
      failure_message = coalesce(${patch.failureMessage ?? null}, failure_message),
      result = coalesce(${patch.result ? db.json(patch.result as never) : null}::jsonb, result),
      started_at = case when ${state} = 'RUNNING' and started_at is null then clock_timestamp() else started_at end,
      ended_at = case when ${state} in ('COMPLETED', 'CANCELLED', 'FAILED', 'INTERRUPTED') then clock_timestamp() else ended_at end,
      progress = case when ${state} = 'COMPLETED' then 1 else progress end
    where id = ${step.id} ${onlyIfStill ? db`and state = ${step.state}` : db``} returning *`,
  );
}

export async function setCancelOption(db: Db, id: string, option: string): Promise<void> {
  await db`update steps set cancel_option = ${option} where id = ${id}`;
}

/**
 * The pid of a step's process, as its node reported it (a report counts only for a step that node
 * runs). Committed without waiting for the WAL flush: the pid is only shown, nothing acts on it, and
 * a short step's exit report waits behind this one (set_config(…, true) lasts until the end of the
 * statement's own transaction; RETURNING reads the CTE so that it is evaluated at all).
 */
export async function setStepPid(db: Db, id: string, instanceId: string, pid: number): Promise<void> {
  await db`
    with cfg as (select set_config('synchronous_commit', 'off', true) as v)
    update steps set pid = ${pid} where id = ${id} and instance_id = ${instanceId} and pid is null
    returning (select v from cfg)`;
}

/** A running step's progress and, when it changed, its event (no work for any loop), in one statement; `step` is its locked row. */
export async function setStepProgress(db: Db, step: StepRow, progress: number): Promise<StepRow | undefined> {
  return withStepEvent(
    db,
    step.clusterId,
    step.state,
    step.state,
    db`
    update steps set progress = ${progress} where id = ${step.id} and state in ('RUNNING', 'CANCEL_PENDING')
      and progress is distinct from ${progress} returning *`,
    { workHint: false },
  );
}

/** The outcome a running step reported so far (a `::result` before its exit, e.g. a Spark app's driver UI). */
export async function setRunningStepResult(db: Db, id: string, result: Record<string, unknown>): Promise<void> {
  await db`update steps set result = ${db.json(result as never)} where id = ${id} and state in ('RUNNING', 'CANCEL_PENDING')`;
}

/** Steps a node runs, of the given active states (the literal state list matches the partial index). */
export async function stepsOnInstance(db: Db, instanceId: string, states: Array<'RUNNING' | 'CANCEL_PENDING'>): Promise<StepRow[]> {
  return db<StepRow[]>`
    select * from steps where instance_id = ${instanceId} and state in ('RUNNING', 'CANCEL_PENDING')
      and state = any(${db.array(states)}) order by position`;
}
