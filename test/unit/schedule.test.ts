// EventBridge schedule expressions (src/triggers/sources/schedule): parsing, errors that name the field at
// fault, next fire times (EventBridge's documented examples, leap years, month ends, DST) and the
// missed-tick policy. Expected times are worked out by hand from a calendar, not by the code.
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/platform/errors.js';
import { fireTimes, nextFire, parseSchedule, planDue } from '../../src/triggers/sources/schedule/next-fire.js';
import { scheduledEvent, tickEventId } from '../../src/triggers/sources/schedule/service.js';

const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');
const ms = (s: string) => Date.parse(s);

/** the next `count` fire times after `from`; a rate's anchor is `from` itself, as at creation */
function times(expression: string, from: string, count = 5, timezone?: string): string[] {
  const s = parseSchedule(expression, timezone, 'input.schedule');
  return fireTimes(s, ms(from), count, ms(from)).map(iso);
}

function errorOf(expression: string, timezone?: string): { field?: string; message: string } {
  try {
    parseSchedule(expression, timezone, 'input.schedule');
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('BAD_USER_INPUT');
    return { field: (e as AppError).field, message: (e as AppError).message };
  }
  throw new Error(`${expression} was accepted`);
}

// Thursday 26 November 2026, 09:47:13 UTC
const NOW = '2026-11-26T09:47:13Z';

describe("EventBridge's documented examples, from Thu 2026-11-26 09:47:13 UTC", () => {
  it('cron(0 10 * * ? *): 10:00 every day', () => {
    expect(times('cron(0 10 * * ? *)', NOW, 3)).toEqual(['2026-11-26T10:00:00Z', '2026-11-27T10:00:00Z', '2026-11-28T10:00:00Z']);
  });
  it('cron(15 12 * * ? *): 12:15 every day', () => {
    expect(times('cron(15 12 * * ? *)', NOW, 2)).toEqual(['2026-11-26T12:15:00Z', '2026-11-27T12:15:00Z']);
  });
  it('cron(0 18 ? * MON-FRI *): 18:00 on weekdays, not the weekend', () => {
    expect(times('cron(0 18 ? * MON-FRI *)', NOW, 4)).toEqual([
      '2026-11-26T18:00:00Z',
      '2026-11-27T18:00:00Z',
      '2026-11-30T18:00:00Z',
      '2026-12-01T18:00:00Z',
    ]);
  });
  it('cron(0 8 1 * ? *): 08:00 on the first of each month, across the year end', () => {
    expect(times('cron(0 8 1 * ? *)', NOW, 3)).toEqual(['2026-12-01T08:00:00Z', '2027-01-01T08:00:00Z', '2027-02-01T08:00:00Z']);
  });
  it('cron(0/15 * * * ? *): every 15 minutes', () => {
    expect(times('cron(0/15 * * * ? *)', NOW, 3)).toEqual(['2026-11-26T10:00:00Z', '2026-11-26T10:15:00Z', '2026-11-26T10:30:00Z']);
  });
  it('cron(0/10 * ? * MON-FRI *): every 10 minutes on weekdays; Friday night runs into Monday', () => {
    expect(times('cron(0/10 * ? * MON-FRI *)', NOW, 2)).toEqual(['2026-11-26T09:50:00Z', '2026-11-26T10:00:00Z']);
    expect(times('cron(0/10 * ? * MON-FRI *)', '2026-11-27T23:55:00Z', 2)).toEqual(['2026-11-30T00:00:00Z', '2026-11-30T00:10:00Z']);
  });
  it('cron(0/5 8-17 ? * MON-FRI *): every 5 minutes from 08:00 to 17:55 on weekdays', () => {
    expect(times('cron(0/5 8-17 ? * MON-FRI *)', NOW, 3)).toEqual(['2026-11-26T09:50:00Z', '2026-11-26T09:55:00Z', '2026-11-26T10:00:00Z']);
    expect(times('cron(0/5 8-17 ? * MON-FRI *)', '2026-11-26T17:52:00Z', 2)).toEqual(['2026-11-26T17:55:00Z', '2026-11-27T08:00:00Z']);
  });
  it('cron(0 9 ? * 2#1 *): 09:00 on the first Monday of each month', () => {
    expect(times('cron(0 9 ? * 2#1 *)', NOW, 3)).toEqual(['2026-12-07T09:00:00Z', '2027-01-04T09:00:00Z', '2027-02-01T09:00:00Z']);
  });
  it('cron(0 0 L * ? *): midnight on the last day of each month', () => {
    expect(times('cron(0 0 L * ? *)', NOW, 4)).toEqual([
      '2026-11-30T00:00:00Z',
      '2026-12-31T00:00:00Z',
      '2027-01-31T00:00:00Z',
      '2027-02-28T00:00:00Z',
    ]);
  });
  it('cron(0 0 ? * 6L *): midnight on the last Friday of each month', () => {
    expect(times('cron(0 0 ? * 6L *)', NOW, 3)).toEqual(['2026-11-27T00:00:00Z', '2026-12-25T00:00:00Z', '2027-01-29T00:00:00Z']);
  });
  it('cron(0 0 LW * ? *): the last weekday of each month (Sunday 31 Jan 2027 → Friday 29th)', () => {
    expect(times('cron(0 0 LW * ? *)', NOW, 5)).toEqual([
      '2026-11-30T00:00:00Z',
      '2026-12-31T00:00:00Z',
      '2027-01-29T00:00:00Z',
      '2027-02-26T00:00:00Z',
      '2027-03-31T00:00:00Z',
    ]);
  });
  it('cron(0 0 15W * ? *): the weekday nearest the 15th', () => {
    expect(times('cron(0 0 15W * ? *)', NOW, 2)).toEqual(['2026-12-15T00:00:00Z', '2027-01-15T00:00:00Z']);
    // Sat 15 May 2027 → Fri 14th; Sun 15 Aug 2027 → Mon 16th
    expect(times('cron(0 0 15W * ? *)', '2027-05-01T00:00:00Z', 4)).toEqual([
      '2027-05-14T00:00:00Z',
      '2027-06-15T00:00:00Z',
      '2027-07-15T00:00:00Z',
      '2027-08-16T00:00:00Z',
    ]);
  });
  it('rate(5 minutes) and rate(1 hour) tick from their anchor', () => {
    expect(times('rate(5 minutes)', NOW, 3)).toEqual(['2026-11-26T09:52:13Z', '2026-11-26T09:57:13Z', '2026-11-26T10:02:13Z']);
    expect(times('rate(1 hour)', NOW, 2)).toEqual(['2026-11-26T10:47:13Z', '2026-11-26T11:47:13Z']);
    expect(times('rate(1 minute)', NOW, 1)).toEqual(['2026-11-26T09:48:13Z']);
    expect(times('rate(2 days)', NOW, 1)).toEqual(['2026-11-28T09:47:13Z']);
  });
  it('the reference examples: midnight daily', () => {
    expect(times('cron(0 0 * * ? *)', NOW, 2)).toEqual(['2026-11-27T00:00:00Z', '2026-11-28T00:00:00Z']);
  });
});

