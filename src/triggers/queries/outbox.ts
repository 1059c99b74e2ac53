import type { Db, Tx } from '../../platform/db/client.js';
import type { StateChangeRow, TriggerOutboxRow } from '../tables.js';
import type { ObjectEventRow } from '../../storage/tables.js';

/**
 * Takes up to `limit` of the oldest source events no other dispatcher holds, deleting them in the
 * caller's transaction: they are gone once it commits (with their deliveries queued), and back for
 * the next taker if it does not. Oldest first.
 */
export async function takeOutbox(tx: Tx, limit: number): Promise<TriggerOutboxRow[]> {
  const rows = await tx<TriggerOutboxRow[]>`
    delete from trigger_outbox
    where id in (select id from trigger_outbox order by id limit ${limit} for update skip locked)
    returning *`;
  return rows.sort((a, b) => a.id - b.id);
}

/** Object events by seq, in seq order. */
export async function objectEventsBySeq(db: Db, seqs: number[]): Promise<ObjectEventRow[]> {
  if (seqs.length === 0) return [];
  return db<ObjectEventRow[]>`select * from object_events where seq = any(${db.array(seqs)}::bigint[]) order by seq`;
}

/** Cluster and step events by (cluster, seq), in the order of `keys`, with the cluster's and step's names. */
export async function stateChanges(db: Db, keys: Array<{ clusterId: string; seq: number }>): Promise<StateChangeRow[]> {
  if (keys.length === 0) return [];
  return db<StateChangeRow[]>`
    select e.cluster_id, e.seq, e.kind, e.resource_id, e.state, e.at, e.payload,
      c.name as cluster_name, s.name as step_name, s.action_on_failure
    from unnest(${db.array(keys.map((k) => k.clusterId))}::text[], ${db.array(keys.map((k) => k.seq))}::bigint[]) with ordinality as k(cluster_id, seq, n)
    join events e on e.cluster_id = k.cluster_id and e.seq = k.seq
    join clusters c on c.id = e.cluster_id
    left join steps s on e.kind = 'STEP' and s.id = e.resource_id
    order by k.n`;
}
