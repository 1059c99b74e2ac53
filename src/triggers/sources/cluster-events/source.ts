// CLUSTER_EVENTS triggers (EventBridge rules on EMR events): cluster and step state changes, by kind,
// state and (optionally) cluster, delivered with EventBridge's "EMR … Change" shapes.
import crypto from 'node:crypto';
import { uuidFromDigest } from '../../../platform/ids.js';
import { clusterById } from '../../../clusters/queries/clusters.js';
import type { ClusterState, StepState } from '../../../clusters/tables.js';
import type { StateChangeRow } from '../../tables.js';
import { badInput, notFound } from '../../../platform/errors.js';
import { requireList } from '../../../platform/validate.js';
import type { TriggerSourceKind } from '../types.js';
import { ACCOUNT, REGION } from '../../../platform/aws-account.js';

export type ClusterEventsKind = 'CLUSTER' | 'STEP';
export const CLUSTER_EVENTS_KINDS: ClusterEventsKind[] = ['CLUSTER', 'STEP'];

const CLUSTER_STATES: ClusterState[] = [
  'STARTING',
  'BOOTSTRAPPING',
  'RUNNING',
  'WAITING',
  'TERMINATING',
  'TERMINATED',
  'TERMINATED_WITH_ERRORS',
];
const STEP_STATES: StepState[] = ['PENDING', 'CANCEL_PENDING', 'RUNNING', 'COMPLETED', 'CANCELLED', 'FAILED', 'INTERRUPTED'];

export interface ClusterEventsTriggerConfig {
  /** null: every cluster's events */
  clusterId: string | null;
  kinds: ClusterEventsKind[];
  /** the new states to deliver; empty: every state change */
  states: string[];
}

interface ClusterEventsSourceInput {
  clusterId?: unknown;
  kinds?: unknown;
  states?: unknown;
}

export const clusterEventsSource: TriggerSourceKind<ClusterEventsTriggerConfig> = {
  type: 'CLUSTER_EVENTS',
  field: 'clusterEvents',
  readAction: 'clusters:DescribeCluster',
  async parse(raw, field, { sql }) {
    const input = (raw ?? {}) as ClusterEventsSourceInput;
    const kinds: ClusterEventsKind[] = [];
    if (input.kinds == null) {
      kinds.push(...CLUSTER_EVENTS_KINDS);
    } else {
      if (!Array.isArray(input.kinds)) throw badInput(`${field}.kinds`, 'must be a list');
      requireList(input.kinds, `${field}.kinds`, 1, CLUSTER_EVENTS_KINDS.length);
      input.kinds.forEach((k, i) => {
        if (!CLUSTER_EVENTS_KINDS.includes(k as ClusterEventsKind)) throw badInput(`${field}.kinds[${i}]`, 'must be CLUSTER or STEP');
        if (kinds.includes(k as ClusterEventsKind)) throw badInput(`${field}.kinds[${i}]`, `lists ${String(k)} twice`);
        kinds.push(k as ClusterEventsKind);
      });
    }
    const allowed = new Set<string>([...(kinds.includes('CLUSTER') ? CLUSTER_STATES : []), ...(kinds.includes('STEP') ? STEP_STATES : [])]);
    const states: string[] = [];
    if (input.states != null) {
      if (!Array.isArray(input.states)) throw badInput(`${field}.states`, 'must be a list');
      requireList(input.states, `${field}.states`, 0, allowed.size);
      input.states.forEach((s, i) => {
        if (typeof s !== 'string' || !allowed.has(s)) {
          throw badInput(`${field}.states[${i}]`, `must be a ${kinds.join(' or ')} state: ${[...allowed].join(', ')}`);
        }
        if (states.includes(s)) throw badInput(`${field}.states[${i}]`, `lists ${s} twice`);
        states.push(s);
      });
    }
    let clusterId: string | null = null;
    if (input.clusterId != null && input.clusterId !== '') {
      if (typeof input.clusterId !== 'string') throw badInput(`${field}.clusterId`, 'must be a cluster id');
      if (!(await clusterById(sql, input.clusterId))) throw notFound('cluster', input.clusterId, `${field}.clusterId`);
      clusterId = input.clusterId;
    }
    return { clusterId, kinds, states };
  },
};

export function clusterEventMatches(config: ClusterEventsTriggerConfig, change: StateChangeRow): boolean {
  return (
    (config.clusterId === null || config.clusterId === change.clusterId) &&
    config.kinds.includes(change.kind) &&
    (config.states.length === 0 || config.states.includes(change.state))
  );
}

/** A stable UUID-shaped id for the event (EventBridge events have one): the same for every trigger. */
export function clusterEventId(clusterId: string, seq: number): string {
  return uuidFromDigest(crypto.createHash('sha1').update(`${clusterId}:${seq}`).digest('hex'));
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function severityOf(change: StateChangeRow): string {
  if (change.state === 'TERMINATED_WITH_ERRORS') return 'CRITICAL';
  if (change.state === 'FAILED' || change.state === 'INTERRUPTED' || change.state === 'CANCELLED') return 'WARNING';
  return 'INFO';
}

function stepMessage(c: StateChangeRow): string {
  const step = `Step ${c.resourceId} (${c.stepName ?? ''}) in cluster ${c.clusterId} (${c.clusterName})`;
  const at = str(c.payload.endedAt) ?? c.at.toISOString();
  switch (c.state) {
    case 'PENDING':
      return `${step} was added at ${c.at.toISOString()} and is pending execution.`;
    case 'RUNNING':
      return `${step} started running at ${str(c.payload.startedAt) ?? c.at.toISOString()}.`;
    case 'COMPLETED':
      return `${step} completed execution at ${at}.`;
    case 'FAILED': {
      const why = str(c.payload.failureMessage) ?? str(c.payload.failureReason);
      return `${step} failed at ${at}.${why ? ` Reason: ${why}` : ''}`;
    }
    default:
      return `${step} is ${c.state} at ${at}.`;
  }
}

function clusterMessage(c: StateChangeRow): string {
  const why = str(c.payload.reasonMessage);
  return `Cluster ${c.clusterId} (${c.clusterName}) is ${c.state} at ${c.at.toISOString()}.${why ? ` ${why}` : ''}`;
}

/** The EventBridge event a function receives: "EMR Cluster State Change" or "EMR Step Status Change". */
export function emrEvent(change: StateChangeRow) {
  const base = {
    version: '0',
    id: clusterEventId(change.clusterId, change.seq),
    source: 'aws.emr',
    account: ACCOUNT,
    time: change.at.toISOString(),
    region: REGION,
    resources: [] as string[],
  };
  if (change.kind === 'CLUSTER') {
    return {
      ...base,
      'detail-type': 'EMR Cluster State Change',
      detail: {
        severity: severityOf(change),
        clusterId: change.clusterId,
        name: change.clusterName,
        state: change.state,
        previousState: str(change.payload.previousState),
        // EMR sends the reason as a JSON string
        stateChangeReason: JSON.stringify({ code: str(change.payload.reasonCode), message: str(change.payload.reasonMessage) }),
        message: clusterMessage(change),
      },
    };
  }
  return {
    ...base,
    'detail-type': 'EMR Step Status Change',
    detail: {
      severity: severityOf(change),
      actionOnFailure: change.actionOnFailure,
      stepId: change.resourceId,
      name: change.stepName,
      clusterId: change.clusterId,
      state: change.state,
      previousState: str(change.payload.previousState),
      message: stepMessage(change),
      ...(change.state === 'FAILED' ? { failureReason: str(change.payload.failureReason), exitCode: change.payload.exitCode ?? null } : {}),
    },
  };
}
