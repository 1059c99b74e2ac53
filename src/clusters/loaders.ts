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
 * Per-request batching: nested fields of a page of clusters cost one query per field, whatever
 * the page size (the bench counts statements for 5 and 50 clusters).
 */
export function createClusterLoaders(sql: Sql, scaling: ScalingService, usage: UsageService) {
  return {
    cluster: new DataLoader<string, ClusterRow | undefined>(async (ids) => {
      const rows = new Map((await clustersQ.clustersByIds(sql, ids)).map((r) => [r.id, r]));
      return ids.map((id) => rows.get(id));
    }),
    groupsByCluster: new DataLoader<string, InstanceGroupRow[]>(async (ids) => {
      const rows = groupBy(await clustersQ.groupsOfClusters(sql, ids), (r) => r.clusterId);
      return ids.map((id) => rows.get(id) ?? []);
    }),
    instancesByCluster: new DataLoader<string, InstanceRow[]>(async (ids) => {
      const rows = groupBy(await instancesQ.instancesOfClusters(sql, ids), (r) => r.clusterId);
      return ids.map((id) => rows.get(id) ?? []);
    }),
    step: new DataLoader<string, StepRow | undefined>(async (ids) => {
      const rows = new Map((await stepsQ.stepsByIds(sql, ids)).map((r) => [r.id, r]));
      return ids.map((id) => rows.get(id));
    }),
    /** key: `${clusterId}|${limit}|${beforePosition}`; one query per distinct (limit, before) */
    stepPage: new DataLoader<string, StepRow[]>(async (keys) => {
      const parsed = keys.map((k) => {
        const [clusterId, limit, before] = k.split('|');
        return { clusterId: clusterId!, limit: Number(limit), before: before === '' ? null : Number(before) };
      });
      const byArgs = groupBy(parsed, (p) => `${p.limit}|${p.before ?? ''}`);
      const results = new Map<string, StepRow[]>();
      await Promise.all(
        [...byArgs.values()].map(async (group) => {
          const { limit, before } = group[0]!;
          const rows = groupBy(
            await stepsQ.stepPages(
              sql,
              group.map((g) => g.clusterId),
              limit,
              before,
            ),
            (r) => r.clusterId,
          );
          for (const g of group) results.set(`${g.clusterId}|${limit}|${before ?? ''}`, rows.get(g.clusterId) ?? []);
        }),
      );
      return keys.map((k) => results.get(k) ?? []);
    }),
    /** each SPARK cluster's master asked once per request, all of a page's at the same time */
    sparkStatus: new DataLoader<ClusterRow, SparkStatus | null, string>((rows) => Promise.all(rows.map((row) => sparkStatus(row))), {
      cacheKeyFn: (row) => row.id,
    }),
    ...createScalingLoaders(scaling, usage),
  };
}

export type ClusterLoaders = ReturnType<typeof createClusterLoaders>;
