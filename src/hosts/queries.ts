import type { Db } from '../platform/db/client.js';
import { Channel } from '../platform/notifications/channels.js';
import type { RunningInstance } from '../engine/functions/types.js';
import type { HostInstanceReport } from '../engine/host/protocol.js';
import type { HostEventRow, HostRow, HostState, HostTokenRow } from './tables.js';

// the host events' sequence is dense (the hostUpdates feed relies on it): writers take this lock
const HOST_EVENTS_LOCK = 7263020;
/** the live feed's single key: every host change is one feed */
export const HOST_FEED_KEY = 'hosts';

export async function hostById(db: Db, id: string): Promise<HostRow | undefined> {
  const [row] = await db<HostRow[]>`select * from hosts where id = ${id}`;
  return row;
}

export async function lockHost(db: Db, id: string): Promise<HostRow | undefined> {
  const [row] = await db<HostRow[]>`select * from hosts where id = ${id} for update`;
  return row;
}

export async function hostsPage(
  db: Db,
  states: HostState[] | null,
  after: { at: Date; id: string } | null,
  limit: number,
): Promise<HostRow[]> {
  return db<HostRow[]>`
    select * from hosts
    where ${states?.length ? db`state = any(${states})` : db`true`}
      and ${after ? db`(created_at, id) > (${after.at}, ${after.id})` : db`true`}
    order by created_at, id limit ${limit}`;
}

export async function insertHost(
  db: Db,
  row: Omit<HostRow, 'createdAt' | 'updatedAt' | 'reports' | 'functionInstances' | 'lastHeartbeatAt'>,
): Promise<HostRow> {
  const [created] = await db<HostRow[]>`
    insert into hosts (id, name, state, state_reason, embedded, connected_server, address, labels, vcpu, memory_mb, disk_mb,
                       overcommit, installation, token_id, key_sealed, last_heartbeat_at)
    values (${row.id}, ${row.name}, ${row.state}, ${row.stateReason}, ${row.embedded}, ${row.connectedServer}, ${row.address},
            ${db.json(row.labels)}, ${row.vcpu}, ${row.memoryMb}, ${row.diskMb}, ${row.overcommit},
            ${row.installation ? db.json(row.installation as never) : null}, ${row.tokenId}, ${row.keySealed}, now())
    on conflict (id) do update set name = excluded.name, address = excluded.address, labels = excluded.labels,
      vcpu = excluded.vcpu, memory_mb = excluded.memory_mb, disk_mb = excluded.disk_mb, overcommit = excluded.overcommit,
      installation = excluded.installation, connected_server = excluded.connected_server, last_heartbeat_at = now(), updated_at = now()
    returning *`;
  return created!;
}

/** What a host says of itself on every connection, and where it is connected. */
export async function describeHost(
  db: Db,
  id: string,
  d: Pick<HostRow, 'name' | 'address' | 'labels' | 'vcpu' | 'memoryMb' | 'diskMb' | 'installation' | 'connectedServer' | 'reports'>,
): Promise<void> {
  await db`update hosts set name = ${d.name}, address = ${d.address}, labels = ${db.json(d.labels)}, vcpu = ${d.vcpu},
             memory_mb = ${d.memoryMb}, disk_mb = ${d.diskMb}, installation = ${db.json(d.installation as never)},
             connected_server = ${d.connectedServer}, reports = ${db.json(d.reports as never)},
             last_heartbeat_at = now(), updated_at = now()
           where id = ${id}`;
}

export async function setHostState(db: Db, id: string, state: HostState, reason: string | null): Promise<HostRow> {
  const [row] = await db<HostRow[]>`
    update hosts set state = ${state}, state_reason = ${reason}, updated_at = now() where id = ${id} returning *`;
  return row!;
}

export async function voidHostKey(db: Db, id: string): Promise<void> {
  await db`update hosts set key_sealed = null, connected_server = null where id = ${id}`;
}

export async function recordDisconnect(db: Db, id: string, serverId: string): Promise<void> {
  // the server that held the session forgot its function instances (the host is told to stop them)
  await db`update hosts set connected_server = null, function_instances = '[]' where id = ${id} and connected_server = ${serverId}`;
}

