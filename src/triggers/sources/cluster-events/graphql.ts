// GraphQL input of CLUSTER_EVENTS triggers (EventBridge rules on EMR state changes).
import { Field, InputType, ObjectType, registerEnumType } from 'type-graphql';

export enum ClusterEventsKind {
  CLUSTER = 'CLUSTER',
  STEP = 'STEP',
}
registerEnumType(ClusterEventsKind, {
  name: 'ClusterEventsKind',
  description: 'CLUSTER: "EMR Cluster State Change"; STEP: "EMR Step Status Change"',
});

@InputType({ description: 'Cluster and step state changes ("EMR Cluster State Change", "EMR Step Status Change")' })
export class ClusterEventsSourceInput {
  @Field(() => String, { nullable: true, description: 'one cluster; absent: every cluster' }) clusterId?: string | null;
  @Field(() => [ClusterEventsKind], { nullable: true, description: 'default: both' }) kinds?: ClusterEventsKind[] | null;
  @Field(() => [String], { nullable: true, description: 'the new states to deliver (e.g. COMPLETED, FAILED); absent: every state change' })
  states?: string[] | null;
}

@ObjectType({ description: "A CLUSTER_EVENTS trigger's source" })
export class ClusterEventsSource {
  @Field(() => String, { nullable: true, description: 'null: every cluster' }) clusterId!: string | null;
  @Field(() => [ClusterEventsKind]) kinds!: ClusterEventsKind[];
  @Field(() => [String], { description: 'empty: every state change' }) states!: string[];
}
