import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { tooltipPlugin } from "./chart-tooltip.js";
import { dayTicks, shortDay } from "./day-ticks.js";
import { h, svg, table } from "./dom.js";
import { formatCount } from "./format.js";

/**
 * Charts: uPlot draws the daily trends (axes that stay readable on a phone, the values on hover),
 * plain SVG the gauges; each comes with its numbers as text for screen readers and copying.
 */

export interface DayBar {
  date: string;
  requests: number;
  errors: number;
}

const FONT = "12px system-ui, -apple-system, sans-serif";
/** Room for the widest day label ("May 30") and a gap, in CSS pixels. */
const DAY_LABEL_WIDTH = 56;
const Y_AXIS_WIDTH = 52;
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
/** Whole requests only: 1, 2, 5, 10, 20, 50, … */
const Y_STEPS = Array.from({ length: 13 }, (_, e) => [1, 2, 5].map((m) => m * 10 ** e)).flat();

/** The page's palette (#rrggbb custom properties), so the canvas follows the stylesheet. */
const color = (name: string): string => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

/** Wide enough to read on a phone, not taller than a laptop screen can spare. */
const heightFor = (width: number): number => Math.round(Math.min(240, Math.max(200, width * 0.4)));

function chartOptions(days: readonly DayBar[], width: number): uPlot.Options {
  const [requests, errors, muted, line] = ["--requests", "--errors", "--muted", "--line"].map(color) as [string, string, string, string];
  const plotWidth = (u: uPlot) => u.bbox.width / uPlot.pxRatio;
  return {
    width,
    height: heightFor(width),
    legend: { show: false },
    cursor: { y: false, drag: { x: false, y: false }, points: { size: 8 } },
    scales: {
      x: { time: false, range: [-0.5, days.length - 0.5] },
      y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] },
    },
    axes: [
      {
        font: FONT,
        stroke: muted,
        grid: { show: false },
        ticks: { stroke: line, size: 4 },
        splits: (u) => dayTicks(days.length, plotWidth(u), DAY_LABEL_WIDTH),
        values: (_u, splits) => splits.map((i) => shortDay(days[i]?.date ?? "")),
      },
      {
        font: FONT,
        stroke: muted,
        size: Y_AXIS_WIDTH,
        space: 28,
        incrs: Y_STEPS,
        grid: { stroke: line, width: 1 },
        ticks: { show: false },
        values: (_u, splits) => splits.map((v) => compact.format(v)),
      },
    ],
    series: [
      {},
      // The area under the requests: their colour at 13% opacity (#rrggbb + alpha).
      { label: "requests", stroke: requests, fill: `${requests}22`, width: 2, points: { show: days.length <= 31 } },
      { label: "errors", stroke: errors, width: 2, points: { show: days.length <= 31 } },
    ],
    plugins: [
      tooltipPlugin((i) => {
        const day = days[i];
        return (
          day && [
            h("strong", null, day.date),
            h("span", { class: "legend requests" }, `${formatCount(day.requests)} requests`),
            h("span", { class: "legend errors" }, `${formatCount(day.errors)} errors`),
          ]
        );
      }),
    ],
  };
}

/**
 * The plot is drawn once its box has a width, and redrawn to fit when the width changes (a phone
 * turned, a window resized).
 */
function plotInto(container: HTMLElement, days: readonly DayBar[]): void {
  const data: uPlot.AlignedData = [days.map((_, i) => i), days.map((d) => d.requests), days.map((d) => d.errors)];
  let plot: uPlot | undefined;
  new ResizeObserver(([entry]) => {
    const width = Math.floor(entry?.contentRect.width ?? 0);
    if (width === 0) return;
    if (!plot) plot = new uPlot(chartOptions(days, width), data, container);
    else if (width !== plot.width) plot.setSize({ width, height: heightFor(width) });
  }).observe(container);
}

/** Requests and errors per day: a uPlot chart with a tooltip, and the same numbers as a table. */
export function dailyChart(title: string, days: readonly DayBar[]): HTMLElement {
  const totalRequests = days.reduce((sum, d) => sum + d.requests, 0);
  const totalErrors = days.reduce((sum, d) => sum + d.errors, 0);
  const label = `${title}: ${formatCount(totalRequests)} requests and ${formatCount(totalErrors)} errors over ${days.length} days`;
  const plot = h("div", { class: "chart-plot", role: "img", "aria-label": label });
  plotInto(plot, days);
  return h(
    "figure",
    { class: "chart-figure" },
    h("figcaption", null, title, " ", h("span", { class: "legend requests" }, "requests"), " ", h("span", { class: "legend errors" }, "errors")),
    plot,
    h(
      "details",
      null,
      h("summary", null, "Show the numbers"),
      table(title, ["Day (UTC)", "Requests", "Errors"], days.map((d) => [d.date, formatCount(d.requests), formatCount(d.errors)]), "No days in this period."),
    ),
  );
}

/** A half-circle gauge of a percentage; the level class turns it amber and red near the limit. */
export function gauge(label: string, percent: number, caption: string, alertAt = 80): HTMLElement {
  const p = Math.max(0, Math.min(100, percent));
  const angle = Math.PI * (1 - p / 100);
  const r = 80;
  const end = { x: 100 + r * Math.cos(angle), y: 100 - r * Math.sin(angle) };
  const level = percent >= 100 ? "over" : percent >= alertAt ? "warn" : "ok";
  return h(
    "figure",
    { class: `gauge ${level}` },
    svg(
      "svg",
      { viewBox: "0 0 200 110", "aria-hidden": "true" },
      svg("path", { d: "M 20 100 A 80 80 0 0 1 180 100", class: "track" }),
      p > 0 && svg("path", { d: `M 20 100 A 80 80 0 0 1 ${end.x.toFixed(2)} ${end.y.toFixed(2)}`, class: "fill" }),
      svg("text", { x: 100, y: 95, "text-anchor": "middle", class: "gauge-value" }, `${percent.toFixed(1)}%`),
    ),
    h(
      "meter",
      { min: 0, max: 100, low: alertAt, high: 99.99, optimum: 0, value: p, "aria-label": label, class: "visually-hidden" },
      `${percent.toFixed(1)}%`,
    ),
    h("figcaption", null, h("strong", null, label), h("br"), caption),
  );
}
