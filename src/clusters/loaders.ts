import DataLoader from 'dataloader';
import * as clustersQ from './queries/clusters.js';
import * as instancesQ from './queries/instances.js';
import * as stepsQ from './queries/steps.js';
import type { Sql } from '../platform/db/client.js';
import type { ScalingService } from './scaling/service.js';
import type { UsageService } from './usage.js';
import { sparkStatus, type SparkStatus } from './spark/status.js';
import { createScalingLoaders } from './scaling/loaders.js';
import type { ClusterRow, InstanceGroupRow, InstanceRow, StepRow } from './tables.js';
import type { ClusterTree, NestedShape, StepPage } from './queries/nested.js';

function groupBy<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    let list = out.get(k);
    if (!list) out.set(k, (list = []));
    list.push(row);
  }
  return out;
}

/**
 * Reads shared by every request of this server: the keys that requests load in the same turn of
 * the event loop go to Postgres as one statement (at c=16 with distinct ids, one statement answers
 * many requests instead of each request paying its own round trips). Nothing is cached: each batch
 * is read after every request it answers asked for it, so no answer is older than its request.
 * The nested reads (a cluster tree, pages of them) go through `plannedOnce` (Platform.sqlPlannedOnce):
 * their statements' plans do not depend on their values, and planning them cost more than running them.
 */
export function createSharedClusterReads(sql: Sql, plannedOnce: Sql) {
  // setImmediate: after this turn's I/O callbacks, i.e. every request that arrived meanwhile has asked
  const turn = { cache: false, batchScheduleFn: (run: () => void) => setImmediate(run) };
  return {
    cluster: new DataLoader<string, ClusterRow | undefined>(async (ids) => {
      const rows = new Map((await clustersQ.clustersByIds(sql, ids)).map((r) => [r.id, r]));
      return ids.map((id) => rows.get(id));
    }, turn),
    /** one statement per nested shape for all the clusters asked meanwhile, each with its nested lists */
    clusterTree: new DataLoader<{ id: string; nested: NestedShape }, ClusterTree | undefined>(async (keys) => {
      const byShape = groupBy([...keys.keys()], (i) => JSON.stringify(keys[i]!.nested));
      const trees: (ClusterTree | undefined)[] = [];
      await Promise.all(
        [...byShape.values()].map(async (members) => {
          const ids = members.map((i) => keys[i]!.id);
          const read = new Map((await clustersQ.clusterTreesByIds(plannedOnce, ids, keys[members[0]!]!.nested)).map((t) => [t.row.id, t]));
          for (const i of members) trees[i] = read.get(keys[i]!.id);
        }),
      );
      return trees;
    }, turn),
    /** one statement per listing shape (filter, size and nested lists) for all the cursors asked meanwhile */
    clusterPage: new DataLoader<clustersQ.ClusterPageQuery, ClusterTree[]>(async (queries) => {
      const byShape = groupBy([...queries.keys()], (i) => clustersQ.listingKey(queries[i]!));
      const pages: ClusterTree[][] = [];
      await Promise.all(
        [...byShape.values()].map(async (members) => {
          const { after: _, ...shape } = queries[members[0]!]!;
          const read = await clustersQ.listClusterPages(
            plannedOnce,
            shape,
            members.map((i) => queries[i]!.after),
          );
          for (const [j, i] of members.entries()) pages[i] = read[j]!;
        }),
      );
      return pages;
    }, turn),
    groupsByCluster: new DataLoader<string, InstanceGroupRow[]>(async (ids) => {
      const rows = groupBy(await clustersQ.groupsOfClusters(sql, ids), (r) => r.clusterId);
      return ids.map((id) => rows.get(id) ?? []);
    }, turn),
    instancesByCluster: new DataLoader<string, InstanceRow[]>(async (ids) => {
      const rows = groupBy(await instancesQ.instancesOfClusters(sql, ids), (r) => r.clusterId);
      return ids.map((id) => rows.get(id) ?? []);
    }, turn),
    step: new DataLoader<string, StepRow | undefined>(async (ids) => {
      const rows = new Map((await stepsQ.stepsByIds(sql, ids)).map((r) => [r.id, r]));
      return ids.map((id) => rows.get(id));
    }, turn),
    /** key: stepPageKey; one query per distinct (limit, before) */
    stepPage: new DataLoader<string, StepRow[]>(async (keys) => {
      const byArgs = groupBy([...new Set(keys)], (k) => k.slice(k.indexOf('|') + 1));
      const results = new Map<string, StepRow[]>();
      await Promise.all(
        [...byArgs].map(async ([args, group]) => {
          const [limit, before] = args.split('|');
          const clusterIds = group.map((k) => k.slice(0, k.indexOf('|')));
          const rows = groupBy(
            await stepsQ.stepPages(sql, clusterIds, Number(limit), before === '' ? null : Number(before)),
            (r) => r.clusterId,
          );
          for (const [i, key] of group.entries()) results.set(key, rows.get(clusterIds[i]!) ?? []);
        }),
      );
      return keys.map((k) => results.get(k) ?? []);
    }, turn),
  };
}

export type SharedClusterReads = ReturnType<typeof createSharedClusterReads>;

/** A request's loader over a shared one: the request keeps its own cache (and primes), the reads are shared. */
function perRequestOver<V>(shared: DataLoader<string, V>): DataLoader<string, V> {
  return new DataLoader<string, V>((keys) => shared.loadMany(keys));
}

/**
 * Per-request loaders: nested fields of a page of clusters cost one query per field, whatever
 * the page size (the bench counts statements for 5 and 50 clusters), and concurrent requests share
 * those queries (createSharedClusterReads).
 */
export function createClusterLoaders(shared: SharedClusterReads, scaling: ScalingService, usage: UsageService) {
  return {
    cluster: perRequestOver(shared.cluster),
    groupsByCluster: perRequestOver(shared.groupsByCluster),
    instancesByCluster: perRequestOver(shared.instancesByCluster),
    step: perRequestOver(shared.step),
    /** key: stepPageKey */
    stepPage: perRequestOver(shared.stepPage),
    /** a root cluster with the nested lists its selection shows (no cache: those rows answer that selection only) */
    clusterTree: shared.clusterTree,
    /** each SPARK cluster's master asked once per request, all of a page's at the same time */
    sparkStatus: new DataLoader<ClusterRow, SparkStatus | null, string>((rows) => Promise.all(rows.map((row) => sparkStatus(row))), {
      cacheKeyFn: (row) => row.id,
    }),
    ...createScalingLoaders(scaling, usage),
  };
}

export type ClusterLoaders = ReturnType<typeof createClusterLoaders>;

/** The stepPage loaders' key: a cluster's `limit` steps before `beforePosition` (null: from the newest). */
export function stepPageKey(clusterId: string, page: StepPage): string {
  return `${clusterId}|${page.limit}|${page.beforePosition ?? ''}`;
}