describe('wildcards', () => {
  it('names are case-insensitive; ranges wrap (FRI-MON, 22-2)', () => {
    expect(times('cron(0 0 ? * fri-mon *)', NOW, 4)).toEqual([
      '2026-11-27T00:00:00Z',
      '2026-11-28T00:00:00Z',
      '2026-11-29T00:00:00Z',
      '2026-11-30T00:00:00Z',
    ]);
    expect(times('cron(0 22-2 * * ? *)', NOW, 5)).toEqual([
      '2026-11-26T22:00:00Z',
      '2026-11-26T23:00:00Z',
      '2026-11-27T00:00:00Z',
      '2026-11-27T01:00:00Z',
      '2026-11-27T02:00:00Z',
    ]);
    expect(times('cron(0 0 1 JAN,jul ? *)', NOW, 2)).toEqual(['2027-01-01T00:00:00Z', '2027-07-01T00:00:00Z']);
  });
  it('steps: a/n, */n, a-b/n, in days of the month too', () => {
    expect(times('cron(5/20 * * * ? *)', NOW, 3)).toEqual(['2026-11-26T10:05:00Z', '2026-11-26T10:25:00Z', '2026-11-26T10:45:00Z']);
    expect(times('cron(*/20 * * * ? *)', NOW, 2)).toEqual(['2026-11-26T10:00:00Z', '2026-11-26T10:20:00Z']);
    expect(times('cron(0 0 1-10/3 * ? *)', NOW, 5)).toEqual([
      '2026-12-01T00:00:00Z',
      '2026-12-04T00:00:00Z',
      '2026-12-07T00:00:00Z',
      '2026-12-10T00:00:00Z',
      '2027-01-01T00:00:00Z',
    ]);
    expect(times('cron(0 0 1 1/6 ? *)', NOW, 2)).toEqual(['2027-01-01T00:00:00Z', '2027-07-01T00:00:00Z']);
    expect(times('cron(0 0 1 1 ? 2030/10)', NOW, 2)).toEqual(['2030-01-01T00:00:00Z', '2040-01-01T00:00:00Z']);
  });
  it('d#n: the fifth Friday only in months that have one; L alone in DoW is Saturday', () => {
    expect(times('cron(0 12 ? * 6#5 *)', '2026-01-01T00:00:00Z', 4)).toEqual([
      '2026-01-30T12:00:00Z',
      '2026-05-29T12:00:00Z',
      '2026-07-31T12:00:00Z',
      '2026-10-30T12:00:00Z',
    ]);
    expect(times('cron(0 0 ? * SUN#2 *)', NOW, 1)).toEqual(['2026-12-13T00:00:00Z']);
    expect(times('cron(0 0 ? * L *)', NOW, 2)).toEqual(['2026-11-28T00:00:00Z', '2026-12-05T00:00:00Z']);
  });
  it('nW stays inside the month: 1W on a Saturday is Monday the 3rd, 31W on a Sunday is Friday the 29th', () => {
    // 1 May 2027 is a Saturday; 31 Oct 2027 is a Sunday
    expect(times('cron(0 0 1W * ? *)', '2027-04-15T00:00:00Z', 1)).toEqual(['2027-05-03T00:00:00Z']);
    expect(times('cron(0 0 31W * ? *)', '2027-10-01T00:00:00Z', 1)).toEqual(['2027-10-29T00:00:00Z']);
    // 31W does not fire in 30-day months
    expect(times('cron(0 0 31W * ? *)', '2027-11-01T00:00:00Z', 1)).toEqual(['2027-12-31T00:00:00Z']);
  });
  it('a year list ends the schedule: no fire time after its last year', () => {
    expect(times('cron(0 0 1 1 ? 2020)', NOW, 3)).toEqual([]);
    expect(times('cron(0 0 1 1 ? 2027-2028)', NOW, 3)).toEqual(['2027-01-01T00:00:00Z', '2028-01-01T00:00:00Z']);
    expect(times('cron(59 23 31 12 ? 2199)', '2199-12-31T23:58:00Z', 2)).toEqual(['2199-12-31T23:59:00Z']);
  });
});

