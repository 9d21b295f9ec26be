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
        `    ${leased.label}: ${fmt(leased.meanUs, 2)} µs per Check (p50 ${fmt(leased.latency.p50Us, 2)}, p99 ${fmt(leased.latency.p99Us, 2)} µs); ` +
        `${local.label}: ${fmt(local.meanUs, 2)} µs (p50 ${fmt(local.latency.p50Us, 2)}, p99 ${fmt(local.latency.p99Us, 2)} µs): ${ratio(leased.meanUs, local.meanUs)}\n` +
        `    Checks that waited ${fmt(leased.waited)}; budget leases ${fmt(leased.leaseCalls)} (${fmt(leased.leasedBuckets)} buckets) = ${fmt(perThousand, 3)} per 1,000 Checks\n`,
    );
    targets.push([
      `hot keys in process: no Check waits, at most ${HOT_LEASES_PER_1000} lease per 1,000 Checks`,
      leased.waited === 0 && perThousand <= HOT_LEASES_PER_1000,
      `${fmt(leased.waited)} waited, ${fmt(perThousand, 3)} leases per 1,000`,
    ]);

    const hitRow = ["cache hit, slices held (hot, above)", fmt(leased.checks), fmt(leased.waited), ms(leased.latency.p50Us), ms(leased.latency.p99Us), ms(leased.latency.maxUs), "1x", "-", "-", "-", "-", "allowed"];
    const rows = [hitRow, ...waits.phases.map((p) => phaseRow(p, leased.latency))];
    process.stdout.write(
      `  Checks that wait for a slice (in process on MongoDB; latencies of the Checks that waited; ${fmt(waits.elapsedS, 1)} s with ${fmt(waits.seedMs / 1_000, 1)} s of seeding):\n` +
        `${table(["Checks", "checks", "waited", "p50 ms", "p99 ms", "max ms", "p50 vs hit", "lease() calls", "asks ended during each wait", "buckets / call (max)", "lease() p50 / p99 ms", "decisions"], rows)}\n`,
    );
    const waited = waits.phases.filter((p) => p.waited > 0);
    const moreThanOne = waited.reduce((sum, p) => sum + Object.entries(p.asksWaitedOn).filter(([n]) => Number(n) > 1).reduce((s, [, c]) => s + c, 0), 0);
    const allWaits = waited.reduce((sum, p) => sum + p.waited, 0);
    targets.push([`a waiting Check waits on one ask, never more`, moreThanOne === 0, `${fmt(moreThanOne)} of ${fmt(allWaits)} waiting Checks saw more than one ask end while they waited`]);
    const lone = waits.phases.filter((p) => !p.label.includes("at once") && p.leaseCalls > 0);
    const maxBuckets = Math.max(0, ...lone.map((p) => p.maxBucketsPerCall));
    targets.push([`a lone waiting Check's ask carries at most its 3 buckets (key, organization minute, month)`, maxBuckets <= 3, `at most ${maxBuckets} per lease() call`]);
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
