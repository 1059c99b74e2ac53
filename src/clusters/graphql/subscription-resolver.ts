import { Arg, Ctx, ID, Int, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { EventRow, StepRow } from '../tables.js';
import type { LogLineRow } from '../../logs/tables.js';
import { ENDED_STEP_STATES } from '../tables.js';
import { emptyIterator, prependIterator, transformIterator } from '../../platform/notifications/live-feed.js';
import { authorize } from '../../platform/authorization.js';
import { notFound } from '../../platform/errors.js';
import { ClusterEvent, Step } from './types.js';
import type { Context } from '../../platform/graphql/context.js';
import type { ClusterService } from '../clusters.js';
import type { EventService } from '../events.js';
import type { StepService } from '../steps.js';
import type { LogService } from '../../logs/service.js';
import { toClusterEvent, toStep, type StepObject } from '../../clusters/graphql/mappers.js';
import { LogLine, LogLineBatch, toLogLine } from '../../logs/graphql.js';

type Data<A> = SubscribeResolverData<unknown, A, Context>;

/** A step row with an event's snapshot applied (the event carries every field that changes). */
function applySnapshot(base: StepRow, payload: Record<string, unknown>): StepRow {
  const date = (v: unknown) => (typeof v === 'string' ? new Date(v) : (v as Date | null));
  return {
    ...base,
    state: payload.state as StepRow['state'],
    progress: (payload.progress as number | null) ?? null,
    exitCode: (payload.exitCode as number | null) ?? null,
    pid: (payload.pid as number | null) ?? base.pid,
    instanceId: (payload.instanceId as string | null) ?? base.instanceId,
    failureReason: (payload.failureReason as string | null) ?? null,
    failureMessage: (payload.failureMessage as string | null) ?? null,
    startedAt: date(payload.startedAt) ?? base.startedAt,
    endedAt: date(payload.endedAt) ?? null,
  };
}

async function clusterEventsIterator({ args, context }: Data<{ clusterId: string; after?: string | null }>) {
  authorize(context.principal, 'clusters:DescribeCluster');
  const { clusters, events } = context.resolvers.get(SubscriptionResolver);
  if (!(await clusters.get(args.clusterId))) throw notFound('cluster', args.clusterId, 'clusterId');
  return events.subscribe(args.clusterId, args.after);
}

async function stepUpdatesIterator({ args, context }: Data<{ stepId: string }>) {
  authorize(context.principal, 'clusters:DescribeStep');
  const services = context.resolvers.get(SubscriptionResolver);
  const probe = await services.steps.get(args.stepId);
  if (!probe) throw notFound('step', args.stepId, 'stepId');
  // head first, then the row: a change in between is seen twice (dropped below), never missed
  const head = await services.events.feed.head(probe.clusterId);
  const current = (await services.steps.get(args.stepId))!;
  const ended = (s: StepRow) => ENDED_STEP_STATES.includes(s.state);
  if (ended(current)) return prependIterator([current], emptyIterator<StepRow>());
  const events = services.events.feed.subscribe(probe.clusterId, head);
  let last = JSON.stringify([current.state, current.progress]);
  const updates = transformIterator<EventRow, StepRow>(
    events,
    (e) => {
      if (e.kind !== 'STEP' || e.resourceId !== args.stepId) return undefined;
      const next = applySnapshot(current, e.payload);
      const key = JSON.stringify([next.state, next.progress]);
      if (key === last) return undefined;
      last = key;
      return next;
    },
    ended,
  );
  return prependIterator([current], updates);
}

type LogArgs = Data<{ streamId: string; after?: string | null; tail?: number | null }>;

async function requireLogStream({ args, context }: LogArgs): Promise<LogService> {
  authorize(context.principal, 'logs:GetLogEvents');
  const { logStreams } = context.resolvers.get(SubscriptionResolver);
  if (!(await logStreams.exists(args.streamId))) throw notFound('log stream', args.streamId, 'streamId');
  return logStreams;
}

async function logsIterator(data: LogArgs) {
  const { streamId, after, tail } = data.args;
  return (await requireLogStream(data)).subscribe(streamId, after, tail);
}

async function logBatchesIterator(data: LogArgs) {
  const { streamId, after, tail } = data.args;
  return (await requireLogStream(data)).subscribeBatches(streamId, after, tail);
}

const TAIL_DESCRIPTION = 'instead of `after`: the last `tail` stored lines (at most 1,000), then live';

@Resolver()
export class SubscriptionResolver {
  // read by the subscribe functions above, which type-graphql calls without a resolver object
  constructor(
    readonly clusters: ClusterService,
    readonly events: EventService,
    readonly steps: StepService,
    readonly logStreams: LogService,
  ) {}

  @Subscription(() => ClusterEvent, {
    subscribe: clusterEventsIterator,
    description: 'Every change of the cluster, its groups, instances and steps. Without `after`: from now on.',
  })
  clusterEvents(
    @Root() event: EventRow,
    @Arg('clusterId', () => ID) _clusterId: string,
    @Arg('after', () => String, { nullable: true }) _after?: string,
  ): ClusterEvent {
    return toClusterEvent(event);
  }

  @Subscription(() => Step, {
    subscribe: stepUpdatesIterator,
    description: 'The step now, then each state or progress change; completes when the step ends',
  })
  stepUpdates(@Root() step: StepRow, @Arg('stepId', () => ID) _stepId: string, @Ctx() ctx: Context): StepObject {
    // a subscription's context lives long: nested fields of each update must not read stale caches
    ctx.scope = {};
    return toStep(step);
  }

  @Subscription(() => LogLine, {
    subscribe: logsIterator,
    description: 'Stored lines after the cursor (all without one), or the last `tail` stored lines, then live lines as they are written',
  })
  logs(
    @Root() line: LogLineRow,
    @Arg('streamId', () => ID) _streamId: string,
    @Arg('after', () => String, { nullable: true }) _after?: string,
    @Arg('tail', () => Int, { nullable: true, description: TAIL_DESCRIPTION }) _tail?: number,
  ): LogLine {
    return toLogLine(line);
  }

  @Subscription(() => LogLineBatch, {
    subscribe: logBatchesIterator,
    description:
      'The lines of `logs`, in batches: each message carries every line written since the last one this subscriber was sent, so a subscriber whose connection is behind receives several lines per message',
  })
  logBatches(
    @Root() lines: readonly LogLineRow[],
    @Arg('streamId', () => ID) _streamId: string,
    @Arg('after', () => String, { nullable: true }) _after?: string,
    @Arg('tail', () => Int, { nullable: true, description: TAIL_DESCRIPTION }) _tail?: number,
  ): LogLineBatch {
    return { lines: lines.map(toLogLine) };
  }
}
