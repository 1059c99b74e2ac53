// Clusters, their instance groups, instances, steps and events; metrics and scaling policies.
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import type { StepFetch, StepMount } from '../engine/types.js';
import { ts } from '../platform/db/columns.js';

export type ClusterState = 'STARTING' | 'BOOTSTRAPPING' | 'RUNNING' | 'WAITING' | 'TERMINATING' | 'TERMINATED' | 'TERMINATED_WITH_ERRORS';
export type StepState = 'PENDING' | 'CANCEL_PENDING' | 'RUNNING' | 'COMPLETED' | 'CANCELLED' | 'FAILED' | 'INTERRUPTED';
export type InstanceState = 'AWAITING_FULFILLMENT' | 'PROVISIONING' | 'BOOTSTRAPPING' | 'RUNNING' | 'TERMINATED';
export type InstanceGroupState = 'PROVISIONING' | 'BOOTSTRAPPING' | 'RUNNING' | 'RESIZING' | 'TERMINATING' | 'TERMINATED';
export type InstanceRole = 'MASTER' | 'CORE' | 'TASK';
export type ActionOnFailure = 'CONTINUE' | 'CANCEL_AND_WAIT' | 'TERMINATE_CLUSTER';
export type EventKind = 'CLUSTER' | 'INSTANCE_GROUP' | 'INSTANCE' | 'STEP' | 'SCALING';

export const ACTIVE_CLUSTER_STATES: ClusterState[] = ['STARTING', 'BOOTSTRAPPING', 'RUNNING', 'WAITING'];
export const ENDED_CLUSTER_STATES: ClusterState[] = ['TERMINATED', 'TERMINATED_WITH_ERRORS'];
export const ENDED_STEP_STATES: StepState[] = ['COMPLETED', 'CANCELLED', 'FAILED', 'INTERRUPTED'];

/** A script run on every node before it joins (EMR BootstrapActionConfig). */
export interface BootstrapAction {
  name: string;
  path: string;
  args: string[];
}

/** Addresses a node serves, reported by its agent when it is ready. */
export interface InstanceEndpoints {
  sparkMasterUrl?: string;
  sparkMasterWebUrl?: string;
  sparkWorkerWebUrl?: string;
  sparkHistoryUrl?: string;
}

/** What the master node's agent runs for a step (see src/clusters/step-kinds). */
export interface StepSpec {
  args: string[];
  env: Record<string, string>;
  /** the kind's own input as the user gave it (absent for COMMAND steps) */
  source?: Record<string, unknown>;
  /** s3:// locations the step writes, registered as objects when it completes */
  outputs?: string[];
  /** local paths the step's sandbox sees (the files of the objects and buckets it names) */
  mounts?: StepMount[];
  /** objects the node fetches into the step's directory before it starts (no path mapping) */
  fetch?: StepFetch[];
}

export const clusters = pgTable(
  'clusters',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    state: text('state').$type<ClusterState>().notNull(),
    stateReasonCode: text('state_reason_code'),
    stateReasonMessage: text('state_reason_message'),
    applications: text('applications').array().notNull(),
    keepAlive: boolean('keep_alive').notNull(),
    idleTimeoutSeconds: integer('idle_timeout_seconds'),
    stepConcurrency: integer('step_concurrency').notNull(),
    terminationProtected: boolean('termination_protected').notNull().default(false),
    clientToken: text('client_token'),
    requestHash: text('request_hash'),
    // per-cluster event counter: bumping it locks the row, so a cluster's events commit in order
    eventSeq: bigint('event_seq', { mode: 'number' }).notNull().default(0),
    createdAt: ts('created_at').notNull().defaultNow(),
    readyAt: ts('ready_at'),
    endedAt: ts('ended_at'),
    lastActiveAt: ts('last_active_at').notNull().defaultNow(),
    // [{name, path: "s3://…", args}] run on every node before it joins
    bootstrapActions: jsonb('bootstrap_actions').$type<BootstrapAction[]>().notNull().default([]),
    // where the Spark master listens, once the MASTER node reported it (SPARK clusters)
    sparkMasterUrl: text('spark_master_url'),
    sparkMasterWebUrl: text('spark_master_web_url'),
  },
  (t) => [
    uniqueIndex('clusters_client_token_idx').on(t.clientToken),
    index('clusters_created_idx').on(t.createdAt, t.id),
    index('clusters_state_idx').on(t.state),
  ],
);

