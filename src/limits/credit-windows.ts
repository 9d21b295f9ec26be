import type { Credits } from "../model/identities.js";

/**
 * The windows credits are counted in (issue 19: refills exact and once per interval across
 * replicas). A balance is a limit over a window: the window that holds `setAt` allows `remaining`,
 * counted from `setAt` itself (what was spent before the balance was set does not count against
 * it); each later window allows `refill.amount`. So a refill is no write anyone makes: it is the
 * next window, whose count starts at nothing on every replica alike. Windows:
 *  - daily: UTC days;
 *  - monthly: from `refill.day` at 00:00 UTC to the same day of the next month, a day past the
 *    month's last falling on its last day (the 31st refills on 30 April and 28 or 29 February);
 *  - no refill: from `setAt`, unending.
 * Pure: LocalLimits and LeasedLimits count credit lines (credit-lines.ts) in these windows.
 */

export interface CreditWindow {
  startMs: number;
  /** When the next refill comes; null: none ever does. */
  endMs: number | null;
  /** What the window allows. */
  limit: number;
}

const DAY_MS = 86_400_000;

/** The window of `credits` that holds `nowMs` (the one that holds `setAt`, for a time before it). */
export function creditWindowAt(credits: Credits, nowMs: number): CreditWindow {
  const setAtMs = credits.setAt.getTime();
  const refill = credits.refill;
  if (refill === null) return { startMs: setAtMs, endMs: null, limit: credits.remaining };
  const atMs = Math.max(nowMs, setAtMs);
  const [startMs, endMs] = refill.interval === "daily" ? dayAround(atMs) : monthAround(atMs, refill.day);
  return startMs <= setAtMs ? { startMs: setAtMs, endMs, limit: credits.remaining } : { startMs, endMs, limit: refill.amount };
}

function dayAround(ms: number): [number, number] {
  const startMs = Math.floor(ms / DAY_MS) * DAY_MS;
  return [startMs, startMs + DAY_MS];
}

/** The refill on `day` of the month `month` (0-based, may run past 11) of `year`, clamped to the month's last day. */
function refillIn(year: number, month: number, day: number): number {
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return Date.UTC(year, month, Math.min(day, lastDay));
}

function monthAround(ms: number, day: number): [number, number] {
  const at = new Date(ms);
  const year = at.getUTCFullYear();
  const month = at.getUTCMonth();
  const thisMonth = refillIn(year, month, day);
  return ms >= thisMonth ? [thisMonth, refillIn(year, month + 1, day)] : [refillIn(year, month - 1, day), thisMonth];
}
