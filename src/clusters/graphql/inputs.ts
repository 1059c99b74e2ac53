import { Field, ID, InputType, Int } from 'type-graphql';
import { JSONResolver } from 'graphql-scalars';
import { BootstrapActionInput } from '../spark/graphql.js';
import { ActionOnFailure, ApplicationName, ClusterState, InstanceRole, StepCancellationOption } from './enums.js';

@InputType()
export class InstanceGroupInput {
  @Field(() => InstanceRole) role!: InstanceRole;
  @Field(() => String, { description: 'a name from the instanceTypes query' }) instanceType!: string;
  @Field(() => Int) count!: number;
  @Field(() => JSONResolver, {
    nullable: true,
    description: 'an object of strings: the group’s nodes go only on hosts carrying all these labels (docs/hosts.md)',
  })
  hostLabels?: unknown;
}

@InputType()
export class CommandStepInput {
  @Field(() => [String], { description: 'argv: the program and its arguments (no shell; use ["bash","-c","…"] for one)' })
  args!: string[];
  @Field(() => JSONResolver, { nullable: true, description: 'extra environment variables, an object of strings' })
  env?: unknown;
}

@InputType()
export class ScriptStepInput {
  @Field(() => String) uri!: string;
  @Field(() => [String], { nullable: true }) args?: string[];
}

@InputType()
export class SparkStepInput {
  @Field(() => String) appUri!: string;
  @Field(() => [String], { nullable: true }) args?: string[];
  @Field(() => JSONResolver, { nullable: true }) conf?: unknown;
  @Field(() => [String], { nullable: true, description: "s3:// objects for --files; also placed in the driver's working directory" })
  files?: string[];
  @Field(() => [String], { nullable: true, description: 's3:// .py/.zip/.egg objects for --py-files' }) pyFiles?: string[];
  @Field(() => [String], {
    nullable: true,
    description: "s3:// .zip/.tar/.tgz/.tar.gz objects for --archives (uri#alias); also unpacked in the driver's working directory",
  })
  archives?: string[];
  @Field(() => [String], { nullable: true, description: 's3:// .jar objects for --jars' }) jars?: string[];
  @Field(() => [String], { nullable: true, description: 'Maven coordinates (group:artifact:version) for --packages' }) packages?: string[];
  @Field(() => String, { nullable: true, description: 'the main class of a .jar application (--class)' }) mainClass?: string;
}

@InputType()
export class SqlStepInput {
  @Field(() => String) query!: string;
  @Field(() => String, { nullable: true }) outputUri?: string;
  @Field(() => String, { nullable: true }) format?: string;
}

@InputType({ description: 'A step: exactly one of command, script, spark, sql' })
export class StepInput {
  @Field(() => String) name!: string;
  @Field(() => ActionOnFailure, { nullable: true, defaultValue: ActionOnFailure.CONTINUE }) actionOnFailure?: ActionOnFailure;
  @Field(() => CommandStepInput, { nullable: true }) command?: CommandStepInput;
  @Field(() => ScriptStepInput, { nullable: true }) script?: ScriptStepInput;
  @Field(() => SparkStepInput, { nullable: true }) spark?: SparkStepInput;
  @Field(() => SqlStepInput, { nullable: true }) sql?: SqlStepInput;
}

@InputType()
export class CreateClusterInput {
  @Field(() => String) name!: string;
  @Field(() => [ApplicationName], { nullable: true }) applications?: ApplicationName[];
  @Field(() => [InstanceGroupInput]) instanceGroups!: InstanceGroupInput[];
  @Field(() => Boolean, { nullable: true, defaultValue: true }) keepAliveWhenNoSteps?: boolean;
  @Field(() => Int, { nullable: true, description: '60 to 604800 seconds idle (WAITING) before the cluster ends itself' })
  autoTerminationIdleTimeoutSeconds?: number;
  @Field(() => Int, { nullable: true, defaultValue: 1 }) stepConcurrencyLevel?: number;
  @Field(() => Boolean, { nullable: true, defaultValue: false }) terminationProtected?: boolean;
  @Field(() => [StepInput], { nullable: true }) steps?: StepInput[];
  @Field(() => [BootstrapActionInput], { nullable: true, description: 'at most 16 scripts run on every node before it joins' })
  bootstrapActions?: BootstrapActionInput[];
  @Field(() => String, { nullable: true, description: 'same token + same input = the same cluster, not a new one' })
  clientToken?: string;
}

@InputType()
export class TerminateClustersInput {
  @Field(() => [ID]) ids!: string[];
}

@InputType()
export class SetTerminationProtectionInput {
  @Field(() => [ID]) ids!: string[];
  @Field(() => Boolean) terminationProtected!: boolean;
}

@InputType()
export class ModifyInstanceGroupInput {
  @Field(() => ID, { nullable: true }) clusterId?: string;
  @Field(() => ID) instanceGroupId!: string;
  @Field(() => Int) instanceCount!: number;
}

@InputType()
export class AddStepsInput {
  @Field(() => ID) clusterId!: string;
  @Field(() => [StepInput]) steps!: StepInput[];
}

@InputType()
export class CancelStepsInput {
  @Field(() => ID) clusterId!: string;
  @Field(() => [ID]) stepIds!: string[];
  @Field(() => StepCancellationOption, { nullable: true, defaultValue: StepCancellationOption.SEND_INTERRUPT })
  cancellationOption?: StepCancellationOption;
}

@InputType()
export class ClusterFilter {
  @Field(() => [ClusterState], { nullable: true }) states?: ClusterState[];
  @Field(() => String, { nullable: true, description: 'case-insensitive substring of the name' }) nameContains?: string;
  @Field(() => [ID], { nullable: true }) ids?: string[];
}
