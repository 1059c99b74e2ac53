// GraphQL shapes of functions (the Lambda model): types, inputs, payloads and enums. Shape only.
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { LogStreamKind } from '../logs/graphql.js';
import { Connection } from '../platform/graphql/connection.js';

const EXECUTION_KEY =
  'an API key with S3 credentials: its instances get them as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (with AWS_ENDPOINT_URL_S3), so AWS SDKs reach the buckets as that key; the caller must hold every action of that key';

const LAYERS =
  "layer version ARNs, at most 5, in order: unpacked at /opt, a later layer replacing an earlier one's files; using one needs functions:GetLayerVersion";

export enum Runtime {
  NODEJS20 = 'NODEJS20',
  PYTHON311 = 'PYTHON311',
  PROVIDED = 'PROVIDED',
}
export enum FunctionState {
  PENDING = 'PENDING',
  ACTIVE = 'ACTIVE',
  INACTIVE = 'INACTIVE',
  FAILED = 'FAILED',
}
export enum LastUpdateStatus {
  SUCCESSFUL = 'SUCCESSFUL',
  FAILED = 'FAILED',
  IN_PROGRESS = 'IN_PROGRESS',
}
export enum InvocationType {
  REQUEST_RESPONSE = 'REQUEST_RESPONSE',
  EVENT = 'EVENT',
  DRY_RUN = 'DRY_RUN',
}
export enum LogType {
  NONE = 'NONE',
  TAIL = 'TAIL',
}
export enum InvocationStatus {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  THROTTLED = 'THROTTLED',
  DRY_RUN = 'DRY_RUN',
}
export enum ProvisionedConcurrencyStatus {
  IN_PROGRESS = 'IN_PROGRESS',
  READY = 'READY',
  FAILED = 'FAILED',
}
// the stored values are Lambda's ("Text", "JSON")
export enum LogFormat {
  TEXT = 'Text',
  JSON = 'JSON',
}
export enum ApplicationLogLevel {
  TRACE = 'TRACE',
  DEBUG = 'DEBUG',
  INFO = 'INFO',
  WARN = 'WARN',
  ERROR = 'ERROR',
  FATAL = 'FATAL',
}
export enum SystemLogLevel {
  DEBUG = 'DEBUG',
  INFO = 'INFO',
  WARN = 'WARN',
}
registerEnumType(LogFormat, {
  name: 'LogFormat',
  description: "Lambda's log formats: TEXT lines, or JSON objects (application and system logs)",
});
registerEnumType(ApplicationLogLevel, { name: 'ApplicationLogLevel' });
registerEnumType(SystemLogLevel, { name: 'SystemLogLevel' });
registerEnumType(ProvisionedConcurrencyStatus, { name: 'ProvisionedConcurrencyStatus' });
registerEnumType(Runtime, {
  name: 'Runtime',
  description: "NODEJS20 (handler file.export), PYTHON311 (module.function), PROVIDED (the package's bootstrap)",
});
registerEnumType(FunctionState, { name: 'FunctionState', description: "Lambda's function states" });
registerEnumType(LastUpdateStatus, { name: 'LastUpdateStatus' });
registerEnumType(InvocationType, { name: 'InvocationType' });
registerEnumType(LogType, { name: 'LogType' });
registerEnumType(InvocationStatus, { name: 'InvocationStatus', description: 'QUEUED/RUNNING: async invocations on their way' });

@ObjectType()
export class EventInvokeConfig {
  @Field(() => Int) maximumRetryAttempts!: number;
  @Field(() => Int) maximumEventAgeSeconds!: number;
  @Field(() => String, { nullable: true, description: 'function invoked with the record of a successful async invocation' }) onSuccess!:
    | string
    | null;
  @Field(() => String, { nullable: true, description: 'function invoked with the record of a failed async invocation' }) onFailure!:
    | string
    | null;
}

