// EventBridge cron expressions: `cron(Minutes Hours Day-of-month Month Day-of-week Year)`.
// Parsing (with an error that names the field at fault) and the next matching wall-clock minute.
// The rules are EventBridge's (Quartz's, without seconds): DoW 1-7 = SUN-SAT; exactly one of DoM and
// DoW is `?`; `L`, `LW`, `nW` in DoM; `L`, `nL`, `n#k` in DoW; `/` steps in every field but DoW.
import type { Wall } from './zone.js';

type DomSpec =
  | { kind: 'any' }
  | { kind: 'days'; days: number[] }
  | { kind: 'last' }
  | { kind: 'lastWeekday' }
  | { kind: 'nearestWeekday'; day: number };

type DowSpec = { kind: 'any' } | { kind: 'days'; days: number[] } | { kind: 'last'; dow: number } | { kind: 'nth'; dow: number; n: number };

export interface CronSchedule {
  minutes: number[];
  hours: number[];
  dom: DomSpec;
  months: number[];
  dow: DowSpec;
  years: number[];
}

export const MIN_YEAR = 1970;
export const MAX_YEAR = 2199;

interface FieldDef {
  label: string;
  ordinal: string;
  min: number;
  max: number;
  names?: readonly string[];
  step: boolean;
  /** a range whose start is after its end wraps around (FRI-MON, 22-2); not for years */
  wraps: boolean;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;

const F = {
  minutes: { label: 'minutes', ordinal: '1st', min: 0, max: 59, step: true, wraps: true },
  hours: { label: 'hours', ordinal: '2nd', min: 0, max: 23, step: true, wraps: true },
  dom: { label: 'day-of-month', ordinal: '3rd', min: 1, max: 31, step: true, wraps: true },
  month: { label: 'month', ordinal: '4th', min: 1, max: 12, names: MONTHS, step: true, wraps: true },
  dow: { label: 'day-of-week', ordinal: '5th', min: 1, max: 7, names: DAYS, step: false, wraps: true },
  year: { label: 'year', ordinal: '6th', min: MIN_YEAR, max: MAX_YEAR, step: true, wraps: false },
} satisfies Record<string, FieldDef>;

/** a mistake in the expression; the caller turns it into BAD_USER_INPUT on its field */
export class ScheduleSyntaxError extends Error {}

function fail(f: FieldDef, message: string): never {
  throw new ScheduleSyntaxError(`the ${f.label} field (${f.ordinal}): ${message}`);
}

function describe(f: FieldDef): string {
  return f.names ? `${f.min}-${f.max} or ${f.names[0]}-${f.names[f.names.length - 1]}` : `${f.min}-${f.max}`;
}

function value(f: FieldDef, text: string): number {
  let n: number;
  if (/^\d+$/.test(text)) n = Number(text);
  else {
    const i = f.names?.indexOf(text.toUpperCase() as never) ?? -1;
    if (i < 0) fail(f, `"${text}" is not a value (${describe(f)})`);
    n = f.min + i;
  }
  if (n < f.min || n > f.max) fail(f, `${text} is out of range (${describe(f)})`);
  return n;
}

function range(f: FieldDef, from: number, to: number, step: number): number[] {
  const out: number[] = [];
  const span = f.max - f.min + 1;
  const length = to >= from ? to - from : to - from + span;
  for (let k = 0; k <= length; k += step) out.push(((from - f.min + k) % span) + f.min);
  return out;
}

/** `*`, `a`, `a-b`, `*` / `a` / `a-b` followed by `/step`, joined by commas */
function list(f: FieldDef, text: string): number[] {
  const set = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') fail(f, `"${text}" has an empty list item`);
    const [base, stepText, extra] = item.split('/');
    if (extra !== undefined) fail(f, `"${item}" has more than one /`);
    let step = 1;
    if (stepText !== undefined) {
      if (!f.step) fail(f, `increments (/) are not allowed here`);
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1 || Number(stepText) > f.max - f.min + 1) {
        fail(f, `the increment in "${item}" must be a whole number from 1 to ${f.max - f.min + 1}`);
      }
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (base === '*') [from, to] = [f.min, f.max];
    else if (base!.includes('-')) {
      const [a, b, more] = base!.split('-');
      if (more !== undefined || !a || !b) fail(f, `"${item}" is not a range like 1-5`);
      [from, to] = [value(f, a), value(f, b)];
      if (from > to && !f.wraps) fail(f, `the range "${base}" ends before it starts`);
    } else {
      from = value(f, base!);
      // `a/step` runs from a to the end of the field
      to = stepText === undefined ? from : f.max;
    }
    for (const v of range(f, from, to, step)) set.add(v);
  }
  return [...set].sort((a, b) => a - b);
}

