import { describe, expect, it } from "vitest";
import { Metrics } from "../../src/metrics/metrics.js";

/**
 * Check's counters and histogram are counted in plain numbers and handed to prom-client at each
 * scrape: every scrape shows all that was counted before it, nothing twice.
 */

function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("Check's metrics between scrapes", () => {
  it("each scrape shows every count made before it, once", async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.check.decided("allowed", 0.0003);
    metrics.check.decided("allowed", 0.002);
    metrics.check.decided("RATE_LIMITED", 0.00004);
    metrics.check.failed("unavailable", 0.7);
    metrics.keyCache.lookup("hit");
    metrics.keyCache.lookup("miss");
    let text = (await metrics.scrape()).text;
    expect(value(text, 'keygate_check_decisions_total{decision="allow",reason="OK"}')).toBe(2);
    expect(value(text, 'keygate_check_decisions_total{decision="deny",reason="RATE_LIMITED"}')).toBe(1);
    expect(value(text, 'keygate_check_failures_total{code="unavailable"}')).toBe(1);
    expect(value(text, 'keygate_check_duration_seconds_bucket{le="0.0005",decision="allow"}')).toBe(1);
    expect(value(text, 'keygate_check_duration_seconds_bucket{le="0.0025",decision="allow"}')).toBe(2);
    expect(value(text, 'keygate_check_duration_seconds_bucket{le="0.00005",decision="deny"}')).toBe(1);
    expect(value(text, 'keygate_check_duration_seconds_bucket{le="0.5",decision="error"}')).toBe(0);
    expect(value(text, 'keygate_check_duration_seconds_bucket{le="+Inf",decision="error"}')).toBe(1);
    expect(value(text, 'keygate_check_duration_seconds_sum{decision="allow"}')).toBeCloseTo(0.0023, 10);
    expect(value(text, 'keygate_key_cache_hits_total{kind="key"}')).toBe(1);
    expect(value(text, 'keygate_key_cache_hits_total{kind="unknown"}')).toBe(0);
    expect(value(text, "keygate_key_cache_misses_total")).toBe(1);

    metrics.check.decided("allowed", 0.0003);
    metrics.keyCache.lookup("hit");
    await metrics.scrape();
    text = (await metrics.scrape()).text;
    expect(value(text, 'keygate_check_decisions_total{decision="allow",reason="OK"}')).toBe(3);
    expect(value(text, 'keygate_check_decisions_total{decision="deny",reason="RATE_LIMITED"}')).toBe(1);
    expect(value(text, 'keygate_check_duration_seconds_count{decision="allow"}')).toBe(3);
    expect(value(text, 'keygate_key_cache_hits_total{kind="key"}')).toBe(2);
    expect(value(text, "keygate_key_cache_misses_total")).toBe(1);
    metrics.close();
  });
});