describe('calendar edges', () => {
  it('29 February fires only in leap years (2100 is not one)', () => {
    expect(times('cron(0 0 29 2 ? *)', NOW, 2)).toEqual(['2028-02-29T00:00:00Z', '2032-02-29T00:00:00Z']);
    expect(times('cron(0 0 29 2 ? 2096-2104)', NOW, 3)).toEqual(['2096-02-29T00:00:00Z', '2104-02-29T00:00:00Z']);
    expect(times('cron(0 12 L 2 ? *)', '2027-01-15T00:00:00Z', 3)).toEqual([
      '2027-02-28T12:00:00Z',
      '2028-02-29T12:00:00Z',
      '2029-02-28T12:00:00Z',
    ]);
  });
  it('day 31 skips the months without one', () => {
    expect(times('cron(0 0 31 * ? *)', '2026-01-15T00:00:00Z', 7)).toEqual([
      '2026-01-31T00:00:00Z',
      '2026-03-31T00:00:00Z',
      '2026-05-31T00:00:00Z',
      '2026-07-31T00:00:00Z',
      '2026-08-31T00:00:00Z',
      '2026-10-31T00:00:00Z',
      '2026-12-31T00:00:00Z',
    ]);
  });
  it('the next minute after a fire time, and a time exactly on a tick is not "after" it', () => {
    const s = parseSchedule('cron(* * * * ? *)', undefined, 'f');
    expect(iso(nextFire(s, ms('2026-11-26T10:00:00Z'), 0)!)).toBe('2026-11-26T10:01:00Z');
    expect(iso(nextFire(s, ms('2026-11-26T09:59:59.999Z'), 0)!)).toBe('2026-11-26T10:00:00Z');
    expect(iso(nextFire(s, ms('2026-12-31T23:59:30Z'), 0)!)).toBe('2027-01-01T00:00:00Z');
  });
});

