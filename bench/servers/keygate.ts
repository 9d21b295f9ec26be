import cluster from "node:cluster";
import { startApp } from "../../src/app.js";
import { loadConfig, type Config } from "../../src/config/config.js";
import type { Plan } from "../../src/model/plans.js";
import { createLogger } from "../../src/log/logger.js";
import { ClusterPrimary, joinCluster } from "../../src/server/cluster.js";
import { openStore } from "../../src/store/open-store.js";
import type { Store } from "../../src/store/store.js";
import { countingStore } from "../lib/counting-store.js";
import { BENCH_PEPPER, population } from "../lib/keys.js";
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

/** Limits that never bind, so every case measures the path it names, not the plan. */
const BENCH_PLAN: Plan = {
  name: "bench",
  maxKeysPerOrganization: 10_000_000,
  maxKeysPerUser: 10_000_000,
  maxRateLimitPerMinute: 1_000_000_000,
  monthlyQuota: 1_000_000_000_000_000,
  requestsPerMinute: 1_000_000_000_000,
  canCreateAdminKeys: true,
  currency: "USD",
  pricePerThousandRequests: 0,
  pricePerMegabyte: 0,
};

async function seed(store: Store): Promise<void> {
  const { organizations, keys } = population(settings.seed, settings.keys, BENCH_PLAN.name);
  if ((await store.organizations.findById(organizations[0]!.id)) !== null) return;
  for (const organization of organizations) await store.organizations.create(organization);
  const slots = { organizationMax: BENCH_PLAN.maxKeysPerOrganization, userMax: BENCH_PLAN.maxKeysPerUser };
  for (const key of keys()) {
    const created = await store.keys.create(key, slots);
    if (!created.ok) throw new Error(`seeding failed: ${created.reason}`);
  }
}

async function serve(): Promise<void> {
  const config: Config = {
    ...loadConfig({
      ...process.env,
      KEYGATE_PEPPER: BENCH_PEPPER,
      HOST: "127.0.0.1",
      PORT: "0",
      LOG_LEVEL: process.env["LOG_LEVEL"] ?? "warn",
      KEYGATE_DEMO_BOOTSTRAP: "false",
      KEYGATE_WORKERS: "1",
      MONGODB_DB: process.env["MONGODB_DB"] ?? `keygate_bench_${settings.seed.replace(/\W/g, "_")}`,
    }),
    plans: [BENCH_PLAN],
    defaultPlan: BENCH_PLAN.name,
  };
  const backing = await openStore(config);
  const seedStarted = performance.now();
  await seed(backing);
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
