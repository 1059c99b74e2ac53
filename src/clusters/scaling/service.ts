import type { Sql, Tx } from '../../platform/db/client.js';
import * as clustersQ from '../queries/clusters.js';
import { appendEvent } from '../queries/events.js';
import { liveInstancesOfCluster } from '../queries/instances.js';
import * as q from './queries.js';
import type {
  AdjustmentType,
  AutoScalingPolicyRow,
  ClusterRow,
  ComparisonOperator,
  InstanceGroupRow,
  ManagedScalingPolicyRow,
  MetricStatistic,
  ScalingActivityRow,
  ScalingRule,
  ScalingTrigger,
} from '../tables.js';
import { ACTIVE_CLUSTER_STATES } from '../tables.js';
import { newId } from '../../platform/ids.js';
import { badInput, conflict, notFound } from '../../platform/errors.js';
import { isMetricName, METRICS, statisticOf, type MetricsService } from '../metrics.js';
import { pageSize, parseSeqCursor, type Page } from '../../platform/paging.js';
import { adjustedCapacity, compare, managedDecision } from './rules.js';
import { changeGroup } from '../state-changes.js';
import { Limits, requireIntInRange, requireList, requireName } from '../../platform/validate.js';

export interface ComputeLimitsInput {
  unitType: string;
  minimumCapacityUnits: number;
  maximumCapacityUnits: number;
  maximumCoreCapacityUnits?: number | null;
}

export interface ScalingRuleInput {
  name: string;
  description?: string | null;
  action: { adjustmentType?: AdjustmentType | null; scalingAdjustment: number; coolDown?: number | null };
  trigger: {
    comparisonOperator: ComparisonOperator;
    evaluationPeriods?: number | null;
    metricName: string;
    period: number;
    statistic?: MetricStatistic | null;
    threshold: number;
  };
}

export interface AutoScalingPolicyInput {
  constraints: { minCapacity: number; maxCapacity: number };
  rules: ScalingRuleInput[];
}

export interface ScalingOptions {
  /** managed scaling: seconds between two decisions of a cluster */
  cooldownSeconds: number;
  /** managed scaling: idle evaluation periods in a row before TASK nodes shrink */
  idlePeriods: number;
}

/** What one evaluation decided for one group (a missing groupId: create the cluster's TASK group). */
interface Decision {
  clusterId: string;
  groupId: string | null;
  from: number;
  to: number;
  trigger: ScalingTrigger;
  ruleName: string | null;
  reason: string;
}

const RESIZABLE: ClusterRow['state'][] = ['RUNNING', 'WAITING'];
const MAX_RULES = 50;

function validateRules(rules: readonly ScalingRuleInput[], field: string): ScalingRule[] {
  requireList(rules, field, 1, MAX_RULES);
  const names = new Set<string>();
  return rules.map((r, i) => {
    const f = `${field}.${i}`;
    const name = requireName(r.name, `${f}.name`);
    if (names.has(name)) throw badInput(`${f}.name`, `another rule is already named "${name}"`);
    names.add(name);
    const adjustmentType = r.action.adjustmentType ?? 'CHANGE_IN_CAPACITY';
    const adj = r.action.scalingAdjustment;
    if (adjustmentType === 'EXACT_CAPACITY') requireIntInRange(adj, `${f}.action.scalingAdjustment`, 0, Limits.instancesPerGroup);
    else if (adjustmentType === 'CHANGE_IN_CAPACITY')
      requireIntInRange(adj, `${f}.action.scalingAdjustment`, -Limits.instancesPerGroup, Limits.instancesPerGroup);
    else requireIntInRange(adj, `${f}.action.scalingAdjustment`, -100, 1_000);
    if (adjustmentType !== 'EXACT_CAPACITY' && adj === 0) throw badInput(`${f}.action.scalingAdjustment`, 'must not be 0');
    const coolDown = requireIntInRange(r.action.coolDown ?? 0, `${f}.action.coolDown`, 0, 86_400);
    const t = r.trigger;
    if (!isMetricName(t.metricName)) {
      throw badInput(`${f}.trigger.metricName`, `unknown metric "${t.metricName.slice(0, 64)}"; known: ${Object.keys(METRICS).join(', ')}`);
    }
    const period = requireIntInRange(t.period, `${f}.trigger.period`, 1, 86_400);
    const evaluationPeriods = requireIntInRange(t.evaluationPeriods ?? 1, `${f}.trigger.evaluationPeriods`, 1, 100);
    if (!Number.isFinite(t.threshold)) throw badInput(`${f}.trigger.threshold`, 'must be a finite number');
    const description = r.description ?? null;
    if (description !== null && description.length > 1_024) throw badInput(`${f}.description`, 'must be at most 1024 characters');
    return {
      name,
      description,
      action: { adjustmentType, scalingAdjustment: adj, coolDown },
      trigger: {
        comparisonOperator: t.comparisonOperator,
        evaluationPeriods,
        metricName: t.metricName,
        period,
        statistic: t.statistic ?? 'AVERAGE',
        threshold: t.threshold,
      },
    };
  });
}

