// SCHEDULE triggers (EventBridge schedules): a cron(...) or rate(...) expression in a time zone.
// The trigger row holds the settings; trigger_schedules holds the next tick, kept here in the
// trigger's transaction and advanced by the scheduler (src/triggers/sources/schedule/service.ts).
import { lockSchedule, upsertSchedule } from './queries.js';
import { badInput } from '../../../platform/errors.js';
import { nextFire, parseSchedule } from './next-fire.js';
import type { TriggerSourceKind } from '../types.js';

export interface ScheduleTriggerConfig {
  expression: string;
  timezone: string;
}

export const scheduleSource: TriggerSourceKind<ScheduleTriggerConfig> = {
  type: 'SCHEDULE',
  field: 'schedule',
  parse(raw, field) {
    const input = (raw ?? {}) as { expression?: unknown; timezone?: unknown };
    if (typeof input.expression !== 'string') throw badInput(`${field}.expression`, 'is required');
    if (input.timezone != null && typeof input.timezone !== 'string') throw badInput(`${field}.timezone`, 'must be a time zone name');
    const schedule = parseSchedule(input.expression, input.timezone as string | null | undefined, field);
    return { expression: input.expression.trim(), timezone: schedule.timezone };
  },

  /**
   * Disabled: no tick is due. Created, re-enabled or with a new expression or zone: ticks start
   * from now (a rate's first tick is now). Otherwise (a new qualifier, say) the phase and a tick
   * that is due but not yet fired stay as they are.
   */
  async saved(tx, trigger) {
    const config = trigger.config as unknown as ScheduleTriggerConfig;
    const current = await lockSchedule(tx, trigger.id);
    // whole seconds, as event times are: a rate's ticks and its events' times then agree
    const now = Math.floor(Date.now() / 1000) * 1000;
    const same = current?.expression === config.expression && current.timezone === config.timezone;
    if (trigger.enabled && same && current!.nextFireAt !== null) return;
    let nextFireAt: Date | null = null;
    if (trigger.enabled) {
      // from now on, and never a tick time this trigger has fired already (re-enabled within its second)
      const after = Math.max(now - 1, current?.lastFiredAt?.getTime() ?? -Infinity);
      const next = nextFire(parseSchedule(config.expression, config.timezone, 'schedule'), after, now);
      nextFireAt = next === null ? null : new Date(next);
    }
    await upsertSchedule(tx, {
      triggerId: trigger.id,
      expression: config.expression,
      timezone: config.timezone,
      anchorAt: new Date(now),
      nextFireAt,
      lastFiredAt: current?.lastFiredAt ?? null,
    });
  },
};
