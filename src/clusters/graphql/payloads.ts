import { Field, ObjectType } from 'type-graphql';
import { CancelStepsInfo, Cluster, InstanceGroup, Step } from './types.js';

@ObjectType()
export class CreateClusterPayload {
  @Field(() => Cluster) cluster!: Cluster;
}

@ObjectType()
export class TerminateClustersPayload {
  @Field(() => [Cluster]) clusters!: Cluster[];
}

@ObjectType()
export class SetTerminationProtectionPayload {
  @Field(() => [Cluster]) clusters!: Cluster[];
}

@ObjectType()
export class ModifyInstanceGroupPayload {
  @Field(() => InstanceGroup) instanceGroup!: InstanceGroup;
}

@ObjectType()
export class AddStepsPayload {
  @Field(() => [Step]) steps!: Step[];
}

@ObjectType()
export class CancelStepsPayload {
  @Field(() => [CancelStepsInfo]) results!: CancelStepsInfo[];
}