/**
 * Scaling policies and their decisions. Managed scaling (per cluster) and automatic scaling rules
 * (per CORE/TASK group) read the cluster's own metrics; every decision is one transaction that
 * changes the group's requested size, records a scaling activity and appends a SCALING event.
 * The cluster controller then starts or stops nodes, as after modifyInstanceGroup.
 */
export class ScalingService {
  constructor(
    private readonly sql: Sql,
    private readonly metrics: MetricsService,
    private readonly options: ScalingOptions,
  ) {}

  private async lockActive(tx: Tx, clusterId: string, field: string): Promise<ClusterRow> {
    const cluster = await clustersQ.lockCluster(tx, clusterId);
    if (!cluster) throw notFound('cluster', clusterId, field);
    if (!ACTIVE_CLUSTER_STATES.includes(cluster.state)) throw conflict(`cluster ${clusterId} is ${cluster.state}`, field);
    return cluster;
  }

  async putManagedPolicy(clusterId: string, limits: ComputeLimitsInput): Promise<ManagedScalingPolicyRow> {
    const f = 'computeLimits';
    if (limits.unitType !== 'INSTANCES') {
      throw badInput(`${f}.unitType`, 'only INSTANCES is supported (instance groups are sized in instances)');
    }
    const maxUnits = Limits.instancesPerCluster - 1; // the MASTER is never scaled
    const min = requireIntInRange(limits.minimumCapacityUnits, `${f}.minimumCapacityUnits`, 1, maxUnits);
    const max = requireIntInRange(limits.maximumCapacityUnits, `${f}.maximumCapacityUnits`, 1, maxUnits);
    if (max < min) throw badInput(`${f}.maximumCapacityUnits`, `must be at least minimumCapacityUnits (${min})`);
    const maxCore = limits.maximumCoreCapacityUnits ?? null;
    if (maxCore !== null) {
      requireIntInRange(maxCore, `${f}.maximumCoreCapacityUnits`, 0, maxUnits);
      if (maxCore > max) throw badInput(`${f}.maximumCoreCapacityUnits`, `must be at most maximumCapacityUnits (${max})`);
    }
    return this.sql.begin(async (tx) => {
      const cluster = await this.lockActive(tx, clusterId, 'clusterId');
      if ((await q.autoPoliciesOfClusters(tx, [cluster.id])).length > 0) {
        throw conflict('the cluster has automatic scaling policies on its groups: remove them before using managed scaling', 'clusterId');
      }
      const policy = await q.upsertManagedPolicy(tx, {
        clusterId: cluster.id,
        unitType: 'INSTANCES',
        minimumCapacityUnits: min,
        maximumCapacityUnits: max,
        maximumCoreCapacityUnits: maxCore,
      });
      await appendEvent(tx, cluster.id, 'SCALING', cluster.id, 'MANAGED_SCALING_POLICY_PUT', {
        reasonMessage: `managed scaling: ${min} to ${max} instances${maxCore === null ? '' : `, at most ${maxCore} CORE`}`,
        computeLimits: { unitType: 'INSTANCES', minimumCapacityUnits: min, maximumCapacityUnits: max, maximumCoreCapacityUnits: maxCore },
      });
      return policy;
    });
  }

