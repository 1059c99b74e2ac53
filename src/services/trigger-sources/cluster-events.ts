// CLUSTER_EVENTS triggers (EventBridge rules on EMR events): cluster and step state changes, by kind,
// state and (optionally) cluster, delivered with EventBridge's "EMR … Change" shapes.
import { clusterById } from '../../db/queries/clusters.js';
import type { ClusterState, StepState } from '../../db/rows.js';
import { badInput, notFound } from '../errors.js';
import { requireList } from '../validate.js';
import type { TriggerSourceKind } from './types.js';

export type ClusterEventsKind = 'CLUSTER' | 'STEP';
export const CLUSTER_EVENTS_KINDS: ClusterEventsKind[] = ['CLUSTER', 'STEP'];

const CLUSTER_STATES: ClusterState[] = ['STARTING', 'BOOTSTRAPPING', 'RUNNING', 'WAITING', 'TERMINATING', 'TERMINATED', 'TERMINATED_WITH_ERRORS'];
const STEP_STATES: StepState[] = ['PENDING', 'CANCEL_PENDING', 'RUNNING', 'COMPLETED', 'CANCELLED', 'FAILED', 'INTERRUPTED'];

export interface ClusterEventsTriggerConfig {
  /** null: every cluster's events */
  clusterId: string | null;
  kinds: ClusterEventsKind[];
  /** the new states to deliver; empty: every state change */
  states: string[];
}

interface ClusterEventsSourceInput { clusterId?: unknown; kinds?: unknown; states?: unknown }

export const clusterEventsSource: TriggerSourceKind<ClusterEventsTriggerConfig> = {
  type: 'CLUSTER_EVENTS',
  field: 'clusterEvents',
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
