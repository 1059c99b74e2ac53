import type { Cluster, ClusterEvent, Step } from './types.js';
import type { ClusterState, StepKind, StepState, ActionOnFailure, ClusterEventKind } from './enums.js';
import type { ClusterRow, EventRow, StepRow } from '../tables.js';
import type { NestedRows } from '../queries/nested.js';

// The GraphQL objects keep their row underneath (`row`) for field resolvers.
// `nested`: the lists read with a root cluster, for the selection under it (queries/nested.ts).
export type ClusterObject = Cluster & { row: ClusterRow; nested?: NestedRows };
export type StepObject = Step & { row: StepRow };

/**
 * The row columns (keys of ClusterRow) each field of Cluster shows: toCluster's, stateChangeReason's, and
 * none for the nested lists (read by the cluster's id). A field not named here (e.g. one resolved
 * from the row by another module) needs the whole row. test/unit/cluster-field-columns.test.ts
 * fails when a field comes to read a column it does not name here.
 */
export const CLUSTER_FIELD_COLUMNS: Readonly<Record<string, readonly (keyof ClusterRow)[]>> = {
  __typename: [],
  id: ['id'],
  name: ['name'],
  state: ['state'],
  applications: ['applications'],
  keepAliveWhenNoSteps: ['keepAlive'],
  autoTerminationIdleTimeoutSeconds: ['idleTimeoutSeconds'],
  stepConcurrencyLevel: ['stepConcurrency'],
  terminationProtected: ['terminationProtected'],
  createdAt: ['createdAt'],
  readyAt: ['readyAt'],
  endedAt: ['endedAt'],
  stateChangeReason: ['stateReasonCode', 'stateReasonMessage'],
  instanceGroups: [],
  instances: [],
  steps: [],
};

export function toCluster(row: ClusterRow, nested?: NestedRows): ClusterObject {
  return {
    row,
    nested,
    id: row.id,
    name: row.name,
    state: row.state as ClusterState,
    applications: row.applications,
    keepAliveWhenNoSteps: row.keepAlive,
    autoTerminationIdleTimeoutSeconds: row.idleTimeoutSeconds,
    stepConcurrencyLevel: row.stepConcurrency,
    terminationProtected: row.terminationProtected,
    createdAt: row.createdAt,
    readyAt: row.readyAt,
    endedAt: row.endedAt,
  };
}

export function toStep(row: StepRow): StepObject {
  return {
    row,
    id: row.id,
    clusterId: row.clusterId,
    name: row.name,
    kind: row.kind as StepKind,
    state: row.state as StepState,
    actionOnFailure: row.actionOnFailure as ActionOnFailure,
    progress: row.progress,
    exitCode: row.exitCode,
    pid: row.pid,
    instanceId: row.instanceId,
    logStreamId: row.logStreamId,
    result: row.result,
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    endedAt: row.endedAt,
  };
}

export function toClusterEvent(row: EventRow): ClusterEvent {
  const p = row.payload as { previousState?: string | null; reasonMessage?: string | null; failureMessage?: string | null };
  return {
    cursor: String(row.seq),
    at: row.at,
    clusterId: row.clusterId,
    kind: row.kind as ClusterEventKind,
    resourceId: row.resourceId,
    state: row.state,
    previousState: p.previousState ?? null,
    message: p.reasonMessage ?? p.failureMessage ?? null,
    detail: row.payload,
  };
}
