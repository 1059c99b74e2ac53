// Row shapes as postgres.js returns them (columns camel-cased by the client).
import type { StepMount } from '../../engine/types.js';

export type ClusterState =
  | 'STARTING' | 'BOOTSTRAPPING' | 'RUNNING' | 'WAITING' | 'TERMINATING' | 'TERMINATED' | 'TERMINATED_WITH_ERRORS';
export type StepState = 'PENDING' | 'CANCEL_PENDING' | 'RUNNING' | 'COMPLETED' | 'CANCELLED' | 'FAILED' | 'INTERRUPTED';
export type InstanceState = 'AWAITING_FULFILLMENT' | 'PROVISIONING' | 'BOOTSTRAPPING' | 'RUNNING' | 'TERMINATED';
export type InstanceGroupState = 'PROVISIONING' | 'BOOTSTRAPPING' | 'RUNNING' | 'RESIZING' | 'TERMINATING' | 'TERMINATED';
export type InstanceRole = 'MASTER' | 'CORE' | 'TASK';
export type ActionOnFailure = 'CONTINUE' | 'CANCEL_AND_WAIT' | 'TERMINATE_CLUSTER';
export type EventKind = 'CLUSTER' | 'INSTANCE_GROUP' | 'INSTANCE' | 'STEP' | 'SCALING';

export const ACTIVE_CLUSTER_STATES: ClusterState[] = ['STARTING', 'BOOTSTRAPPING', 'RUNNING', 'WAITING'];
export const ENDED_CLUSTER_STATES: ClusterState[] = ['TERMINATED', 'TERMINATED_WITH_ERRORS'];
export const ENDED_STEP_STATES: StepState[] = ['COMPLETED', 'CANCELLED', 'FAILED', 'INTERRUPTED'];

export interface ClusterRow {
  id: string;
  name: string;
  state: ClusterState;
  stateReasonCode: string | null;
  stateReasonMessage: string | null;
  applications: string[];
  keepAlive: boolean;
  idleTimeoutSeconds: number | null;
  stepConcurrency: number;
  terminationProtected: boolean;
  clientToken: string | null;
  requestHash: string | null;
  eventSeq: number;
  createdAt: Date;
  readyAt: Date | null;
  endedAt: Date | null;
  lastActiveAt: Date;
  bootstrapActions: BootstrapAction[];
  sparkMasterUrl: string | null;
  sparkMasterWebUrl: string | null;
}

/** A script run on every node before it joins (EMR BootstrapActionConfig). */
export interface BootstrapAction { name: string; path: string; args: string[] }

/** Addresses a node serves, reported by its agent when it is ready. */
export interface InstanceEndpoints {
  sparkMasterUrl?: string;
  sparkMasterWebUrl?: string;
  sparkWorkerWebUrl?: string;
  sparkHistoryUrl?: string;
}

export interface InstanceGroupRow {
  id: string;
  clusterId: string;
  role: InstanceRole;
  instanceType: string;
  requestedCount: number;
  state: InstanceGroupState;
  createdAt: Date;
}

export interface InstanceRow {
  id: string;
  clusterId: string;
  groupId: string;
  role: InstanceRole;
  instanceType: string;
  state: InstanceState;
  stateReasonCode: string | null;
  stateReasonMessage: string | null;
  tokenHash: string;
  nextTokenHash: string | null;
  pid: number | null;
  host: string | null;
  workdir: string | null;
  connectedServer: string | null;
  lastHeartbeatAt: Date | null;
  endpoints: InstanceEndpoints | null;
  createdAt: Date;
  readyAt: Date | null;
  endedAt: Date | null;
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
}

export interface StepRow {
  id: string;
  clusterId: string;
  position: number;
  name: string;
  kind: 'COMMAND' | 'SCRIPT' | 'SPARK' | 'SQL';
  spec: StepSpec;
  actionOnFailure: ActionOnFailure;
  state: StepState;
  progress: number | null;
  instanceId: string | null;
  pid: number | null;
  exitCode: number | null;
  failureReason: string | null;
  failureMessage: string | null;
  result: Record<string, unknown> | null;
  logStreamId: string;
  cancelOption: 'SEND_INTERRUPT' | 'TERMINATE_PROCESS' | null;
  createdAt: Date;
  startedAt: Date | null;
  endedAt: Date | null;
}

