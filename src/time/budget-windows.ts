import { monthStartUtc, nextMonthStartUtc } from "./utc-days.js";

/**
 * Fixed budget windows: a window is one whole unit of UTC time (a second, a minute, an hour, a
 * day, a calendar month). Leased budgets (src/limits/leased-budgets.ts) count in these windows,
 * on the store's clock; MongoDB computes the same bounds with $dateTrunc.
 */

export type WindowUnit = "second" | "minute" | "hour" | "day" | "month";

export interface Window {
  startMs: number;
  endMs: number;
}

const UNIT_MS: Readonly<Record<Exclude<WindowUnit, "month">, number>> = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

export function windowAt(unit: WindowUnit, ms: number): Window {
  if (unit === "month") return { startMs: monthStartUtc(ms), endMs: nextMonthStartUtc(ms) };
  const length = UNIT_MS[unit];
  const startMs = Math.floor(ms / length) * length;
  return { startMs, endMs: startMs + length };
}
