import { Field, InputType, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'Addresses a node serves (reported by its agent when it became ready)' })
export class InstanceEndpoints {
  @Field(() => String, { nullable: true, description: 'spark://host:port of the Spark master (MASTER node)' }) sparkMasterUrl!:
    | string
    | null;
  @Field(() => String, { nullable: true, description: 'the Spark master web UI (MASTER node)' }) sparkMasterWebUrl!: string | null;
  @Field(() => String, { nullable: true, description: 'the Spark worker web UI (CORE/TASK nodes)' }) sparkWorkerWebUrl!: string | null;
  @Field(() => String, {
    nullable: true,
    description: "the cluster's Spark History Server (MASTER node): every app of the install, finished ones included",
  })
  sparkHistoryUrl!: string | null;
}

@ObjectType({ description: 'A column of a catalog table' })
export class CatalogColumn {
  @Field(() => String) name!: string;
  @Field(() => String, { description: 'the Hive type, e.g. bigint, string, array<int>' }) type!: string;
}

@ObjectType({ description: "A table of the install's Hive metastore, shared by every SPARK cluster" })
export class CatalogTable {
  @Field(() => String) database!: string;
  @Field(() => String) name!: string;
  @Field(() => String, { description: 'MANAGED_TABLE, EXTERNAL_TABLE or VIRTUAL_VIEW' }) type!: string;
  @Field(() => String, {
    nullable: true,
    description: 's3://bucket/prefix of its files (the warehouse bucket for managed tables); null for views',
  })
  location!: string | null;
  @Field(() => [CatalogColumn]) columns!: CatalogColumn[];
}

@ObjectType({ description: 'A database of the catalog' })
export class CatalogDatabase {
  @Field(() => String) name!: string;
  @Field(() => [CatalogTable]) tables!: CatalogTable[];
}

@ObjectType({ description: 'The install\'s Hive metastore (README "Spark clusters" → Catalog)' })
export class Catalog {
  @Field(() => Boolean, { description: 'whether SPARK clusters use it (pyspark, the PostgreSQL JDBC jar and the Postgres role are there)' })
  available!: boolean;
  @Field(() => String, { nullable: true, description: 'why not, with the command that fixes it' }) reason!: string | null;
  @Field(() => String, { description: 's3:// prefix of the warehouse (managed tables)' }) warehouseUri!: string;
  @Field(() => [CatalogDatabase], { description: 'databases that have tables (a database without tables is not listed)' })
  databases!: CatalogDatabase[];
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
  @Field(() => String, {
    description: 's3://bucket/key of an existing script: .sh (bash), .py (python3), .js/.mjs (node), or one starting with #!',
  })
  path!: string;
  @Field(() => [String], { nullable: true }) args?: string[];
}
