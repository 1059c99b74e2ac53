import type { Db } from '../../../platform/db/client.js';
import type { TriggerRow, TriggerScheduleRow } from '../../tables.js';

/** The schedule of a trigger, locked for the caller's transaction (waits for a tick in progress). */
export async function lockSchedule(db: Db, triggerId: string): Promise<TriggerScheduleRow | undefined> {
  const [row] = await db<TriggerScheduleRow[]>`select * from trigger_schedules where trigger_id = ${triggerId} for update`;
  return row;
}

export async function upsertSchedule(db: Db, s: Omit<TriggerScheduleRow, 'updatedAt'>): Promise<void> {
  await db`
    insert into trigger_schedules (trigger_id, expression, timezone, anchor_at, next_fire_at, last_fired_at)
    values (${s.triggerId}, ${s.expression}, ${s.timezone}, ${s.anchorAt}, ${s.nextFireAt}, ${s.lastFiredAt})
    on conflict (trigger_id) do update set expression = excluded.expression, timezone = excluded.timezone,
      anchor_at = excluded.anchor_at, next_fire_at = excluded.next_fire_at, last_fired_at = excluded.last_fired_at, updated_at = now()`;
}

export async function schedulesOf(db: Db, triggerIds: readonly string[]): Promise<TriggerScheduleRow[]> {
  return db<TriggerScheduleRow[]>`select * from trigger_schedules where trigger_id = any(${db.array(triggerIds as string[])})`;
}

/**
 * Due schedules with their triggers, locked; the rows another server is firing are skipped, so
 * each tick is taken by exactly one transaction.
 */
export async function lockDueSchedules(
  db: Db,
  now: Date,
  limit: number,
): Promise<Array<{ schedule: TriggerScheduleRow; trigger: TriggerRow }>> {
  const schedules = await db<TriggerScheduleRow[]>`
    select * from trigger_schedules where next_fire_at <= ${now}
    order by next_fire_at limit ${limit} for update skip locked`;
  if (schedules.length === 0) return [];
  // not locked: a trigger update holds its row and waits for ours (FOR UPDATE above); locking it here could deadlock
  const triggers = await db<TriggerRow[]>`select * from triggers where id = any(${db.array(schedules.map((s) => s.triggerId))})`;
  const byId = new Map(triggers.map((t) => [t.id, t]));
  return schedules.flatMap((schedule) => {
    const trigger = byId.get(schedule.triggerId);
    return trigger ? [{ schedule, trigger }] : [];
  });
}

export async function advanceSchedule(db: Db, triggerId: string, nextFireAt: Date | null, lastFiredAt: Date | null): Promise<void> {
  await db`update trigger_schedules set next_fire_at = ${nextFireAt}, last_fired_at = ${lastFiredAt}, updated_at = now() where trigger_id = ${triggerId}`;
}

/** the earliest tick of any schedule, for the scheduler's sleep */
export async function earliestFire(db: Db): Promise<Date | null> {
  const [row] = await db<Array<{ at: Date | null }>>`select min(next_fire_at) as at from trigger_schedules`;
  return row?.at ?? null;
}