export const instanceGroups = pgTable(
  'instance_groups',
  {
    id: text('id').primaryKey(),
    clusterId: text('cluster_id')
      .notNull()
      .references(() => clusters.id),
    role: text('role').$type<InstanceRole>().notNull(),
    instanceType: text('instance_type').notNull(),
    requestedCount: integer('requested_count').notNull(),
    state: text('state').$type<InstanceGroupState>().notNull(),
    // the group's nodes go only on hosts carrying all these labels (docs/hosts.md "Placement")
    hostLabels: jsonb('host_labels').$type<Record<string, string>>().notNull().default({}),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('instance_groups_cluster_idx').on(t.clusterId)],
);

export const instances = pgTable(
  'instances',
  {
    id: text('id').primaryKey(),
    clusterId: text('cluster_id')
      .notNull()
      .references(() => clusters.id),
    groupId: text('group_id')
      .notNull()
      .references(() => instanceGroups.id),
    role: text('role').$type<InstanceRole>().notNull(),
    instanceType: text('instance_type').notNull(),
    state: text('state').$type<InstanceState>().notNull(),
    stateReasonCode: text('state_reason_code'),
    stateReasonMessage: text('state_reason_message'),
    // the agent's credential (sha256 of a random secret; '' once the instance ended) and the next one,
    // sent in the last welcome and not yet confirmed (docs/agent-protocol.md "Credentials")
    tokenHash: text('token_hash').notNull(),
    nextTokenHash: text('next_token_hash'),
    pid: integer('pid'),
    host: text('host'),
    // the host (hosts module) the instance was placed on; null until placed
    hostId: text('host_id'),
    workdir: text('workdir'),
    // the server process whose gateway holds the agent's connection (null when disconnected)
    connectedServer: text('connected_server'),
    lastHeartbeatAt: ts('last_heartbeat_at'),
    // what the node serves, as its agent reported with `ready` (e.g. sparkWorkerWebUrl)
    endpoints: jsonb('endpoints').$type<InstanceEndpoints>(),
    createdAt: ts('created_at').notNull().defaultNow(),
    readyAt: ts('ready_at'),
    endedAt: ts('ended_at'),
  },
  (t) => [
    index('instances_cluster_idx').on(t.clusterId),
    index('instances_state_idx').on(t.state),
    index('instances_host_idx').on(t.hostId),
  ],
);

export const steps = pgTable(
  'steps',
  {
    id: text('id').primaryKey(),
    clusterId: text('cluster_id')
      .notNull()
      .references(() => clusters.id),
    // order of submission within the whole system; steps of a cluster run in this order
    position: bigserial('position', { mode: 'number' }).notNull(),
    name: text('name').notNull(),
    kind: text('kind').$type<'COMMAND' | 'SCRIPT' | 'SPARK' | 'SQL'>().notNull(),
    spec: jsonb('spec').$type<StepSpec>().notNull(),
    actionOnFailure: text('action_on_failure').$type<ActionOnFailure>().notNull(),
    state: text('state').$type<StepState>().notNull(),
    progress: doublePrecision('progress'),
    instanceId: text('instance_id'),
    pid: integer('pid'),
    exitCode: integer('exit_code'),
    failureReason: text('failure_reason'),
    failureMessage: text('failure_message'),
    // the step's outcome in figures (`::result {...}` from its process, e.g. rows written)
    result: jsonb('result').$type<Record<string, unknown>>(),
    logStreamId: text('log_stream_id').notNull(),
    cancelOption: text('cancel_option').$type<'SEND_INTERRUPT' | 'TERMINATE_PROCESS'>(),
    createdAt: ts('created_at').notNull().defaultNow(),
    startedAt: ts('started_at'),
    endedAt: ts('ended_at'),
  },
  (t) => [
    index('steps_cluster_position_idx').on(t.clusterId, t.position),
    index('steps_active_idx').on(t.clusterId).where(sql`state in ('PENDING','RUNNING','CANCEL_PENDING')`),
    // steps a node runs (agent reconnects, cancellations, failures of the node)
    index('steps_instance_active_idx').on(t.instanceId).where(sql`state in ('RUNNING','CANCEL_PENDING')`),
  ],
);

export const events = pgTable(
  'events',
  {
    clusterId: text('cluster_id').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    at: ts('at').notNull().defaultNow(),
    kind: text('kind').$type<EventKind>().notNull(),
    resourceId: text('resource_id').notNull(),
    state: text('state'),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.clusterId, t.seq] })],
);

