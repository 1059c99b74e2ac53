import type postgres from 'postgres';
import type { Db } from '../../platform/db/client.js';
import type { BootstrapAction, ClusterRow, ClusterState, InstanceGroupRow } from '../tables.js';
import {
  clusterRows,
  nestedColumns,
  record,
  shapeKey,
  statement,
  statementCache,
  withNested,
  type ClusterTree,
  type NestedColumns,
  type NestedShape,
} from './nested.js';

export interface NewCluster {
  id: string;
  name: string;
  applications: string[];
  keepAlive: boolean;
  idleTimeoutSeconds: number | null;
  stepConcurrency: number;
  terminationProtected: boolean;
  clientToken: string | null;
  requestHash: string | null;
  bootstrapActions: BootstrapAction[];
}

/** Inserts unless the client token is taken; returns undefined then (the caller reads the winner). */
export async function insertCluster(db: Db, c: NewCluster): Promise<ClusterRow | undefined> {
  const [row] = await db<ClusterRow[]>`
    insert into clusters (id, name, state, applications, keep_alive, idle_timeout_seconds, step_concurrency,
                          termination_protected, client_token, request_hash, bootstrap_actions)
    values (${c.id}, ${c.name}, 'STARTING', ${db.array(c.applications)}, ${c.keepAlive}, ${c.idleTimeoutSeconds},
            ${c.stepConcurrency}, ${c.terminationProtected}, ${c.clientToken}, ${c.requestHash}, ${db.json(c.bootstrapActions as never)})
    on conflict (client_token) do nothing
    returning *`;
  return row;
}

export async function clusterByToken(db: Db, token: string): Promise<ClusterRow | undefined> {
  const [row] = await db<ClusterRow[]>`select * from clusters where client_token = ${token}`;
  return row;
}

export async function clusterById(db: Db, id: string): Promise<ClusterRow | undefined> {
  const [row] = await db<ClusterRow[]>`select * from clusters where id = ${id}`;
  return row;
}

export async function clustersByIds(db: Db, ids: readonly string[]): Promise<ClusterRow[]> {
  return db<ClusterRow[]>`select * from clusters where id = any(${db.array(ids as string[])})`;
}

// one text per shape: what clusterTreesByIds sends is that text and its values
const treesByIds = statementCache<{ ids: readonly string[]; shape: NestedShape; db: Db }>(({ shape }) =>
  statement((param) => {
    const ids = param(({ db, ids }) => db.array(ids as string[]));
    const nested = nestedColumns(shape, param, ({ shape }) => shape, { of: (clusterId) => `${clusterId} = any(${ids})` });
    return `select row_to_json(cluster_json) as row ${nested.columns}
    from clusters c ${record(clusterRows.fields(shape.row), 'cluster_json')} ${nested.joins} where c.id = any(${ids})`;
  }),
);

/** Clusters by id with the nested lists of `shape`, in one statement. */
export async function clusterTreesByIds(db: Db, ids: readonly string[], shape: NestedShape): Promise<ClusterTree[]> {
  const input = { ids, shape, db };
  const { text, values } = treesByIds(shapeKey(shape), input);
  const rows = await db.unsafe<NestedColumns[]>(text, values(input) as postgres.ParameterOrJSON<never>[], { prepare: true });
  return rows.map((read) => withNested(read, shape));
}

/** Locks the cluster row for the rest of the transaction: every change to a cluster's resources
 *  takes this lock first, which orders them and avoids lock-order deadlocks. */
export async function lockCluster(db: Db, id: string): Promise<ClusterRow | undefined> {
  const [row] = await db<ClusterRow[]>`select * from clusters where id = ${id} for update`;
  return row;
}

export async function lockClusters(db: Db, ids: string[]): Promise<ClusterRow[]> {
  return db<ClusterRow[]>`select * from clusters where id = any(${db.array(ids)}) order by id for update`;
}

export async function setClusterState(
  db: Db,
  id: string,
  state: ClusterState,
  reasonCode: string | null,
  reasonMessage: string | null,
): Promise<ClusterRow> {
  const [row] = await db<ClusterRow[]>`
    update clusters set state = ${state}, state_reason_code = ${reasonCode}, state_reason_message = ${reasonMessage},
      ready_at = case when ${state} in ('RUNNING', 'WAITING') and ready_at is null then clock_timestamp() else ready_at end,
      ended_at = case when ${state} in ('TERMINATED', 'TERMINATED_WITH_ERRORS') then clock_timestamp() else ended_at end,
      last_active_at = clock_timestamp()
    where id = ${id} returning *`;
  return row!;
}

export async function setTerminationProtection(db: Db, ids: string[], value: boolean): Promise<void> {
  await db`update clusters set termination_protected = ${value} where id = any(${db.array(ids)})`;
}

export interface ClusterPageQuery {
  limit: number;
  after: { at: Date; id: string } | null;
  states: string[] | null;
  nameContains: string | null;
  ids: string[] | null;
  /** the columns of each cluster of the page and the nested lists read with it */
  nested: NestedShape;
}

/**
 * Newest first, like EMR's ListClusters. Pages of one listing (the same filter, size and nested lists) after different cursors, in one
 * statement: a lateral index scan per cursor, as listClusters would make it, each cluster with its nested lists. Row i of the result
 * is pages[i].
 */
