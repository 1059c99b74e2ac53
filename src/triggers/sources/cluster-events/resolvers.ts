import { FieldResolver, Resolver, Root } from 'type-graphql';
import { ClusterEventsSource, type ClusterEventsKind } from './graphql.js';
import { Trigger } from '../../graphql.js';
import type { ClusterEventsTriggerConfig } from './source.js';
import type { TriggerObject } from '../../resolvers.js';

@Resolver(() => Trigger)
export class TriggerClusterEventsResolver {
  @FieldResolver(() => ClusterEventsSource, { nullable: true, description: 'set for CLUSTER_EVENTS triggers' })
  clusterEvents(@Root() trigger: TriggerObject): ClusterEventsSource | null {
    if (trigger.row.sourceType !== 'CLUSTER_EVENTS') return null;
    const c = trigger.row.config as unknown as ClusterEventsTriggerConfig;
    return { clusterId: c.clusterId, kinds: c.kinds as ClusterEventsKind[], states: c.states };
  }
}
