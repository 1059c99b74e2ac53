import { registerEnumType } from 'type-graphql';

// EMR / Lambda state names, as users know them.
export enum ClusterState {
  STARTING = 'STARTING',
  BOOTSTRAPPING = 'BOOTSTRAPPING',
  RUNNING = 'RUNNING',
  WAITING = 'WAITING',
  TERMINATING = 'TERMINATING',
  TERMINATED = 'TERMINATED',
  TERMINATED_WITH_ERRORS = 'TERMINATED_WITH_ERRORS',
}
export enum StepState {
  PENDING = 'PENDING',
  CANCEL_PENDING = 'CANCEL_PENDING',
  RUNNING = 'RUNNING',
  COMPLETED = 'COMPLETED',
  CANCELLED = 'CANCELLED',
  FAILED = 'FAILED',
  INTERRUPTED = 'INTERRUPTED',
}
export enum InstanceState {
  AWAITING_FULFILLMENT = 'AWAITING_FULFILLMENT',
  PROVISIONING = 'PROVISIONING',
  BOOTSTRAPPING = 'BOOTSTRAPPING',
  RUNNING = 'RUNNING',
  TERMINATED = 'TERMINATED',
}
export enum InstanceGroupState {
  PROVISIONING = 'PROVISIONING',
  BOOTSTRAPPING = 'BOOTSTRAPPING',
  RUNNING = 'RUNNING',
  RESIZING = 'RESIZING',
  TERMINATING = 'TERMINATING',
  TERMINATED = 'TERMINATED',
}
export enum InstanceRole {
  MASTER = 'MASTER',
  CORE = 'CORE',
  TASK = 'TASK',
}
export enum ActionOnFailure {
  CONTINUE = 'CONTINUE',
  CANCEL_AND_WAIT = 'CANCEL_AND_WAIT',
  TERMINATE_CLUSTER = 'TERMINATE_CLUSTER',
}
export enum ApplicationName {
  SPARK = 'SPARK',
  DUCKDB = 'DUCKDB',
}
export enum StepKind {
  COMMAND = 'COMMAND',
  SCRIPT = 'SCRIPT',
  SPARK = 'SPARK',
  SQL = 'SQL',
}
export enum ClusterEventKind {
  CLUSTER = 'CLUSTER',
  INSTANCE_GROUP = 'INSTANCE_GROUP',
  INSTANCE = 'INSTANCE',
  STEP = 'STEP',
  SCALING = 'SCALING',
}
export enum CancelStepsRequestStatus {
  SUBMITTED = 'SUBMITTED',
  FAILED = 'FAILED',
}
export enum StepCancellationOption {
  SEND_INTERRUPT = 'SEND_INTERRUPT',
  TERMINATE_PROCESS = 'TERMINATE_PROCESS',
}

registerEnumType(ClusterState, { name: 'ClusterState' });
registerEnumType(StepState, { name: 'StepState' });
registerEnumType(InstanceState, { name: 'InstanceState' });
registerEnumType(InstanceGroupState, { name: 'InstanceGroupState' });
registerEnumType(InstanceRole, { name: 'InstanceRole' });
registerEnumType(ActionOnFailure, { name: 'ActionOnFailure' });
registerEnumType(ApplicationName, { name: 'ApplicationName' });
registerEnumType(StepKind, { name: 'StepKind', description: 'command-runner, script-runner, spark-submit or a DuckDB query' });
registerEnumType(ClusterEventKind, { name: 'ClusterEventKind' });
registerEnumType(CancelStepsRequestStatus, { name: 'CancelStepsRequestStatus' });
registerEnumType(StepCancellationOption, {
  name: 'StepCancellationOption',
  description: 'SEND_INTERRUPT: SIGTERM, then SIGKILL after 10 s; TERMINATE_PROCESS: SIGKILL at once',
});