  async removeManagedPolicy(clusterId: string): Promise<void> {
    await this.sql.begin(async (tx) => {
      const cluster = await clustersQ.lockCluster(tx, clusterId);
      if (!cluster) throw notFound('cluster', clusterId, 'clusterId');
      if (await q.deleteManagedPolicy(tx, clusterId)) {
        await appendEvent(tx, clusterId, 'SCALING', clusterId, 'MANAGED_SCALING_POLICY_REMOVED', {
          reasonMessage: 'managed scaling policy removed',
        });
      }
    });
  }

  private async groupOf(clusterId: string, groupId: string): Promise<InstanceGroupRow> {
    const group = await clustersQ.groupById(this.sql, groupId);
    if (!group || group.clusterId !== clusterId) throw notFound('instance group', groupId, 'instanceGroupId');
    return group;
  }

  async putAutoPolicy(clusterId: string, groupId: string, input: AutoScalingPolicyInput): Promise<AutoScalingPolicyRow> {
    const group = await this.groupOf(clusterId, groupId);
    if (group.role === 'MASTER') throw badInput('instanceGroupId', 'the MASTER group cannot scale');
    const f = 'autoScalingPolicy';
    const min = requireIntInRange(input.constraints.minCapacity, `${f}.constraints.minCapacity`, 0, Limits.instancesPerGroup);
    const max = requireIntInRange(input.constraints.maxCapacity, `${f}.constraints.maxCapacity`, 0, Limits.instancesPerGroup);
    if (max < min) throw badInput(`${f}.constraints.maxCapacity`, `must be at least minCapacity (${min})`);
    const rules = validateRules(input.rules, `${f}.rules`);
    return this.sql.begin(async (tx) => {
      const cluster = await this.lockActive(tx, clusterId, 'clusterId');
      if ((await q.managedPolicies(tx, [cluster.id])).length > 0) {
        throw conflict('the cluster has a managed scaling policy: remove it before adding automatic scaling rules', 'clusterId');
      }
      const policy = await q.upsertAutoPolicy(tx, { groupId, clusterId, minCapacity: min, maxCapacity: max, rules });
      await appendEvent(tx, clusterId, 'SCALING', groupId, 'AUTO_SCALING_POLICY_PUT', {
        reasonMessage: `automatic scaling for ${group.role} group ${groupId}: ${min} to ${max} instances, ${rules.length} rule(s)`,
        instanceGroupId: groupId,
        constraints: { minCapacity: min, maxCapacity: max },
        rules,
      });
      return policy;
    });
  }

  async removeAutoPolicy(clusterId: string, groupId: string): Promise<InstanceGroupRow> {
    const group = await this.groupOf(clusterId, groupId);
    await this.sql.begin(async (tx) => {
      await clustersQ.lockCluster(tx, clusterId);
      if (await q.deleteAutoPolicy(tx, groupId)) {
        await appendEvent(tx, clusterId, 'SCALING', groupId, 'AUTO_SCALING_POLICY_REMOVED', {
          reasonMessage: `automatic scaling policy of group ${groupId} removed`,
          instanceGroupId: groupId,
        });
      }
    });
    return group;
  }

  managedPolicies(clusterIds: readonly string[]) {
    return q.managedPolicies(this.sql, clusterIds);
  }

  autoPolicies(groupIds: readonly string[]) {
    return q.autoPoliciesOfGroups(this.sql, groupIds);
  }

  activityPages(clusterIds: readonly string[], limit: number, before: number | null) {
    return q.activityPages(this.sql, clusterIds, limit, before);
  }

  /** Paging arguments of Cluster.scalingActivities (newest first, cursor = activity id). */
  static pageArgs(first: number | null | undefined, after: string | null | undefined): { limit: number; before: number | null } {
    return { limit: pageSize(first), before: after ? parseSeqCursor(after) : null };
  }