@ObjectType({ description: "Lambda's advanced logging controls" })
export class LoggingConfig {
  @Field(() => LogFormat) logFormat!: LogFormat;
  @Field(() => ApplicationLogLevel, {
    nullable: true,
    description: 'JSON only: the runtime writes nothing below it (AWS_LAMBDA_LOG_LEVEL in the instance)',
  })
  applicationLogLevel!: ApplicationLogLevel | null;
  @Field(() => SystemLogLevel, {
    nullable: true,
    description: "JSON only: the platform's events below it are left out (start and report INFO, a failed invocation's WARN)",
  })
  systemLogLevel!: SystemLogLevel | null;
  @Field(() => String, { description: 'the log group the instances are told (AWS_LAMBDA_LOG_GROUP_NAME): /aws/lambda/<name>' })
  logGroup!: string;
}

@ObjectType()
export class FunctionVersion {
  @Field(() => String) version!: string;
  @Field(() => String) codeSha256!: string;
  @Field(() => String) description!: string;
  @Field(() => Runtime) runtime!: Runtime;
  @Field(() => String) handler!: string;
  @Field(() => Int) memoryMb!: number;
  @Field(() => Int) ephemeralStorageMb!: number;
  @Field(() => Int) timeoutSeconds!: number;
  @Field(() => DateTimeResolver) createdAt!: Date;
}

@ObjectType()
export class VersionWeight {
  @Field(() => String) version!: string;
  @Field(() => Float) weight!: number;
}

@ObjectType()
export class AliasRouting {
  @Field(() => [VersionWeight]) additionalVersionWeights!: VersionWeight[];
}

@ObjectType()
export class Alias {
  @Field(() => String) name!: string;
  @Field(() => String) arn!: string;
  @Field(() => String) functionVersion!: string;
  @Field(() => AliasRouting, { nullable: true }) routing!: AliasRouting | null;
  @Field(() => String) description!: string;
  @Field(() => DateTimeResolver) createdAt!: Date;
  @Field(() => DateTimeResolver) updatedAt!: Date;
}

@ObjectType({ description: 'Instances kept initialised for a version or alias (on each server)' })
export class ProvisionedConcurrencyConfig {
  @Field(() => String) qualifier!: string;
  @Field(() => Int) requestedProvisionedConcurrentExecutions!: number;
  @Field(() => Int) availableProvisionedConcurrentExecutions!: number;
  @Field(() => ProvisionedConcurrencyStatus) status!: ProvisionedConcurrencyStatus;
  @Field(() => String, { nullable: true }) statusReason!: string | null;
  @Field(() => DateTimeResolver) lastModified!: Date;
}

@ObjectType({ description: 'Instances of a function on this server' })
export class FunctionInstances {
  @Field(() => Int, { description: 'running an invocation (or starting for one)' }) busy!: number;
  @Field(() => Int) total!: number;
}

@ObjectType({ description: 'A layer version a function lists' })
export class FunctionLayerRef {
  @Field(() => String) arn!: string;
  @Field(() => Int) codeSize!: number;
}

@ObjectType('Function', { description: 'A function (Lambda model); $LATEST is its mutable configuration' })
export class LambdaFunction {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => String) arn!: string;
  @Field(() => Runtime) runtime!: Runtime;
  @Field(() => String) handler!: string;
  @Field(() => String) description!: string;
  @Field(() => FunctionState) state!: FunctionState;
  @Field(() => String, { nullable: true }) stateReason!: string | null;
  @Field(() => String, { nullable: true }) stateReasonCode!: string | null;
  @Field(() => LastUpdateStatus) lastUpdateStatus!: LastUpdateStatus;
  @Field(() => String, { nullable: true }) lastUpdateStatusReason!: string | null;
  @Field(() => Int) memoryMb!: number;
  @Field(() => Int, { description: "the size of each instance's private /tmp in MB (Lambda's EphemeralStorage.Size)" })
  ephemeralStorageMb!: number;
  @Field(() => ID, { nullable: true, description: 'the API key whose S3 credentials the instances get (null: none)' })
  executionKeyId!: string | null;
  @Field(() => [FunctionLayerRef], { description: 'the layer versions its instances see at /opt, in order' })
  layers!: FunctionLayerRef[];
  @Field(() => Int) timeoutSeconds!: number;
  @Field(() => JSONResolver) environment!: Record<string, string>;
  @Field(() => JSONResolver) tags!: Record<string, string>;
  @Field(() => Int, { nullable: true }) reservedConcurrency!: number | null;
  @Field(() => String, { description: "base64 sha256 of the code zip, as Lambda's CodeSha256" }) codeSha256!: string;
  @Field(() => Int) codeSize!: number;
  @Field(() => String) revisionId!: string;
  @Field(() => EventInvokeConfig) eventInvokeConfig!: EventInvokeConfig;
  @Field(() => LoggingConfig) loggingConfig!: LoggingConfig;
  @Field(() => ID, { description: "the function's log stream (every instance's lines)" }) logStreamId!: string;
  @Field(() => DateTimeResolver) createdAt!: Date;
  @Field(() => DateTimeResolver) lastModifiedAt!: Date;
}

