import {
  Arg,
  Args,
  Authorized,
  Ctx,
  FieldResolver,
  ID,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
  type SubscribeResolverData,
} from 'type-graphql';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { authorize } from '../platform/authorization.js';
import { ephemeralOf, functionArn } from './functions.js';
import {
  Alias,
  CreateAliasInput,
  CreateAliasPayload,
  CreateFunctionInput,
  CreateFunctionPayload,
  DeleteAliasInput,
  DeleteAliasPayload,
  DeleteFunctionInput,
  DeleteFunctionPayload,
  FunctionConnection,
  FunctionInstances,
  FunctionMetricsDatapoint,
  FunctionState,
  FunctionVersion,
  Invocation,
  InvocationConnection,
  InvocationFilter,
  type InvocationStatus,
  type InvocationType,
  type ApplicationLogLevel,
  type LogFormat,
  type SystemLogLevel,
  InvokeFunctionInput,
  InvokeFunctionPayload,
  InvokeResponseStreamEvent,
  InvokeWithResponseStreamInput,
  LambdaFunction,
  LastUpdateStatus,
  PublishVersionInput,
  PublishVersionPayload,
  type Runtime,
  UpdateAliasInput,
  UpdateAliasPayload,
  UpdateFunctionCodeInput,
  UpdateFunctionCodePayload,
  UpdateFunctionConfigurationInput,
  UpdateFunctionConfigurationPayload,
  ProvisionedConcurrencyConfig,
  type ProvisionedConcurrencyStatus,
  PutProvisionedConcurrencyConfigInput,
  PutProvisionedConcurrencyConfigPayload,
  DeleteProvisionedConcurrencyConfigInput,
  DeleteProvisionedConcurrencyConfigPayload,
} from './graphql.js';
import type { Context } from '../platform/graphql/context.js';
import { invokeWithResponseStream, type ResponseStreamEvent } from './response-stream.js';
import { logConnection } from '../logs/resolvers.js';
import type { LogStreamKind } from '../logs/graphql.js';
import { LogLine, LogLineConnection, LogPageArgs, toLogLine } from '../logs/graphql.js';
import { connection } from '../platform/graphql/connection.js';
import type { FunctionAliasRow, FunctionRow, FunctionVersionRow, InvocationRow, ProvisionedConcurrencyRow } from './tables.js';
import type { LogLineRow } from '../logs/tables.js';
import type { FunctionService } from './functions.js';
import type { InvocationService } from './invocations.js';
import type { ProvisionedConcurrencyService } from './provisioned-concurrency.js';
import type { Secrets } from '../platform/secrets.js';
import type { LogService } from '../logs/service.js';
import type { FunctionLoaders } from './loaders.js';

const STATE: Record<FunctionRow['state'], FunctionState> = {
  Pending: FunctionState.PENDING,
  Active: FunctionState.ACTIVE,
  Inactive: FunctionState.INACTIVE,
  Failed: FunctionState.FAILED,
};
const UPDATE_STATUS: Record<FunctionRow['lastUpdateStatus'], LastUpdateStatus> = {
  Successful: LastUpdateStatus.SUCCESSFUL,
  Failed: LastUpdateStatus.FAILED,
  InProgress: LastUpdateStatus.IN_PROGRESS,
};

// `environment` comes from its field resolver: stored encrypted, opened for the caller
type FunctionObject = Omit<LambdaFunction, 'environment'> & { row: FunctionRow };

