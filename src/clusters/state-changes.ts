// State changes of clusters, groups, instances and steps. Each writes the row AND appends its event,
// inside the caller's transaction (which holds the cluster row lock).
import type { Tx } from '../platform/db/client.js';
import * as clustersQ from './queries/clusters.js';
import { appendEvent } from './queries/events.js';
import * as instancesQ from './queries/instances.js';
import { systemLog } from '../logs/queries.js';
import * as stepsQ from './queries/steps.js';
import type { ClusterRow, ClusterState, InstanceGroupRow, InstanceRow, InstanceState, StepRow, StepState } from './tables.js';

export interface Reason {
  code: string | null;
  message: string;
}

export async function changeClusterState(tx: Tx, cluster: ClusterRow, state: ClusterState, reason: Reason | null): Promise<ClusterRow> {
  if (cluster.state === state) return cluster;
  const row = await clustersQ.setClusterState(tx, cluster.id, state, reason?.code ?? null, reason?.message ?? null);
  await appendEvent(tx, cluster.id, 'CLUSTER', cluster.id, state, {
    previousState: cluster.state,
    reasonCode: reason?.code ?? null,
    reasonMessage: reason?.message ?? null,
  });
  return row;
}

export async function changeGroup(
  tx: Tx,
  group: InstanceGroupRow,
  patch: { state?: InstanceGroupRow['state']; requestedCount?: number },
): Promise<InstanceGroupRow> {
  const sameState = patch.state === undefined || patch.state === group.state;
  const sameCount = patch.requestedCount === undefined || patch.requestedCount === group.requestedCount;
  if (sameState && sameCount) return group;
  const row = await clustersQ.updateGroup(tx, group.id, patch);
  await appendEvent(tx, group.clusterId, 'INSTANCE_GROUP', group.id, row.state, {
    previousState: group.state,
    role: row.role,
    requestedCount: row.requestedCount,
  });
  return row;
}

export async function changeInstanceState(
  tx: Tx,
  instance: InstanceRow,
  state: InstanceState,
  reason: Reason | null = null,
): Promise<InstanceRow> {
  if (instance.state === state) return instance;
  const row = await instancesQ.setInstanceState(tx, instance.id, state, reason?.code ?? null, reason?.message ?? null);
  await appendEvent(tx, instance.clusterId, 'INSTANCE', instance.id, state, {
    previousState: instance.state,
    role: row.role,
    pid: row.pid,
    reasonCode: reason?.code ?? null,
    reasonMessage: reason?.message ?? null,
  });
  return row;
}

export async function changeStepState(
  tx: Tx,
  step: StepRow,
  state: StepState,
  patch: stepsQ.StepStatePatch = {},
  logMessage?: string,
): Promise<StepRow> {
  if (step.state === state) return step;
  // the change and its event are one statement; the SYSTEM line is independent: sent with it, one round trip
  const [row] = await Promise.all([
    stepsQ.setStepState(tx, step, state, patch),
    logMessage ? systemLog(tx, step.logStreamId, logMessage) : null,
  ]);
  return row;
}

/** Cancels every PENDING step of the cluster (after a failure with CANCEL_AND_WAIT, or termination). */
export async function cancelPendingSteps(tx: Tx, clusterId: string, why: string): Promise<void> {
  for (const step of await stepsQ.activeSteps(tx, clusterId)) {
    if (step.state === 'PENDING') await changeStepState(tx, step, 'CANCELLED', {}, `Step cancelled: ${why}`);
  }
}

const TERMINAL_WITH_ERRORS = new Set(['STEP_FAILURE', 'INSTANCE_FAILURE', 'BOOTSTRAP_FAILURE', 'INTERNAL_ERROR', 'VALIDATION_ERROR']);

/** The final state a TERMINATING cluster reaches, given why it is terminating. */
export function finalStateFor(cluster: ClusterRow): ClusterState {
  return cluster.stateReasonCode && TERMINAL_WITH_ERRORS.has(cluster.stateReasonCode) ? 'TERMINATED_WITH_ERRORS' : 'TERMINATED';
}

export async function beginTermination(tx: Tx, cluster: ClusterRow, reason: Reason): Promise<ClusterRow> {
  if (cluster.state === 'TERMINATING' || cluster.state === 'TERMINATED' || cluster.state === 'TERMINATED_WITH_ERRORS') {
    return cluster;
  }
  await cancelPendingSteps(tx, cluster.id, `the cluster is terminating (${reason.code})`);
  return changeClusterState(tx, cluster, 'TERMINATING', reason);
}

/**
 * After steps or instances changed: a ready cluster is RUNNING while it has work and WAITING
 * without; with keepAliveWhenNoSteps = false it ends once no step is left. `becomingReady` lets a
 * STARTING/BOOTSTRAPPING cluster whose nodes are all up take its first ready state.
 */
export async function settleActivity(tx: Tx, cluster: ClusterRow, becomingReady = false): Promise<ClusterRow> {
  const ready = cluster.state === 'RUNNING' || cluster.state === 'WAITING';
  const starting = cluster.state === 'STARTING' || cluster.state === 'BOOTSTRAPPING';
  if (!ready && !(becomingReady && starting)) return cluster;
  const active = await stepsQ.countActiveSteps(tx, cluster.id);
  if (active > 0) return changeClusterState(tx, cluster, 'RUNNING', { code: null, message: 'Running step' });
  if (!cluster.keepAlive) {
    const moved = starting ? await changeClusterState(tx, cluster, 'RUNNING', { code: null, message: 'Cluster ready' }) : cluster;
    return beginTermination(tx, moved, { code: 'ALL_STEPS_COMPLETED', message: 'Steps completed' });
  }
  return changeClusterState(tx, cluster, 'WAITING', {
    code: null,
    message: starting ? 'Cluster ready to run steps.' : 'Cluster ready after last step completed.',
  });
}
