// Tables. drizzle-kit generates migrations/ from the tables; each module's queries live beside its service.
import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn, bigint, bigserial, boolean, customType, doublePrecision, index, integer, jsonb, pgTable, primaryKey, smallint, text,
  timestamp, uniqueIndex,
} from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

// Installation-wide values (e.g. which secrets key the stored secrets were made with)
export const settings = pgTable('settings', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
});

export const apiKeys = pgTable('api_keys', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  // "hmac-sha256:<hex>" of the whole key with a key outside the database (services/secrets.ts);
  // rows from before are a bare sha256 (hex), rehashed at their next use. The key itself is never stored.
  hash: text('hash').notNull(),
  // IAM-style action patterns (e.g. "clusters:*"); ['*'] for admin keys
  actions: text('actions').array().notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
  revokedAt: ts('revoked_at'),
}, (t) => [uniqueIndex('api_keys_hash_idx').on(t.hash)]);

export const clusters = pgTable('clusters', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  state: text('state').notNull(),
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
  bootstrapActions: jsonb('bootstrap_actions').notNull().default([]),
  // where the Spark master listens, once the MASTER node reported it (SPARK clusters)
  sparkMasterUrl: text('spark_master_url'),
  sparkMasterWebUrl: text('spark_master_web_url'),
}, (t) => [
  uniqueIndex('clusters_client_token_idx').on(t.clientToken),
  index('clusters_created_idx').on(t.createdAt, t.id),
  index('clusters_state_idx').on(t.state),
]);

export const instanceGroups = pgTable('instance_groups', {
  id: text('id').primaryKey(),
  clusterId: text('cluster_id').notNull().references(() => clusters.id),
  role: text('role').notNull(),
  instanceType: text('instance_type').notNull(),
  requestedCount: integer('requested_count').notNull(),
  state: text('state').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
}, (t) => [index('instance_groups_cluster_idx').on(t.clusterId)]);

export const instances = pgTable('instances', {
  id: text('id').primaryKey(),
  clusterId: text('cluster_id').notNull().references(() => clusters.id),
  groupId: text('group_id').notNull().references(() => instanceGroups.id),
  role: text('role').notNull(),
  instanceType: text('instance_type').notNull(),
  state: text('state').notNull(),
  stateReasonCode: text('state_reason_code'),
  stateReasonMessage: text('state_reason_message'),
  // the agent's credential (sha256 of a random secret; '' once the instance ended) and the next one,
  // sent in the last welcome and not yet confirmed (docs/agent-protocol.md "Credentials")
  tokenHash: text('token_hash').notNull(),
  nextTokenHash: text('next_token_hash'),
  pid: integer('pid'),
  host: text('host'),
  workdir: text('workdir'),
  // the server process whose gateway holds the agent's connection (null when disconnected)
  connectedServer: text('connected_server'),
  lastHeartbeatAt: ts('last_heartbeat_at'),
  // what the node serves, as its agent reported with `ready` (e.g. sparkWorkerWebUrl)
  endpoints: jsonb('endpoints'),
  createdAt: ts('created_at').notNull().defaultNow(),
  readyAt: ts('ready_at'),
  endedAt: ts('ended_at'),
}, (t) => [index('instances_cluster_idx').on(t.clusterId), index('instances_state_idx').on(t.state)]);

export const steps = pgTable('steps', {
  id: text('id').primaryKey(),
  clusterId: text('cluster_id').notNull().references(() => clusters.id),
  // order of submission within the whole system; steps of a cluster run in this order
  position: bigserial('position', { mode: 'number' }).notNull(),
  name: text('name').notNull(),
  kind: text('kind').notNull(),
  spec: jsonb('spec').notNull(),
  actionOnFailure: text('action_on_failure').notNull(),
  state: text('state').notNull(),
  progress: doublePrecision('progress'),
  instanceId: text('instance_id'),
  pid: integer('pid'),
  exitCode: integer('exit_code'),
  failureReason: text('failure_reason'),
  failureMessage: text('failure_message'),
  // the step's outcome in figures (`::result {...}` from its process, e.g. rows written)
  result: jsonb('result'),
  logStreamId: text('log_stream_id').notNull(),
  cancelOption: text('cancel_option'),
  createdAt: ts('created_at').notNull().defaultNow(),
  startedAt: ts('started_at'),
  endedAt: ts('ended_at'),
}, (t) => [
  index('steps_cluster_position_idx').on(t.clusterId, t.position),
  index('steps_active_idx').on(t.clusterId).where(sql`state in ('PENDING','RUNNING','CANCEL_PENDING')`),
  // steps a node runs (agent reconnects, cancellations, failures of the node)
  index('steps_instance_active_idx').on(t.instanceId).where(sql`state in ('RUNNING','CANCEL_PENDING')`),
]);