function toFunction(row: FunctionRow): FunctionObject {
  return {
    row,
    id: row.id,
    name: row.name,
    arn: functionArn(row.name),
    runtime: row.runtime as Runtime,
    handler: row.handler,
    description: row.description,
    state: STATE[row.state],
    stateReason: row.stateReason,
    stateReasonCode: row.stateReasonCode,
    lastUpdateStatus: UPDATE_STATUS[row.lastUpdateStatus],
    lastUpdateStatusReason: row.lastUpdateStatusReason,
    memoryMb: row.memoryMb,
    ephemeralStorageMb: row.ephemeralStorageMb,
    timeoutSeconds: row.timeoutSeconds,
    executionKeyId: row.executionKey?.keyId ?? null,
    layers: row.layers.map((l) => ({ arn: l.arn, codeSize: l.codeSize })),
    tags: row.tags,
    reservedConcurrency: row.reservedConcurrency,
    codeSha256: row.codeSha256,
    codeSize: row.codeSize,
    revisionId: row.revisionId,
    eventInvokeConfig: {
      maximumRetryAttempts: row.maxRetryAttempts,
      maximumEventAgeSeconds: row.maxEventAgeSeconds,
      onSuccess: row.onSuccess,
      onFailure: row.onFailure,
    },
    loggingConfig: {
      logFormat: (row.loggingConfig?.logFormat ?? 'Text') as LogFormat,
      applicationLogLevel: (row.loggingConfig?.applicationLogLevel ?? null) as ApplicationLogLevel | null,
      systemLogLevel: (row.loggingConfig?.systemLogLevel ?? null) as SystemLogLevel | null,
      logGroup: `/aws/lambda/${row.name}`,
    },
    logStreamId: row.logStreamId,
    createdAt: row.createdAt,
    lastModifiedAt: row.lastModifiedAt,
  };
}

function toVersion(row: FunctionVersionRow): FunctionVersion {
  return {
    version: String(row.version),
    codeSha256: row.codeSha256,
    description: row.description,
    runtime: row.config.runtime as Runtime,
    handler: row.config.handler,
    memoryMb: row.config.memoryMb,
    ephemeralStorageMb: ephemeralOf(row.config),
    timeoutSeconds: row.config.timeoutSeconds,
    createdAt: row.createdAt,
  };
}