describe('time zones and DST', () => {
  it('a zone shifts the wall clock: 23:45 on 31 Dec in Kolkata (UTC+5:30)', () => {
    expect(times('cron(45 23 31 12 ? *)', '2026-06-01T00:00:00Z', 1, 'Asia/Kolkata')).toEqual(['2026-12-31T18:15:00Z']);
  });
  it('America/New_York spring forward (8 Mar 2026): 02:30 does not exist, that day is skipped', () => {
    expect(times('cron(30 2 * * ? *)', '2026-03-06T00:00:00Z', 3, 'America/New_York')).toEqual([
      '2026-03-06T07:30:00Z',
      '2026-03-07T07:30:00Z',
      '2026-03-09T06:30:00Z',
    ]);
    // 09:00 local keeps its wall time: 14:00 UTC under EST, 13:00 UTC under EDT
    expect(times('cron(0 9 * * ? *)', '2026-03-07T00:00:00Z', 2, 'America/New_York')).toEqual([
      '2026-03-07T14:00:00Z',
      '2026-03-08T13:00:00Z',
    ]);
  });
  it('America/New_York fall back (1 Nov 2026): 01:30 happens twice and fires once, the first time', () => {
    expect(times('cron(30 1 * * ? *)', '2026-10-31T00:00:00Z', 3, 'America/New_York')).toEqual([
      '2026-10-31T05:30:00Z',
      '2026-11-01T05:30:00Z',
      '2026-11-02T06:30:00Z',
    ]);
    // every 30 minutes: the repeated hour (01:00 and 01:30 EST) does not fire again
    expect(times('cron(0/30 * * * ? *)', '2026-11-01T04:00:00Z', 5, 'America/New_York')).toEqual([
      '2026-11-01T04:30:00Z',
      '2026-11-01T05:00:00Z',
      '2026-11-01T05:30:00Z',
      '2026-11-01T07:00:00Z',
      '2026-11-01T07:30:00Z',
    ]);
    // asked from inside the second 01:xx, the next fire time is 02:00 EST
    expect(times('cron(0/30 * * * ? *)', '2026-11-01T06:10:00Z', 1, 'America/New_York')).toEqual(['2026-11-01T07:00:00Z']);
  });
  it('Europe/Berlin spring forward (29 Mar 2026) and fall back (25 Oct 2026)', () => {
    expect(times('cron(0/30 * * * ? *)', '2026-03-29T00:00:00Z', 4, 'Europe/Berlin')).toEqual([
      '2026-03-29T00:30:00Z',
      '2026-03-29T01:00:00Z',
      '2026-03-29T01:30:00Z',
      '2026-03-29T02:00:00Z',
    ]);
    expect(times('cron(30 2 * * ? *)', '2026-03-28T00:00:00Z', 2, 'Europe/Berlin')).toEqual([
      '2026-03-28T01:30:00Z',
      '2026-03-30T00:30:00Z',
    ]);
    expect(times('cron(30 2 * * ? *)', '2026-10-23T12:00:00Z', 3, 'Europe/Berlin')).toEqual([
      '2026-10-24T00:30:00Z',
      '2026-10-25T00:30:00Z',
      '2026-10-26T01:30:00Z',
    ]);
  });
  it('a half-hour DST change (Australia/Lord_Howe, 5 Apr 2026: UTC+11 → UTC+10:30)', () => {
    expect(times('cron(0 9 ? * MON *)', '2026-03-25T00:00:00Z', 2, 'Australia/Lord_Howe')).toEqual([
      '2026-03-29T22:00:00Z',
      '2026-04-05T22:30:00Z',
    ]);
  });
  it('a rate is a fixed duration: rate(1 day) is 24 hours across a DST change', () => {
    expect(times('rate(1 day)', '2026-03-07T12:00:00Z', 2, 'America/New_York')).toEqual(['2026-03-08T12:00:00Z', '2026-03-09T12:00:00Z']);
  });
  it('UTC is the default; Etc/UTC and named zones are accepted', () => {
    expect(parseSchedule('rate(1 hour)', undefined, 'f').timezone).toBe('UTC');
    expect(parseSchedule('rate(1 hour)', 'Etc/UTC', 'f').timezone).toBe('Etc/UTC');
    expect(times('cron(0 10 * * ? *)', NOW, 1, 'Etc/UTC')).toEqual(['2026-11-26T10:00:00Z']);
  });
});