@ObjectType()
export class FunctionConnection extends Connection(LambdaFunction, 'Function') {}

@ObjectType()
export class InvocationLogLine {
  @Field(() => DateTimeResolver) at!: Date;
  @Field(() => LogStreamKind) stream!: LogStreamKind;
  @Field(() => String) text!: string;
}

@ObjectType()
export class Invocation {
  @Field(() => ID, { description: 'the request id (awsRequestId in the handler)' }) id!: string;
  @Field(() => String) functionName!: string;
  @Field(() => String) qualifier!: string;
  @Field(() => String) executedVersion!: string;
  @Field(() => InvocationType) invocationType!: InvocationType;
  @Field(() => InvocationStatus) status!: InvocationStatus;
  // Invocation.payload is resolved by the triggers module (InvocationPayloadResolver): a delivery's
  // event is shown only to keys that may read its trigger's source
  payload!: unknown;
  @Field(() => JSONResolver, { nullable: true }) response!: unknown;
  @Field(() => String, { nullable: true, description: 'Handled or Unhandled' }) functionError!: string | null;
  @Field(() => String, { nullable: true }) errorType!: string | null;
  @Field(() => String, { nullable: true }) errorMessage!: string | null;
  @Field(() => Int) attempts!: number;
  @Field(() => Boolean) coldStart!: boolean;
  @Field(() => Float, { nullable: true }) initDurationMs!: number | null;
  @Field(() => Float, { nullable: true }) durationMs!: number | null;
  @Field(() => Int, { nullable: true, description: 'duration (and init, on a cold start) rounded up to 1 ms' }) billedDurationMs!:
    | number
    | null;
  @Field(() => Int) memoryMb!: number;
  @Field(() => Int, { nullable: true }) maxMemoryUsedMb!: number | null;
  @Field(() => String, { nullable: true }) instanceId!: string | null;
  @Field(() => String, {
    nullable: true,
    description: 'the X-Ray trace id its runs get (the Root of Lambda-Runtime-Trace-Id and _X_AMZN_TRACE_ID), the same for every attempt',
  })
  traceId!: string | null;
  @Field(() => ID, { nullable: true, description: 'for a destination record: the async invocation it reports on' }) sourceInvocationId!:
    | string
    | null;
  @Field(() => [InvocationLogLine], { description: "this invocation's log, START to REPORT (the last 256 KB)" }) logs!: InvocationLogLine[];
  @Field(() => DateTimeResolver) createdAt!: Date;
  @Field(() => DateTimeResolver, { nullable: true }) startedAt!: Date | null;
  @Field(() => DateTimeResolver, { nullable: true }) endedAt!: Date | null;
}

@ObjectType()
export class InvocationConnection extends Connection(Invocation, 'Invocation') {}

@ObjectType()
export class FunctionMetricsDatapoint {
  @Field(() => DateTimeResolver) timestamp!: Date;
  @Field(() => Int) invocations!: number;
  @Field(() => Int) errors!: number;
  @Field(() => Int) throttles!: number;
  @Field(() => Float, { nullable: true }) durationAvg!: number | null;
  @Field(() => Float, { nullable: true }) durationP50!: number | null;
  @Field(() => Float, { nullable: true }) durationP99!: number | null;
  @Field(() => Int, { nullable: true }) concurrentExecutionsMax!: number | null;
  @Field(() => Int) coldStarts!: number;
  @Field(() => Float) gbSeconds!: number;
}

