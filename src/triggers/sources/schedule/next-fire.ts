// A schedule (`cron(...)` or `rate(...)` in a time zone) and its fire times. Pure: no clock, no I/O.
//
// DST, as EventBridge Scheduler does it: cron fields are matched against the zone's wall clock; a
// local time that a spring-forward change skips does not fire that day, and a local time that a
// fall-back change repeats fires once, at its first occurrence. Rates are fixed durations from
// their anchor (the time the schedule was created, changed or re-enabled), whatever the clock shows.
import { badInput } from '../../../platform/errors.js';
import { nextWall, parseCron, ScheduleSyntaxError, type CronSchedule } from './cron.js';
import { parseRate, type RateSchedule } from './rate.js';
import { instantsOf, isTimeZone, wallAt, wallMs, type Wall } from './zone.js';

export const DEFAULT_TIMEZONE = 'UTC';

export type Schedule = { kind: 'cron'; cron: CronSchedule; timezone: string } | { kind: 'rate'; rate: RateSchedule; timezone: string };

const MINUTE = 60_000;
/** EventBridge's limit; it also bounds the work of checking one (scheduleNextFireTimes checks any string) */
const MAX_EXPRESSION = 256;

/**
 * Checks an expression and time zone; errors are BAD_USER_INPUT on `<field>.expression` or
 * `<field>.timezone` (`expression`, `timezone` when field is ''), the message naming the part of
 * the expression at fault.
 */
export function parseSchedule(expression: string, timezone: string | null | undefined, field: string): Schedule {
  const at = (name: string) => (field ? `${field}.${name}` : name);
  if (expression.length > MAX_EXPRESSION) throw badInput(at('expression'), `must be at most ${MAX_EXPRESSION} characters`);
  const zone = timezone ?? DEFAULT_TIMEZONE;
  if (!isTimeZone(zone))
    throw badInput(at('timezone'), `"${zone}" is not an IANA time zone name (e.g. UTC, Europe/Berlin, America/New_York)`);
  const m = expression.trim().match(/^(cron|rate)\((.*)\)$/s);
  if (!m) throw badInput(at('expression'), 'must be cron(Minutes Hours Day-of-month Month Day-of-week Year) or rate(Value Unit)');
  try {
    return m[1] === 'cron'
      ? { kind: 'cron', cron: parseCron(m[2]!), timezone: zone }
      : { kind: 'rate', rate: parseRate(m[2]!), timezone: zone };
  } catch (e) {
    if (e instanceof ScheduleSyntaxError) throw badInput(at('expression'), e.message);
    throw e;
  }
}

const plusMinute = (w: Wall): Wall => wallAt(wallMs(w) + MINUTE, 'UTC');

/**
 * The first fire time strictly after `after` (ms since the epoch), or null when there is none (a
 * cron whose years have passed). `anchor` is a rate's first tick.
 */
export function nextFire(s: Schedule, after: number, anchor: number): number | null {
  if (s.kind === 'rate') {
    if (after < anchor) return anchor;
    return anchor + (Math.floor((after - anchor) / s.rate.periodMs) + 1) * s.rate.periodMs;
  }
  let from = plusMinute(wallAt(after, s.timezone));
  for (;;) {
    const w = nextWall(s.cron, from);
    if (!w) return null;
    // a skipped local time has no instant; a repeated one fires at its first (earlier) instant only
    const [first] = instantsOf(w, s.timezone);
    if (first !== undefined && first > after) return first;
    from = plusMinute(w);
  }
}

/** Up to `count` fire times after `after`, ascending. */
export function fireTimes(s: Schedule, after: number, count: number, anchor: number): number[] {
  const out: number[] = [];
  let t: number | null = after;
  while (out.length < count && (t = nextFire(s, t, anchor)) !== null) out.push(t);
  return out;
}

/**
 * What the scheduler does with a schedule whose tick `due` has come (missed-tick policy): the
 * latest tick at or before `now` fires, once, if it is at most `graceMs` old; ticks before it are
 * skipped (as EventBridge does not replay the ticks of an outage). `next` is the tick after it.
 */
export function planDue(
  s: Schedule,
  due: number,
  now: number,
  graceMs: number,
  anchor: number,
): { fire: number | null; next: number | null } {
  let latest = due;
  if (due < now - graceMs) {
    const first = nextFire(s, now - graceMs - 1, anchor);
    if (first === null || first > now) return { fire: null, next: first };
    latest = first;
  }
  let next = nextFire(s, latest, anchor);
  while (next !== null && next <= now) {
    latest = next;
    next = nextFire(s, latest, anchor);
  }
  return { fire: latest, next };
}
