import DataLoader from 'dataloader';
import type { ScalingService } from './service.js';
import type { ClusterUsage, UsageService } from '../usage.js';
import type { AutoScalingPolicyRow, ManagedScalingPolicyRow, ScalingActivityRow } from '../tables.js';

/** Batching for the scaling, usage and policy fields of clusters and groups (one query per field). */
export function createScalingLoaders(scaling: ScalingService, usage: UsageService) {
  return {
    managedPolicy: new DataLoader<string, ManagedScalingPolicyRow | undefined>(async (ids) => {
      const rows = new Map((await scaling.managedPolicies(ids)).map((r) => [r.clusterId, r]));
      return ids.map((id) => rows.get(id));
    }),
    autoPolicy: new DataLoader<string, AutoScalingPolicyRow | undefined>(async (ids) => {
      const rows = new Map((await scaling.autoPolicies(ids)).map((r) => [r.groupId, r]));
      return ids.map((id) => rows.get(id));
    }),
    usage: new DataLoader<string, ClusterUsage>(async (ids) => {
      const byCluster = await usage.usage(ids);
      return ids.map((id) => byCluster.get(id)!);
    }),
    /** key: `${clusterId}|${limit}|${beforeId}`; one query per distinct (limit, before) */
    activityPage: new DataLoader<string, ScalingActivityRow[]>(async (keys) => {
      const parsed = keys.map((k) => {
        const [clusterId = '', limit = '0', before = ''] = k.split('|');
        return { key: k, clusterId, limit: Number(limit), before: before === '' ? null : Number(before) };
      });
      const results = new Map<string, ScalingActivityRow[]>();
      const byArgs = new Map<string, typeof parsed>();
      for (const p of parsed) {
        const a = `${p.limit}|${p.before ?? ''}`;
        byArgs.set(a, [...(byArgs.get(a) ?? []), p]);
      }
      await Promise.all(
        [...byArgs.values()].map(async (group) => {
          const { limit, before } = group[0]!;
          const rows = await scaling.activityPages(
            group.map((g) => g.clusterId),
            limit,
            before,
          );
          for (const g of group)
            results.set(
              g.key,
              rows.filter((r) => r.clusterId === g.clusterId),
            );
        }),
      );
      return keys.map((k) => results.get(k) ?? []);
    }),
  };
}