/** Heartbeats of the hosts connected to one server, with their reports, in one statement. */
export async function recordHeartbeats(
  db: Db,
  beats: Array<{ id: string; reports: HostInstanceReport[]; functions: RunningInstance[] }>,
): Promise<void> {
  if (beats.length === 0) return;
  await db`
    update hosts set last_heartbeat_at = now(), reports = b.reports::jsonb, function_instances = b.functions::jsonb
    from (select * from jsonb_to_recordset(${db.json(beats as never)}) as x(id text, reports jsonb, functions jsonb)) as b
    where hosts.id = b.id`;
}

/** The embedded host's heartbeat, with the function instances its server runs. */
export async function touchHost(db: Db, id: string, functions: RunningInstance[]): Promise<void> {
  await db`update hosts set last_heartbeat_at = now(), function_instances = ${db.json(functions as never)} where id = ${id}`;
}

/** READY/DRAINING joined hosts not heard from for `seconds` (nor since `since`). */
export async function silentHosts(db: Db, seconds: number, since: Date): Promise<HostRow[]> {
  return db<HostRow[]>`
    select * from hosts where not embedded and state in ('READY', 'DRAINING')
      and greatest(coalesce(last_heartbeat_at, created_at), ${since}) < now() - make_interval(secs => ${seconds})`;
}

/** A host change, in the caller's transaction: the event (dense seq) and its NOTIFY. */
export async function appendHostEvent(db: Db, hostId: string, state: HostState, message: string | null): Promise<void> {
  await db`select pg_advisory_xact_lock(${HOST_EVENTS_LOCK})`;
  await db`
    with e as (insert into host_events (seq, host_id, state, message)
               select coalesce(max(seq), 0) + 1, ${hostId}, ${state}, ${message} from host_events returning seq)
    select pg_notify(${Channel.hostEvent}, ${HOST_FEED_KEY} || ':' || seq) from e`;
}

export async function hostEventsAfter(db: Db, after: number, limit: number): Promise<HostEventRow[]> {
  return db<HostEventRow[]>`select * from host_events where seq > ${after} order by seq limit ${limit}`;
}

export async function hostEventHead(db: Db): Promise<number> {
  const [row] = await db<{ head: number }[]>`select coalesce(max(seq), 0)::int as head from host_events`;
  return row!.head;
}

export async function insertToken(
  db: Db,
  row: Pick<HostTokenRow, 'id' | 'hash' | 'labels' | 'expiresAt' | 'singleUse'>,
): Promise<HostTokenRow> {
  const [created] = await db<HostTokenRow[]>`
    insert into host_tokens (id, hash, labels, expires_at, single_use)
    values (${row.id}, ${row.hash}, ${db.json(row.labels)}, ${row.expiresAt}, ${row.singleUse})
    returning *`;
  return created!;
}

export async function lockTokenByHash(db: Db, hash: string): Promise<HostTokenRow | undefined> {
  const [row] = await db<HostTokenRow[]>`select * from host_tokens where hash = ${hash} for update`;
  return row;
}

/** The labels of the token a host joined with ({} when none). */
export async function tokenLabelsOf(db: Db, hostId: string): Promise<Record<string, string>> {
  const [row] = await db<{ labels: Record<string, string> }[]>`
    select t.labels from hosts h join host_tokens t on t.id = h.token_id where h.id = ${hostId}`;
  return row?.labels ?? {};
}

export async function useToken(db: Db, id: string, hostId: string): Promise<void> {
  await db`update host_tokens set used_at = coalesce(used_at, now()), used_by = coalesce(used_by, ${hostId}) where id = ${id}`;
}

/** The ids of the live nodes placed on a host (its `keep` list). */
export async function liveInstanceIdsOnHost(db: Db, hostId: string): Promise<string[]> {
  const rows = await db<{ id: string }[]>`select id from instances where state <> 'TERMINATED' and host_id = ${hostId}`;
  return rows.map((r) => r.id);
}

export async function voidConnection(db: Db, id: string): Promise<void> {
  await db`update hosts set connected_server = null, function_instances = '[]' where id = ${id}`;
}
