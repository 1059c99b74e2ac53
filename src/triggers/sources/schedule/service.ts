// The ticks of SCHEDULE triggers: firing the due ones (each exactly once, whichever server takes
// it), and reading a schedule's next fire times. The expression rules are in ./schedule/.
import { sha256, uuidFromDigest } from '../../../platform/ids.js';
import type { Logger } from 'pino';
import type { Sql, Tx } from '../../../platform/db/client.js';
import { advanceSchedule, earliestFire, lockDueSchedules, schedulesOf } from './queries.js';
import type { TriggerRow, TriggerScheduleRow } from '../../tables.js';
import { AppError } from '../../../platform/errors.js';
import { fireTimes, parseSchedule, planDue, type Schedule } from './next-fire.js';
import type { TriggerDeliveries } from '../../deliveries.js';
import { requireIntInRange } from '../../../platform/validate.js';
import { ACCOUNT, REGION } from '../../../platform/aws-account.js';

/** schedules fired per transaction; a larger crowd due at once takes several */
const BATCH = 100;

export const ruleArn = (triggerName: string) => `arn:aws:events:${REGION}:${ACCOUNT}:rule/${triggerName}`;

/** The same tick of the same trigger always gets the same id (a UUID made from a hash). */
export function tickEventId(triggerId: string, tick: Date): string {
  return uuidFromDigest(sha256(`${triggerId}@${tick.toISOString()}`));
}

/** EventBridge's Scheduled Event; `time` is the tick's scheduled time, not the time it ran. */
export function scheduledEvent(trigger: TriggerRow, tick: Date) {
  return {
    version: '0',
    id: tickEventId(trigger.id, tick),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: ACCOUNT,
    time: tick.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: REGION,
    resources: [ruleArn(trigger.name)],
    detail: {},
  };
}

export class ScheduleService {
  constructor(
    private readonly sql: Sql,
    private readonly deliveries: TriggerDeliveries,
    /** a missed tick older than this when the scheduler gets to it is skipped */
    private readonly missedTickGraceMs: number,
    private readonly log: Logger,
  ) {}

  /**
   * Fires every schedule due at `now`: in one transaction per batch, locks the due rows (skipping
   * those another server holds), queues each tick's delivery and advances the row, so a tick is
   * delivered once or (if the transaction fails) not yet. A batch that fails is taken again with
   * each delivery in a savepoint: the tick that cannot be queued is recorded as a FAILED delivery
   * and its schedule advances, so it cannot hold up the others forever. Returns how many
   * schedules it handled.
   */
  async fireDue(now: Date): Promise<number> {
    let handled = 0;
    for (;;) {
      const n = await this.deliveries.deliverBatch('a batch of schedule ticks', (tx, isolated) => this.fireBatch(tx, now, isolated));
      handled += n;
      if (n < BATCH) return handled;
    }
  }

  private async fireBatch(tx: Tx, now: Date, isolated: boolean): Promise<number> {
    const due = await lockDueSchedules(tx, now, BATCH);
    for (const { schedule, trigger } of due) {
      const s = this.parse(schedule);
      if (!s) {
        await advanceSchedule(tx, schedule.triggerId, null, schedule.lastFiredAt);
        continue;
      }
      const plan = planDue(s, schedule.nextFireAt!.getTime(), now.getTime(), this.missedTickGraceMs, schedule.anchorAt.getTime());
      let lastFiredAt = schedule.lastFiredAt;
      if (plan.fire !== null) {
        lastFiredAt = new Date(plan.fire);
        const event = scheduledEvent(trigger, lastFiredAt);
        await this.deliveries.deliver(tx, isolated, trigger, event.id, () => event);
      }
      await advanceSchedule(tx, schedule.triggerId, plan.next === null ? null : new Date(plan.next), lastFiredAt);
    }
    return due.length;
  }

  /**
   * A stored schedule, checked when it was saved; null if it no longer parses (a time zone gone
   * from a newer ICU): it then stops, on the record, rather than holding up the others.
   */
  private parse(row: TriggerScheduleRow): Schedule | null {
    try {
      return parseSchedule(row.expression, row.timezone, 'schedule');
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      this.log.error(
        { triggerId: row.triggerId, expression: row.expression, timezone: row.timezone, err: err.message },
        'a stored schedule no longer parses; it is stopped',
      );
      return null;
    }
  }

  /** the schedule rows of some triggers (for the GraphQL batch loader) */
  of(triggerIds: readonly string[]): Promise<TriggerScheduleRow[]> {
    return schedulesOf(this.sql, triggerIds);
  }

  /** the earliest tick of any schedule (null: none) */
  earliest(): Promise<Date | null> {
    return earliestFire(this.sql);
  }

  /** The next `count` fire times of a trigger's schedule: none while it is disabled. */
  nextFireTimes(row: TriggerScheduleRow, count: number): Date[] {
    requireIntInRange(count, 'count', 1, 100);
    const s = row.nextFireAt === null ? null : this.parse(row);
    if (!s) return [];
    const first = row.nextFireAt!.getTime();
    return [first, ...fireTimes(s, first, count - 1, row.anchorAt.getTime())].map((t) => new Date(t));
  }

  /**
   * The fire times of an expression after `after` (default now), to check it before use. A rate
   * counts from `after`, so its first time is one period later.
   */
  check(expression: string, timezone: string | null | undefined, count: number | null | undefined, after: Date | null | undefined): Date[] {
    const n = requireIntInRange(count ?? 5, 'count', 1, 100);
    const s = parseSchedule(expression, timezone, '');
    const from = (after ?? new Date()).getTime();
    return fireTimes(s, from, n, from).map((t) => new Date(t));
  }
}