@ObjectType()
export class InvokeFunctionPayload {
  @Field(() => Invocation) invocation!: Invocation;
  @Field(() => Int, { description: '200 RequestResponse, 202 Event, 204 DryRun' }) statusCode!: number;
  @Field(() => JSONResolver, { nullable: true }) payload!: unknown;
  @Field(() => String, { nullable: true }) functionError!: string | null;
  @Field(() => String, { nullable: true, description: 'logType TAIL: the last 4 KB of the log, base64' }) logResult!: string | null;
  @Field(() => String) executedVersion!: string;
}

@ObjectType()
export class CreateFunctionPayload {
  @Field(() => LambdaFunction) function!: LambdaFunction;
}
@ObjectType()
export class UpdateFunctionCodePayload {
  @Field(() => LambdaFunction) function!: LambdaFunction;
}
@ObjectType()
export class UpdateFunctionConfigurationPayload {
  @Field(() => LambdaFunction) function!: LambdaFunction;
}
@ObjectType()
export class DeleteFunctionPayload {
  @Field(() => String) functionName!: string;
}
@ObjectType()
export class PublishVersionPayload {
  @Field(() => FunctionVersion) version!: FunctionVersion;
}
@ObjectType()
export class CreateAliasPayload {
  @Field(() => Alias) alias!: Alias;
}
@ObjectType()
export class UpdateAliasPayload {
  @Field(() => Alias) alias!: Alias;
}
@ObjectType()
export class PutProvisionedConcurrencyConfigPayload {
  @Field(() => ProvisionedConcurrencyConfig) config!: ProvisionedConcurrencyConfig;
}
@ObjectType()
export class DeleteProvisionedConcurrencyConfigPayload {
  @Field(() => String) functionName!: string;
  @Field(() => String) qualifier!: string;
}
@ObjectType()
export class DeleteAliasPayload {
  @Field(() => String) functionName!: string;
  @Field(() => String) name!: string;
}

// ---- inputs ----

@InputType()
export class FunctionFileInput {
  @Field(() => String, { description: 'relative path inside the package' }) path!: string;
  @Field(() => String, { description: 'UTF-8 text' }) content!: string;
  @Field(() => Boolean, { nullable: true, description: 'mode 0755 (a PROVIDED bootstrap)' }) executable?: boolean;
}

@InputType({ description: 'Exactly one of zipBase64, s3Uri, files' })
export class FunctionCodeInput {
  @Field(() => String, { nullable: true }) zipBase64?: string;
  @Field(() => String, { nullable: true }) s3Uri?: string;
  @Field(() => [FunctionFileInput], { nullable: true }) files?: FunctionFileInput[];
}

@InputType()
export class EventInvokeConfigInput {
  @Field(() => Int, { nullable: true, description: '0–2, default 2' }) maximumRetryAttempts?: number;
  @Field(() => Int, { nullable: true, description: '60–21600, default 21600' }) maximumEventAgeSeconds?: number;
  @Field(() => String, { nullable: true, description: 'a function name; "" removes it' }) onSuccess?: string;
  @Field(() => String, { nullable: true, description: 'a function name; "" removes it' }) onFailure?: string;
}

@InputType({ description: 'fields left out keep their value; the levels are set with the JSON format only (INFO by default)' })
export class LoggingConfigInput {
  @Field(() => LogFormat, { nullable: true }) logFormat?: LogFormat;
  @Field(() => ApplicationLogLevel, { nullable: true }) applicationLogLevel?: ApplicationLogLevel;
  @Field(() => SystemLogLevel, { nullable: true }) systemLogLevel?: SystemLogLevel;
}