// Samples of a cluster's metrics (EMR's CloudWatch names). `dimension` is '' for cluster-wide
// values and the instance id for per-node ones. Old rows are dropped (METRICS_RETENTION_HOURS).
export const clusterMetrics = pgTable(
  'cluster_metrics',
  {
    clusterId: text('cluster_id').notNull(),
    at: ts('at').notNull(),
    name: text('name').notNull(),
    dimension: text('dimension').notNull().default(''),
    value: doublePrecision('value').notNull(),
  },
  (t) => [index('cluster_metrics_series_idx').on(t.clusterId, t.name, t.dimension, t.at), index('cluster_metrics_at_idx').on(t.at)],
);

export type AdjustmentType = 'CHANGE_IN_CAPACITY' | 'PERCENT_CHANGE_IN_CAPACITY' | 'EXACT_CAPACITY';
export type ComparisonOperator = 'GREATER_THAN_OR_EQUAL' | 'GREATER_THAN' | 'LESS_THAN' | 'LESS_THAN_OR_EQUAL';
export type MetricStatistic = 'AVERAGE' | 'MAXIMUM' | 'MINIMUM' | 'SUM' | 'SAMPLE_COUNT';

export interface ScalingRule {
  name: string;
  description: string | null;
  action: { adjustmentType: AdjustmentType; scalingAdjustment: number; coolDown: number };
  trigger: {
    comparisonOperator: ComparisonOperator;
    evaluationPeriods: number;
    metricName: string;
    period: number;
    statistic: MetricStatistic;
    threshold: number;
  };
}

export type ScalingTrigger = 'MANAGED_SCALING' | 'AUTO_SCALING';

// Policies. One managed scaling policy per cluster; one automatic scaling policy per group.
export const managedScalingPolicies = pgTable('managed_scaling_policies', {
  clusterId: text('cluster_id')
    .primaryKey()
    .references(() => clusters.id),
  unitType: text('unit_type').$type<'INSTANCES'>().notNull(),
  minimumCapacityUnits: integer('minimum_capacity_units').notNull(),
  maximumCapacityUnits: integer('maximum_capacity_units').notNull(),
  maximumCoreCapacityUnits: integer('maximum_core_capacity_units'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const autoScalingPolicies = pgTable(
  'auto_scaling_policies',
  {
    groupId: text('group_id')
      .primaryKey()
      .references(() => instanceGroups.id),
    clusterId: text('cluster_id')
      .notNull()
      .references(() => clusters.id),
    minCapacity: integer('min_capacity').notNull(),
    maxCapacity: integer('max_capacity').notNull(),
    // [{name, action {adjustmentType, scalingAdjustment, coolDown}, trigger {comparisonOperator, …}}]
    rules: jsonb('rules').$type<ScalingRule[]>().notNull(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [index('auto_scaling_policies_cluster_idx').on(t.clusterId)],
);

// Every resize a policy decided, with why (Cluster.scalingActivities).
export const scalingActivities = pgTable(
  'scaling_activities',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    clusterId: text('cluster_id')
      .notNull()
      .references(() => clusters.id),
    groupId: text('group_id')
      .notNull()
      .references(() => instanceGroups.id),
    at: ts('at').notNull().defaultNow(),
    fromCount: integer('from_count').notNull(),
    toCount: integer('to_count').notNull(),
    // MANAGED_SCALING or AUTO_SCALING
    trigger: text('trigger').$type<ScalingTrigger>().notNull(),
    ruleName: text('rule_name'),
    reason: text('reason').notNull(),
  },
  (t) => [index('scaling_activities_cluster_idx').on(t.clusterId, t.id), index('scaling_activities_group_idx').on(t.groupId, t.at)],
);

export type ClusterRow = typeof clusters.$inferSelect;
export type InstanceGroupRow = typeof instanceGroups.$inferSelect;
export type InstanceRow = typeof instances.$inferSelect;
export type StepRow = typeof steps.$inferSelect;
export type EventRow = typeof events.$inferSelect;
export type ManagedScalingPolicyRow = typeof managedScalingPolicies.$inferSelect;
export type AutoScalingPolicyRow = typeof autoScalingPolicies.$inferSelect;
export type ScalingActivityRow = typeof scalingActivities.$inferSelect;
