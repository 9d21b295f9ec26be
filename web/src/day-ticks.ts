/**
 * Which days of a daily chart get a label on the x axis: evenly spaced, the most recent day
 * always among them, and never closer than a label's width, so labels cannot overlap however
 * narrow the screen. Steps are whole days that read naturally (every day, every 2nd, … weekly).
 */

const STEPS = [1, 2, 3, 5, 7, 10, 14, 15, 30, 60, 90, 180, 365];

/** Indices (0 = oldest day) to label, for `count` days drawn across `plotWidth` pixels. */
export function dayTicks(count: number, plotWidth: number, labelWidth: number): number[] {
  if (count <= 0) return [];
  const perDay = plotWidth / count;
  const step = STEPS.find((s) => s * perDay >= labelWidth) ?? count;
  const ticks: number[] = [];
  for (let i = count - 1; i >= 0; i -= step) ticks.unshift(i);
  return ticks;
}

/** `2031-03-14` → `Mar 14`: short enough for a phone's axis; the tooltip and table give the year. */
export function shortDay(date: string): string {
  const parsed = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(parsed.getTime())) return date;
  return parsed.toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
}