@InputType()
export class CreateFunctionInput {
  @Field(() => String) name!: string;
  @Field(() => Runtime) runtime!: Runtime;
  @Field(() => String) handler!: string;
  @Field(() => FunctionCodeInput) code!: FunctionCodeInput;
  @Field(() => Int, { nullable: true, description: '128–10240, default 128' }) memoryMb?: number;
  @Field(() => Int, { nullable: true, description: 'the private /tmp size: 512–10240, default 512' }) ephemeralStorageMb?: number;
  @Field(() => Int, { nullable: true, description: '1–900, default 3' }) timeoutSeconds?: number;
  @Field(() => JSONResolver, { nullable: true, description: 'an object of strings, at most 4 KB' }) environment?: unknown;
  @Field(() => Int, { nullable: true }) reservedConcurrency?: number;
  @Field(() => String, { nullable: true }) description?: string;
  @Field(() => JSONResolver, { nullable: true }) tags?: unknown;
  @Field(() => EventInvokeConfigInput, { nullable: true }) eventInvokeConfig?: EventInvokeConfigInput;
  @Field(() => LoggingConfigInput, { nullable: true, description: 'default: the TEXT format' }) loggingConfig?: LoggingConfigInput;
  @Field(() => ID, { nullable: true, description: EXECUTION_KEY })
  executionKeyId?: string;
  @Field(() => [String], { nullable: true, description: LAYERS })
  layers?: string[];
}

@InputType()
export class UpdateFunctionCodeInput {
  @Field(() => String) functionName!: string;
  @Field(() => FunctionCodeInput) code!: FunctionCodeInput;
}

@InputType()
export class UpdateFunctionConfigurationInput {
  @Field(() => String) functionName!: string;
  @Field(() => Runtime, { nullable: true }) runtime?: Runtime;
  @Field(() => String, { nullable: true }) handler?: string;
  @Field(() => Int, { nullable: true }) memoryMb?: number;
  @Field(() => Int, { nullable: true, description: '512–10240' }) ephemeralStorageMb?: number;
  @Field(() => Int, { nullable: true }) timeoutSeconds?: number;
  @Field(() => JSONResolver, { nullable: true }) environment?: unknown;
  @Field(() => Int, { nullable: true, description: '-1 removes the reservation' }) reservedConcurrency?: number;
  @Field(() => String, { nullable: true }) description?: string;
  @Field(() => JSONResolver, { nullable: true }) tags?: unknown;
  @Field(() => EventInvokeConfigInput, { nullable: true }) eventInvokeConfig?: EventInvokeConfigInput;
  @Field(() => LoggingConfigInput, { nullable: true }) loggingConfig?: LoggingConfigInput;
  @Field(() => ID, { nullable: true, description: `${EXECUTION_KEY}; "" removes it` })
  executionKeyId?: string;
  @Field(() => [String], { nullable: true, description: `${LAYERS}; [] removes them` })
  layers?: string[];
}

@InputType()
export class DeleteFunctionInput {
  @Field(() => String) functionName!: string;
}

@InputType()
export class PublishVersionInput {
  @Field(() => String) functionName!: string;
  @Field(() => String, { nullable: true }) description?: string;
  @Field(() => String, { nullable: true, description: 'publish only if $LATEST still has this code' }) codeSha256?: string;
}

@InputType()
export class VersionWeightInput {
  @Field(() => String) version!: string;
  @Field(() => Float) weight!: number;
}

@InputType()
export class AliasRoutingInput {
  @Field(() => [VersionWeightInput], { nullable: true }) additionalVersionWeights?: VersionWeightInput[];
}

@InputType()
export class CreateAliasInput {
  @Field(() => String) functionName!: string;
  @Field(() => String) name!: string;
  @Field(() => String) functionVersion!: string;
  @Field(() => String, { nullable: true }) description?: string;
  @Field(() => AliasRoutingInput, { nullable: true }) routing?: AliasRoutingInput;
}

@InputType()
export class UpdateAliasInput {
  @Field(() => String) functionName!: string;
  @Field(() => String) name!: string;
  @Field(() => String, { nullable: true }) functionVersion?: string;
  @Field(() => String, { nullable: true }) description?: string;
  @Field(() => AliasRoutingInput, { nullable: true, description: 'replaces the routing; { additionalVersionWeights: [] } removes it' })
  routing?: AliasRoutingInput;
}