export const logStreams = pgTable('log_streams', {
  id: text('id').primaryKey(),
  // last stored seq; bumping it locks the row, so lines of one stream commit in seq order (no gaps)
  lastSeq: bigint('last_seq', { mode: 'number' }).notNull().default(0),
  // highest agent-side seq stored: resent batches after a reconnect are de-duplicated against it
  agentSeq: bigint('agent_seq', { mode: 'number' }).notNull().default(0),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const logLines = pgTable('log_lines', {
  streamId: text('stream_id').notNull(),
  seq: bigint('seq', { mode: 'number' }).notNull(),
  at: ts('at').notNull(),
  stream: smallint('stream').notNull(),
  text: text('text').notNull(),
}, (t) => [primaryKey({ columns: [t.streamId, t.seq] })]);

export const events = pgTable('events', {
  clusterId: text('cluster_id').notNull(),
  seq: bigint('seq', { mode: 'number' }).notNull(),
  at: ts('at').notNull().defaultNow(),
  kind: text('kind').notNull(),
  resourceId: text('resource_id').notNull(),
  state: text('state'),
  payload: jsonb('payload').notNull(),
}, (t) => [primaryKey({ columns: [t.clusterId, t.seq] })]);

export const servers = pgTable('servers', {
  id: text('id').primaryKey(),
  agentUrl: text('agent_url').notNull(),
  startedAt: ts('started_at').notNull().defaultNow(),
  heartbeatAt: ts('heartbeat_at').notNull().defaultNow(),
});

// Object keys compare byte-wise (COLLATE "C"): listings come out in S3's UTF-8 binary order and a
// prefix is one range scan of the primary key.
const byteOrderedText = customType<{ data: string }>({ dataType: () => 'text COLLATE "C"' });

export const buckets = pgTable('buckets', {
  name: text('name').primaryKey(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const objects = pgTable('objects', {
  bucket: text('bucket').notNull().references(() => buckets.name),
  key: byteOrderedText('key').notNull(),
  size: bigint('size', { mode: 'number' }).notNull(),
  // S3-style: the MD5 hex of the bytes, in double quotes
  etag: text('etag').notNull(),
  contentType: text('content_type').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
}, (t) => [primaryKey({ columns: [t.bucket, t.key] })]);

// Outbox of object changes (ObjectCreated:Put, ObjectRemoved:Delete), written in the transaction of
// the change: bucket triggers read it in order.
export const objectEvents = pgTable('object_events', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  bucket: text('bucket').notNull(),
  key: text('key').notNull(),
  kind: text('kind').notNull(),
  size: bigint('size', { mode: 'number' }),
  etag: text('etag'),
  at: ts('at').notNull().defaultNow(),
});

// Samples of a cluster's metrics (EMR's CloudWatch names). `dimension` is '' for cluster-wide
// values and the instance id for per-node ones. Old rows are dropped (METRICS_RETENTION_HOURS).
export const clusterMetrics = pgTable('cluster_metrics', {
  clusterId: text('cluster_id').notNull(),
  at: ts('at').notNull(),
  name: text('name').notNull(),
  dimension: text('dimension').notNull().default(''),
  value: doublePrecision('value').notNull(),
}, (t) => [
  index('cluster_metrics_series_idx').on(t.clusterId, t.name, t.dimension, t.at),
  index('cluster_metrics_at_idx').on(t.at),
]);

// Policies. One managed scaling policy per cluster; one automatic scaling policy per group.
export const managedScalingPolicies = pgTable('managed_scaling_policies', {
  clusterId: text('cluster_id').primaryKey().references(() => clusters.id),
  unitType: text('unit_type').notNull(),
  minimumCapacityUnits: integer('minimum_capacity_units').notNull(),
  maximumCapacityUnits: integer('maximum_capacity_units').notNull(),
  maximumCoreCapacityUnits: integer('maximum_core_capacity_units'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const autoScalingPolicies = pgTable('auto_scaling_policies', {
  groupId: text('group_id').primaryKey().references(() => instanceGroups.id),
  clusterId: text('cluster_id').notNull().references(() => clusters.id),
  minCapacity: integer('min_capacity').notNull(),
  maxCapacity: integer('max_capacity').notNull(),
  // [{name, action {adjustmentType, scalingAdjustment, coolDown}, trigger {comparisonOperator, …}}]
  rules: jsonb('rules').notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
}, (t) => [index('auto_scaling_policies_cluster_idx').on(t.clusterId)]);

// Every resize a policy decided, with why (Cluster.scalingActivities).
export const scalingActivities = pgTable('scaling_activities', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  clusterId: text('cluster_id').notNull().references(() => clusters.id),
  groupId: text('group_id').notNull().references(() => instanceGroups.id),
  at: ts('at').notNull().defaultNow(),
  fromCount: integer('from_count').notNull(),
  toCount: integer('to_count').notNull(),
  // MANAGED_SCALING or AUTO_SCALING
  trigger: text('trigger').notNull(),
  ruleName: text('rule_name'),
  reason: text('reason').notNull(),
}, (t) => [
  index('scaling_activities_cluster_idx').on(t.clusterId, t.id),
  index('scaling_activities_group_idx').on(t.groupId, t.at),
]);

// ---- functions (Lambda model) ----

export const functions = pgTable('functions', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  runtime: text('runtime').notNull(),
  handler: text('handler').notNull(),
  description: text('description').notNull().default(''),
  memoryMb: integer('memory_mb').notNull(),
  // the size of the instances' private /tmp (Lambda's EphemeralStorage.Size)
  ephemeralStorageMb: integer('ephemeral_storage_mb').notNull().default(512),
  timeoutSeconds: integer('timeout_seconds').notNull(),
  environment: jsonb('environment').notNull(),
  tags: jsonb('tags').notNull(),
  reservedConcurrency: integer('reserved_concurrency'),
  // base64 sha256 of the code zip (Lambda's CodeSha256); the zip is stored by its hex digest
  codeSha256: text('code_sha256').notNull(),
  codeSize: bigint('code_size', { mode: 'number' }).notNull(),
  state: text('state').notNull(),
  stateReason: text('state_reason'),
  stateReasonCode: text('state_reason_code'),
  lastUpdateStatus: text('last_update_status').notNull(),
  lastUpdateStatusReason: text('last_update_status_reason'),
  // changes with every code or configuration update: warm instances of an older revision are retired
  revisionId: text('revision_id').notNull(),
  maxRetryAttempts: integer('max_retry_attempts').notNull().default(2),
  maxEventAgeSeconds: integer('max_event_age_seconds').notNull().default(21_600),
  onSuccess: text('on_success'),
  onFailure: text('on_failure'),
  lastVersion: integer('last_version').notNull().default(0),
  logStreamId: text('log_stream_id').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
  lastModifiedAt: ts('last_modified_at').notNull().defaultNow(),
}, (t) => [
  uniqueIndex('functions_name_idx').on(t.name),
  index('functions_created_idx').on(t.createdAt, t.id),
  index('functions_pending_idx').on(t.id).where(sql`state = 'Pending' or last_update_status = 'InProgress'`),
]);

export const functionVersions = pgTable('function_versions', {
  functionId: text('function_id').notNull().references(() => functions.id, { onDelete: 'cascade' }),
  version: integer('version').notNull(),
  // the configuration and code snapshot this version runs (runtime, handler, memory, env, …)
  config: jsonb('config').notNull(),
  codeSha256: text('code_sha256').notNull(),
  revisionId: text('revision_id').notNull(),
  description: text('description').notNull().default(''),
  createdAt: ts('created_at').notNull().defaultNow(),
}, (t) => [primaryKey({ columns: [t.functionId, t.version] })]);

export const functionAliases = pgTable('function_aliases', {
  functionId: text('function_id').notNull().references(() => functions.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  functionVersion: text('function_version').notNull(),
  additionalVersion: text('additional_version'),
  additionalWeight: doublePrecision('additional_weight'),
  description: text('description').notNull().default(''),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
}, (t) => [primaryKey({ columns: [t.functionId, t.name] })]);

export const invocations = pgTable('invocations', {
  id: text('id').primaryKey(),
  functionId: text('function_id').notNull(),
  functionName: text('function_name').notNull(),
  qualifier: text('qualifier').notNull(),
  executedVersion: text('executed_version').notNull(),
  invocationType: text('invocation_type').notNull(),
  // QUEUED → RUNNING → SUCCEEDED | FAILED (async, with retries); sync calls are stored once ended
  status: text('status').notNull(),
  payload: text('payload'),
  response: text('response'),
  functionError: text('function_error'),
  errorType: text('error_type'),
  errorMessage: text('error_message'),
  attempts: integer('attempts').notNull().default(0),
  maxRetryAttempts: integer('max_retry_attempts').notNull().default(0),
  maxEventAgeSeconds: integer('max_event_age_seconds'),
  nextAttemptAt: ts('next_attempt_at'),
  claimedBy: text('claimed_by'),
  claimedUntil: ts('claimed_until'),
  // the async invocation whose destination record this is
  sourceInvocationId: text('source_invocation_id'),
  // a trigger's delivery: the trigger and the id of the source event it delivers
  triggerId: text('trigger_id'),
  eventId: text('event_id'),
  coldStart: boolean('cold_start').notNull().default(false),
  initDurationMs: doublePrecision('init_duration_ms'),
  durationMs: doublePrecision('duration_ms'),
  billedDurationMs: integer('billed_duration_ms'),
  memoryMb: integer('memory_mb').notNull(),
  maxMemoryUsedMb: integer('max_memory_used_mb'),
  concurrency: integer('concurrency'),
  instanceId: text('instance_id'),
  logs: jsonb('logs'),
  createdAt: ts('created_at').notNull().defaultNow(),
  startedAt: ts('started_at'),
  endedAt: ts('ended_at'),
}, (t) => [
  index('invocations_function_created_idx').on(t.functionId, t.createdAt, t.id),
  index('invocations_created_idx').on(t.createdAt, t.id),
  index('invocations_queued_idx').on(t.nextAttemptAt).where(sql`status in ('QUEUED', 'RUNNING')`),
  index('invocations_trigger_idx').on(t.triggerId, t.createdAt, t.id).where(sql`trigger_id is not null`),
]);

export const provisionedConcurrency = pgTable('function_provisioned_concurrency', {
  functionId: text('function_id').notNull().references(() => functions.id, { onDelete: 'cascade' }),
  // a published version number or an alias name
  qualifier: text('qualifier').notNull(),
  requested: integer('requested').notNull(),
  // bumped by every put: a provisioning that failed is retried when the setting is written again
  generation: integer('generation').notNull().default(1),
  available: integer('available').notNull().default(0),
  status: text('status').notNull(),
  statusReason: text('status_reason'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
}, (t) => [primaryKey({ columns: [t.functionId, t.qualifier] })]);

// ---- triggers (event sources → functions) ----

export const triggers = pgTable('triggers', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  functionId: text('function_id').notNull().references(() => functions.id, { onDelete: 'cascade' }),
  functionName: text('function_name').notNull(),
  // $LATEST, a version number or an alias
  qualifier: text('qualifier').notNull().default('$LATEST'),
  // HTTP | SCHEDULE | BUCKET | TOPIC | QUEUE | CLUSTER_EVENTS
  sourceType: text('source_type').notNull(),
  // the source's validated settings (its TriggerSourceKind.parse result)
  config: jsonb('config').notNull(),
  enabled: boolean('enabled').notNull().default(true),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
}, (t) => [
  uniqueIndex('triggers_name_idx').on(t.name),
  index('triggers_created_idx').on(t.createdAt, t.id),
  index('triggers_source_idx').on(t.sourceType).where(sql`enabled`),
  index('triggers_function_idx').on(t.functionId),
]);

// Source events waiting for the trigger dispatcher, written in the transaction of the change
// (object changes, cluster and step state changes). The dispatcher deletes the rows it consumed in
// the transaction that queues their deliveries: a row is delivered once, or not yet.
export const triggerOutbox = pgTable('trigger_outbox', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  // BUCKET (objectEventSeq set) or CLUSTER_EVENTS (clusterId + eventSeq set)
  sourceType: text('source_type').notNull(),
  objectEventSeq: bigint('object_event_seq', { mode: 'number' }),
  clusterId: text('cluster_id'),
  eventSeq: bigint('event_seq', { mode: 'number' }),
  at: ts('at').notNull().defaultNow(),
});

// SCHEDULE triggers' state, kept by the schedule source's `saved` hook in the trigger's transaction
// and advanced by the scheduler in the transaction that queues each tick's delivery.
export const triggerSchedules = pgTable('trigger_schedules', {
  triggerId: text('trigger_id').primaryKey().references(() => triggers.id, { onDelete: 'cascade' }),
  // what next_fire_at was computed from (the trigger's config may change under it)
  expression: text('expression').notNull(),
  timezone: text('timezone').notNull(),
  // a rate's first tick: when the schedule was created, changed or re-enabled (ticks are anchor + k·rate)
  anchorAt: ts('anchor_at').notNull(),
  // null: the trigger is disabled, or the schedule has no tick left (a cron whose years are past)
  nextFireAt: ts('next_fire_at'),
  // the scheduled time of the last tick delivered
  lastFiredAt: ts('last_fired_at'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
}, (t) => [
  index('trigger_schedules_due_idx').on(t.nextFireAt).where(sql`next_fire_at is not null`),
]);
// HTTP trigger routes: one per HTTP trigger, unique on method and path shape (parameter names
// erased), so two triggers can never claim the same route, even when created at once.
export const httpRoutes = pgTable('http_routes', {
  triggerId: text('trigger_id').primaryKey().references(() => triggers.id, { onDelete: 'cascade' }),
  // GET | POST | PUT | PATCH | DELETE | HEAD | OPTIONS | ANY
  method: text('method').notNull(),
  // e.g. /items/{}/files/{+}
  shape: text('shape').notNull(),
  // as written, e.g. /items/{id}/files/{path+}
  path: text('path').notNull(),
}, (t) => [uniqueIndex('http_routes_route_idx').on(t.method, t.shape)]);
// Queues (the SQS model): messages live in Postgres until deleted, expired or moved to a dead-letter queue.
export const queues = pgTable('queues', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  visibilityTimeoutSeconds: integer('visibility_timeout_seconds').notNull(),
  messageRetentionSeconds: integer('message_retention_seconds').notNull(),
  delaySeconds: integer('delay_seconds').notNull(),
  receiveWaitSeconds: integer('receive_wait_seconds').notNull(),
  // redrive policy: after maxReceiveCount receives a message moves to this queue (deleting it is refused meanwhile)
  deadLetterQueueId: text('dead_letter_queue_id').references((): AnyPgColumn => queues.id),
  maxReceiveCount: integer('max_receive_count'),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
}, (t) => [uniqueIndex('queues_name_idx').on(t.name), index('queues_created_idx').on(t.createdAt, t.id)]);

export const queueMessages = pgTable('queue_messages', {
  id: text('id').primaryKey(),
  queueId: text('queue_id').notNull().references(() => queues.id, { onDelete: 'cascade' }),
  // receive order among messages visible at the same time (a standard queue promises no order: this is best effort)
  seq: bigserial('seq', { mode: 'number' }).notNull(),
  body: text('body').notNull(),
  md5OfBody: text('md5_of_body').notNull(),
  // [{name, dataType, stringValue, binaryValue}]
  messageAttributes: jsonb('message_attributes').notNull().default([]),
  sentAt: ts('sent_at').notNull().defaultNow(),
  // delayed (never received) or in flight (received) until then
  visibleAt: ts('visible_at').notNull(),
  expiresAt: ts('expires_at').notNull(),
  receiveCount: integer('receive_count').notNull().default(0),
  firstReceivedAt: ts('first_received_at'),
  // the handle of the latest receive: only it deletes the message or changes its visibility
  receiptHandle: text('receipt_handle'),
}, (t) => [
  index('queue_messages_visible_idx').on(t.queueId, t.visibleAt, t.seq),
  index('queue_messages_expires_idx').on(t.expiresAt),
]);

// Topics (the SNS model): a publish fans out to the TOPIC triggers (subscriptions) in its transaction.
export const topics = pgTable('topics', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
}, (t) => [uniqueIndex('topics_name_idx').on(t.name), index('topics_created_idx').on(t.createdAt, t.id)]);

// A queue subscribed to a topic (SNS → SQS fan-out): a publish puts the message in the queue, in its transaction.
export const topicQueueSubscriptions = pgTable('topic_queue_subscriptions', {
  id: text('id').primaryKey(),
  // deleting the topic or the queue is refused while it has subscriptions
  topicId: text('topic_id').notNull().references(() => topics.id),
  queueId: text('queue_id').notNull().references(() => queues.id),
  filterPolicy: jsonb('filter_policy'),
  filterPolicyScope: text('filter_policy_scope').notNull(),
  // the message itself as the body (and its attributes as the message's), not SNS's JSON envelope
  rawMessageDelivery: boolean('raw_message_delivery').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
}, (t) => [uniqueIndex('topic_queue_subscriptions_idx').on(t.topicId, t.queueId), index('topic_queue_subscriptions_queue_idx').on(t.queueId)]);
