import type { ClusterRow, EventRow, StepRow } from '../../clusters/tables.js';
import type { LogLineRow } from '../../logs/tables.js';
import { streamName } from '../../logs/service.js';
import type { Cluster, ClusterEvent, LogLine, Step } from '../../clusters/graphql/types.js';
import type { ClusterState, StepKind, StepState, ActionOnFailure, LogStreamKind, ClusterEventKind } from '../../clusters/graphql/enums.js';

import type { Page } from '../paging.js';

/** Relay connection from a page (`after` paging: hasPreviousPage is whether a cursor was given). */
export function connection<T, N>(page: Page<T>, map: (row: T) => N, hadCursor: boolean) {
  const edges = page.nodes.map((row) => ({ cursor: page.cursorOf(row), node: map(row) }));
  return {
    edges,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage ?? hadCursor,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}

// The GraphQL objects keep their row underneath (`row`) for field resolvers.
export type ClusterObject = Cluster & { row: ClusterRow };
export type StepObject = Step & { row: StepRow };

export function toCluster(row: ClusterRow): ClusterObject {
  return {
    row,
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

export function toLogLine(row: LogLineRow): LogLine {
  return { cursor: String(row.seq), at: row.at, stream: streamName(row.stream) as LogStreamKind, text: row.text };
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