function toAlias(row: FunctionAliasRow, functionName: string): Alias {
  return {
    name: row.name,
    arn: functionArn(functionName, row.name),
    functionVersion: row.functionVersion,
    description: row.description,
    routing:
      row.additionalVersion === null
        ? null
        : { additionalVersionWeights: [{ version: row.additionalVersion, weight: row.additionalWeight ?? 0 }] },
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function toProvisioned(row: ProvisionedConcurrencyRow): ProvisionedConcurrencyConfig {
  return {
    qualifier: row.qualifier,
    requestedProvisionedConcurrentExecutions: row.requested,
    availableProvisionedConcurrentExecutions: row.available,
    status: row.status as ProvisionedConcurrencyStatus,
    statusReason: row.statusReason,
    lastModified: row.updatedAt,
  };
}

/** `hidePayload`: the invocation is a delivery of a source the caller may not read (TriggerService.hiddenPayloads). */
/** An invocation as GraphQL returns it; the trigger that made it stays underneath for `payload`. */
export type InvocationObject = Invocation & { triggerId: string | null };

export function toInvocation(row: InvocationRow): InvocationObject {
  return {
    id: row.id,
    functionName: row.functionName,
    qualifier: row.qualifier,
    executedVersion: row.executedVersion,
    invocationType: row.invocationType as InvocationType,
    status: row.status as InvocationStatus,
    payload: parseJson(row.payload),
    triggerId: row.triggerId,
    response: parseJson(row.response),
    functionError: row.functionError,
    errorType: row.errorType,
    errorMessage: row.errorMessage,
    attempts: row.attempts,
    coldStart: row.coldStart,
    initDurationMs: row.initDurationMs,
    durationMs: row.durationMs,
    billedDurationMs: row.billedDurationMs,
    memoryMb: row.memoryMb,
    maxMemoryUsedMb: row.maxMemoryUsedMb,
    instanceId: row.instanceId,
    traceId: row.traceId,
    sourceInvocationId: row.sourceInvocationId,
    logs: (row.logs ?? []).map((l) => ({ at: new Date(l.at), stream: l.stream as LogStreamKind, text: l.text })),
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    endedAt: row.endedAt,
  };
}

@Resolver(() => LambdaFunction)
export class FunctionResolver {
  constructor(
    readonly functionService: FunctionService,
    readonly invocationService: InvocationService,
    private readonly provisioned: ProvisionedConcurrencyService,
    private readonly secrets: Secrets,
    readonly logStreams: LogService,
    private readonly loaders: (ctx: Context) => FunctionLoaders,
  ) {}

  @Authorized('functions:GetFunction')
  @Query(() => LambdaFunction, { nullable: true })
  async function(@Arg('name', () => String) name: string): Promise<FunctionObject | null> {
    const row = await this.functionService.get(name);
    return row ? toFunction(row) : null;
  }

  @Authorized('functions:ListFunctions')
  @Query(() => FunctionConnection, { description: 'Newest first' })
  async functions(
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    return connection(await this.functionService.list(first, after), toFunction, Boolean(after));
  }

  @Authorized('functions:CreateFunction')
  @Mutation(() => CreateFunctionPayload, { description: 'The function starts Pending and becomes Active once its code is unpacked' })
  async createFunction(@Arg('input', () => CreateFunctionInput) input: CreateFunctionInput, @Ctx() ctx: Context) {
    return { function: toFunction(await this.functionService.create(ctx.principal!, input)) };
  }

  @Authorized('functions:UpdateFunctionCode')
  @Mutation(() => UpdateFunctionCodePayload, { description: 'LastUpdateStatus is IN_PROGRESS until the new code is unpacked' })
  async updateFunctionCode(@Arg('input', () => UpdateFunctionCodeInput) input: UpdateFunctionCodeInput, @Ctx() ctx: Context) {
    return { function: toFunction((await this.functionService.updateCode(ctx.principal!, input)).fn) };
  }

  @Authorized('functions:UpdateFunctionConfiguration')
  @Mutation(() => UpdateFunctionConfigurationPayload)
  async updateFunctionConfiguration(
    @Arg('input', () => UpdateFunctionConfigurationInput) input: UpdateFunctionConfigurationInput,
    @Ctx() ctx: Context,
  ) {
    return { function: toFunction(await this.functionService.updateConfiguration(ctx.principal!, input)) };
  }

  @Authorized('functions:DeleteFunction')
  @Mutation(() => DeleteFunctionPayload, { description: 'Deletes the function, its versions and aliases; its instances are stopped' })
  async deleteFunction(@Arg('input', () => DeleteFunctionInput) input: DeleteFunctionInput) {
    return { functionName: (await this.functionService.delete(input.functionName)).name };
  }

  @Authorized('functions:PublishVersion')
  @Mutation(() => PublishVersionPayload, { description: 'Snapshots $LATEST; an unchanged $LATEST gives back the last version' })
  async publishVersion(@Arg('input', () => PublishVersionInput) input: PublishVersionInput) {
    return { version: toVersion(await this.functionService.publishVersion(input)) };
  }

  @Authorized('functions:CreateAlias')
  @Mutation(() => CreateAliasPayload)
  async createAlias(@Arg('input', () => CreateAliasInput) input: CreateAliasInput) {
    return { alias: toAlias(await this.functionService.createAlias(input), input.functionName) };
  }

  @Authorized('functions:UpdateAlias')
  @Mutation(() => UpdateAliasPayload)
  async updateAlias(@Arg('input', () => UpdateAliasInput) input: UpdateAliasInput) {
    return { alias: toAlias(await this.functionService.updateAlias(input), input.functionName) };
  }

  @Authorized('functions:DeleteAlias')
  @Mutation(() => DeleteAliasPayload)
  async deleteAlias(@Arg('input', () => DeleteAliasInput) input: DeleteAliasInput) {
    const row = await this.functionService.deleteAlias(input);
    return { functionName: input.functionName, name: row.name };
  }

  @Authorized('functions:PutProvisionedConcurrencyConfig')
  @Mutation(() => PutProvisionedConcurrencyConfigPayload, {
    description: 'Keeps N instances of a version or alias initialised (status IN_PROGRESS until they are)',
  })
  async putProvisionedConcurrencyConfig(
    @Arg('input', () => PutProvisionedConcurrencyConfigInput) input: PutProvisionedConcurrencyConfigInput,
  ) {
    return { config: toProvisioned(await this.provisioned.put(input)) };
  }

  @Authorized('functions:DeleteProvisionedConcurrencyConfig')
  @Mutation(() => DeleteProvisionedConcurrencyConfigPayload)
  async deleteProvisionedConcurrencyConfig(
    @Arg('input', () => DeleteProvisionedConcurrencyConfigInput) input: DeleteProvisionedConcurrencyConfigInput,
  ) {
    await this.provisioned.delete(input);
    return { functionName: input.functionName, qualifier: input.qualifier };
  }

  @Authorized('functions:InvokeFunction')
  @Mutation(() => InvokeFunctionPayload, {
    description: 'REQUEST_RESPONSE waits for the result; EVENT queues it (202); DRY_RUN only checks (204)',
  })
  async invokeFunction(@Arg('input', () => InvokeFunctionInput) input: InvokeFunctionInput): Promise<InvokeFunctionPayload> {
    const r = await this.invocationService.invoke(input);
    return { ...r, invocation: toInvocation(r.invocation) };
  }

  @Authorized('functions:GetInvocation')
  @Query(() => Invocation, { nullable: true })
  async invocation(@Arg('id', () => ID) id: string): Promise<Invocation | null> {
    const row = await this.invocationService.get(id);
    if (!row) return null;
    return toInvocation(row);
  }

  @Authorized('functions:ListInvocations')
  @Query(() => InvocationConnection, { description: 'Newest first' })
  async invocations(
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('filter', () => InvocationFilter, { nullable: true }) filter?: InvocationFilter,
  ) {
    const page = await this.invocationService.list(
      {
        functionName: filter?.functionName,
        statuses: filter?.status,
        invocationType: filter?.invocationType,
        executedVersion: filter?.executedVersion,
        traceId: filter?.traceId,
        since: filter?.since,
        until: filter?.until,
      },
      first,
      after,
    );
    return connection(page, (row) => toInvocation(row), Boolean(after));
  }

  @Authorized('functions:GetMetrics')
  @Query(() => [FunctionMetricsDatapoint], { description: 'Per period from `since`; only periods with invocations appear' })
  async functionMetrics(
    @Arg('functionName', () => String) functionName: string,
    @Arg('since', () => DateTimeResolver) since: Date,
    @Arg('until', () => DateTimeResolver) until: Date,
    @Arg('periodSeconds', () => Int, { defaultValue: 60 }) periodSeconds: number,
    @Arg('version', () => String, { nullable: true, description: 'executed version; all when absent' }) version?: string,
  ): Promise<FunctionMetricsDatapoint[]> {
    const rows = await this.invocationService.metrics(functionName, version ?? null, since, until, periodSeconds);
    return rows.map((r) => ({
      timestamp: r.bucket,
      invocations: r.invocations,
      errors: r.errors,
      throttles: r.throttles,
      durationAvg: r.durationAvg,
      durationP50: r.durationP50,
      durationP99: r.durationP99,
      concurrentExecutionsMax: r.maxConcurrency,
      coldStarts: r.coldStarts,
      gbSeconds: r.gbSeconds,
    }));
  }

  @FieldResolver(() => JSONResolver, { description: "an object of strings (as Lambda's GetFunctionConfiguration; stored encrypted)" })
  environment(@Root() fn: FunctionObject): Record<string, string> {
    return this.secrets.openEnv(fn.row.environment);
  }

  @FieldResolver(() => [FunctionVersion])
  async versions(@Root() fn: FunctionObject, @Ctx() ctx: Context): Promise<FunctionVersion[]> {
    return (await this.loaders(ctx).functionVersions.load(fn.id)).map(toVersion);
  }

  @FieldResolver(() => [Alias])
  async aliases(@Root() fn: FunctionObject, @Ctx() ctx: Context): Promise<Alias[]> {
    return (await this.loaders(ctx).functionAliases.load(fn.id)).map((a) => toAlias(a, fn.name));
  }

  @FieldResolver(() => [ProvisionedConcurrencyConfig])
  async provisionedConcurrency(@Root() fn: FunctionObject, @Ctx() ctx: Context): Promise<ProvisionedConcurrencyConfig[]> {
    return (await this.loaders(ctx).provisioned.load(fn.id)).map(toProvisioned);
  }

  @FieldResolver(() => FunctionInstances, { description: 'instances on the server that answers' })
  instances(@Root() fn: FunctionObject): FunctionInstances {
    return this.invocationService.instanceCounts(fn.id);
  }

  @Authorized('logs:GetLogEvents')
  @FieldResolver(() => LogLineConnection, {
    description:
      "The function's log: every instance's lines and the platform's, oldest first: `first`/`after` from the start, `last`/`before` from the end",
  })
  async logs(@Root() fn: FunctionObject, @Args(() => LogPageArgs) args: LogPageArgs) {
    return logConnection(this.logStreams, fn.logStreamId, args);
  }

  @Subscription(() => InvokeResponseStreamEvent, {
    subscribe: invokeStreamIterator,
    description:
      "Lambda's InvokeWithResponseStream: the response in payloadChunk events as the function writes it (a function wrapped in " +
      'awslambda.streamifyResponse; any other answers in one chunk), then one invokeComplete; the subscription then completes. ' +
      'A subscriber that reads slowly holds the function back (up to its timeout); one that leaves does not stop it',
  })
  invokeFunctionWithResponseStream(
    @Root() event: ResponseStreamEvent,
    @Arg('input', () => InvokeWithResponseStreamInput) _input: InvokeWithResponseStreamInput,
  ): InvokeResponseStreamEvent {
    if (event.payloadChunk) return { payloadChunk: { payload: event.payloadChunk.payload.toString('base64') }, invokeComplete: null };
    return { payloadChunk: null, invokeComplete: { ...event.invokeComplete!, invocation: toInvocation(event.invokeComplete!.invocation) } };
  }

  @Subscription(() => LogLine, {
    subscribe: functionLogsIterator,
    description: "The function's stored log lines after the cursor (all without one), then live lines",
  })
  functionLogs(
    @Root() line: LogLineRow,
    @Arg('functionName', () => String) _functionName: string,
    @Arg('after', () => String, { nullable: true }) _after?: string,
    @Arg('tail', () => Int, { nullable: true, description: 'instead of `after`: the last `tail` stored lines (at most 1,000), then live' })
    _tail?: number,
  ): LogLine {
    return toLogLine(line);
  }
}

async function invokeStreamIterator({ args, context }: SubscribeResolverData<unknown, { input: InvokeWithResponseStreamInput }, Context>) {
  authorize(context.principal, 'functions:InvokeFunction');
  const self = context.resolvers.get(FunctionResolver);
  return invokeWithResponseStream(self.invocationService, args.input);
}

async function functionLogsIterator({
  args,
  context,
}: SubscribeResolverData<unknown, { functionName: string; after?: string | null; tail?: number | null }, Context>) {
  authorize(context.principal, 'logs:GetLogEvents');
  const self = context.resolvers.get(FunctionResolver);
  const fn = await self.functionService.require(args.functionName, 'functionName');
  return self.logStreams.subscribe(fn.logStreamId, args.after, args.tail);
}
