import { FieldResolver, Resolver, Root } from 'type-graphql';
import { ClusterEventsSource, type ClusterEventsKind } from '../../schema/trigger-sources/cluster-events.js';
import { Trigger } from '../../schema/triggers.js';
import type { ClusterEventsTriggerConfig } from '../../services/trigger-sources/cluster-events.js';
import type { TriggerObject } from '../triggers.js';

@Resolver(() => Trigger)
export class TriggerClusterEventsResolver {
  @FieldResolver(() => ClusterEventsSource, { nullable: true, description: 'set for CLUSTER_EVENTS triggers' })
  clusterEvents(@Root() trigger: TriggerObject): ClusterEventsSource | null {
    if (trigger.row.sourceType !== 'CLUSTER_EVENTS') return null;
    const c = trigger.row.config as unknown as ClusterEventsTriggerConfig;
    return { clusterId: c.clusterId, kinds: c.kinds as ClusterEventsKind[], states: c.states };
  }
}
