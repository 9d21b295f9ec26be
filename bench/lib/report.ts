import type { Case } from "./cases.js";
import type { InProcessResult } from "./in-process.js";
import type { Row } from "./measure.js";

/**
 * What a run prints after its rounds: one row per case (its median round by throughput) in a table
 * beside the baselines, the targets met or not, memory, and the in-process and cluster figures.
 */

export const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }) : "-");
const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor((values.length - 1) / 2)]!;

/** Every round of each case, and the one reported: the median round by throughput. */
export interface Medians {
  byCase: Map<string, Row[]>;
  chosen: Map<string, Row>;
}

export function medians(rows: readonly Row[]): Medians {
  const byCase = new Map<string, Row[]>();
  for (const row of rows) byCase.set(row.id, [...(byCase.get(row.id) ?? []), row]);
  const chosen = new Map<string, Row>();
  for (const [id, caseRows] of byCase) {
    const m = median(caseRows.map((r) => r.load.rps));
    chosen.set(id, caseRows.find((r) => r.load.rps === m)!);
  }
  return { byCase, chosen };
}

/** The table (cases in `cases`' order), the skipped cases, memory, the targets, and (c) against (b). */
export function writeResults(cases: readonly Case[], { byCase, chosen }: Medians, skipped: ReadonlyArray<{ title: string; reason: string }>): void {
  const rps = (id: string) => chosen.get(id)?.load.rps ?? NaN;
  const bestFramework = Math.max(rps("b"), rps("c"));

  const header = ["case", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "CPU s / 10k", "peak RSS MB", "store ops / check", "vs (a)", "vs best(b,c)", "decisions"];
  const table: string[][] = [];
  for (const testCase of cases) {
    const row = chosen.get(testCase.id);
    if (!row) continue;
    const baselineA = testCase.generator === "frames" ? rps("scale-a") : rps("a");
    const isKeygate = testCase.server === "keygate";
    table.push([
      row.title + (byCase.get(row.id)!.length > 1 ? ` (median of ${byCase.get(row.id)!.length})` : ""),
      fmt(row.load.rps),
      fmt(row.load.p50Ms, 2),
      fmt(row.load.p99Ms, 2),
      fmt(row.load.p999Ms, 2),
      fmt(row.cpuSecondsPer10k, 3),
      fmt(row.peakRssMb),
      row.storeOpsPerCheck === null
        ? "-"
        : fmt(row.storeOpsPerCheck, row.storeOpsPerCheck === 0 ? 0 : 5) +
          Object.entries(row.otherStoreOps).map(([name, n]) => ` (+${n} ${name} in ${fmt(row.load.durationS, 1)} s)`).join(""),
      isKeygate || testCase.id === "b" || testCase.id === "c" ? `${fmt((100 * row.load.rps) / baselineA)}%` : "",
      isKeygate && testCase.generator === "h2load" ? `${fmt((100 * row.load.rps) / bestFramework)}%` : "",
      row.verified,
    ]);
  }
  const writeSkipped = () => skipped.forEach((s) => process.stdout.write(`\nskipped: ${s.title}: ${s.reason}\n`));
  // --only may select no load case at all (lease-waits alone).
  if (table.length === 0) return writeSkipped();
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  process.stdout.write(`\n${line(header)}\n|${widths.map((w, i) => (i === 0 || i === widths.length - 1 ? ":" : "-") + "-".repeat(w) + (i === 0 || i === widths.length - 1 ? "-" : ":")).join("|")}|\n`);
  for (const r of table) process.stdout.write(`${line(r)}\n`);
  writeSkipped();

  // Targets.
  const hit = chosen.get("hit");
  const targets: Array<[string, boolean | undefined, string]> = [];
  if (hit) {
    // Each against the baselines that ran (--only may leave them out).
    if (chosen.has("b") || chosen.has("c")) {
      targets.push(["allowed-on-hit >= 85% of the best no-op framework (b, c)", hit.load.rps >= 0.85 * bestFramework, `${fmt((100 * hit.load.rps) / bestFramework)}%`]);
    }
    if (chosen.has("a")) targets.push(["allowed-on-hit >= 60% of bare node:http2 (a)", hit.load.rps >= 0.6 * rps("a"), `${fmt((100 * hit.load.rps) / rps("a"))}%`]);
    const transport = chosen.get("a")?.half;
    if (hit.half) {
      targets.push([
        "p99 at half the maximum throughput < 2 ms",
        hit.half.p99Ms < 2,
        `${fmt(hit.half.p99Ms, 2)} ms at ${fmt(hit.half.rps)} req/s` +
          (transport ? ` (bare node:http2 (a) at half its maximum, ${fmt(transport.rps)} req/s: ${fmt(transport.p99Ms, 2)} ms)` : ""),
      ]);
    }
    targets.push(["zero store operations per Check on a hit", hit.storeOpsPerCheck === 0, `${hit.storeOpsPerCheck} per check`]);
  }
  const stored = chosen.get("hit100k");
  if (stored) {
    targets.push([
      "100,000 keys in the embedded store < 300 MB RSS (one key in use)",
      stored.settledRssMb < 300,
      `${fmt(stored.settledRssMb)} MB held (RSS after a full collection); peak ${fmt(stored.peakRssMb)} MB, seeding included`,
    ]);
  }

  for (const id of ["hit", "hit100k"]) {
    const row = chosen.get(id);
    if (row) {
      process.stdout.write(
        `\nmemory, ${row.title}: peak RSS ${fmt(row.peakRssMb)} MB, RSS after the load ${fmt(row.rssMb)} MB; ` +
          `after a full collection RSS ${fmt(row.settledRssMb)} MB, V8 heap ${fmt(row.heapMb)} MB, buffers ${fmt(row.externalMb)} MB`,
      );
    }
  }
  process.stdout.write("\n");
  process.stdout.write("\ntargets:\n");
  for (const [name, met, figure] of targets) process.stdout.write(`  ${met ? "met    " : "NOT MET"}  ${name}: ${figure}\n`);
  if (chosen.has("b") && chosen.has("c")) {
    const lead = rps("c") / rps("b") - 1;
    process.stdout.write(
      `\n(c) grpc-js vs (b) connect-node: ${lead >= 0 ? "+" : ""}${fmt(100 * lead)}% (the issue's threshold for leaving Connect is +20%);` +
        (hit ? ` keygate's Check on its lean gRPC path: ${fmt((100 * hit.load.rps) / rps("c"))}% of (c)'s no-op\n` : "\n"),
    );
  }
}

export function writeInProcess(inProcess: InProcessResult): void {
  process.stdout.write(
    `\nCheck path in process (no network, no usage or metrics), CPU per allowed Check on a hit:\n` +
      `  Connect route's work (fromBinary, check, toBinary): ${fmt(inProcess.connectPathUs, 1)} µs\n` +
      `  lean route's work (CheckRequestDecoder.decode, checkFields): ${fmt(inProcess.leanPathUs, 1)} µs ` +
      `(${fmt(inProcess.connectPathUs / inProcess.leanPathUs, 1)}x less)\n`,
  );
}

/** What a second worker adds, when both the cluster case and the single-process one ran. */
export function writeClusterGain({ chosen }: Medians): void {
  const hit = chosen.get("hit");
  const cluster = chosen.get("cluster");
  if (cluster && hit) process.stdout.write(`\ncluster mode, 2 workers: ${fmt(cluster.load.rps)} req/s = ${fmt(cluster.load.rps / hit.load.rps, 2)}x one process\n`);
}
