import type { Db } from '../../platform/db/client.js';
import type { AutoScalingPolicyRow, ManagedScalingPolicyRow, ScalingActivityRow, ScalingRule } from '../tables.js';

export async function upsertManagedPolicy(db: Db, p: Omit<ManagedScalingPolicyRow, 'updatedAt'>): Promise<ManagedScalingPolicyRow> {
  const [row] = await db<ManagedScalingPolicyRow[]>`
    insert into managed_scaling_policies (cluster_id, unit_type, minimum_capacity_units, maximum_capacity_units, maximum_core_capacity_units)
    values (${p.clusterId}, ${p.unitType}, ${p.minimumCapacityUnits}, ${p.maximumCapacityUnits}, ${p.maximumCoreCapacityUnits})
    on conflict (cluster_id) do update set unit_type = excluded.unit_type,
      minimum_capacity_units = excluded.minimum_capacity_units, maximum_capacity_units = excluded.maximum_capacity_units,
      maximum_core_capacity_units = excluded.maximum_core_capacity_units, updated_at = now()
    returning *`;
  return row!;
}

export async function deleteManagedPolicy(db: Db, clusterId: string): Promise<boolean> {
  const rows = await db`delete from managed_scaling_policies where cluster_id = ${clusterId}`;
  return rows.count > 0;
}

export async function managedPolicies(db: Db, clusterIds: readonly string[]): Promise<ManagedScalingPolicyRow[]> {
  return db<ManagedScalingPolicyRow[]>`select * from managed_scaling_policies where cluster_id = any(${db.array(clusterIds as string[])})`;
}

export async function upsertAutoPolicy(
  db: Db,
  p: { groupId: string; clusterId: string; minCapacity: number; maxCapacity: number; rules: ScalingRule[] },
): Promise<AutoScalingPolicyRow> {
  const [row] = await db<AutoScalingPolicyRow[]>`
    insert into auto_scaling_policies (group_id, cluster_id, min_capacity, max_capacity, rules)
    values (${p.groupId}, ${p.clusterId}, ${p.minCapacity}, ${p.maxCapacity}, ${db.json(p.rules as never)})
    on conflict (group_id) do update set min_capacity = excluded.min_capacity, max_capacity = excluded.max_capacity,
      rules = excluded.rules, updated_at = now()
    returning *`;
  return row!;
}

export async function deleteAutoPolicy(db: Db, groupId: string): Promise<boolean> {
  const rows = await db`delete from auto_scaling_policies where group_id = ${groupId}`;
  return rows.count > 0;
}

export async function autoPoliciesOfClusters(db: Db, clusterIds: readonly string[]): Promise<AutoScalingPolicyRow[]> {
  return db<AutoScalingPolicyRow[]>`
    select * from auto_scaling_policies where cluster_id = any(${db.array(clusterIds as string[])}) order by cluster_id, group_id`;
}

export async function autoPoliciesOfGroups(db: Db, groupIds: readonly string[]): Promise<AutoScalingPolicyRow[]> {
  return db<AutoScalingPolicyRow[]>`select * from auto_scaling_policies where group_id = any(${db.array(groupIds as string[])})`;
}

/** Clusters that have a policy of either kind, among the active ones. */
export async function clustersWithPolicies(db: Db, clusterIds: readonly string[]): Promise<string[]> {
  const rows = await db<{ clusterId: string }[]>`
    select cluster_id from managed_scaling_policies where cluster_id = any(${db.array(clusterIds as string[])})
    union select cluster_id from auto_scaling_policies where cluster_id = any(${db.array(clusterIds as string[])})`;
  return rows.map((r) => r.clusterId);
}

export async function insertActivity(db: Db, a: Omit<ScalingActivityRow, 'id' | 'at'>): Promise<ScalingActivityRow> {
  const [row] = await db<ScalingActivityRow[]>`
    insert into scaling_activities (cluster_id, group_id, from_count, to_count, trigger, rule_name, reason)
    values (${a.clusterId}, ${a.groupId}, ${a.fromCount}, ${a.toCount}, ${a.trigger}, ${a.ruleName}, ${a.reason})
    returning *`;
  return row!;
}

/** When each group (or, with `null` keys, the cluster) was last resized by a policy. */
export async function lastActivityAt(db: Db, clusterId: string): Promise<{ cluster: Date | null; groups: Map<string, Date> }> {
  const rows = await db<{ groupId: string; at: Date }[]>`
    select group_id, max(at) as at from scaling_activities where cluster_id = ${clusterId} group by group_id`;
  const groups = new Map(rows.map((r) => [r.groupId, r.at]));
  const cluster = rows.reduce<Date | null>((m, r) => (m === null || r.at > m ? r.at : m), null);
  return { cluster, groups };
}

/** A page of each cluster's activities, newest first, before the activity id `before` (one query). */
export async function activityPages(
  db: Db,
  clusterIds: readonly string[],
  limit: number,
  before: number | null,
): Promise<ScalingActivityRow[]> {
  return db<ScalingActivityRow[]>`
    select a.* from unnest(${db.array(clusterIds as string[])}::text[]) as c(id)
    cross join lateral (
      select * from scaling_activities
      where cluster_id = c.id ${before === null ? db`` : db`and id < ${before}`}
      order by id desc limit ${limit}) a`;
}
