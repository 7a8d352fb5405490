import { parseRateExpression } from '../../functions/adapters/scheduler/rate-expression.ts';

/** What a schedule expression means for firing. Cron is validated like AWS does but never fires here. */
export type Recurrence =
  | { kind: 'rate'; periodMs: number }
  | { kind: 'at'; time: Date }
  | { kind: 'cron' };

/** Parses `rate(...)`, `at(...)` or `cron(...)` as EventBridge Scheduler accepts them; null when invalid. */
export function parseScheduleExpression(expression: string, timeZone: string): Recurrence | null {
  const minutes = parseRateExpression(expression);
  if (minutes !== null) return { kind: 'rate', periodMs: minutes * 60_000 };
  const at = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/.exec(expression);
  if (at) {
    const [year, month, day, hour, minute, second] = at.slice(1).map(Number) as [number, number, number, number, number, number];
    const wall = Date.UTC(year, month - 1, day, hour, minute, second);
    const check = new Date(wall);
    // Date.UTC rolls over (Feb 30 → Mar 2); a real calendar time reads back unchanged.
    if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
      return null;
    }
    return { kind: 'at', time: new Date(wall - zoneOffsetMs(wall, timeZone)) };
  }
  const cron = /^cron\((.+)\)$/.exec(expression);
  if (cron && isValidCron(cron[1] ?? '')) return { kind: 'cron' };
  return null;
}

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** The bounds and origin of a recurrence: its StartDate/EndDate and when its expression was last set. */
export interface RecurrenceWindow {
  anchor: Date;
  startDate?: Date;
  endDate?: Date;
}

/**
 * The latest scheduled time at or before `now`, or null when none has come yet. A rate schedule fires every period
 * from its StartDate, or one period after it was defined when it has none; `at` fires once; cron never fires here.
 */
export function latestScheduledTime(recurrence: Recurrence, window: RecurrenceWindow, now: Date): Date | null {
  switch (recurrence.kind) {
    case 'at':
      return recurrence.time <= now ? recurrence.time : null;
    case 'cron':
      return null;
    case 'rate': {
      const first = window.startDate?.getTime() ?? window.anchor.getTime() + recurrence.periodMs;
      const last = Math.min(now.getTime(), window.endDate?.getTime() ?? Infinity);
      if (last < first) return null;
      return new Date(first + Math.floor((last - first) / recurrence.periodMs) * recurrence.periodMs);
    }
  }
}

/** Offset of `timeZone` from UTC at (about) the given instant, so that a wall-clock time can become an instant. */
function zoneOffsetMs(instant: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(instant));
  const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((entry) => entry.type === type)?.value);
  const wall = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
  return wall - Math.floor(instant / 1000) * 1000;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface CronField {
  min: number;
  max: number;
  names?: string[];
  /** Day-of-month and day-of-week forms: `L`, `LW`, `15W`, `6L`, `2#3`. */
  special?: RegExp;
}

/** minutes hours day-of-month month day-of-week year, as EventBridge Scheduler's cron takes them. */
const CRON_FIELDS: CronField[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31, special: /^(L|LW|([1-9]|[12]\d|3[01])W)$/ },
  { min: 1, max: 12, names: MONTHS },
  { min: 1, max: 7, names: DAYS, special: /^([1-7]?L|[1-7]#[1-5])$/ },
  { min: 1970, max: 2199 },
];

function isValidCron(body: string): boolean {
  const fields = body.split(' ');
  if (fields.length !== 6) return false;
  const [, , dayOfMonth, , dayOfWeek] = fields;
  // One of the two day fields must be `?`, and only those two may be.
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) return false;
  return fields.every((field, index) => field === '?' ? index === 2 || index === 4 : isValidCronField(field, CRON_FIELDS[index]!));
}

function isValidCronField(field: string, spec: CronField): boolean {
  const value = (text: string) => {
    const named = spec.names?.indexOf(text.toUpperCase()) ?? -1;
    if (named >= 0) return true;
    return /^\d+$/.test(text) && Number(text) >= spec.min && Number(text) <= spec.max;
  };
  return field.split(',').every((part) => {
    if (spec.special?.test(part)) return true;
    const [range = '', step, extra] = part.split('/');
    if (extra !== undefined || (step !== undefined && !/^[1-9]\d*$/.test(step))) return false;
    if (range === '*') return true;
    const [from = '', to, beyond] = range.split('-');
    return beyond === undefined && value(from) && (to === undefined || value(to));
  });
}
