/**
 * Usage is kept per UTC day, named `YYYY-MM-DD`. Day names sort as the days do, so a range of
 * days is a range of strings (and of MongoDB index keys). The monthly quota and billing count
 * UTC calendar months; their bounds are computed here too, so both agree on where a month ends.
 */

export type Day = string;

const DAY_MS = 86_400_000;
const DAY_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

// Every Check asks for its day; almost always the same one, so the last answer is kept. A memo of
// a pure function, so one per process is right: two servers in a process ask for the same days.
let lastDayIndex = Number.NaN;
let lastDay: Day = "";

export function utcDay(ms: number): Day {
  const index = Math.floor(ms / DAY_MS);
  if (index !== lastDayIndex) {
    lastDay = new Date(index * DAY_MS).toISOString().slice(0, 10);
    lastDayIndex = index;
  }
  return lastDay;
}

export function dayStartMs(day: Day): number {
  const match = DAY_PATTERN.exec(day);
  if (!match) throw new Error(`not a day: ${JSON.stringify(day)}`);
  return Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
}

export function addDays(day: Day, days: number): Day {
  return utcDay(dayStartMs(day) + days * DAY_MS);
}

/** Every day from `from` to `to`, both included, in order; empty when `to` is before `from`. */
export function daysFrom(from: Day, to: Day): Day[] {
  const days: Day[] = [];
  for (let ms = dayStartMs(from), end = dayStartMs(to); ms <= end; ms += DAY_MS) days.push(utcDay(ms));
  return days;
}

/** Days `from`..`to`, both included. */
export interface DayRange {
  from: Day;
  to: Day;
}

/** The `length` days that end with `today`. */
export function lastDays(today: Day, length: number): DayRange {
  return { from: addDays(today, 1 - length), to: today };
}

/** The range of the same length just before `range`. */
export function previousRange(range: DayRange): DayRange {
  const length = daysFrom(range.from, range.to).length;
  return { from: addDays(range.from, -length), to: addDays(range.from, -1) };
}

/** A UTC calendar month, named `YYYY-MM` (how billing periods are named). */
export type Month = string;

export function utcMonth(ms: number): Month {
  return utcDay(ms).slice(0, 7);
}

// Every Check asks for its month's bounds (the monthly quota); almost always the same month, so
// the last answer is kept (a memo of a pure function, like lastDay's).
let knownMonthStartMs = 0;
let knownNextMonthStartMs = 0;

function learnMonth(ms: number): void {
  if (ms >= knownMonthStartMs && ms < knownNextMonthStartMs) return;
  const at = new Date(ms);
  knownMonthStartMs = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1);
  knownNextMonthStartMs = Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1);
}

/** The first instant of the UTC calendar month that holds `ms`. */
export function monthStartUtc(ms: number): number {
  learnMonth(ms);
  return knownMonthStartMs;
}

/** The first instant of the UTC calendar month after the one that holds `ms`. */
export function nextMonthStartUtc(ms: number): number {
  learnMonth(ms);
  return knownNextMonthStartMs;
}

/** The calendar month of `day`, from its first day to its last. */
export function monthOf(day: Day): DayRange {
  const ms = dayStartMs(day);
  return { from: utcDay(monthStartUtc(ms)), to: utcDay(nextMonthStartUtc(ms) - DAY_MS) };
}