describe('invalid expressions: BAD_USER_INPUT on the field, the message names the part', () => {
  const expression = 'input.schedule.expression';
  it.each([
    ['every 5 minutes', 'must be cron('],
    ['cron(0 10 * * ?)', 'cron() takes 6 fields (minutes hours day-of-month month day-of-week year), got 5'],
    ['cron(0 10 * * ? * *)', 'got 7'],
    ['cron()', 'got 0'],
    ['cron(60 10 * * ? *)', 'the minutes field (1st): 60 is out of range (0-59)'],
    ['cron(0 24 * * ? *)', 'the hours field (2nd): 24 is out of range (0-23)'],
    ['cron(0 ? * * ? *)', 'the hours field (2nd): ? is only allowed in the day-of-month or day-of-week field'],
    ['cron(0 10 32 * ? *)', 'the day-of-month field (3rd): 32 is out of range (1-31)'],
    ['cron(0 10 0 * ? *)', 'the day-of-month field (3rd): 0 is out of range (1-31)'],
    ['cron(0 10 1,L * ? *)', "the day-of-month field (3rd): L and W can't be combined"],
    ['cron(0 10 L-2 * ? *)', "the day-of-month field (3rd): L and W can't be combined"],
    ['cron(0 10 3#2 * ? *)', 'the day-of-month field (3rd): # is only allowed in the day-of-week field'],
    ['cron(0 10 * 13 ? *)', 'the month field (4th): 13 is out of range (1-12 or JAN-DEC)'],
    ['cron(0 10 * JANUARY ? *)', 'the month field (4th): "JANUARY" is not a value (1-12 or JAN-DEC)'],
    ['cron(0 10 ? * 8 *)', 'the day-of-week field (5th): 8 is out of range (1-7 or SUN-SAT)'],
    ['cron(0 10 ? * 0 *)', 'the day-of-week field (5th): 0 is out of range (1-7 or SUN-SAT)'],
    ['cron(0 10 ? * MON/2 *)', 'the day-of-week field (5th): increments (/) are not allowed here'],
    ['cron(0 10 ? * 3#6 *)', 'the day-of-week field (5th): in "3#6" the week number after # must be 1 to 5'],
    ['cron(0 10 ? * 3#1,6#3 *)', "the day-of-week field (5th): # can't be combined"],
    ['cron(0 10 ? * 6L,2 *)', "the day-of-week field (5th): L can't be combined"],
    ['cron(0 10 ? * 3W *)', 'the day-of-week field (5th): W is only allowed in the day-of-month field'],
    ['cron(0 10 * * ? 1969)', 'the year field (6th): 1969 is out of range (1970-2199)'],
    ['cron(0 10 * * ? 2030-2020)', 'the year field (6th): the range "2030-2020" ends before it starts'],
    ['cron(0/0 10 * * ? *)', 'the minutes field (1st): the increment in "0/0" must be a whole number from 1 to 60'],
    ['cron(0,,5 10 * * ? *)', 'the minutes field (1st): "0,,5" has an empty list item'],
    ['cron(0 10 * * MON *)', "the day-of-month field (3rd) and the day-of-week field (5th) can't both be set: one of them must be ?"],
    ['cron(0 10 ? * ? *)', 'the day-of-month field (3rd) and the day-of-week field (5th) are both ?: set one of them'],
    ['cron(0 10 30 FEB ? *)', 'no date from 1970 to 2199 matches'],
    ['rate(5)', 'rate() takes a value and a unit'],
    ['rate(0 minutes)', 'the rate value "0" must be a whole number from 1 to 10000'],
    ['rate(1.5 hours)', 'the rate value "1.5" must be a whole number'],
    ['rate(1 minutes)', 'the rate unit "minutes" must be minute, hour or day when the value is 1 (rate(1 minute))'],
    ['rate(5 minute)', 'the rate unit "minute" must be minutes, hours or days when the value is more than 1 (rate(5 minutes))'],
    ['rate(2 weeks)', 'the rate unit "weeks" must be minutes, hours or days'],
  ])('%s', (expr, message) => {
    const e = errorOf(expr);
    expect(e.field).toBe(expression);
    expect(e.message).toContain(message);
  });
  it('an expression longer than 256 characters is refused before it is read', () => {
    const list = (n: number) => Array.from({ length: n }, (_, i) => String(i).padStart(2, '0')).join(',');
    const long = `cron(${list(60)} ${list(24)} * * ? *)`;
    expect(long.length).toBe(265);
    expect(errorOf(long)).toEqual({ field: 'input.schedule.expression', message: 'must be at most 256 characters' });
  });

  it('an unknown time zone is an error on the timezone field', () => {
    expect(errorOf('rate(1 hour)', 'Mars/Olympus')).toEqual({
      field: 'input.schedule.timezone',
      message: expect.stringContaining('"Mars/Olympus" is not an IANA time zone'),
    });
    expect(errorOf('rate(1 hour)', '+05:00').field).toBe('input.schedule.timezone');
  });
});