export interface LogLineRow {
  streamId: string;
  seq: number;
  at: Date;
  stream: number;
  text: string;
}

export interface EventRow {
  clusterId: string;
  seq: number;
  at: Date;
  kind: EventKind;
  resourceId: string;
  state: string | null;
  payload: Record<string, unknown>;
}

export interface ApiKeyRow {
  id: string;
  name: string;
  hash: string;
  actions: string[];
  createdAt: Date;
  revokedAt: Date | null;
}

export interface BucketRow {
  name: string;
  createdAt: Date;
}

export interface ObjectRow {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  contentType: string;
  createdAt: Date;
  updatedAt: Date;
}

export type ObjectEventKind = 'ObjectCreated:Put' | 'ObjectRemoved:Delete';

/** An object change (object_events), in the order of `seq`; BUCKET triggers deliver them. */
export interface ObjectEventRow {
  seq: number;
  bucket: string;
  key: string;
  kind: ObjectEventKind;
  size: number | null;
  etag: string | null;
  at: Date;
}

/**
 * A cluster or step state change (an `events` row; its payload has the reasons for a cluster, the
 * step's snapshot for a step) with the names CLUSTER_EVENTS triggers deliver joined in.
 */
export interface StateChangeRow extends Omit<EventRow, 'kind' | 'state'> {
  kind: 'CLUSTER' | 'STEP';
  state: string;
  clusterName: string;
  stepName: string | null;
  actionOnFailure: string | null;
}

export interface ManagedScalingPolicyRow {
  clusterId: string;
  unitType: 'INSTANCES';
  minimumCapacityUnits: number;
  maximumCapacityUnits: number;
  maximumCoreCapacityUnits: number | null;
  updatedAt: Date;
}

export type AdjustmentType = 'CHANGE_IN_CAPACITY' | 'PERCENT_CHANGE_IN_CAPACITY' | 'EXACT_CAPACITY';
export type ComparisonOperator = 'GREATER_THAN_OR_EQUAL' | 'GREATER_THAN' | 'LESS_THAN' | 'LESS_THAN_OR_EQUAL';
export type MetricStatistic = 'AVERAGE' | 'MAXIMUM' | 'MINIMUM' | 'SUM' | 'SAMPLE_COUNT';

export interface ScalingRule {
  name: string;
  description: string | null;
  action: { adjustmentType: AdjustmentType; scalingAdjustment: number; coolDown: number };
  trigger: {
    comparisonOperator: ComparisonOperator; evaluationPeriods: number; metricName: string; period: number;
    statistic: MetricStatistic; threshold: number;
  };
}

export interface AutoScalingPolicyRow {
  groupId: string;
  clusterId: string;
  minCapacity: number;
  maxCapacity: number;
  rules: ScalingRule[];
  updatedAt: Date;
}

export type ScalingTrigger = 'MANAGED_SCALING' | 'AUTO_SCALING';

export interface ScalingActivityRow {
  id: number;
  clusterId: string;
  groupId: string;
  at: Date;
  fromCount: number;
  toCount: number;
  trigger: ScalingTrigger;
  ruleName: string | null;
  reason: string;
}

export type FunctionRuntimeName = 'NODEJS20' | 'PYTHON311' | 'PROVIDED';
export type FunctionState = 'Pending' | 'Active' | 'Inactive' | 'Failed';
export type LastUpdateStatus = 'Successful' | 'Failed' | 'InProgress';

/** What a version runs: $LATEST's columns, or a published version's snapshot. */
export interface FunctionConfig {
  runtime: FunctionRuntimeName;
  handler: string;
  memoryMb: number;
  /** the instances' /tmp size; absent in versions published before it existed (the default then) */
  ephemeralStorageMb?: number;
  timeoutSeconds: number;
  environment: Record<string, string>;
  codeSha256: string;
  codeSize: number;
  description: string;
}

export interface FunctionRow extends FunctionConfig {
  ephemeralStorageMb: number;
  id: string;
  name: string;
  tags: Record<string, string>;
  reservedConcurrency: number | null;
  state: FunctionState;
  stateReason: string | null;
  stateReasonCode: string | null;
  lastUpdateStatus: LastUpdateStatus;
  lastUpdateStatusReason: string | null;
  revisionId: string;
  maxRetryAttempts: number;
  maxEventAgeSeconds: number;
  onSuccess: string | null;
  onFailure: string | null;
  lastVersion: number;
  logStreamId: string;
  createdAt: Date;
  lastModifiedAt: Date;
}