/** `?`, `L`, `W` and `#` belong to the day fields */
function noSpecials(f: FieldDef, text: string): void {
  if (text.includes('?')) fail(f, '? is only allowed in the day-of-month or day-of-week field');
  if (text.includes('#')) fail(f, '# is only allowed in the day-of-week field');
  if (!f.names && /[LW]/i.test(text)) fail(f, 'L and W are only allowed in the day-of-month or day-of-week field');
}

function alone(f: FieldDef, text: string, what: string): void {
  if (/[,/*-]/.test(text)) fail(f, `${what} can't be combined with other values, ranges or increments ("${text}")`);
}

function parseDom(text: string): DomSpec {
  const f = F.dom;
  if (text === '?') return { kind: 'any' };
  const upper = text.toUpperCase();
  if (upper === 'L') return { kind: 'last' };
  if (upper === 'LW') return { kind: 'lastWeekday' };
  if (/[LW]/.test(upper)) {
    const m = upper.match(/^(\d+)W$/);
    if (!m) {
      alone(f, text, 'L and W');
      fail(f, `"${text}" is not valid: use L (last day), LW (last weekday) or nW (the weekday nearest day n)`);
    }
    return { kind: 'nearestWeekday', day: value(f, m[1]!) };
  }
  if (text.includes('#')) fail(f, '# is only allowed in the day-of-week field');
  if (text.includes('?')) fail(f, '? must stand alone');
  return { kind: 'days', days: list(f, text) };
}

function parseDow(text: string): DowSpec {
  const f = F.dow;
  if (text === '?') return { kind: 'any' };
  const upper = text.toUpperCase();
  if (upper.includes('#')) {
    const m = upper.match(/^([A-Z]+|\d+)#(\d+)$/);
    if (!m) {
      alone(f, text, '#');
      fail(f, `"${text}" is not valid: use d#n, e.g. 3#2 for the second Tuesday of the month`);
    }
    const n = Number(m[2]);
    if (n < 1 || n > 5) fail(f, `in "${text}" the week number after # must be 1 to 5`);
    return { kind: 'nth', dow: value(f, m[1]!), n };
  }
  // L alone is the last day of the week: every Saturday (Quartz)
  if (upper === 'L') return { kind: 'days', days: [7] };
  if (upper.includes('L')) {
    const m = upper.match(/^([A-Z]+|\d+)L$/);
    if (!m) {
      alone(f, text, 'L');
      fail(f, `"${text}" is not valid: use L or dL, e.g. 6L for the last Friday of the month`);
    }
    return { kind: 'last', dow: value(f, m[1]!) };
  }
  if (/\dW/.test(upper)) fail(f, 'W is only allowed in the day-of-month field');
  if (text.includes('?')) fail(f, '? must stand alone');
  return { kind: 'days', days: list(f, text) };
}

/** The fields of `cron(...)` (the text between the parentheses); throws ScheduleSyntaxError. */
export function parseCron(body: string): CronSchedule {
  const parts = body.trim().split(/\s+/);
  if (parts.length !== 6 || parts[0] === '') {
    throw new ScheduleSyntaxError(
      `cron() takes 6 fields (minutes hours day-of-month month day-of-week year), got ${parts[0] === '' ? 0 : parts.length}`,
    );
  }
  const [mi, h, dom, mo, dow, y] = parts as [string, string, string, string, string, string];
  for (const [f, text] of [
    [F.minutes, mi],
    [F.hours, h],
    [F.month, mo],
    [F.year, y],
  ] as const)
    noSpecials(f, text);
  const schedule: CronSchedule = {
    minutes: list(F.minutes, mi),
    hours: list(F.hours, h),
    dom: parseDom(dom),
    months: list(F.month, mo),
    dow: parseDow(dow),
    years: list(F.year, y),
  };
  if ((dom === '?') === (dow === '?')) {
    throw new ScheduleSyntaxError(
      dom === '?'
        ? 'the day-of-month field (3rd) and the day-of-week field (5th) are both ?: set one of them'
        : "the day-of-month field (3rd) and the day-of-week field (5th) can't both be set: one of them must be ?",
    );
  }
  if (!nextWall(schedule, { year: MIN_YEAR, month: 1, day: 1, hour: 0, minute: 0 })) {
    throw new ScheduleSyntaxError(`no date from ${MIN_YEAR} to ${MAX_YEAR} matches its day-of-month, month, day-of-week and year fields`);
  }
  return schedule;
}

const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();
/** 1 = Sunday … 7 = Saturday, as cron counts */
const weekday = (year: number, month: number, day: number) => new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1;

/** The days of one month the day-of-month and day-of-week fields select, ascending. */
function daysOf(c: CronSchedule, year: number, month: number): number[] {
  const dim = daysInMonth(year, month);
  const all = Array.from({ length: dim }, (_, i) => i + 1);
  switch (c.dom.kind) {
    case 'days':
      return c.dom.days.filter((d) => d <= dim);
    case 'last':
      return [dim];
    case 'lastWeekday': {
      const wd = weekday(year, month, dim);
      return [wd === 7 ? dim - 1 : wd === 1 ? dim - 2 : dim];
    }
    case 'nearestWeekday': {
      // the weekday nearest day n, never leaving the month (Quartz): 1W on a Saturday is Monday the 3rd
      const n = c.dom.day;
      if (n > dim) return [];
      const wd = weekday(year, month, n);
      if (wd === 7) return [n === 1 ? 3 : n - 1];
      if (wd === 1) return [n === dim ? n - 2 : n + 1];
      return [n];
    }
    case 'any':
      break;
  }
  switch (c.dow.kind) {
    case 'days': {
      const days = c.dow.days;
      return all.filter((d) => days.includes(weekday(year, month, d)));
    }
    case 'last': {
      const dow = c.dow.dow;
      const lastDow = weekday(year, month, dim);
      return [dim - ((lastDow - dow + 7) % 7)];
    }
    case 'nth': {
      const first = 1 + ((c.dow.dow - weekday(year, month, 1) + 7) % 7);
      const day = first + 7 * (c.dow.n - 1);
      return day <= dim ? [day] : [];
    }
    case 'any':
      return all;
  }
}

/** The first wall-clock minute at or after `from` that the schedule matches; null if none up to 2199. */
export function nextWall(c: CronSchedule, from: Wall): Wall | null {
  for (const year of c.years) {
    if (year < from.year) continue;
    const inYear = year === from.year;
    for (const month of c.months) {
      if (inYear && month < from.month) continue;
      const inMonth = inYear && month === from.month;
      for (const day of daysOf(c, year, month)) {
        if (inMonth && day < from.day) continue;
        const inDay = inMonth && day === from.day;
        for (const hour of c.hours) {
          if (inDay && hour < from.hour) continue;
          const inHour = inDay && hour === from.hour;
          for (const minute of c.minutes) {
            if (inHour && minute < from.minute) continue;
            return { year, month, day, hour, minute };
          }
        }
      }
    }
  }
  return null;
}