describe('missed-tick policy (planDue)', () => {
  const everyMinute = parseSchedule('cron(* * * * ? *)', undefined, 'f');
  const daily = parseSchedule('cron(0 3 * * ? *)', undefined, 'f');
  const grace = 300_000;

  it('on time: the due tick fires, the next is a minute on', () => {
    expect(planDue(everyMinute, ms('2026-11-26T10:00:00Z'), ms('2026-11-26T10:00:00.004Z'), grace, 0)).toEqual({
      fire: ms('2026-11-26T10:00:00Z'),
      next: ms('2026-11-26T10:01:00Z'),
    });
  });
  it('after an outage: only the latest missed tick fires, once; the older ones are skipped', () => {
    expect(planDue(everyMinute, ms('2026-11-26T10:00:00Z'), ms('2026-11-26T10:07:30Z'), grace, 0)).toEqual({
      fire: ms('2026-11-26T10:07:00Z'),
      next: ms('2026-11-26T10:08:00Z'),
    });
  });
  it('a missed tick older than the grace window does not fire; the schedule moves on', () => {
    expect(planDue(daily, ms('2026-11-26T03:00:00Z'), ms('2026-11-26T03:05:00.001Z'), grace, 0)).toEqual({
      fire: null,
      next: ms('2026-11-27T03:00:00Z'),
    });
    expect(planDue(daily, ms('2026-11-26T03:00:00Z'), ms('2026-11-26T03:05:00Z'), grace, 0)).toEqual({
      fire: ms('2026-11-26T03:00:00Z'),
      next: ms('2026-11-27T03:00:00Z'),
    });
    // days down: the tick inside the window (today's) fires, not the older ones
    expect(planDue(daily, ms('2026-11-20T03:00:00Z'), ms('2026-11-26T03:01:00Z'), grace, 0)).toEqual({
      fire: ms('2026-11-26T03:00:00Z'),
      next: ms('2026-11-27T03:00:00Z'),
    });
  });
  it('rates keep their phase through an outage', () => {
    const rate = parseSchedule('rate(10 minutes)', undefined, 'f');
    const anchor = ms('2026-11-26T10:00:07Z');
    expect(planDue(rate, anchor, ms('2026-11-26T11:03:00Z'), grace, anchor)).toEqual({
      fire: ms('2026-11-26T11:00:07Z'),
      next: ms('2026-11-26T11:10:07Z'),
    });
    expect(planDue(rate, anchor, ms('2026-11-26T11:06:00Z'), grace, anchor)).toEqual({ fire: null, next: ms('2026-11-26T11:10:07Z') });
  });
  it('a schedule whose last year has passed has no next tick', () => {
    const once = parseSchedule('cron(0 0 1 1 ? 2027)', undefined, 'f');
    expect(planDue(once, ms('2027-01-01T00:00:00Z'), ms('2027-01-01T00:00:01Z'), grace, 0)).toEqual({
      fire: ms('2027-01-01T00:00:00Z'),
      next: null,
    });
  });
});

describe('the Scheduled Event', () => {
  const trigger = {
    id: 'trg-1',
    name: 'nightly',
    functionId: 'fn-1',
    functionName: 'f',
    qualifier: '$LATEST',
    sourceType: 'SCHEDULE' as const,
    config: {},
    enabled: true,
    createdAt: new Date(),
    updatedAt: new Date(),
  };
  it("has EventBridge's shape; its time is the tick's, to the second", () => {
    const tick = new Date('2026-11-26T10:00:00Z');
    expect(scheduledEvent(trigger, tick)).toEqual({
      version: '0',
      id: tickEventId('trg-1', tick),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      time: '2026-11-26T10:00:00Z',
      region: 'local',
      resources: ['arn:aws:events:local:000000000000:rule/nightly'],
      detail: {},
    });
  });
  it('its id is a UUID fixed by trigger and tick: a retried tick cannot get another', () => {
    const tick = new Date('2026-11-26T10:00:00Z');
    const id = tickEventId('trg-1', tick);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(tickEventId('trg-1', new Date(tick))).toBe(id);
    expect(tickEventId('trg-1', new Date('2026-11-26T10:01:00Z'))).not.toBe(id);
    expect(tickEventId('trg-2', tick)).not.toBe(id);
  });
});