export interface FunctionVersionRow {
  functionId: string;
  version: number;
  config: FunctionConfig;
  codeSha256: string;
  revisionId: string;
  description: string;
  createdAt: Date;
}

export interface FunctionAliasRow {
  functionId: string;
  name: string;
  functionVersion: string;
  additionalVersion: string | null;
  additionalWeight: number | null;
  description: string;
  createdAt: Date;
  updatedAt: Date;
}

export type InvocationStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'THROTTLED' | 'DRY_RUN';

export interface InvocationLogLine { at: string; stream: 'STDOUT' | 'STDERR' | 'SYSTEM'; text: string }

export interface InvocationRow {
  id: string;
  functionId: string;
  functionName: string;
  qualifier: string;
  executedVersion: string;
  invocationType: 'REQUEST_RESPONSE' | 'EVENT' | 'DRY_RUN';
  status: InvocationStatus;
  payload: string | null;
  response: string | null;
  functionError: string | null;
  errorType: string | null;
  errorMessage: string | null;
  attempts: number;
  maxRetryAttempts: number;
  maxEventAgeSeconds: number | null;
  nextAttemptAt: Date | null;
  claimedBy: string | null;
  claimedUntil: Date | null;
  sourceInvocationId: string | null;
  /** a trigger's delivery: the trigger, and the id of the source event delivered */
  triggerId: string | null;
  eventId: string | null;
  coldStart: boolean;
  initDurationMs: number | null;
  durationMs: number | null;
  billedDurationMs: number | null;
  memoryMb: number;
  maxMemoryUsedMb: number | null;
  concurrency: number | null;
  instanceId: string | null;
  logs: InvocationLogLine[] | null;
  createdAt: Date;
  startedAt: Date | null;
  endedAt: Date | null;
}

export interface ProvisionedConcurrencyRow {
  functionId: string;
  qualifier: string;
  requested: number;
  generation: number;
  available: number;
  status: 'IN_PROGRESS' | 'READY' | 'FAILED';
  statusReason: string | null;
  updatedAt: Date;
}

export type TriggerSourceType = 'HTTP' | 'SCHEDULE' | 'BUCKET' | 'TOPIC' | 'QUEUE' | 'CLUSTER_EVENTS';

export interface TriggerRow {
  id: string;
  name: string;
  functionId: string;
  functionName: string;
  qualifier: string;
  sourceType: TriggerSourceType;
  /** the source's validated settings */
  config: Record<string, unknown>;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface TriggerOutboxRow {
  id: number;
  sourceType: 'BUCKET' | 'CLUSTER_EVENTS';
  objectEventSeq: number | null;
  clusterId: string | null;
  eventSeq: number | null;
  at: Date;
}

export interface TriggerScheduleRow {
  triggerId: string;
  expression: string;
  timezone: string;
  anchorAt: Date;
  nextFireAt: Date | null;
  lastFiredAt: Date | null;
  updatedAt: Date;
}
export interface QueueRow {
  id: string;
  name: string;
  visibilityTimeoutSeconds: number;
  messageRetentionSeconds: number;
  delaySeconds: number;
  receiveWaitSeconds: number;
  deadLetterQueueId: string | null;
  maxReceiveCount: number | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A message attribute of a queue message or a topic publish (SQS/SNS MessageAttributeValue). */
export interface MessageAttribute { name: string; dataType: string; stringValue: string | null; binaryValue: string | null }

export interface QueueMessageRow {
  id: string;
  queueId: string;
  seq: number;
  body: string;
  md5OfBody: string;
  messageAttributes: MessageAttribute[];
  sentAt: Date;
  visibleAt: Date;
  expiresAt: Date;
  receiveCount: number;
  firstReceivedAt: Date | null;
  receiptHandle: string | null;
}

export interface TopicRow {
  id: string;
  name: string;
  createdAt: Date;
}

export interface TopicQueueSubscriptionRow {
  id: string;
  topicId: string;
  queueId: string;
  filterPolicy: Record<string, unknown> | null;
  filterPolicyScope: 'MessageAttributes' | 'MessageBody';
  rawMessageDelivery: boolean;
  createdAt: Date;
}
