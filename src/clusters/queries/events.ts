import type { Db } from '../../platform/db/client.js';
import type { EventKind, EventRow } from '../tables.js';
import { Channel } from '../../platform/notifications/channels.js';

/**
 * Appends a cluster event and queues its NOTIFY, in one statement. Bumping clusters.event_seq locks
 * the cluster row, so one cluster's events commit in seq order: subscribers see no gaps.
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
  // `:-` marks events that give controllers nothing to do (progress), so they are not woken
  const suffix = options.workHint === false ? ':-' : '';
  // cluster and step state changes also go to the trigger dispatcher's outbox, in this statement
  const previous = (payload as { previousState?: unknown }).previousState;
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
