import { h, svg, table } from "./dom.js";
import { formatCount } from "./format.js";

/** Plain SVG charts; each comes with its numbers as a table for screen readers and copying. */

export interface DayBar {
  date: string;
  requests: number;
  errors: number;
}

const WIDTH = 640;
const HEIGHT = 200;
const PAD = { top: 12, right: 8, bottom: 28, left: 44 };

/** Requests and errors per day as paired bars. */
export function dailyChart(title: string, days: readonly DayBar[]): HTMLElement {
  const max = Math.max(1, ...days.map((d) => Math.max(d.requests, d.errors)));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, days.length);
  const bar = Math.max(1, Math.min(24, slot * 0.38));
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;
  const totalRequests = days.reduce((sum, d) => sum + d.requests, 0);
  const totalErrors = days.reduce((sum, d) => sum + d.errors, 0);
  const label = `${title}: ${formatCount(totalRequests)} requests and ${formatCount(totalErrors)} errors over ${days.length} days`;
  const chart = svg(
    "svg",
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": label, class: "chart" },
    svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(0), y2: y(0), class: "axis" }),
    svg("text", { x: PAD.left - 6, y: y(max) + 4, "text-anchor": "end", class: "tick" }, formatCount(max)),
    svg("text", { x: PAD.left - 6, y: y(0), "text-anchor": "end", class: "tick" }, "0"),
    days.map((d, i) => {
      const x = PAD.left + i * slot + slot / 2;
      const showDate = days.length <= 8 || i === 0 || i === days.length - 1 || i % Math.ceil(days.length / 6) === 0;
      return svg(
        "g",
        null,
        svg("rect", { x: x - bar, y: y(d.requests), width: bar, height: y(0) - y(d.requests), class: "bar requests" }, svg("title", null, `${d.date}: ${d.requests} requests`)),
        svg("rect", { x, y: y(d.errors), width: bar, height: y(0) - y(d.errors), class: "bar errors" }, svg("title", null, `${d.date}: ${d.errors} errors`)),
        showDate && svg("text", { x, y: HEIGHT - 8, "text-anchor": "middle", class: "tick" }, d.date.slice(5)),
      );
    }),
  );
  return h(
    "figure",
    { class: "chart-figure" },
    h("figcaption", null, title, " ", h("span", { class: "legend requests" }, "requests"), " ", h("span", { class: "legend errors" }, "errors")),
    chart,
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
