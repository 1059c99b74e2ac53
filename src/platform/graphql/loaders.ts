import DataLoader from 'dataloader';
import * as clustersQ from '../../clusters/queries/clusters.js';
import * as instancesQ from '../../clusters/queries/instances.js';
import * as stepsQ from '../../clusters/queries/steps.js';
import type { ClusterRow, InstanceGroupRow, InstanceRow, StepRow } from '../../clusters/tables.js';
import type { TriggerScheduleRow } from '../../triggers/tables.js';
import type { Services } from '../services-bag.js';
import { sparkStatus, type SparkStatus } from '../../clusters/spark/status.js';
import { createFunctionLoaders } from '../../functions/loaders.js';
import { createScalingLoaders } from '../../clusters/scaling/loaders.js';

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
export function createLoaders(services: Services) {
  const { sql } = services;
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
      await Promise.all([...byArgs.values()].map(async (group) => {
        const { limit, before } = group[0]!;
        const rows = groupBy(await stepsQ.stepPages(sql, group.map((g) => g.clusterId), limit, before), (r) => r.clusterId);
        for (const g of group) results.set(`${g.clusterId}|${limit}|${before ?? ''}`, rows.get(g.clusterId) ?? []);
      }));
      return keys.map((k) => results.get(k) ?? []);
    }),
    /** each SPARK cluster's master asked once per request, all of a page's at the same time */
    sparkStatus: new DataLoader<ClusterRow, SparkStatus | null, string>(
      (rows) => Promise.all(rows.map((row) => sparkStatus(row))),
      { cacheKeyFn: (row) => row.id },
    ),
    /** SCHEDULE triggers' state, by trigger id */
    triggerSchedule: new DataLoader<string, TriggerScheduleRow | undefined>(async (ids) => {
      const rows = new Map((await services.schedules.of(ids)).map((r) => [r.triggerId, r]));
      return ids.map((id) => rows.get(id));
    }),
    ...createScalingLoaders(services),
    ...createFunctionLoaders(services),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
