// GraphQL shapes of scaling policies, scaling activities, cluster metrics and usage.
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { Cluster, InstanceGroup } from '../graphql/types.js';
import { Connection } from '../../platform/graphql/connection.js';

export enum ComputeLimitsUnitType {
  INSTANCES = 'INSTANCES',
  VCPU = 'VCPU',
  INSTANCE_FLEET_UNITS = 'INSTANCE_FLEET_UNITS',
}
export enum AdjustmentType {
  CHANGE_IN_CAPACITY = 'CHANGE_IN_CAPACITY',
  PERCENT_CHANGE_IN_CAPACITY = 'PERCENT_CHANGE_IN_CAPACITY',
  EXACT_CAPACITY = 'EXACT_CAPACITY',
}
export enum ComparisonOperator {
  GREATER_THAN_OR_EQUAL = 'GREATER_THAN_OR_EQUAL',
  GREATER_THAN = 'GREATER_THAN',
  LESS_THAN = 'LESS_THAN',
  LESS_THAN_OR_EQUAL = 'LESS_THAN_OR_EQUAL',
}
export enum MetricStatistic {
  AVERAGE = 'AVERAGE',
  MAXIMUM = 'MAXIMUM',
  MINIMUM = 'MINIMUM',
  SUM = 'SUM',
  SAMPLE_COUNT = 'SAMPLE_COUNT',
}
export enum ScalingActivityTrigger {
  MANAGED_SCALING = 'MANAGED_SCALING',
  AUTO_SCALING = 'AUTO_SCALING',
}

registerEnumType(ComputeLimitsUnitType, {
  name: 'ComputeLimitsUnitType',
  description: 'EMR names; instance groups scale in INSTANCES only',
});
registerEnumType(AdjustmentType, { name: 'AdjustmentType' });
registerEnumType(ComparisonOperator, { name: 'ComparisonOperator' });
registerEnumType(MetricStatistic, { name: 'MetricStatistic' });
registerEnumType(ScalingActivityTrigger, { name: 'ScalingActivityTrigger', description: 'what decided a resize' });

@ObjectType({ description: 'Managed scaling limits, in instances of the CORE and TASK groups (never the MASTER)' })
export class ComputeLimits {
  @Field(() => ComputeLimitsUnitType) unitType!: ComputeLimitsUnitType;
  @Field(() => Int) minimumCapacityUnits!: number;
  @Field(() => Int) maximumCapacityUnits!: number;
  @Field(() => Int, { nullable: true }) maximumCoreCapacityUnits!: number | null;
}

@ObjectType()
export class ManagedScalingPolicy {
  @Field(() => ComputeLimits) computeLimits!: ComputeLimits;
  @Field(() => DateTimeResolver) updatedAt!: Date;
}

@ObjectType()
export class ScalingConstraints {
  @Field(() => Int) minCapacity!: number;
  @Field(() => Int) maxCapacity!: number;
}

@ObjectType()
export class ScalingAction {
  @Field(() => AdjustmentType) adjustmentType!: AdjustmentType;
  @Field(() => Int) scalingAdjustment!: number;
  @Field(() => Int, { description: 'seconds after a resize of the group before this rule may act again' }) coolDown!: number;
}

@ObjectType()
export class ScalingTrigger {
  @Field(() => ComparisonOperator) comparisonOperator!: ComparisonOperator;
  @Field(() => Int) evaluationPeriods!: number;
  @Field(() => String) metricName!: string;
  @Field(() => Int, { description: 'seconds' }) period!: number;
  @Field(() => MetricStatistic) statistic!: MetricStatistic;
  @Field(() => Float) threshold!: number;
}

@ObjectType()
export class ScalingRule {
  @Field(() => String) name!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => ScalingAction) action!: ScalingAction;
  @Field(() => ScalingTrigger) trigger!: ScalingTrigger;
}

@ObjectType({ description: 'Custom automatic scaling of one instance group' })
export class AutoScalingPolicy {
  @Field(() => ScalingConstraints) constraints!: ScalingConstraints;
  @Field(() => [ScalingRule]) rules!: ScalingRule[];
  @Field(() => DateTimeResolver) updatedAt!: Date;
}

@ObjectType({ description: 'A resize decided by a scaling policy' })
export class ScalingActivity {
  @Field(() => ID) id!: string;
  @Field(() => DateTimeResolver) at!: Date;
  @Field(() => ID) instanceGroupId!: string;
  @Field(() => Int) fromCount!: number;
  @Field(() => Int) toCount!: number;
  @Field(() => ScalingActivityTrigger) trigger!: ScalingActivityTrigger;
  @Field(() => String, { nullable: true, description: 'the automatic scaling rule that fired' }) ruleName!: string | null;
  @Field(() => String) reason!: string;
}

@ObjectType()
export class ScalingActivityConnection extends Connection(ScalingActivity, 'ScalingActivity') {}

@ObjectType()
export class MetricDatapoint {
  @Field(() => DateTimeResolver, { description: 'start of the period' }) at!: Date;
  @Field(() => Float) value!: number;
}

