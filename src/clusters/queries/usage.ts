import type { Db } from '../../platform/db/client.js';

export interface InstanceHoursRow {
  clusterId: string;
  instanceType: string;
  hours: number;
}

/** Hours each cluster's instances of each type have lived (created → ended, or now), one query. */
export async function instanceHours(db: Db, clusterIds: readonly string[]): Promise<InstanceHoursRow[]> {
  return db<InstanceHoursRow[]>`
    select cluster_id, instance_type,
           coalesce(sum(extract(epoch from coalesce(ended_at, now()) - created_at)), 0)::float8 / 3600 as hours
    from instances where cluster_id = any(${db.array(clusterIds as string[])})
    group by cluster_id, instance_type`;
}
