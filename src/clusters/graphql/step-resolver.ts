import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { AddStepsInput, CancelStepsInput } from './inputs.js';
import { AddStepsPayload, CancelStepsPayload } from './payloads.js';
import { Cluster, CommandStep, FailureDetails, ScriptStep, SparkStep, SqlStep, Step } from './types.js';
import { authorizeBucketUse } from './bucket-access.js';
import type { Context } from '../../platform/graphql/context.js';
import { logConnection } from '../../logs/resolvers.js';
import { toCluster, toStep, type StepObject } from '../../clusters/graphql/mappers.js';
import { LogLineConnection, LogPageArgs } from '../../logs/graphql.js';
import type { StepService } from '../steps.js';
import type { LogService } from '../../logs/service.js';
import type { ClusterLoaders } from '../loaders.js';

@Resolver(() => Step)
export class StepResolver {
  constructor(
    private readonly steps: StepService,
    private readonly logStreams: LogService,
    private readonly loaders: (ctx: Context) => ClusterLoaders,
  ) {}

  @Authorized('clusters:DescribeStep')
  @Query(() => Step, { nullable: true })
  async step(@Arg('id', () => ID) id: string, @Ctx() ctx: Context): Promise<StepObject | null> {
    const row = await this.loaders(ctx).step.load(id);
    return row ? toStep(row) : null;
  }

  @Authorized('clusters:AddSteps')
  @Mutation(() => AddStepsPayload, { description: 'Steps run in order on the master node, stepConcurrencyLevel at a time' })
  async addSteps(@Arg('input', () => AddStepsInput) input: AddStepsInput, @Ctx() ctx: Context) {
    authorizeBucketUse(ctx.principal, input.steps);
    return { steps: (await this.steps.add(input.clusterId, input.steps)).map(toStep) };
  }

  @Authorized('clusters:CancelSteps')
  @Mutation(() => CancelStepsPayload, {
    description: 'PENDING steps are cancelled at once; RUNNING ones go CANCEL_PENDING until their process tree is killed',
  })
  async cancelSteps(@Arg('input', () => CancelStepsInput) input: CancelStepsInput) {
    return { results: await this.steps.cancel(input.clusterId, input.stepIds, input.cancellationOption) };
  }

  @FieldResolver(() => CommandStep, {
    nullable: true,
    description: 'env values only for keys that may add steps (clusters:AddSteps); others see the names, each with null',
  })
  command(@Root() step: StepObject, @Ctx() ctx: Context): CommandStep | null {
    if (step.row.kind !== 'COMMAND') return null;
    return { args: step.row.spec.args, env: this.steps.envFor(ctx.principal, step.row) };
  }

  @FieldResolver(() => ScriptStep, { nullable: true })
  script(@Root() step: StepObject): ScriptStep | null {
    return step.row.kind === 'SCRIPT' ? (step.row.spec.source as unknown as ScriptStep) : null;
  }

  @FieldResolver(() => SparkStep, { nullable: true })
  spark(@Root() step: StepObject): SparkStep | null {
    // with its row: Step.spark.application reads the step's outcome (SparkStepAppResolver)
    return step.row.kind === 'SPARK' ? ({ ...(step.row.spec.source as unknown as SparkStep), row: step.row } as SparkStep) : null;
  }

  @FieldResolver(() => SqlStep, { nullable: true })
  sql(@Root() step: StepObject): SqlStep | null {
    return step.row.kind === 'SQL' ? (step.row.spec.source as unknown as SqlStep) : null;
  }

  @FieldResolver(() => FailureDetails, { nullable: true })
  failureDetails(@Root() step: StepObject): FailureDetails | null {
    const { failureReason: reason, failureMessage: message } = step.row;
    return reason || message ? { reason, message, logFile: step.row.logStreamId } : null;
  }

  @FieldResolver(() => Cluster)
  async cluster(@Root() step: StepObject, @Ctx() ctx: Context) {
    return toCluster((await this.loaders(ctx).cluster.load(step.clusterId))!);
  }

  @Authorized('logs:GetLogEvents')
  @FieldResolver(() => LogLineConnection, {
    description: 'Stored output lines, oldest first: `first`/`after` from the start, `last`/`before` from the end',
  })
  async logs(@Root() step: StepObject, @Args(() => LogPageArgs) args: LogPageArgs) {
    return logConnection(this.logStreams, step.logStreamId, args);
  }
}
