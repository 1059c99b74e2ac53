import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import {
  ActionOnFailure,
  CancelStepsRequestStatus,
  ClusterEventKind,
  ClusterState,
  InstanceGroupState,
  InstanceRole,
  InstanceState,
  StepKind,
  StepState,
} from './enums.js';
import { Connection } from '../../platform/graphql/connection.js';

// The read path's types have no middleware or permission on their plain fields: `simpleResolvers`
// lets graphql-jit read those properties inline instead of calling type-graphql's wrapper for each
// field of each row (field resolvers, @Authorized ones included, are unaffected).
const plainFields = { simpleResolvers: true } as const;

@ObjectType({ description: 'A machine size from the catalog; each instance gets this capacity' })
export class InstanceType {
  @Field(() => String) name!: string;
  @Field(() => Int) vcpu!: number;
  @Field(() => Int) memoryMb!: number;
}

@ObjectType({ description: 'An application a cluster can run, and whether this engine provides it' })
export class Application {
  @Field(() => String) name!: string;
  @Field(() => Boolean) available!: boolean;
  @Field(() => String, { nullable: true }) reason!: string | null;
}

@ObjectType(plainFields)
export class StateChangeReason {
  @Field(() => String, { nullable: true, description: 'EMR code: USER_REQUEST, STEP_FAILURE, INSTANCE_FAILURE, ALL_STEPS_COMPLETED, …' })
  code!: string | null;
  @Field(() => String, { nullable: true }) message!: string | null;
}

@ObjectType(plainFields)
export class InstanceGroup {
  @Field(() => ID) id!: string;
  @Field(() => InstanceRole) role!: InstanceRole;
  @Field(() => String) instanceType!: string;
  @Field(() => InstanceGroupState) state!: InstanceGroupState;
  @Field(() => Int, { description: 'how many instances the group should have' }) requestedCount!: number;
  @Field(() => JSONResolver, { description: 'its nodes go only on hosts carrying all these labels ({}: any host)' })
  hostLabels!: Record<string, string>;
  @Field(() => DateTimeResolver) createdAt!: Date;
}

@ObjectType({ ...plainFields, description: 'One node of a cluster: a node agent process' })
export class Instance {
  @Field(() => ID) id!: string;
  @Field(() => ID) groupId!: string;
  @Field(() => ID) clusterId!: string;
  @Field(() => InstanceRole) role!: InstanceRole;
  @Field(() => String) instanceType!: string;
  @Field(() => InstanceState) state!: InstanceState;
  @Field(() => Int, { nullable: true, description: 'OS process id of the node agent' }) pid!: number | null;
  @Field(() => String, { nullable: true }) host!: string | null;
  @Field(() => DateTimeResolver, { nullable: true }) lastHeartbeatAt!: Date | null;
  @Field(() => DateTimeResolver) createdAt!: Date;
  @Field(() => DateTimeResolver, { nullable: true }) readyAt!: Date | null;
  @Field(() => DateTimeResolver, { nullable: true }) endedAt!: Date | null;
}

@ObjectType()
export class CommandStep {
  @Field(() => [String]) args!: string[];
  @Field(() => JSONResolver, { nullable: true }) env!: Record<string, string | null> | null;
}

@ObjectType()
export class ScriptStep {
  @Field(() => String, { description: 's3://bucket/key of the script' }) uri!: string;
  @Field(() => [String]) args!: string[];
}

@ObjectType()
export class SparkStep {
  @Field(() => String, { description: 's3://bucket/key of the application (.py or .jar)' }) appUri!: string;
  @Field(() => [String]) args!: string[];
  @Field(() => JSONResolver, { nullable: true, description: 'Spark configuration (spark.* keys)' }) conf!: Record<string, string> | null;
  @Field(() => [String], { nullable: true }) files!: string[] | null;
  @Field(() => [String], { nullable: true }) pyFiles!: string[] | null;
  @Field(() => [String], { nullable: true }) archives!: string[] | null;
  @Field(() => [String], { nullable: true }) jars!: string[] | null;
  @Field(() => [String], { nullable: true }) packages!: string[] | null;
  @Field(() => String, { nullable: true }) mainClass!: string | null;
}

