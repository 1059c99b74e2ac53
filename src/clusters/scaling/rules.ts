// The arithmetic of scaling decisions, free of I/O so that every branch is easy to check.
import type { AdjustmentType, ComparisonOperator } from '../tables.js';

export function compare(value: number, op: ComparisonOperator, threshold: number): boolean {
  switch (op) {
    case 'GREATER_THAN_OR_EQUAL':
      return value >= threshold;
    case 'GREATER_THAN':
      return value > threshold;
    case 'LESS_THAN':
      return value < threshold;
    case 'LESS_THAN_OR_EQUAL':
      return value <= threshold;
  }
}

/**
 * The size a rule's action asks for, within the policy's constraints. A percentage change moves
 * by at least one instance (as EMR does), rounding the fraction away from zero.
 */
export function adjustedCapacity(
  current: number,
  action: { adjustmentType: AdjustmentType; scalingAdjustment: number },
  min: number,
  max: number,
): number {
  let target: number;
  switch (action.adjustmentType) {
    case 'CHANGE_IN_CAPACITY':
      target = current + action.scalingAdjustment;
      break;
    case 'PERCENT_CHANGE_IN_CAPACITY': {
      const delta = (current * action.scalingAdjustment) / 100;
      target = current + Math.sign(delta || action.scalingAdjustment) * Math.max(1, Math.ceil(Math.abs(delta)));
      break;
    }
    case 'EXACT_CAPACITY':
      target = action.scalingAdjustment;
      break;
  }
  return Math.min(max, Math.max(min, target));
}

export interface ComputeLimits {
  minimumCapacityUnits: number;
  maximumCapacityUnits: number;
  maximumCoreCapacityUnits: number | null;
}

export interface ManagedInputs {
  limits: ComputeLimits;
  coreRequested: number;
  taskRequested: number;
  /** the master's latest Spark figures (null: none recent, e.g. no Spark on the cluster) */
  spark: { appsRunning: number; appsPending: number; coresFree: number } | null;
  /** the cluster was idle for every one of the last N evaluation periods (since the last decision) */
  idle: boolean;
  idlePeriods: number;
  /** the cooldown since the cluster's last scaling decision is over */
  cooledDown: boolean;
  /** some CORE/TASK nodes are still starting or stopping: the last decision has not taken effect */
  settling: boolean;
}

export interface ManagedDecision {
  role: 'CORE' | 'TASK';
  to: number;
  reason: string;
}

/**
 * Managed scaling (EMR's model, in instances): capacity = CORE + TASK nodes, never the MASTER.
 * Limits are restored at once; within them TASK nodes grow while applications wait for cores and
 * shrink back to the minimum once the cluster has been idle, one decision per cooldown and none
 * while the nodes of the previous one are still starting or stopping.
 */
export function managedDecision(m: ManagedInputs): ManagedDecision | null {
  const { minimumCapacityUnits: min, maximumCapacityUnits: max } = m.limits;
  const maxCore = Math.min(m.limits.maximumCoreCapacityUnits ?? max, max);
  const core = m.coreRequested;
  const task = m.taskRequested;
  if (core > maxCore) {
    return { role: 'CORE', to: maxCore, reason: `CORE nodes (${core}) above the policy's maximum core capacity (${maxCore})` };
  }
  if (core + task > max && task > 0) {
    return { role: 'TASK', to: Math.max(0, max - core), reason: `capacity ${core + task} above the policy's maximum (${max})` };
  }
  if (core + task < min) {
    return { role: 'TASK', to: min - core, reason: `capacity ${core + task} below the policy's minimum (${min})` };
  }
  // demand is judged on the capacity the last decision asked for, once it is there
  if (!m.cooledDown || m.settling) return null;
  const s = m.spark;
  const waiting = s !== null && (s.appsPending > 0 || (s.coresFree === 0 && s.appsRunning > 0));
  if (waiting && core + task < max) {
    const add = Math.min(max - core - task, Math.max(1, s.appsPending));
    const why =
      s.appsPending > 0
        ? `${s.appsPending} Spark application(s) waiting for cores`
        : `all cores busy with ${s.appsRunning} running Spark application(s)`;
    return { role: 'TASK', to: task + add, reason: why };
  }
  const floor = Math.max(0, min - core);
  if (!waiting && m.idle && task > floor) {
    return { role: 'TASK', to: floor, reason: `idle for ${m.idlePeriods} evaluation periods` };
  }
  return null;
}
