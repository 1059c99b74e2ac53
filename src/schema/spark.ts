import { Field, InputType, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'Addresses a node serves (reported by its agent when it became ready)' })
export class InstanceEndpoints {
  @Field(() => String, { nullable: true, description: 'spark://host:port of the Spark master (MASTER node)' }) sparkMasterUrl!: string | null;
  @Field(() => String, { nullable: true, description: 'the Spark master web UI (MASTER node)' }) sparkMasterWebUrl!: string | null;
  @Field(() => String, { nullable: true, description: 'the Spark worker web UI (CORE/TASK nodes)' }) sparkWorkerWebUrl!: string | null;
}

@ObjectType({ description: 'A Spark worker as the Spark master lists it' })
export class SparkWorker {
  @Field(() => String) id!: string;
  @Field(() => String) host!: string;
  @Field(() => String, { description: 'ALIVE, DEAD, DECOMMISSIONED, UNKNOWN' }) state!: string;
  @Field(() => Int) cores!: number;
  @Field(() => Int) coresUsed!: number;
  @Field(() => Int) memoryMb!: number;
  @Field(() => Int) memoryUsedMb!: number;
  @Field(() => String, { nullable: true }) webUrl!: string | null;
}

@ObjectType({ description: "The cluster's Spark standalone cluster; the counts are the Spark master's own (null when it cannot be asked)" })
export class SparkInfo {
  @Field(() => String, { nullable: true, description: 'pass as --master to spark-submit' }) masterUrl!: string | null;
  @Field(() => String, { nullable: true }) masterWebUrl!: string | null;
  @Field(() => String, { nullable: true, description: "the master's status (ALIVE)" }) status!: string | null;
  @Field(() => Int, { nullable: true }) aliveWorkers!: number | null;
  @Field(() => Int, { nullable: true }) coresTotal!: number | null;
  @Field(() => Int, { nullable: true }) coresUsed!: number | null;
  @Field(() => Int, { nullable: true }) activeApps!: number | null;
  @Field(() => [SparkWorker]) workers!: SparkWorker[];
}

@ObjectType({ description: 'A script run on every node before it joins, also on nodes added later' })
export class BootstrapAction {
  @Field(() => String) name!: string;
  @Field(() => String, { description: 's3://bucket/key of the script (.sh, .py, .js/.mjs, or a #! line)' }) path!: string;
  @Field(() => [String]) args!: string[];
}

@InputType()
export class BootstrapActionInput {
  @Field(() => String) name!: string;
  @Field(() => String, { description: 's3://bucket/key of an existing script: .sh (bash), .py (python3), .js/.mjs (node), or one starting with #!' })
  path!: string;
  @Field(() => [String], { nullable: true }) args?: string[];
}