@ObjectType()
export class MetricSeries {
  @Field(() => String) name!: string;
  @Field(() => ID, { nullable: true, description: 'the node of a per-node series; null for cluster-wide ones' }) instanceId!: string | null;
  @Field(() => [MetricDatapoint], { description: 'one per period that has samples, oldest first' }) datapoints!: MetricDatapoint[];
}

@ObjectType()
export class MetricInfo {
  @Field(() => String) name!: string;
  @Field(() => String) description!: string;
}

@ObjectType({ description: 'Instance hours so far (live instances count up to now) and their estimated cost' })
export class ClusterUsage {
  @Field(() => Float) instanceHours!: number;
  @Field(() => Float, { description: 'hours × EMR normalization factor (large 4, xlarge 8, 2xlarge 16, …)' })
  normalizedInstanceHours!: number;
  @Field(() => Float, { description: 'hours × price per hour of each instance type (PRICE_TABLE)' }) estimatedCost!: number;
  @Field(() => String) currency!: string;
  @Field(() => [String], { description: 'instance types without a price (not in estimatedCost)' }) unpricedInstanceTypes!: string[];
}

@InputType()
export class ComputeLimitsInput {
  @Field(() => ComputeLimitsUnitType, { defaultValue: ComputeLimitsUnitType.INSTANCES }) unitType!: ComputeLimitsUnitType;
  @Field(() => Int, { description: 'at least 1' }) minimumCapacityUnits!: number;
  @Field(() => Int) maximumCapacityUnits!: number;
  @Field(() => Int, { nullable: true, description: 'CORE nodes never exceed this' }) maximumCoreCapacityUnits?: number;
}

@InputType()
export class PutManagedScalingPolicyInput {
  @Field(() => ID) clusterId!: string;
  @Field(() => ComputeLimitsInput) computeLimits!: ComputeLimitsInput;
}

@InputType()
export class RemoveManagedScalingPolicyInput {
  @Field(() => ID) clusterId!: string;
}

@InputType()
export class ScalingConstraintsInput {
  @Field(() => Int) minCapacity!: number;
  @Field(() => Int) maxCapacity!: number;
}

@InputType()
export class ScalingActionInput {
  @Field(() => AdjustmentType, { nullable: true, defaultValue: AdjustmentType.CHANGE_IN_CAPACITY }) adjustmentType?: AdjustmentType;
  @Field(() => Int) scalingAdjustment!: number;
  @Field(() => Int, { nullable: true, defaultValue: 0, description: 'seconds' }) coolDown?: number;
}

@InputType()
export class ScalingTriggerInput {
  @Field(() => ComparisonOperator) comparisonOperator!: ComparisonOperator;
  @Field(() => Int, { nullable: true, defaultValue: 1 }) evaluationPeriods?: number;
  @Field(() => String, { description: 'a name from the clusterMetricNames query' }) metricName!: string;
  @Field(() => Int, { description: 'seconds (1 to 86400)' }) period!: number;
  @Field(() => MetricStatistic, { nullable: true, defaultValue: MetricStatistic.AVERAGE }) statistic?: MetricStatistic;
  @Field(() => Float) threshold!: number;
}

@InputType()
export class ScalingRuleInput {
  @Field(() => String) name!: string;
  @Field(() => String, { nullable: true }) description?: string;
  @Field(() => ScalingActionInput) action!: ScalingActionInput;
  @Field(() => ScalingTriggerInput) trigger!: ScalingTriggerInput;
}

@InputType()
export class AutoScalingPolicyInput {
  @Field(() => ScalingConstraintsInput) constraints!: ScalingConstraintsInput;
  @Field(() => [ScalingRuleInput]) rules!: ScalingRuleInput[];
}

@InputType()
export class PutAutoScalingPolicyInput {
  @Field(() => ID) clusterId!: string;
  @Field(() => ID) instanceGroupId!: string;
  @Field(() => AutoScalingPolicyInput) autoScalingPolicy!: AutoScalingPolicyInput;
}

@InputType()
export class RemoveAutoScalingPolicyInput {
  @Field(() => ID) clusterId!: string;
  @Field(() => ID) instanceGroupId!: string;
}

@ObjectType()
export class PutManagedScalingPolicyPayload {
  @Field(() => Cluster) cluster!: Cluster;
  @Field(() => ManagedScalingPolicy) managedScalingPolicy!: ManagedScalingPolicy;
}

@ObjectType()
export class RemoveManagedScalingPolicyPayload {
  @Field(() => Cluster) cluster!: Cluster;
}

@ObjectType()
export class PutAutoScalingPolicyPayload {
  @Field(() => InstanceGroup) instanceGroup!: InstanceGroup;
  @Field(() => AutoScalingPolicy) autoScalingPolicy!: AutoScalingPolicy;
}

@ObjectType()
export class RemoveAutoScalingPolicyPayload {
  @Field(() => InstanceGroup) instanceGroup!: InstanceGroup;
}