  static page(rows: ScalingActivityRow[], limit: number): Page<ScalingActivityRow> {
    return { nodes: rows.slice(0, limit), hasNextPage: rows.length > limit, cursorOf: (a) => String(a.id) };
  }

  /** Active clusters that have a policy of either kind. */
  clustersWithPolicies(clusterIds: readonly string[]): Promise<string[]> {
    return q.clustersWithPolicies(this.sql, clusterIds);
  }

  /**
   * Evaluates the policies of one cluster on its metrics and applies at most one decision per
   * group. Level-triggered: it reads everything from Postgres, so any leader can run it.
   */
  async evaluate(clusterId: string, now = Date.now()): Promise<ScalingActivityRow[]> {
    const cluster = await clustersQ.clusterById(this.sql, clusterId);
    if (!cluster || !RESIZABLE.includes(cluster.state)) return [];
    const groups = await clustersQ.groupsOfClusters(this.sql, [clusterId]);
    const last = await q.lastActivityAt(this.sql, clusterId);
    const decisions: Decision[] = [];
    const [managed] = await q.managedPolicies(this.sql, [clusterId]);
    if (managed) {
      const d = await this.managed(cluster, groups, managed, last.cluster, now);
      if (d) decisions.push(d);
    } else {
      for (const policy of await q.autoPoliciesOfClusters(this.sql, [clusterId])) {
        const group = groups.find((g) => g.id === policy.groupId);
        if (!group) continue;
        const d = await this.rules(group, policy, last.groups.get(group.id) ?? null, now);
        if (d) decisions.push(d);
      }
    }
    const applied: ScalingActivityRow[] = [];
    for (const d of decisions) {
      const a = await this.apply(d);
      if (a) applied.push(a);
    }
    return applied;
  }

  private async managed(
    cluster: ClusterRow,
    groups: InstanceGroupRow[],
    policy: ManagedScalingPolicyRow,
    lastAt: Date | null,
    now: number,
  ): Promise<Decision | null> {
    const core = groups.find((g) => g.role === 'CORE');
    const tasks = groups.filter((g) => g.role === 'TASK');
    const taskGroup = tasks[0] ?? null;
    const latest = await this.metrics.latest(cluster.id, ['AppsRunning', 'AppsPending', 'CoresFree']);
    const spark =
      latest.has('AppsRunning') || latest.has('AppsPending')
        ? {
            appsRunning: latest.get('AppsRunning') ?? 0,
            appsPending: latest.get('AppsPending') ?? 0,
            coresFree: latest.get('CoresFree') ?? 1,
          }
        : null;
    const n = this.options.idlePeriods;
    const idleSamples = await this.metrics.lastSamples(cluster.id, 'IsIdle', n);
    // idle for N periods since the last decision: a shrink is never based on samples it preceded
    const idle =
      idleSamples.length >= n &&
      idleSamples.every((s) => s.value === 1) &&
      (lastAt === null || idleSamples[idleSamples.length - 1]!.at > lastAt);
    const live = await liveInstancesOfCluster(this.sql, cluster.id);
    const settling = groups.some(
      (g) =>
        g.role !== 'MASTER' &&
        (live.filter((i) => i.groupId === g.id).length !== g.requestedCount ||
          live.some((i) => i.groupId === g.id && i.state !== 'RUNNING')),
    );
    const decision = managedDecision({
      limits: policy,
      coreRequested: groups.filter((g) => g.role === 'CORE').reduce((s, g) => s + g.requestedCount, 0),
      taskRequested: tasks.reduce((s, g) => s + g.requestedCount, 0),
      spark,
      idle,
      idlePeriods: n,
      settling,
      cooledDown: lastAt === null || now - lastAt.getTime() >= this.options.cooldownSeconds * 1_000,
    });
    if (!decision) return null;
    // managed scaling sizes the first CORE group and the first TASK group (created when needed)
    const group = decision.role === 'CORE' ? core : taskGroup;
    if (decision.role === 'CORE' && !group) return null;
    const others = decision.role === 'TASK' ? tasks.slice(1).reduce((s, g) => s + g.requestedCount, 0) : 0;
    const to = Math.max(0, decision.to - others);
    const from = group?.requestedCount ?? 0;
    if (to === from) return null;
    return {
      clusterId: cluster.id,
      groupId: group?.id ?? null,
      from,
      to,
      trigger: 'MANAGED_SCALING',
      ruleName: null,
      reason: decision.reason,
    };
  }

