import type { Db } from '../../platform/db/client.js';
import type { InstanceEndpoints, InstanceRow, InstanceState } from '../tables.js';

export async function insertInstance(
  db: Db,
  i: Pick<InstanceRow, 'id' | 'clusterId' | 'groupId' | 'role' | 'instanceType' | 'tokenHash'>,
): Promise<InstanceRow> {
  const [row] = await db<InstanceRow[]>`
    insert into instances (id, cluster_id, group_id, role, instance_type, state, token_hash)
    values (${i.id}, ${i.clusterId}, ${i.groupId}, ${i.role}, ${i.instanceType}, 'PROVISIONING', ${i.tokenHash})
    returning *`;
  return row!;
}

export async function instanceById(db: Db, id: string): Promise<InstanceRow | undefined> {
  const [row] = await db<InstanceRow[]>`select * from instances where id = ${id}`;
  return row;
}

export async function instancesOfClusters(db: Db, clusterIds: readonly string[]): Promise<InstanceRow[]> {
  return db<InstanceRow[]>`
    select * from instances where cluster_id = any(${db.array(clusterIds as string[])})
    order by cluster_id, case role when 'MASTER' then 0 when 'CORE' then 1 else 2 end, created_at, id`;
}

export async function liveInstancesOfCluster(db: Db, clusterId: string): Promise<InstanceRow[]> {
  return db<InstanceRow[]>`
    select * from instances where cluster_id = ${clusterId} and state <> 'TERMINATED' order by created_at, id`;
}

export async function setInstanceState(
  db: Db,
  id: string,
  state: InstanceState,
  reasonCode: string | null = null,
  reasonMessage: string | null = null,
): Promise<InstanceRow> {
  const [row] = await db<InstanceRow[]>`
    update instances set state = ${state},
      state_reason_code = coalesce(${reasonCode}, state_reason_code),
      state_reason_message = coalesce(${reasonMessage}, state_reason_message),
      ready_at = case when ${state} = 'RUNNING' and ready_at is null then clock_timestamp() else ready_at end,
      ended_at = case when ${state} = 'TERMINATED' then clock_timestamp() else ended_at end,
      connected_server = case when ${state} = 'TERMINATED' then null else connected_server end,
      -- an ended instance's credentials are void: no hash matches ''
      token_hash = case when ${state} = 'TERMINATED' then '' else token_hash end,
      next_token_hash = case when ${state} = 'TERMINATED' then null else next_token_hash end
    where id = ${id} returning *`;
  return row!;
}

export async function recordToken(db: Db, id: string, tokenHash: string): Promise<void> {
  await db`update instances set token_hash = ${tokenHash}, next_token_hash = null where id = ${id}`;
}

/** At a hello: the token just used stays the credential until the agent confirms it holds the next one. */
export async function issueNextToken(db: Db, id: string, usedHash: string, nextHash: string): Promise<void> {
  await db`update instances set token_hash = ${usedHash}, next_token_hash = ${nextHash} where id = ${id}`;
}

/** The agent confirmed it holds the token issued with `nextHash`: every older one is void. */
export async function confirmNextToken(db: Db, id: string, nextHash: string): Promise<void> {
  await db`update instances set token_hash = next_token_hash, next_token_hash = null
           where id = ${id} and next_token_hash = ${nextHash} and state <> 'TERMINATED'`;
}

export async function recordLaunch(db: Db, id: string, launch: { pid: number; host: string; workdir: string }): Promise<void> {
  await db`update instances set pid = ${launch.pid}, host = ${launch.host}, workdir = ${launch.workdir},
             last_heartbeat_at = now()
           where id = ${id}`;
}

export async function recordConnection(db: Db, id: string, serverId: string, pid: number, host: string): Promise<void> {
  await db`update instances set connected_server = ${serverId}, pid = ${pid}, host = ${host}, last_heartbeat_at = now()
           where id = ${id}`;
}

export async function recordDisconnect(db: Db, id: string, serverId: string): Promise<void> {
  await db`update instances set connected_server = null where id = ${id} and connected_server = ${serverId}`;
}

/** Heartbeats of live nodes: a batch still on its way when a node ended leaves it as it ended. */
export async function recordHeartbeats(db: Db, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db`update instances set last_heartbeat_at = now() where id = any(${db.array(ids)}) and state <> 'TERMINATED'`;
}

export async function liveInstancesOnHost(db: Db, host: string): Promise<InstanceRow[]> {
  return db<InstanceRow[]>`select * from instances where state <> 'TERMINATED' and host = ${host} and pid is not null`;
}

export async function isConnectedTo(db: Db, instanceId: string, serverId: string): Promise<boolean> {
  const [row] = await db<{ ok: boolean }[]>`
    select exists(select 1 from instances where id = ${instanceId} and connected_server = ${serverId}
                  and state = 'RUNNING') as ok`;
  return row!.ok;
}

/** Instances of a cluster failed (dead, silent, or their bootstrap failed) since `since`, per group. */
export async function recentFailures(db: Db, clusterId: string, since: Date): Promise<Map<string, number>> {
  const rows = await db<{ groupId: string; n: number }[]>`
    select group_id, count(*)::int as n from instances
    where cluster_id = ${clusterId} and state = 'TERMINATED' and state_reason_code in ('INSTANCE_FAILURE', 'BOOTSTRAP_FAILURE')
      and ended_at > ${since}
    group by group_id`;
  return new Map(rows.map((r) => [r.groupId, r.n]));
}

export async function setEndpoints(db: Db, id: string, endpoints: InstanceEndpoints): Promise<void> {
  await db`update instances set endpoints = ${db.json(endpoints as never)} where id = ${id}`;
}

/** The instance's host (null: not placed yet) and the state placing leads to, its reason with it (cleared without one). */
export async function placeInstance(
  db: Db,
  id: string,
  hostId: string | null,
  state: InstanceState,
  reason: { code: string; message: string } | null = null,
): Promise<void> {
  await db`update instances set host_id = ${hostId}, state = ${state},
             state_reason_code = ${reason?.code ?? null}, state_reason_message = ${reason?.message ?? null}
           where id = ${id}`;
}

export async function liveInstancesPlacedOn(db: Db, hostId: string): Promise<InstanceRow[]> {
  return db<InstanceRow[]>`select * from instances where state <> 'TERMINATED' and host_id = ${hostId} order by created_at, id`;
}
