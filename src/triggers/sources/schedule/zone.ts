// Wall-clock time in an IANA time zone, with Intl (the ICU time zone data Node ships): instant →
// local fields, and local fields → the instant(s) that show them (none in a DST gap, two in a DST
// overlap). Cron expressions are matched against local fields; the scheduler stores instants.

/** A local date and time to the minute; month 1-12, day 1-31, hour 0-23. */
export interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

const formats = new Map<string, Intl.DateTimeFormat>();

function format(zone: string): Intl.DateTimeFormat {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formats.set(zone, f);
  }
  return f;
}

/** true when Intl knows the zone (an IANA name such as Europe/Berlin, or UTC) */
export function isTimeZone(zone: string): boolean {
  // Intl also accepts offsets like "+05:00" on newer ICU builds; schedules take zone names only
  if (!/^[A-Za-z]/.test(zone)) return false;
  try {
    format(zone);
    return true;
  } catch {
    return false;
  }
}

const isUtc = (zone: string) => zone === 'UTC' || zone === 'Etc/UTC';

/** the local wall time (to the minute) of an instant */
export function wallAt(ms: number, zone: string): Wall {
  if (isUtc(zone)) {
    const d = new Date(ms);
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes() };
  }
  const w: Wall = { year: 0, month: 0, day: 0, hour: 0, minute: 0 };
  for (const p of format(zone).formatToParts(ms)) {
    if (p.type === 'year' || p.type === 'month' || p.type === 'day' || p.type === 'hour' || p.type === 'minute')
      w[p.type] = Number(p.value);
  }
  return w;
}

/** the wall time read as if it were UTC: a number to compare and do minute arithmetic on */
export const wallMs = (w: Wall) => Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);

/** the zone's offset from UTC at an instant, in ms (whole minutes; seconds of historical LMT offsets are dropped) */
function offsetAt(ms: number, zone: string): number {
  const floored = Math.floor(ms / MINUTE) * MINUTE;
  return wallMs(wallAt(floored, zone)) - floored;
}

/**
 * The instants at which the zone's clocks show this wall time, ascending: one normally, none when a
 * DST change skips it (spring forward), two when a DST change repeats it (fall back).
 */
export function instantsOf(w: Wall, zone: string): number[] {
  const local = wallMs(w);
  if (isUtc(zone)) return [local];
  // the offsets in force a day either side cover every offset that can apply to this wall time
  const offsets = new Set([offsetAt(local - DAY, zone), offsetAt(local, zone), offsetAt(local + DAY, zone)]);
  const found = new Set<number>();
  for (const off of offsets) {
    const t = local - off;
    if (wallMs(wallAt(t, zone)) === local) found.add(t);
  }
  return [...found].sort((a, b) => a - b);
}
