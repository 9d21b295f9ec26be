import { Counter, Gauge, type Registry } from "prom-client";
import { THROTTLES, type Throttle, type ThrottleObserver } from "./observers.js";

/** What a throttle tracks, read at scrape time (SlidingCounters has this shape). */
export interface ThrottleSources {
  readonly size: number;
}

/**
 * The throttles' metrics: requests each refused (or answered without a lookup), and the sources
 * each tracks now (bounded by KEYGATE_THROTTLE_MAX_SOURCES: a flood of distinct sources shows as
 * this gauge at its bound). Every throttle is present from the start, at 0.
 */
export function throttleMetrics(registry: Registry, sources: () => Partial<Record<Throttle, ThrottleSources>>): ThrottleObserver {
  const registers = [registry];
  const throttled = new Counter({
    name: "keygate_throttled_total",
    help:
      "Requests a throttle refused, by throttle: check_failed_keys (an unknown key from a source over its failed-key limit, answered API_KEY_INVALID without a store read), " +
      "admin_failed_authentications (admin calls from an address over its failed-authentication limit), admin_requests (admin calls of a key over KEYGATE_ADMIN_REQUESTS_PER_MINUTE).",
    labelNames: ["throttle"] as const,
    registers,
  });
  new Gauge({
    name: "keygate_throttle_sources",
    help: "Sources (addresses, keys) each throttle tracks now; bounded by KEYGATE_THROTTLE_MAX_SOURCES.",
    labelNames: ["throttle"] as const,
    registers,
    collect() {
      const watched = sources();
      for (const throttle of THROTTLES) this.set({ throttle }, watched[throttle]?.size ?? 0);
    },
  });
  for (const throttle of THROTTLES) throttled.inc({ throttle }, 0);
  return {
    throttled(throttle) {
      throttled.inc({ throttle });
    },
  };
}