@InputType()
export class PutProvisionedConcurrencyConfigInput {
  @Field(() => String) functionName!: string;
  @Field(() => String, { description: 'a published version or an alias' }) qualifier!: string;
  @Field(() => Int) provisionedConcurrentExecutions!: number;
}

@InputType()
export class DeleteProvisionedConcurrencyConfigInput {
  @Field(() => String) functionName!: string;
  @Field(() => String) qualifier!: string;
}

@InputType()
export class DeleteAliasInput {
  @Field(() => String) functionName!: string;
  @Field(() => String) name!: string;
}

@InputType()
export class InvokeFunctionInput {
  @Field(() => String) functionName!: string;
  @Field(() => String, { nullable: true, description: 'version number, alias, or $LATEST (default)' }) qualifier?: string;
  @Field(() => JSONResolver, { nullable: true, description: 'the event; {} when absent' }) payload?: unknown;
  @Field(() => InvocationType, { nullable: true }) invocationType?: InvocationType;
  @Field(() => LogType, { nullable: true }) logType?: LogType;
  @Field(() => String, { nullable: true, description: 'JSON passed to the handler as context.clientContext' }) clientContext?: string;
}

@InputType({ description: "Lambda's InvokeWithResponseStream: a synchronous invocation whose response arrives as the function writes it" })
export class InvokeWithResponseStreamInput {
  @Field(() => String) functionName!: string;
  @Field(() => String, { nullable: true, description: 'version number, alias, or $LATEST (default)' }) qualifier?: string;
  @Field(() => JSONResolver, { nullable: true, description: 'the event; {} when absent' }) payload?: unknown;
  @Field(() => LogType, { nullable: true }) logType?: LogType;
  @Field(() => String, { nullable: true, description: 'JSON passed to the handler as context.clientContext' }) clientContext?: string;
}

@ObjectType({ description: 'Bytes of the response, as the function wrote them (one read of its stream: at most 64 KB)' })
export class InvokeResponseStreamPayloadChunk {
  @Field(() => String, { description: 'base64' }) payload!: string;
}

@ObjectType({ description: "The invocation's end (Lambda's InvokeComplete)" })
export class InvokeResponseStreamComplete {
  @Field(() => String, { nullable: true, description: 'the error type of a failed invocation (e.g. Sandbox.Timedout)' }) errorCode!:
    | string
    | null;
  @Field(() => String, { nullable: true, description: 'its message' }) errorDetails!: string | null;
  @Field(() => String, { nullable: true, description: 'logType TAIL: the last 4 KB of the log, base64' }) logResult!: string | null;
  @Field(() => String) executedVersion!: string;
  @Field(() => String, {
    nullable: true,
    description: 'the Content-Type the function streamed with (null: it is not streamified and answered in one chunk)',
  })
  responseStreamContentType!: string | null;
  @Field(() => Invocation) invocation!: Invocation;
}

@ObjectType({ description: 'One event of invokeFunctionWithResponseStream: payload chunks, then one invokeComplete' })
export class InvokeResponseStreamEvent {
  @Field(() => InvokeResponseStreamPayloadChunk, { nullable: true }) payloadChunk!: InvokeResponseStreamPayloadChunk | null;
  @Field(() => InvokeResponseStreamComplete, { nullable: true }) invokeComplete!: InvokeResponseStreamComplete | null;
}

@InputType()
export class InvocationFilter {
  @Field(() => String, { nullable: true }) functionName?: string;
  @Field(() => [InvocationStatus], { nullable: true }) status?: InvocationStatus[];
  @Field(() => InvocationType, { nullable: true }) invocationType?: InvocationType;
  @Field(() => String, { nullable: true }) executedVersion?: string;
  @Field(() => String, { nullable: true, description: 'an X-Ray trace id (1-<8 hex>-<24 hex>)' }) traceId?: string;
  @Field(() => DateTimeResolver, { nullable: true }) since?: Date;
  @Field(() => DateTimeResolver, { nullable: true }) until?: Date;
}
