import type { Db, Fragment } from '../../platform/db/client.js';
import type { EventKind, EventRow } from '../tables.js';
import { Channel } from '../../platform/notifications/channels.js';

/** Whom a cluster event's NOTIFY wakes besides its subscribers: every loop, the step dispatchers, no loop. */
export type EventWakes = 'loops' | 'dispatchers' | 'none';

const WAKES_MARK = { loops: '', dispatchers: ':s', none: ':-' } as const;

/** Whom the event of a NOTIFY's mark (splitNotification) wakes. */
export function wakesOf(mark: string | null): EventWakes {
  return mark === 's' ? 'dispatchers' : mark === '-' ? 'none' : 'loops';
}

const STEPS_RUN_OR_WAIT: readonly unknown[] = ['RUNNING', 'WAITING'];

function wakes(kind: EventKind, state: string | null, previous: unknown, workHint: boolean): EventWakes {
  if (!workHint) return 'none';
  // a step's state is the dispatchers' business; the cluster controller never looks at steps
  if (kind === 'STEP') return 'dispatchers';
  // a ready cluster going between RUNNING and WAITING (a step claimed, the last one ended) leaves
  // nothing for a loop to do: its idle timeout is a matter of time, seen by the controller's tick
  if (kind === 'CLUSTER' && STEPS_RUN_OR_WAIT.includes(previous) && STEPS_RUN_OR_WAIT.includes(state)) return 'none';
  return 'loops';
}

/** An event one statement appends (appendingEvent): its rows (resource_id, payload) and whom it concerns. */
export interface EventSource {
  clusterId: string;
  kind: EventKind;
  state: string | null;
  previousState: unknown;
  /** `select <resource_id>, <payload>`: one row, or none for no event; may read the statement's other CTEs */
  row: Fragment;
  /** false marks an event that is no work for any loop (a step's progress) */
  workHint?: boolean;
}

/**
 * The parts of a statement that appends a cluster event and queues its NOTIFY: CTEs to put after
 * the statement's own (`with …, ${ctes}`) and the NOTIFYs, for its select list, of a query over
 * `e` (`select …, ${notifies} from …, e`; e.seq is the event's). Bumping clusters.event_seq locks
 * the cluster row, so one cluster's events commit in seq order: subscribers see no gaps.
 */
export function appendingEvent(db: Db, source: EventSource): { ctes: Fragment; notifies: Fragment } {
  const { clusterId, kind, state, previousState } = source;
  // the NOTIFY's mark says whom it wakes, so that the others are not woken for nothing
  const suffix = WAKES_MARK[wakes(kind, state, previousState, source.workHint !== false)];
  // cluster and step state changes also go to the trigger dispatcher's outbox, in this statement,
  // while an enabled CLUSTER_EVENTS trigger exists: without one the dispatcher would only consume the
  // row (a transaction for each change); a trigger counts from its commit on, as enabling one does
  const forTriggers = (kind === 'CLUSTER' || kind === 'STEP') && state !== null && previousState !== state;
  return {
    ctes: db`
      event_head as (update clusters set event_seq = event_seq + 1 where id = ${clusterId} and exists (${source.row}) returning event_seq),
      e as (insert into events (cluster_id, seq, kind, resource_id, state, payload)
            select ${clusterId}, event_seq, ${kind}, r.resource_id, ${state}, r.payload from event_head, (${source.row}) r(resource_id, payload)
            returning seq)
      ${
        forTriggers
          ? db`, o as (insert into trigger_outbox (source_type, cluster_id, event_seq) select 'CLUSTER_EVENTS', ${clusterId}, seq from e
                where exists (select from triggers where enabled and source_type = 'CLUSTER_EVENTS') returning id)`
          : db``
      }`,
    notifies: db`pg_notify(${Channel.clusterEvent}, ${clusterId} || ':' || e.seq || ${suffix})
      ${forTriggers ? db`, (select pg_notify(${Channel.triggerOutbox}, 'CLUSTER_EVENTS') from o)` : db``}`,
  };
}

/** Appends a cluster event and queues its NOTIFY, in one statement; returns its seq. */
export async function appendEvent(
  db: Db,
  clusterId: string,
  kind: EventKind,
  resourceId: string,
  state: string | null,
  payload: object,
  options: { workHint?: boolean } = {},
): Promise<number> {
  const previousState = (payload as { previousState?: unknown }).previousState;
  const row = db`select ${resourceId}::text, ${db.json(payload as never)}::jsonb`;
  const { ctes, notifies } = appendingEvent(db, { clusterId, kind, state, previousState, row, workHint: options.workHint });
  const [appended] = await db<{ seq: number }[]>`with ${ctes} select seq, ${notifies} from e`;
  return appended!.seq;
}

export async function eventsAfter(db: Db, clusterId: string, after: number, limit: number): Promise<EventRow[]> {
  return db<EventRow[]>`
    select * from events where cluster_id = ${clusterId} and seq > ${after} order by seq limit ${limit}`;
}

export async function eventHead(db: Db, clusterId: string): Promise<number> {
  const [row] = await db<{ eventSeq: number }[]>`select event_seq from clusters where id = ${clusterId}`;
  return row?.eventSeq ?? 0;
}
