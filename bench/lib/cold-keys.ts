import { randomBytes } from "node:crypto";
import { MongoClient, type CommandStartedEvent } from "mongodb";
import { LocalLimits } from "../../src/limits/local-limits.js";
import { COLLECTIONS, MongoStore } from "../../src/store/mongo/mongo-store.js";
import { toDocument } from "../../src/store/mongo/documents.js";
import { systemClock } from "../../src/time/clock.js";
import { BENCH_PLAN, benchConfig, checkPath } from "./check-harness.js";
import { benchSecret, population } from "./keys.js";
import { decodeCheckResponse, envoyCheckRequest, outcomeOf } from "./requests.js";

/**
 * Cold keys on MongoDB (issue 16): Checks of keys no cache holds yet, on the Check path
 * (check-harness.ts) over a MongoStore, without a network in front, so what is timed is the
 * Check and the store round trips it waits for. Each pass presents keys seen for the first time,
 * each key once:
 * - in a burst, `inFlight` Checks at a time (a replica just started, a client rolling out new
 *   keys): the key lookups gather into batches (src/store/mongo/keys-by-hash.ts);
 * - one at a time: every Check waits for its own lookup, one `find` each, the round trip bound.
 * The driver's command monitoring counts the `find`s on keys and organizations. LocalLimits, so
 * no budget lease is part of it. Under Wine and on a busy machine: compare the rows, not the
 * absolute figures with a native mongod.
 *
 *   node dist/bench-build/bench/lib/cold-keys.js <mongodb uri> [keys] [in flight]
 */

export interface ColdPass {
  label: string;
  checks: number;
  checksPerSecond: number;
  keyFindsPerCheck: number;
  organizationFindsPerCheck: number;
}

export async function measureColdKeys(uri: string, keys = 20_000, inFlight = 256): Promise<ColdPass[]> {
  const seed = `cold-${randomBytes(4).toString("hex")}`;
  const client = new MongoClient(uri, { monitorCommands: true });
  const dbName = `keygate_bench_${seed.replace("-", "_")}`;
  const store = new MongoStore(client, dbName);
  await store.init();
  try {
    const alone = Math.min(1_000, Math.floor(keys / 10));
    await storePopulation(store, client, dbName, seed, keys + alone);
    const finds = { keys: 0, organizations: 0 };
    client.on("commandStarted", (event: CommandStartedEvent) => {
      if (event.commandName !== "find") return;
      if (event.command["find"] === COLLECTIONS.keys) finds.keys++;
      if (event.command["find"] === COLLECTIONS.organizations) finds.organizations++;
    });
    const { lean } = checkPath(benchConfig({}), store, new LocalLimits({ clock: systemClock, loadMonthlyRequests: async () => 0 }));
    const pass = async (label: string, from: number, count: number, concurrently: number): Promise<ColdPass> => {
      finds.keys = 0;
      finds.organizations = 0;
      let next = from;
      const started = process.hrtime.bigint();
      const worker = async () => {
        while (next < from + count) {
          // Any decision but an unknown key's (a few of the population lack the scope) found its key.
          const outcome = outcomeOf(decodeCheckResponse(await lean(envoyCheckRequest(benchSecret(seed, next++)))));
          if (outcome === "API_KEY_INVALID") throw new Error("a stored key was not found");
        }
      };
      await Promise.all(Array.from({ length: concurrently }, worker));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      return { label, checks: count, checksPerSecond: count / seconds, keyFindsPerCheck: finds.keys / count, organizationFindsPerCheck: finds.organizations / count };
    };
    return [await pass(`burst, ${inFlight} in flight`, 0, keys, inFlight), await pass("one at a time", keys, alone, 1)];
  } finally {
    await client.db(dbName).dropDatabase();
    await store.close();
  }
}

/** The population's keys and organizations written straight into their collections: only reads are measured. */
async function storePopulation(store: MongoStore, client: MongoClient, dbName: string, seed: string, count: number): Promise<void> {
  const { organizations, keys } = population(seed, count, BENCH_PLAN.name);
  for (const organization of organizations) await store.organizations.create(organization);
  const collection = client.db(dbName).collection(COLLECTIONS.keys);
  let chunk: ReturnType<typeof toDocument>[] = [];
  for (const key of keys()) {
    chunk.push(toDocument(key));
    if (chunk.length === 1_000) {
      await collection.insertMany(chunk as never[]);
      chunk = [];
    }
  }
  if (chunk.length > 0) await collection.insertMany(chunk as never[]);
}

export function formatColdKeys(passes: ColdPass[]): string {
  const rows = passes.map(
    (p) =>
      `  ${p.label.padEnd(24)} ${String(p.checks).padStart(7)} Checks  ${p.checksPerSecond.toFixed(0).padStart(7)} Checks/s  ` +
      `${p.keyFindsPerCheck.toFixed(3)} key finds and ${p.organizationFindsPerCheck.toFixed(3)} organization finds per Check`,
  );
  return `MongoDB, cold cache: first-seen keys, each Checked once\n${rows.join("\n")}\n`;
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const [uri, keys, inFlight] = process.argv.slice(2);
  if (uri === undefined) throw new Error("usage: cold-keys.js <mongodb uri> [keys] [in flight]");
  measureColdKeys(uri, keys ? Number(keys) : undefined, inFlight ? Number(inFlight) : undefined).then(
    (passes) => process.stdout.write(formatColdKeys(passes)),
    (error: unknown) => {
      process.stderr.write(`cold-keys failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
