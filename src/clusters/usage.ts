import type { Sql } from '../platform/db/client.js';
import { instanceHours } from './queries/usage.js';
import { normalizationFactor, type PriceTable } from './pricing.js';

export interface ClusterUsage {
  instanceHours: number;
  normalizedInstanceHours: number;
  estimatedCost: number;
  currency: string;
  /** instance types the price table has no price for (their hours are not in the cost) */
  unpricedInstanceTypes: string[];
}

/**
 * Usage and estimated cost from instance lifetimes (created → ended, or now for live ones):
 * hours × EMR's normalization factor, and hours × the price per hour of the instance type.
 * Computed on read, so it grows while the cluster runs and stops when its instances end.
 */
export class UsageService {
  constructor(
    private readonly sql: Sql,
    private readonly prices: PriceTable,
  ) {}

  async usage(clusterIds: readonly string[]): Promise<Map<string, ClusterUsage>> {
    const out = new Map<string, ClusterUsage>();
    for (const id of clusterIds) {
      out.set(id, {
        instanceHours: 0,
        normalizedInstanceHours: 0,
        estimatedCost: 0,
        currency: this.prices.currency,
        unpricedInstanceTypes: [],
      });
    }
    for (const row of await instanceHours(this.sql, clusterIds)) {
      const u = out.get(row.clusterId)!;
      u.instanceHours += row.hours;
      u.normalizedInstanceHours += row.hours * normalizationFactor(row.instanceType);
      const price = this.prices.prices.get(row.instanceType);
      if (price === undefined) u.unpricedInstanceTypes.push(row.instanceType);
      else u.estimatedCost += row.hours * price;
    }
    return out;
  }
}