@ObjectType()
export class SqlStep {
  @Field(() => String) query!: string;
  @Field(() => String, { nullable: true }) outputUri!: string | null;
  @Field(() => String, { nullable: true }) format!: string | null;
}

@ObjectType()
export class FailureDetails {
  @Field(() => String, { nullable: true }) reason!: string | null;
  @Field(() => String, { nullable: true }) message!: string | null;
  @Field(() => String, { nullable: true, description: 'the log stream holding the step output' }) logFile!: string | null;
}

@ObjectType(plainFields)
export class Step {
  @Field(() => ID) id!: string;
  @Field(() => ID) clusterId!: string;
  @Field(() => String) name!: string;
  @Field(() => StepKind) kind!: StepKind;
  @Field(() => StepState) state!: StepState;
  @Field(() => ActionOnFailure) actionOnFailure!: ActionOnFailure;
  @Field(() => Float, { nullable: true, description: '0..1 where the step reports it (`::progress 0.42`)' }) progress!: number | null;
  @Field(() => Int, { nullable: true }) exitCode!: number | null;
  @Field(() => Int, { nullable: true, description: 'OS process id of the step process while it runs' }) pid!: number | null;
  @Field(() => ID, { nullable: true, description: 'the instance running the step' }) instanceId!: string | null;
  @Field(() => ID) logStreamId!: string;
  @Field(() => JSONResolver, {
    nullable: true,
    description: 'the outcome in figures the step reported (`::result {...}`), e.g. rowsWritten',
  })
  result!: Record<string, unknown> | null;
  @Field(() => DateTimeResolver) createdAt!: Date;
  @Field(() => DateTimeResolver, { nullable: true }) startedAt!: Date | null;
  @Field(() => DateTimeResolver, { nullable: true }) endedAt!: Date | null;
}

@ObjectType(plainFields)
export class StepConnection extends Connection(Step, 'Step') {}

@ObjectType(plainFields)
export class Cluster {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => ClusterState) state!: ClusterState;
  @Field(() => [String]) applications!: string[];
  @Field(() => Boolean) keepAliveWhenNoSteps!: boolean;
  @Field(() => Int, { nullable: true }) autoTerminationIdleTimeoutSeconds!: number | null;
  @Field(() => Int) stepConcurrencyLevel!: number;
  @Field(() => Boolean) terminationProtected!: boolean;
  @Field(() => DateTimeResolver) createdAt!: Date;
  @Field(() => DateTimeResolver, { nullable: true }) readyAt!: Date | null;
  @Field(() => DateTimeResolver, { nullable: true }) endedAt!: Date | null;
}

@ObjectType(plainFields)
export class ClusterConnection extends Connection(Cluster, 'Cluster') {}

@ObjectType({ description: 'A change of the cluster, one of its groups, instances or steps' })
export class ClusterEvent {
  @Field(() => String, { description: 'pass as `after` to resume after this event' }) cursor!: string;
  @Field(() => DateTimeResolver) at!: Date;
  @Field(() => ID) clusterId!: string;
  @Field(() => ClusterEventKind) kind!: ClusterEventKind;
  @Field(() => ID) resourceId!: string;
  @Field(() => String, { nullable: true }) state!: string | null;
  @Field(() => String, { nullable: true }) previousState!: string | null;
  @Field(() => String, { nullable: true }) message!: string | null;
  @Field(() => JSONResolver, { description: 'the event as stored (a snapshot of the changed resource)' }) detail!: unknown;
}

@ObjectType()
export class CancelStepsInfo {
  @Field(() => ID) stepId!: string;
  @Field(() => CancelStepsRequestStatus) status!: CancelStepsRequestStatus;
  @Field(() => String, { nullable: true }) reason!: string | null;
}
