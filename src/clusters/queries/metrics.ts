import type { Db } from '../../platform/db/client.js';
import { ACTIVE_CLUSTER_STATES } from '../tables.js';

export interface MetricSample {
  clusterId: string;
  at: Date;
  name: string;
  dimension: string;
  value: number;
}

export async function insertSamples(db: Db, samples: readonly MetricSample[]): Promise<void> {
  if (samples.length === 0) return;
  const rows = samples.map((s) => ({ cluster_id: s.clusterId, at: s.at, name: s.name, dimension: s.dimension, value: s.value }));
  await db`insert into cluster_metrics ${db(rows, 'cluster_id', 'at', 'name', 'dimension', 'value')}`;
}

/**
 * One sample of every Postgres-derived metric of every active cluster, in one statement: node
 * counts per role, steps, NodeCpuPercent (the mean of each running node's latest report) and IsIdle
 * (no active step, and no Spark application running or waiting in the master's latest report).
 * Reports older than `freshSince` are ignored.
 */
export async function collectClusterMetrics(db: Db, freshSince: Date): Promise<number> {
  const rows = await db`
    with c as (select id from clusters where state = any(${db.array(ACTIVE_CLUSTER_STATES)})),
    g as (select cluster_id, coalesce(sum(requested_count) filter (where role = 'CORE'), 0) as core,
                 coalesce(sum(requested_count) filter (where role = 'TASK'), 0) as task
          from instance_groups where cluster_id in (select id from c) group by cluster_id),
    i as (select cluster_id, count(*) filter (where role = 'CORE') as core, count(*) filter (where role = 'TASK') as task
          from instances where state = 'RUNNING' and cluster_id in (select id from c) group by cluster_id),
    s as (select cluster_id, count(*) filter (where state = 'PENDING') as pending,
                 count(*) filter (where state <> 'PENDING') as running
          from steps where state in ('PENDING', 'RUNNING', 'CANCEL_PENDING') and cluster_id in (select id from c)
          group by cluster_id),
    node as (select distinct on (m.cluster_id, m.dimension) m.cluster_id, m.value
             from cluster_metrics m join instances n on n.id = m.dimension and n.state = 'RUNNING'
             where m.cluster_id in (select id from c) and m.name = 'NodeCpuPercent' and m.dimension <> ''
               and m.at > ${freshSince}
             order by m.cluster_id, m.dimension, m.at desc),
    cpu as (select cluster_id, avg(value) as value from node group by cluster_id),
    apps as (select cluster_id, sum(value) as active from (
               select distinct on (cluster_id, name) cluster_id, value from cluster_metrics
               where cluster_id in (select id from c) and name in ('AppsRunning', 'AppsPending') and dimension = ''
                 and at > ${freshSince}
               order by cluster_id, name, at desc) latest
             group by cluster_id),
    v as (select c.id as cluster_id, x.name, x.value
          from c
          left join g on g.cluster_id = c.id left join i on i.cluster_id = c.id left join s on s.cluster_id = c.id
          left join cpu on cpu.cluster_id = c.id left join apps on apps.cluster_id = c.id
          cross join lateral (values
            ('CoreNodesRequested', coalesce(g.core, 0)::float8), ('TaskNodesRequested', coalesce(g.task, 0)::float8),
            ('CoreNodesRunning', coalesce(i.core, 0)::float8), ('TaskNodesRunning', coalesce(i.task, 0)::float8),
            ('StepsPending', coalesce(s.pending, 0)::float8), ('StepsRunning', coalesce(s.running, 0)::float8),
            ('IsIdle', case when coalesce(s.pending, 0) + coalesce(s.running, 0) + coalesce(apps.active, 0) = 0 then 1 else 0 end::float8),
            ('NodeCpuPercent', cpu.value::float8)
          ) as x(name, value)
          where x.value is not null)
    insert into cluster_metrics (cluster_id, at, name, dimension, value)
    select cluster_id, now(), name, '', value from v
    returning 1`;
  return rows.count;
}

export interface Bucket {
  name: string;
  at: Date;
  average: number;
  maximum: number;
  minimum: number;
  sum: number;
  sampleCount: number;
}

/** Samples of the named series in [from, to), aggregated per period (bins start at `from`). */
export async function aggregate(
  db: Db,
  q: { clusterId: string; names: string[]; dimension: string; from: Date; to: Date; periodSeconds: number },
): Promise<Bucket[]> {
  return db<Bucket[]>`
    select name, date_bin(${q.periodSeconds} * interval '1 second', at, ${q.from}::timestamptz) as at,
           avg(value) as average, max(value) as maximum, min(value) as minimum, sum(value) as sum,
           count(*)::int as sample_count
    from cluster_metrics
    where cluster_id = ${q.clusterId} and name = any(${db.array(q.names)}) and dimension = ${q.dimension}
      and at >= ${q.from} and at < ${q.to}
    group by 1, 2 order by 1, 2`;
}

/** The latest cluster-wide value of each named metric reported since `since`. */
export async function latestValues(db: Db, clusterId: string, names: string[], since: Date): Promise<Map<string, number>> {
  const rows = await db<{ name: string; value: number }[]>`
    select distinct on (name) name, value from cluster_metrics
    where cluster_id = ${clusterId} and name = any(${db.array(names)}) and dimension = '' and at > ${since}
    order by name, at desc`;
  return new Map(rows.map((r) => [r.name, r.value]));
}

/** The last `n` cluster-wide samples of a metric, newest first. */
export async function lastSamples(db: Db, clusterId: string, name: string, n: number): Promise<Array<{ at: Date; value: number }>> {
  return db<Array<{ at: Date; value: number }>>`
    select at, value from cluster_metrics where cluster_id = ${clusterId} and name = ${name} and dimension = ''
    order by at desc limit ${n}`;
}

/** When one of the named metrics was last reported above zero since `since` (e.g. Spark apps active). */
export async function lastPositiveAt(db: Db, clusterId: string, names: string[], since: Date): Promise<Date | null> {
  const [row] = await db<{ at: Date | null }[]>`
    select max(at) as at from cluster_metrics
    where cluster_id = ${clusterId} and name = any(${db.array(names)}) and dimension = '' and at > ${since} and value > 0`;
  return row?.at ?? null;
}

export async function deleteOlderThan(db: Db, before: Date): Promise<number> {
  const rows = await db`delete from cluster_metrics where at < ${before}`;
  return rows.count;
}
