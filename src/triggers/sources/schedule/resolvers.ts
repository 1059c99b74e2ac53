import { Arg, Authorized, Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import { DateTimeResolver } from 'graphql-scalars';
import type { TriggerScheduleRow } from '../../tables.js';
import { ScheduleSource } from './graphql.js';
import { Trigger } from '../../graphql.js';
import DataLoader from 'dataloader';
import { perRequest, type Context } from '../../../platform/graphql/context.js';
import type { ScheduleService } from './service.js';
import type { TriggerObject } from '../../resolvers.js';

type ScheduleSourceObject = ScheduleSource & { row: TriggerScheduleRow };

@Resolver(() => Trigger)
export class TriggerScheduleResolver {
  /** SCHEDULE triggers' state by trigger id, one query per request */
  private readonly stateOf: (ctx: Context) => DataLoader<string, TriggerScheduleRow | undefined>;

  constructor(private readonly schedules: ScheduleService) {
    this.stateOf = perRequest(
      () =>
        new DataLoader<string, TriggerScheduleRow | undefined>(async (ids) => {
          const rows = new Map((await schedules.of(ids)).map((r) => [r.triggerId, r]));
          return ids.map((id) => rows.get(id));
        }),
    );
  }

  @FieldResolver(() => ScheduleSource, { nullable: true, description: 'SCHEDULE triggers: the expression and its ticks' })
  async schedule(@Root() trigger: TriggerObject, @Ctx() ctx: Context): Promise<ScheduleSourceObject | null> {
    if (trigger.row.sourceType !== 'SCHEDULE') return null;
    const row = await this.stateOf(ctx).load(trigger.row.id);
    if (!row) return null;
    return { row, expression: row.expression, timezone: row.timezone, nextFireAt: row.nextFireAt, lastFiredAt: row.lastFiredAt };
  }

  @Authorized('triggers:GetTrigger')
  @Query(() => [DateTimeResolver], {
    description: 'Checks a schedule expression: its next fire times after `after` (default now); a rate counts from `after`',
  })
  scheduleNextFireTimes(
    @Arg('expression', () => String) expression: string,
    @Arg('timezone', () => String, { nullable: true }) timezone?: string | null,
    @Arg('count', () => Int, { nullable: true, description: '1 to 100, default 5' }) count?: number | null,
    @Arg('after', () => DateTimeResolver, { nullable: true }) after?: Date | null,
  ): Date[] {
    return this.schedules.check(expression, timezone, count, after);
  }
}

@Resolver(() => ScheduleSource)
export class ScheduleSourceTimesResolver {
  constructor(private readonly schedules: ScheduleService) {}

  @FieldResolver(() => [DateTimeResolver], { description: 'The next fire times (none while the trigger is disabled)' })
  nextFireTimes(
    @Root() schedule: ScheduleSourceObject,
    @Arg('count', () => Int, { defaultValue: 5, description: '1 to 100' }) count: number,
  ): Date[] {
    return this.schedules.nextFireTimes(schedule.row, count);
  }
}
