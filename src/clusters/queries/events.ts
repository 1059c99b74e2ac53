import type { Db } from '../../platform/db/client.js';
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

/**
 * Appends a cluster event and queues its NOTIFY, in one statement. Bumping clusters.event_seq locks
 * the cluster row, so one cluster's events commit in seq order: subscribers see no gaps.
 * `workHint: false` marks an event that is no work for any loop (a step's progress).
 */
export async function appendEvent(
  db: Db,
  clusterId: string,
  kind: EventKind,
  resourceId: string,
  state: string | null,
  payload: object,
  options: { workHint?: boolean } = {},
): Promise<number> {
  const previous = (payload as { previousState?: unknown }).previousState;
  // the NOTIFY's mark says whom it wakes, so that the others are not woken for nothing
  const suffix = WAKES_MARK[wakes(kind, state, previous, options.workHint !== false)];
  // cluster and step state changes also go to the trigger dispatcher's outbox, in this statement
  const forTriggers = (kind === 'CLUSTER' || kind === 'STEP') && state !== null && previous !== state;
  const [row] = await db<{ seq: number }[]>`
    with c as (update clusters set event_seq = event_seq + 1 where id = ${clusterId} returning event_seq),
    e as (insert into events (cluster_id, seq, kind, resource_id, state, payload)
          select ${clusterId}, event_seq, ${kind}, ${resourceId}, ${state}, ${db.json(payload as never)} from c
          returning seq)
    ${forTriggers ? db`, o as (insert into trigger_outbox (source_type, cluster_id, event_seq) select 'CLUSTER_EVENTS', ${clusterId}, seq from e returning id)` : db``}
    select seq, pg_notify(${Channel.clusterEvent}, ${clusterId} || ':' || seq || ${suffix})
      ${forTriggers ? db`, (select pg_notify(${Channel.triggerOutbox}, 'CLUSTER_EVENTS') from o)` : db``}
    from e`;
  return row!.seq;
}

export async function eventsAfter(db: Db, clusterId: string, after: number, limit: number): Promise<EventRow[]> {
  return db<EventRow[]>`
    select * from events where cluster_id = ${clusterId} and seq > ${after} order by seq limit ${limit}`;
}

export async function eventHead(db: Db, clusterId: string): Promise<number> {
  const [row] = await db<{ eventSeq: number }[]>`select event_seq from clusters where id = ${clusterId}`;
  return row?.eventSeq ?? 0;
}
