import type { Registry } from "prom-client";
import { accessLogMetric, USAGE_METRIC } from "../../src/usage/usage-metrics.js";
import { envoyCheck } from "../metrics/envoy-check.js";
import { startTestApp } from "../support/app.js";

/**
 * The series keygate really exposes, each with the labels it may carry: a keygate started as the
 * tests start it, GET /metrics read as Prometheus reads it. Whatever registers a metric (src/metrics,
 * webhooks, secret scanning, the usage recorder's mirrored counters, the process metrics) is in it,
 * so a metric renamed, removed or added later is seen here with no list to keep up.
 */

/** Series name → the labels its samples may have. Histograms give `_bucket` (with `le`), `_sum` and `_count`. */
export type ExposedSeries = Map<string, Set<string>>;

const SUFFIXES: Record<string, { suffix: string; extra: string[] }[]> = {
  histogram: [{ suffix: "_bucket", extra: ["le"] }, { suffix: "_sum", extra: [] }, { suffix: "_count", extra: [] }],
  summary: [{ suffix: "", extra: ["quantile"] }, { suffix: "_sum", extra: [] }, { suffix: "_count", extra: [] }],
};

export async function exposedSeries(): Promise<ExposedSeries> {
  const t = await startTestApp();
  try {
    // Two kinds of series appear only once something is counted: the usage recorder's own
    // counters, mirrored by name when first seen (adding 0 makes them seen and counts nothing),
    // and Check's latency by decision (one denied Check).
    for (const name of Object.values(USAGE_METRIC)) t.app.usage.metrics.increment(name, 0);
    t.app.usage.metrics.increment(accessLogMetric("recorded"), 0);
    await envoyCheck(t.app.url).check(undefined);
    const response = await fetch(`${t.app.url}/metrics`);
    if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
    return seriesOf(await response.text(), t.app.metrics.registry);
  } finally {
    await t.close();
  }
}

/** Families from the exposition's `# TYPE` lines, labels from its samples and from each metric's declared label names. */
function seriesOf(text: string, registry: Registry): ExposedSeries {
  const families = new Map<string, string>();
  const sampleLabels = new Map<string, Set<string>>();
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) families.set(type[1]!, type[2]!);
    const sample = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (sample) {
      const labels = sampleLabels.get(sample[1]!) ?? new Set<string>();
      for (const [, name] of (sample[2] ?? "").matchAll(/([A-Za-z_][A-Za-z0-9_]*)="/g)) labels.add(name!);
      sampleLabels.set(sample[1]!, labels);
    }
  }
  const series: ExposedSeries = new Map();
  for (const [family, type] of families) {
    const declared = (registry.getSingleMetric(family) as { labelNames?: readonly string[] } | undefined)?.labelNames ?? [];
    for (const { suffix, extra } of SUFFIXES[type] ?? [{ suffix: "", extra: [] }]) {
      const name = family + suffix;
      series.set(name, new Set([...declared, ...(sampleLabels.get(name) ?? []), ...extra]));
    }
  }
  return series;
}
