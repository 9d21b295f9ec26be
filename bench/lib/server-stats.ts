/**
 * The measuring side of a server under test: over the IPC channel of its parent (the bench, or
 * a cluster primary), it announces its port when listening and answers `stats` requests with
 * its CPU time, RSS and peak RSS, plus whatever counters the server adds (store operations).
 * The bench takes deltas of these around each measurement window.
 */

export interface ServerStats {
  cpuUserUs: number;
  cpuSystemUs: number;
  rssBytes: number;
  /** Peak resident set over the process's life (getrusage), in bytes. */
  maxRssBytes: number;
  /** V8 heap in use and memory outside it (buffers, typed arrays), for telling where RSS goes. */
  heapUsedBytes: number;
  /** V8's heap as reserved from the system: in use, free and fragmented. */
  heapTotalBytes: number;
  externalBytes: number;
  /** Typed arrays and buffers (part of external): where keygate's compact per-key state lives. */
  arrayBuffersBytes: number;
  /** Store calls made by the server, by repository; empty when not counted. */
  storeOps: Record<string, number>;
  processes: number;
}

/** `settle`: collect garbage first (the servers run with --expose-gc), for the memory the process really holds. */
export type StatsMessage = { type: "stats"; id: number; settle?: boolean } | { type: "stop" };
export type ServerMessage = { type: "ready"; port: number; info?: Record<string, unknown> } | ({ type: "stats"; id: number } & ServerStats);

/** Full garbage collections, when the process runs with --expose-gc. */
export function settle(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

export function ownStats(storeOps: Record<string, number> = {}): ServerStats {
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return {
    heapUsedBytes: memory.heapUsed,
    heapTotalBytes: memory.heapTotal,
    externalBytes: memory.external,
    arrayBuffersBytes: memory.arrayBuffers,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    rssBytes: process.memoryUsage.rss(),
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    storeOps,
    processes: 1,
  };
}

export function addCounts(a: Record<string, number>, b: Record<string, number>, sign = 1): Record<string, number> {
  const out = { ...a };
  for (const [name, n] of Object.entries(b)) out[name] = (out[name] ?? 0) + sign * n;
  return out;
}

export function sumStats(all: readonly ServerStats[]): ServerStats {
  return all.reduce(
    (sum, s) => ({
      cpuUserUs: sum.cpuUserUs + s.cpuUserUs,
      cpuSystemUs: sum.cpuSystemUs + s.cpuSystemUs,
      rssBytes: sum.rssBytes + s.rssBytes,
      maxRssBytes: sum.maxRssBytes + s.maxRssBytes,
      heapUsedBytes: sum.heapUsedBytes + s.heapUsedBytes,
      heapTotalBytes: sum.heapTotalBytes + s.heapTotalBytes,
      externalBytes: sum.externalBytes + s.externalBytes,
      arrayBuffersBytes: sum.arrayBuffersBytes + s.arrayBuffersBytes,
      storeOps: addCounts(sum.storeOps, s.storeOps),
      processes: sum.processes + s.processes,
    }),
    { cpuUserUs: 0, cpuSystemUs: 0, rssBytes: 0, maxRssBytes: 0, heapUsedBytes: 0, heapTotalBytes: 0, externalBytes: 0, arrayBuffersBytes: 0, storeOps: {}, processes: 0 },
  );
}

/** Call once listening: tells the parent the port, then answers its stats requests. */
export function reportToParent(port: number, stats: (settle: boolean) => ServerStats | Promise<ServerStats>, info?: Record<string, unknown>): void {
  if (process.send === undefined) {
    process.stdout.write(`listening on ${port}\n`);
    return;
  }
  process.on("message", (message: StatsMessage) => {
    if (message.type === "stats") {
      if (message.settle) settle();
      void Promise.resolve(stats(message.settle === true)).then((s) => process.send!({ type: "stats", id: message.id, ...s }));
    }
    if (message.type === "stop") process.exit(0);
  });
  // The bench going away (crash, ^C) must not leave servers behind.
  process.on("disconnect", () => process.exit(0));
  process.send({ type: "ready", port, ...(info && { info }) } satisfies ServerMessage);
}
