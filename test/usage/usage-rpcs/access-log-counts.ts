import { beforeAll, expect, it } from "vitest";
import { accessLogMetric } from "../../../src/usage/usage-metrics.js";
import type { TestApp } from "../../support/app.js";
import type { SeededWorld } from "./seeded-world.js";

/** What the access-log receiver made of the entries Envoy streamed: used, or ignored and why. */
export function describeAccessLogCounts(world: () => SeededWorld): void {
  let t: TestApp;
  beforeAll(() => {
    ({ t } = world());
  });

  it("counts access-log entries it used and those it ignored, by reason", () => {
    const metrics = t.app.usage.metrics;
    expect(
      Object.fromEntries(
        (["recorded", "no_identity", "denied_by_check", "unknown_key", "bad_status", "bad_time", "not_http"] as const).map((r) => [r, metrics.value(accessLogMetric(r))]),
      ),
    ).toEqual({ recorded: 4, no_identity: 2, denied_by_check: 1, unknown_key: 2, bad_status: 1, bad_time: 1, not_http: 1 });
  });
}
