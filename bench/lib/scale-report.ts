import type { Case } from "./cases.js";
import type { MemoryFigures, Row } from "./measure.js";
import { fmt, type Medians } from "./report.js";

/**
 * The scale cases (issue 16), all on the frame generator: per case the server's CPU per Check
 * beside the generator's, throughput, latency and memory after a full collection, each as a ratio
 * to the hot key and to bare node:http2; then what a key costs stored and in use, and the targets.
 *
 * Bytes per stored key: (heap + array buffers, or RSS, with N keys stored and one in use) − (the same in the hot-key
 * case, 10 keys stored), over N. Bytes per key in use: (after the warm pass put all N in use) −
 * (N stored, one in use), in the same server process, over the keys in use. Both are read after
 * full collections (the servers run with --expose-gc), so they hold what is live, not garbage.
 * Array buffers count with the heap: the store's columns, the limiter's and the usage recorder's
 * rows are typed arrays, outside V8's heap.
 */

const MB = 2 ** 20;

type Pick = "held" | "heapBytes" | "rssBytes";

const figures = (m: MemoryFigures): string =>
  `heap ${fmt(m.heapBytes / MB)} MB (of ${fmt(m.heapTotalBytes / MB)} MB reserved), array buffers ${fmt(m.arrayBuffersBytes / MB)} MB, RSS ${fmt(m.rssBytes / MB)} MB`;
const cpuUs = (row: Row) => row.cpuSecondsPer10k * 100;
const ratio = (value: number, base: number | undefined) => (base === undefined || !Number.isFinite(base) ? "-" : `${fmt(value / base, 2)}x`);

export function writeScale(cases: readonly Case[], { byCase, chosen }: Medians, settings: { clients: number; streams: number }): void {
  const rows = cases.filter((c) => c.generator === "frames" && chosen.has(c.id)).map((c) => ({ testCase: c, row: chosen.get(c.id)! }));
  if (rows.length === 0) return;
  const hot = chosen.get("scale-hot");
  const bare = chosen.get("scale-a");
  const header = ["case", "req/s", "p50 ms", "p99 ms", "server CPU µs/Check", "generator CPU µs/Check", "RSS MB", "heap MB", "vs hot: CPU", "req/s", "RSS", "heap", "vs (a): CPU", "req/s"];
  const table = rows.map(({ row }) => [
    row.title + (byCase.get(row.id)!.length > 1 ? ` (median of ${byCase.get(row.id)!.length})` : ""),
    fmt(row.load.rps),
    fmt(row.load.p50Ms, 2),
    fmt(row.load.p99Ms, 2),
    fmt(cpuUs(row), 1),
    fmt(row.generatorCpuUsPerCheck ?? NaN, 1),
    fmt(row.settledRssMb),
    fmt(row.heapMb),
    ratio(cpuUs(row), hot && cpuUs(hot)),
    ratio(row.load.rps, hot?.load.rps),
    ratio(row.settledRssMb, hot?.settledRssMb),
    ratio(row.heapMb, hot?.heapMb),
    ratio(cpuUs(row), bare && cpuUs(bare)),
    ratio(row.load.rps, bare?.load.rps),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  process.stdout.write(
    `\nscale (issue 16): one frame generator for every case (2 threads, ${settings.clients} HTTP/2 connections x ${settings.streams} streams, ` +
      `pre-encoded frames); each uniform case first warms the cache with one request per key in use, so keys in use = keys stored - 2 ` +
      `(the two keys that deny by design are left out), and its Zipf twin is measured on the same server right after it. RSS and heap after a full collection at the end.\n\n`,
  );
  process.stdout.write(`${line(header)}\n|${widths.map((w, i) => (i === 0 ? ":" : "-") + "-".repeat(w) + (i === 0 ? "-" : ":")).join("|")}|\n`);
  for (const r of table) process.stdout.write(`${line(r)}\n`);

  const targets: Array<[string, boolean, string]> = [];
  if (hot && bare) targets.push(["hot key >= 80% of bare node:http2 (same generator)", hot.load.rps >= 0.8 * bare.load.rps, `${fmt((100 * hot.load.rps) / bare.load.rps)}%`]);
  process.stdout.write("\n");
  for (const { testCase, row } of rows) {
    const memory = row.scale;
    if (!testCase.spread || !memory?.inUse) continue;
    const million = memory.keysStored >= 1_000_000;
    if (hot) {
      const bound = million ? 1.5 : 1.25;
      targets.push([`${row.title}: server CPU per Check <= ${bound} x the hot key's`, cpuUs(row) <= bound * cpuUs(hot), `${fmt(cpuUs(row) / cpuUs(hot), 2)}x`]);
    }
    const rssBound = million ? 1536 : 300;
    targets.push([`${row.title}: RSS < ${fmt(rssBound)} MB`, row.settledRssMb < rssBound, `${fmt(row.settledRssMb)} MB held; peak ${fmt(row.peakRssMb)} MB`]);
    if (memory.sharedWith !== undefined) {
      process.stdout.write(`${row.title}: measured on the server of ${memory.sharedWith} right after it (seeded and warmed once for both)\n`);
      continue;
    }
    const seeded = typeof row.info["seedMs"] === "number" ? `${fmt(row.info["seedMs"] / 1000, 1)} s` : "-";
    const reference = hot?.scale?.stored;
    // keygate's compact state is in typed arrays, outside V8's heap: a key's bytes are both.
    const held = (figures: MemoryFigures, pick: Pick) => (pick === "held" ? figures.heapBytes + figures.arrayBuffersBytes : figures[pick]);
    const perStored = (pick: Pick) => (reference ? fmt((held(memory.stored, pick) - held(reference, pick)) / memory.keysStored) : "-");
    const perInUse = (pick: Pick) => (held(memory.inUse!, pick) - held(memory.stored, pick)) / memory.keysInUse;
    process.stdout.write(
      `${row.title}: seeded ${fmt(memory.keysStored)} keys in ${seeded}; warm pass over ${fmt(memory.keysInUse)} keys ${fmt(memory.warmS ?? NaN, 1)} s` +
        ` (${fmt(memory.keysInUse / (memory.warmS ?? NaN))}/s)\n` +
        `  N stored, one in use: ${figures(memory.stored)}; all in use: ${figures(memory.inUse)}\n` +
        `  bytes per stored key: heap + array buffers ${perStored("held")} (heap ${perStored("heapBytes")}), RSS ${perStored("rssBytes")} (vs the hot-key case's 10 keys)\n` +
        `  bytes per key in use: heap + array buffers ${fmt(perInUse("held"))} (heap ${fmt(perInUse("heapBytes"))}), RSS ${fmt(perInUse("rssBytes"))}\n`,
    );
    targets.push([`${row.title}: bytes per key in use <= 1 KB (heap + array buffers)`, perInUse("held") <= 1024, `${fmt(perInUse("held"))} B`]);
  }
  process.stdout.write("\nscale targets:\n");
  for (const [name, met, figure] of targets) process.stdout.write(`  ${met ? "met    " : "NOT MET"}  ${name}: ${figure}\n`);
}