  private async rules(group: InstanceGroupRow, policy: AutoScalingPolicyRow, lastAt: Date | null, now: number): Promise<Decision | null> {
    for (const rule of policy.rules) {
      if (lastAt && now - lastAt.getTime() < rule.action.coolDown * 1_000) continue;
      const { period, evaluationPeriods: n, metricName, statistic, comparisonOperator, threshold } = rule.trigger;
      if (!isMetricName(metricName)) continue;
      const from = new Date(now - n * period * 1_000);
      const buckets = await this.metrics.aggregate(group.clusterId, metricName, from, new Date(now), period);
      // every one of the N periods must have data and breach (CloudWatch: missing data never breaches)
      if (buckets.length < n) continue;
      const values = buckets.map((b) => statisticOf(b, statistic));
      if (!values.every((v) => compare(v, comparisonOperator, threshold))) continue;
      const to = adjustedCapacity(group.requestedCount, rule.action, policy.minCapacity, policy.maxCapacity);
      if (to === group.requestedCount) continue;
      const shown = values.map((v) => Math.round(v * 100) / 100).join(', ');
      return {
        clusterId: group.clusterId,
        groupId: group.id,
        from: group.requestedCount,
        to,
        trigger: 'AUTO_SCALING',
        ruleName: rule.name,
        reason: `rule "${rule.name}": ${metricName} ${statistic} ${comparisonOperator} ${threshold} for ${n} period(s) of ${period} s (${shown})`,
      };
    }
    return null;
  }

  /** One transaction: the resize (or the new TASK group), the activity and its SCALING event. */
  private apply(d: Decision): Promise<ScalingActivityRow | null> {
    return this.sql.begin(async (tx) => {
      const cluster = (await clustersQ.lockCluster(tx, d.clusterId))!;
      if (!RESIZABLE.includes(cluster.state)) return null;
      const groups = await clustersQ.groupsOfClusters(tx, [cluster.id]);
      let group = d.groupId ? groups.find((g) => g.id === d.groupId) : groups.find((g) => g.role === 'TASK');
      // sized since the decision was read: the next evaluation decides again from the new size
      if ((group?.requestedCount ?? 0) !== d.from) return null;
      const total = groups.reduce((s, g) => s + g.requestedCount, 0) - d.from + d.to;
      if (total > Limits.instancesPerCluster) return null;
      if (group) {
        group = await changeGroup(tx, group, { requestedCount: d.to, state: 'RESIZING' });
      } else {
        const model = (groups.find((g) => g.role === 'CORE') ?? groups.find((g) => g.role === 'MASTER'))!;
        const type = model.instanceType;
        group = await clustersQ.insertGroup(tx, {
          id: newId('ig'),
          clusterId: cluster.id,
          role: 'TASK',
          instanceType: type,
          requestedCount: d.to,
          // a TASK group made by scaling goes where the cluster's CORE nodes may go
          hostLabels: model.hostLabels,
        });
        await appendEvent(tx, cluster.id, 'INSTANCE_GROUP', group.id, group.state, {
          previousState: null,
          role: group.role,
          requestedCount: group.requestedCount,
        });
      }
      const activity = await q.insertActivity(tx, {
        clusterId: cluster.id,
        groupId: group.id,
        fromCount: d.from,
        toCount: d.to,
        trigger: d.trigger,
        ruleName: d.ruleName,
        reason: d.reason,
      });
      await appendEvent(tx, cluster.id, 'SCALING', group.id, d.to > d.from ? 'SCALE_OUT' : 'SCALE_IN', {
        reasonMessage: d.reason,
        activityId: activity.id,
        instanceGroupId: group.id,
        role: group.role,
        from: d.from,
        to: d.to,
        trigger: d.trigger,
        ruleName: d.ruleName,
      });
      return activity;
    });
  }
}
