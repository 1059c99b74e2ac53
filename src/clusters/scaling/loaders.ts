import DataLoader from 'dataloader';
import type { AutoScalingPolicyRow, ManagedScalingPolicyRow, ScalingActivityRow } from '../tables.js';
import type { Services } from '../../platform/services-bag.js';
import type { ClusterUsage } from '../usage.js';

/** Batching for the scaling, usage and policy fields of clusters and groups (one query per field). */
export function createScalingLoaders(services: Services) {
  return {
    managedPolicy: new DataLoader<string, ManagedScalingPolicyRow | undefined>(async (ids) => {
      const rows = new Map((await services.scaling.managedPolicies(ids)).map((r) => [r.clusterId, r]));
      return ids.map((id) => rows.get(id));
    }),
    autoPolicy: new DataLoader<string, AutoScalingPolicyRow | undefined>(async (ids) => {
      const rows = new Map((await services.scaling.autoPolicies(ids)).map((r) => [r.groupId, r]));
      return ids.map((id) => rows.get(id));
    }),
    usage: new DataLoader<string, ClusterUsage>(async (ids) => {
      const usage = await services.usage.usage(ids);
      return ids.map((id) => usage.get(id)!);
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
      await Promise.all([...byArgs.values()].map(async (group) => {
        const { limit, before } = group[0]!;
        const rows = await services.scaling.activityPages(group.map((g) => g.clusterId), limit, before);
        for (const g of group) results.set(g.key, rows.filter((r) => r.clusterId === g.clusterId));
      }));
      return keys.map((k) => results.get(k) ?? []);
    }),
  };
}
