import { LEASED_BUCKETS } from "./counting-store.js";
import type { Latencies, LeaseWaitsResult, WaitPhase } from "./lease-waits.js";
import { fmt, type Medians } from "./report.js";

/**
 * Issue 15's figures: what leased limits (LeasedLimits, MongoDB) cost beside the one-process
 * limits (LocalLimits, embedded store), measured in the same run. Hot keys with ample budget
 * over gRPC (the "mongo" case against "hit") and in process; then the Checks that must wait for a
 * slice: their latency against a cache hit with slices held, and the asks each waited on.
 */

export const LEASE_WAITS = "lease-waits";
export const LEASE_WAITS_TITLE = "waiting for a budget lease, in process on MongoDB (lease-waits)";

/** Lease calls per 1,000 Checks at or below this count as none: a hot bucket asks every few seconds, whatever its rate. */
const HOT_LEASES_PER_1000 = 1;

const ms = (us: number) => fmt(us / 1_000, us < 100 ? 3 : 2);
const ratio = (a: number, b: number) => `${fmt(a / b, a / b < 10 ? 2 : 0)}x`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `    | ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  return [line(header), `    |${widths.map((w, i) => (i === 0 ? ":" : "-") + "-".repeat(w) + (i === 0 ? "-" : ":")).join("|")}|`, ...rows.map(line)].join("\n");
}

export function writeLeasedLimits({ chosen, byCase }: Medians, waits: LeaseWaitsResult | undefined): void {
  const mongo = chosen.get("mongo");
  const hit = chosen.get("hit");
  if (mongo === undefined && waits === undefined) return;
  const targets: Array<[string, boolean, string]> = [];
  process.stdout.write(`\nleased limits (issue 15): LeasedLimits on MongoDB (under Wine, on the same cores) against LocalLimits on the embedded store, this run\n`);

  if (mongo && hit) {
    const leases = mongo.otherStoreOps["budgets"] ?? 0;
    const perThousand = (1_000 * leases) / mongo.load.requests;
    const rounds = Math.min(byCase.get("mongo")!.length, byCase.get("hit")!.length);
    process.stdout.write(
      `  one hot key, ample budget, over gRPC (h2load, the "mongo" case against "hit"${rounds > 1 ? `, medians of ${rounds} interleaved rounds` : ""}):\n` +
        `    throughput ${fmt(mongo.load.rps)} vs ${fmt(hit.load.rps)} req/s = ${fmt((100 * mongo.load.rps) / hit.load.rps)}%; ` +
        `p50 ${fmt(mongo.load.p50Ms, 2)} vs ${fmt(hit.load.p50Ms, 2)} ms (${ratio(mongo.load.p50Ms, hit.load.p50Ms)}); ` +
        `p99 ${fmt(mongo.load.p99Ms, 2)} vs ${fmt(hit.load.p99Ms, 2)} ms (${ratio(mongo.load.p99Ms, hit.load.p99Ms)}); ` +
        `CPU ${fmt(mongo.cpuSecondsPer10k, 3)} vs ${fmt(hit.cpuSecondsPer10k, 3)} s / 10k\n` +
        `    store calls: key and organization reads ${fmt(mongo.storeOpsPerCheck ?? NaN, 0)} per Check; budget leases ${fmt(leases)} ` +
        `(${fmt(mongo.otherStoreOps[LEASED_BUCKETS] ?? 0)} buckets) in ${fmt(mongo.load.requests)} Checks = ${fmt(perThousand, 3)} per 1,000 Checks\n`,
    );
    targets.push([`hot key over gRPC: no key read, at most ${HOT_LEASES_PER_1000} lease per 1,000 Checks`, mongo.storeOpsPerCheck === 0 && perThousand <= HOT_LEASES_PER_1000, `${fmt(perThousand, 3)} per 1,000`]);
  }

  if (waits) {
    const { leased, local } = waits.hot;
    const perThousand = (1_000 * leased.leaseCalls) / leased.checks;
    process.stdout.write(
      `  ten hot keys, ample budget, in process (no network; each keeps its best of the rounds, ${fmt(leased.checks)} Checks in all):\n` +
        `    ${leased.label}: CPU ${fmt(leased.cpuUs, 2)} µs per Check, latency p50 ${fmt(leased.latency.p50Us, 2)}, p99 ${fmt(leased.latency.p99Us, 2)} µs; ` +
        `${local.label}: CPU ${fmt(local.cpuUs, 2)} µs, p50 ${fmt(local.latency.p50Us, 2)}, p99 ${fmt(local.latency.p99Us, 2)} µs; ` +
        `ratios: CPU ${ratio(leased.cpuUs, local.cpuUs)}, p50 ${ratio(leased.latency.p50Us, local.latency.p50Us)}, p99 ${ratio(leased.latency.p99Us, local.latency.p99Us)}\n` +
        `    Checks that waited ${fmt(leased.waited)}${leased.waited ? ` (${fmt(leased.waitedAtMinuteStart)} in a minute's first second, as the organization's minute window opened)` : ""}; budget leases ${fmt(leased.leaseCalls)} (${fmt(leased.leasedBuckets)} buckets) = ${fmt(perThousand, 3)} per 1,000 Checks\n`,
    );
    // A window's first request waits by design (the organization's minute opens every minute); any other wait of a hot key is a slice that ran out.
    const strayWaits = leased.waited - leased.waitedAtMinuteStart;
    targets.push([
      `hot keys in process: no Check waits but at a window's start, at most ${HOT_LEASES_PER_1000} lease per 1,000 Checks`,
      strayWaits === 0 && perThousand <= HOT_LEASES_PER_1000,
      `${fmt(strayWaits)} waited otherwise, ${fmt(perThousand, 3)} leases per 1,000`,
    ]);

    const hitRow = ["cache hit, slices held (hot, above)", fmt(leased.checks), fmt(leased.waited), ms(leased.latency.p50Us), ms(leased.latency.p99Us), ms(leased.latency.maxUs), "1x", "-", "-", "-", "-", "allowed"];
    const rows = [hitRow, ...waits.phases.map((p) => phaseRow(p, leased.latency))];
    process.stdout.write(
      `  Checks that wait for a slice (in process on MongoDB; latencies of the Checks that waited; ${fmt(waits.elapsedS, 1)} s with ${fmt(waits.seedMs / 1_000, 1)} s of seeding):\n` +
        `${table(["Checks", "checks", "waited", "p50 ms", "p99 ms", "max ms", "p50 vs hit", "lease() calls", "serial asks per wait", "buckets / call (max)", "lease() p50 / p99 ms", "decisions"], rows)}\n`,
    );
    const waited = waits.phases.filter((p) => p.waited > 0);
    const moreThanOne = waited.reduce((sum, p) => sum + Object.entries(p.asksWaitedOn).filter(([n]) => Number(n) > 1).reduce((s, [, c]) => s + c, 0), 0);
    const allWaits = waited.reduce((sum, p) => sum + p.waited, 0);
    const wrong = waits.phases.reduce((sum, p) => sum + p.checks - (p.outcomes[p.expect] ?? 0), 0);
    targets.push([`every Check decided as its limits say (a waiting Check is not denied while its limits have room)`, wrong === 0, `${fmt(wrong)} of ${fmt(waits.phases.reduce((sum, p) => sum + p.checks, 0))} otherwise`]);
    targets.push([`a waiting Check waits on one round trip, never more`, moreThanOne === 0, `${fmt(moreThanOne)} of ${fmt(allWaits)} waiting Checks sat through more than one round trip for their buckets`]);
  }

  process.stdout.write(`  targets:\n`);
  for (const [name, met, figure] of targets) process.stdout.write(`    ${met ? "met    " : "NOT MET"}  ${name}: ${figure}\n`);
}

function phaseRow(p: WaitPhase, hit: Latencies): string[] {
  const asks = Object.entries(p.asksWaitedOn)
    .map(([n, count]) => `${n}: ${fmt(count)}`)
    .join(", ");
  const decisions = Object.entries(p.outcomes)
    .map(([outcome, count]) => `${fmt(count)} ${outcome}`)
    .join(", ");
  return [
    p.label,
    fmt(p.checks),
    fmt(p.waited),
    p.waited ? ms(p.latency.p50Us) : "-",
    p.waited ? ms(p.latency.p99Us) : "-",
    p.waited ? ms(p.latency.maxUs) : "-",
    p.waited ? ratio(p.latency.p50Us, hit.p50Us) : "-",
    `${fmt(p.leaseCalls)}${p.waited ? ` (${fmt(p.leaseCalls / p.waited, 2)} per wait)` : ""}`,
    asks || "-",
    p.leaseCalls ? `${fmt(p.leasedBuckets / p.leaseCalls, 1)} (${p.maxBucketsPerCall})` : "-",
    p.leaseCalls ? `${ms(p.roundTrip.p50Us)} / ${ms(p.roundTrip.p99Us)}` : "-",
    decisions,
  ];
}
