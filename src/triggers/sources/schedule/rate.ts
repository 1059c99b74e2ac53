// EventBridge rate expressions: `rate(N unit)`, unit minute|hour|day when N = 1, else
// minutes|hours|days. A rate is a fixed duration (a day is 24 hours, through DST changes too).
import { ScheduleSyntaxError } from './cron.js';

export interface RateSchedule {
  value: number;
  unit: 'minutes' | 'hours' | 'days';
  periodMs: number;
}

const UNIT_MS = { minutes: 60_000, hours: 3_600_000, days: 86_400_000 } as const;
/** a period beyond this (~27 years) could not tick twice before 2199; it is a typo */
const MAX_VALUE = 10_000;

/** The text between the parentheses of `rate(...)`; throws ScheduleSyntaxError. */
export function parseRate(body: string): RateSchedule {
  const m = body.trim().match(/^(\S+)\s+(\S+)$/);
  if (!m) throw new ScheduleSyntaxError('rate() takes a value and a unit, e.g. rate(5 minutes)');
  const [, valueText, unitText] = m as unknown as [string, string, string];
  if (!/^\d+$/.test(valueText) || Number(valueText) < 1 || Number(valueText) > MAX_VALUE) {
    throw new ScheduleSyntaxError(`the rate value "${valueText}" must be a whole number from 1 to ${MAX_VALUE}`);
  }
  const value = Number(valueText);
  const singular = ['minute', 'hour', 'day'];
  const plural = ['minutes', 'hours', 'days'];
  const valid = value === 1 ? singular : plural;
  if (!valid.includes(unitText)) {
    const hint =
      value === 1 && plural.includes(unitText)
        ? ` (rate(1 ${unitText.slice(0, -1)}))`
        : value !== 1 && singular.includes(unitText)
          ? ` (rate(${value} ${unitText}s))`
          : '';
    throw new ScheduleSyntaxError(
      `the rate unit "${unitText}" must be ${valid.join(', ').replace(/, (\w+)$/, ' or $1')} when the value is ${value === 1 ? '1' : 'more than 1'}${hint}`,
    );
  }
  const unit = (value === 1 ? `${unitText}s` : unitText) as RateSchedule['unit'];
  return { value, unit, periodMs: value * UNIT_MS[unit] };
}