/** What the pages read by one statement share: everything of a query but its cursor. */
export function listingKey(q: ClusterPageQuery): string {
  const { nested } = q;
  const values = [nested.steps && [nested.steps.limit, nested.steps.beforePosition], nested.raw?.pages ?? null];
  return JSON.stringify([shapeKey(nested), values, q.limit, q.states, q.ids, q.nameContains]);
}

export async function listClusterPages(
  db: Db,
  q: Omit<ClusterPageQuery, 'after'>,
  afters: ReadonlyArray<ClusterPageQuery['after']>,
): Promise<ClusterTree[][]> {
  // no cursor: after (+infinity, ''), before every row
  const ats = afters.map((a) => (a ? a.at.toISOString() : 'infinity'));
  const ids = afters.map((a) => a?.id ?? '');
  const input = { q, ats, ids, db };
  const { text, values } = pages(
    JSON.stringify([shapeKey(q.nested), q.limit, q.states !== null, q.ids !== null, q.nameContains !== null]),
    input,
  );
  const rows = await db.unsafe<(NestedColumns & { pageIndex: number })[]>(text, values(input) as postgres.ParameterOrJSON<never>[], {
    prepare: true,
  });
  const read: ClusterTree[][] = afters.map(() => []);
  for (const row of rows) read[row.pageIndex]!.push(withNested(row, q.nested));
  return read;
}

interface PagesInput {
  q: Omit<ClusterPageQuery, 'after'>;
  ats: string[];
  ids: string[];
  db: Db;
}

// one text per listing shape (the nested lists, which filters are given) and page size: listClusterPages sends it with
// its values. The last row of a full page only tells whether a next page exists: its nested lists are not read. The
// pages are read first (`c`) so that the nested lists are read for all their clusters at once. The page size is in the
// text, not a parameter: the statement is planned once for any values (Platform.sqlPlannedOnce), and a plan made
// without knowing a LIMIT's value expects a tenth of the table (at 120,000 clusters: hash joins over every group and
// node, 300 ms a page instead of 1 ms).
const pages = statementCache<PagesInput>(({ q }) =>
  statement((param) => {
    if (!Number.isSafeInteger(q.limit) || q.limit < 1) throw new Error(`a page of ${q.limit} clusters`);
    const limit = String(q.limit);
    const shown = `c.rank < ${limit}`;
    const nested = nestedColumns<PagesInput>(q.nested, param, ({ q }) => q.nested, {
      of: (clusterId) => `${clusterId} in (select c.id from c where ${shown})`,
      when: shown,
    });
    return `with c as (
      select p.n, c.* from unnest(${param(({ db, ats }) => db.array(ats))}::timestamptz[], ${param(({ db, ids }) => db.array(ids))}::text[]) with ordinality as p(at, id, n)
      cross join lateral (
        select *, row_number() over (order by created_at desc, id desc) as rank from clusters
        where (created_at, id) < (p.at, p.id)
          ${q.states ? `and state = any(${param(({ db, q }) => db.array(q.states!))})` : ''}
          ${q.ids ? `and id = any(${param(({ db, q }) => db.array(q.ids!))})` : ''}
          ${q.nameContains ? `and strpos(lower(name), lower(${param(({ q }) => q.nameContains)})) > 0` : ''}
        order by created_at desc, id desc
        limit ${limit}
      ) c
    )
    select c.n - 1 as page_index, row_to_json(cluster_json) as row ${nested.columns}
    from c ${record(clusterRows.fields(q.nested.row), 'cluster_json')} ${nested.joins}
    order by c.n, c.created_at desc, c.id desc`;
  }),
);

export async function clustersInStates(db: Db, states: ClusterState[]): Promise<ClusterRow[]> {
  return db<ClusterRow[]>`select * from clusters where state = any(${db.array(states)}) order by created_at`;
}

export async function insertGroup(db: Db, g: Omit<InstanceGroupRow, 'createdAt' | 'state'>): Promise<InstanceGroupRow> {
  const [row] = await db<InstanceGroupRow[]>`
    insert into instance_groups (id, cluster_id, role, instance_type, requested_count, state, host_labels)
    values (${g.id}, ${g.clusterId}, ${g.role}, ${g.instanceType}, ${g.requestedCount}, 'PROVISIONING', ${db.json(g.hostLabels)})
    returning *`;
  return row!;
}

export async function groupsOfClusters(db: Db, clusterIds: readonly string[]): Promise<InstanceGroupRow[]> {
  return db<InstanceGroupRow[]>`
    select * from instance_groups where cluster_id = any(${db.array(clusterIds as string[])})
    order by cluster_id, case role when 'MASTER' then 0 when 'CORE' then 1 else 2 end, created_at`;
}

export async function groupById(db: Db, id: string): Promise<InstanceGroupRow | undefined> {
  const [row] = await db<InstanceGroupRow[]>`select * from instance_groups where id = ${id}`;
  return row;
}

export async function updateGroup(db: Db, id: string, patch: { state?: string; requestedCount?: number }): Promise<InstanceGroupRow> {
  const [row] = await db<InstanceGroupRow[]>`
    update instance_groups set state = coalesce(${patch.state ?? null}, state),
      requested_count = coalesce(${patch.requestedCount ?? null}::int, requested_count)
    where id = ${id} returning *`;
  return row!;
}

/** The Spark master's addresses, as the MASTER node reported them. */
export async function setSparkMaster(db: Db, id: string, url: string | null, webUrl: string | null): Promise<void> {
  await db`update clusters set spark_master_url = ${url}, spark_master_web_url = ${webUrl} where id = ${id}`;
}
