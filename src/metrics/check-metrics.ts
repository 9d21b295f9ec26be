import type { Registry } from "prom-client";
import { DENIAL_CODES } from "../model/denials.js";
import { CounterFeed } from "./counter-feed.js";
import type { CheckObserver } from "./observers.js";

/**
 * Check's metrics: decisions by reason, failures by code, and the time to answer. They are
 * counted on the request path in plain numbers and arrays and handed to prom-client only when
 * Prometheus scrapes: prom-client's `inc` and `observe` build a label hash string, validate the
 * labels and (the histogram) allocate on every call, even through a `labels(...)` child, and the
 * hot-key profile showed that per Check (issue 16). The exposition is prom-client's.
 */

const CHECK_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const DECISIONS = ["allow", "deny", "error"] as const;
const ALLOW = 0;
const DENY = 1;
const ERROR = 2;

/** A histogram of seconds by decision, in arrays, exposed as prom-client exposes its own. */
class LatencyHistogram {
  readonly name = "keygate_check_duration_seconds";
  readonly help = "Time from a Check's arrival to its answer, by decision (allow, deny, error).";
  readonly type = "histogram";
  readonly aggregator = "sum";
  /** Per decision: a count per bucket (the last one +Inf), then the sum and the count. */
  readonly #buckets = new Float64Array(DECISIONS.length * (CHECK_BUCKETS.length + 1));
  readonly #sums = new Float64Array(DECISIONS.length);
  readonly #counts = new Float64Array(DECISIONS.length);

  observe(decision: number, seconds: number): void {
    let bucket = 0;
    while (bucket < CHECK_BUCKETS.length && seconds > CHECK_BUCKETS[bucket]!) bucket++;
    this.#buckets[decision * (CHECK_BUCKETS.length + 1) + bucket]!++;
    this.#sums[decision]! += seconds;
    this.#counts[decision]!++;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: { labels: Record<string, string | number>; value: number; metricName: string }[] } {
    const values = [];
    for (const [index, decision] of DECISIONS.entries()) {
      if (this.#counts[index] === 0) continue;
      let cumulative = 0;
      for (let bucket = 0; bucket <= CHECK_BUCKETS.length; bucket++) {
        cumulative += this.#buckets[index * (CHECK_BUCKETS.length + 1) + bucket]!;
        values.push({ labels: { le: CHECK_BUCKETS[bucket] ?? "+Inf", decision }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { decision }, value: this.#sums[index]!, metricName: `${this.name}_sum` });
      values.push({ labels: { decision }, value: this.#counts[index]!, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.#buckets.fill(0);
    this.#sums.fill(0);
    this.#counts.fill(0);
  }
}

/** Registers Check's metrics in `registry` and gives the observer that counts them. */
export function checkMetrics(registry: Registry): CheckObserver {
  const decisions = new CounterFeed(
    registry,
    "keygate_check_decisions_total",
    "Check decisions by decision (allow, deny) and reason (OK or the denial code).",
    ["decision", "reason"],
    (outcome) => (outcome === "allowed" ? { decision: "allow", reason: "OK" } : { decision: "deny", reason: outcome }),
  );
  const failures = new CounterFeed(
    registry,
    "keygate_check_failures_total",
    "Check RPCs that failed without a decision, by gRPC code (unavailable: store unreadable; internal: a fault).",
    ["code"],
    (code) => ({ code }),
  );
  // Every decision and failure from the start, at 0, rather than no series until it first happens.
  for (const outcome of ["allowed", ...DENIAL_CODES]) decisions.present(outcome);
  for (const code of ["unavailable", "internal"]) failures.present(code);
  const latency = new LatencyHistogram();
  // A metric prom-client's registry takes as its own: a name, get() and reset().
  registry.registerMetric(latency as unknown as Parameters<Registry["registerMetric"]>[0]);
  return {
    decided(outcome, seconds) {
      decisions.add(outcome);
      latency.observe(outcome === "allowed" ? ALLOW : DENY, seconds);
    },
    failed(code, seconds) {
      failures.add(code);
      latency.observe(ERROR, seconds);
    },
  };
}
