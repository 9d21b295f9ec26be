import cluster from "node:cluster";
import { startApp } from "../../src/app.js";
import { createLogger } from "../../src/log/logger.js";
import { ClusterPrimary, joinCluster } from "../../src/server/cluster.js";
import { openStore } from "../../src/store/open-store.js";
import { benchConfig, seedPopulation } from "../lib/check-harness.js";
import { countingStore } from "../lib/counting-store.js";
import { ownStats, reportToParent, sumStats, type ServerMessage, type ServerStats, type StatsMessage } from "../lib/server-stats.js";

/**
 * keygate under test, as it runs in production (startApp: one port, protocol sniffing, Connect's
 * router) on a store seeded with the bench population, behind a store wrapper that counts calls.
 * Settings come from BENCH_KEYGATE (JSON): keys, seed, workers; MONGODB_URI selects MongoDB.
 * With workers > 1 this process is a cluster primary (src/server/cluster.ts) whose workers each
 * seed the same population into their own embedded store (a bench-only arrangement: keygate
 * itself refuses cluster mode on the embedded store) and whose stats it sums.
 */

interface Settings {
  keys: number;
  seed: string;
  workers: number;
}

const settings = JSON.parse(process.env["BENCH_KEYGATE"] ?? "{}") as Settings;

async function serve(): Promise<void> {
  const config = benchConfig({
    ...process.env,
    HOST: "127.0.0.1",
    PORT: "0",
    LOG_LEVEL: process.env["LOG_LEVEL"] ?? "warn",
    KEYGATE_DEMO_BOOTSTRAP: "false",
    KEYGATE_WORKERS: "1",
    MONGODB_DB: process.env["MONGODB_DB"] ?? `keygate_bench_${settings.seed.replace(/\W/g, "_")}`,
  });
  const backing = await openStore(config);
  const seedStarted = performance.now();
  await seedPopulation(backing, settings.seed, settings.keys);
  const seedMs = Math.round(performance.now() - seedStarted);
  const counted = countingStore(backing);
  const app = await startApp({ config, store: counted.store, logger: createLogger(config.logLevel) });
  if (cluster.isWorker) joinCluster(app, () => process.exit(0));
  reportToParent(app.port, () => ownStats(counted.operations()), { seedMs, store: backing.kind });
}

function primary(): void {
  const pending = new Map<number, { stats: ServerStats[]; resolve: (stats: ServerStats) => void }>();
  let readyPort: number | undefined;
  let ready = 0;
  let info: Record<string, unknown> | undefined;
  const clusterPrimary = new ClusterPrimary({
    workers: settings.workers,
    shutdownTimeoutMs: 1_000,
    logger: createLogger("warn"),
    onMessage: (_worker, raw) => {
      const message = raw as ServerMessage;
      if (message.type === "ready") {
        readyPort = message.port;
        info = message.info;
        if (++ready === settings.workers) reportToParent(readyPort, stats, { ...info, workers: settings.workers });
      } else if (message.type === "stats") {
        const request = pending.get(message.id);
        if (request === undefined) return;
        request.stats.push(message);
        if (request.stats.length === settings.workers) {
          pending.delete(message.id);
          request.resolve(sumStats([...request.stats, ownStats()]));
        }
      }
    },
  }).start();
  let nextId = 1;
  const stats = (settle: boolean): Promise<ServerStats> =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, { stats: [], resolve });
      for (const worker of clusterPrimary.workers) worker.send({ type: "stats", id, settle } satisfies StatsMessage);
    });
  process.on("disconnect", () => void clusterPrimary.stop().then(() => process.exit(0)));
}

if (settings.workers > 1 && cluster.isPrimary) primary();
else
  serve().catch((error: unknown) => {
    process.stderr.write(`bench keygate server failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
