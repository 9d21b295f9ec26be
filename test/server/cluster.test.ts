import cluster, { type Worker } from "node:cluster";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/config.js";
import { ClusterPrimary } from "../../src/server/cluster.js";

/**
 * Cluster mode's primary with stand-in workers (fixtures/cluster-worker.mjs): key evictions reach
 * every other worker and only them, other messages go to the embedder, a worker that dies is
 * replaced, a crash loop or workers that cannot start stop the cluster, and stop() ends every
 * worker. KEYGATE_WORKERS is validated like every setting.
 */

cluster.setupPrimary({ exec: fileURLToPath(new URL("./fixtures/cluster-worker.mjs", import.meta.url)), silent: true });
const logger = { info() {}, warn() {}, error() {} };
const running: ClusterPrimary[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

function start(workers: number, extra: Partial<ConstructorParameters<typeof ClusterPrimary>[0]> = {}) {
  const messages: Array<{ from: number; message: Record<string, unknown> }> = [];
  const primary = new ClusterPrimary({
    workers,
    logger,
    shutdownTimeoutMs: 1_000,
    onMessage: (worker, message) => messages.push({ from: worker.id, message: message as Record<string, unknown> }),
    ...extra,
  });
  running.push(primary);
  primary.start();
  return { primary, messages };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const ready = (messages: Array<{ message: Record<string, unknown> }>) => messages.filter((m) => m.message["type"] === "ready").length;

describe("cluster primary", () => {
  it("relays a worker's key evictions to every other worker, and other messages to the embedder", async () => {
    const { primary, messages } = start(3);
    await until(() => ready(messages) === 3, "three workers");
    const [sender] = primary.workers as Worker[];
    sender!.send({ type: "send", message: { keygate: "evict", hashes: ["h1", "h2"] } });
    await until(() => messages.filter((m) => m.message["type"] === "relayed").length === 2, "two relays");
    const relayed = messages.filter((m) => m.message["type"] === "relayed");
    expect(relayed.map((m) => m.from).sort()).toEqual(primary.workers.filter((w) => w !== sender).map((w) => w.id).sort());
    expect(relayed.every((m) => JSON.stringify(m.message["hashes"]) === '["h1","h2"]')).toBe(true);
  });

  it("replaces a worker that exits unexpectedly", async () => {
    const { primary, messages } = start(2);
    await until(() => ready(messages) === 2, "two workers");
    const first = primary.workers[0]!;
    first.send({ type: "exit" });
    await until(() => ready(messages) === 3 && primary.workers.length === 2, "a replacement");
    expect(primary.workers).not.toContain(first);
  });

  it("gives up when workers keep exiting", async () => {
    let gaveUp = false;
    const { primary, messages } = start(1, { maxRestarts: 2, onGiveUp: () => (gaveUp = true) });
    for (let exits = 0; exits < 3; exits++) {
      await until(() => ready(messages) === exits + 1, `worker ${exits + 1}`);
      primary.workers[0]!.send({ type: "exit" });
    }
    await until(() => gaveUp, "giving up");
    expect(primary.workers).toHaveLength(0);
  });

  it("gives up when workers exit before they listen", async () => {
    // Workers inherit the primary's environment.
    process.env["NO_LISTEN"] = "1";
    try {
      let gaveUp = false;
      const { primary, messages } = start(1, { maxRestarts: 100, onGiveUp: () => (gaveUp = true) });
      for (let exits = 0; exits < 3; exits++) {
        await until(() => ready(messages) === exits + 1, `worker ${exits + 1}`);
        primary.workers[0]!.send({ type: "exit" });
      }
      await until(() => gaveUp, "giving up");
    } finally {
      delete process.env["NO_LISTEN"];
    }
  });

  it("stop() ends every worker", async () => {
    const { primary, messages } = start(2);
    await until(() => ready(messages) === 2, "two workers");
    const workers = [...primary.workers];
    await primary.stop();
    expect(workers.every((w) => w.isDead())).toBe(true);
  });
});

describe("KEYGATE_WORKERS", () => {
  const mongo = { MONGODB_URI: "mongodb://localhost:27017", KEYGATE_PEPPER: "p".repeat(32) };
  it("defaults to one process", () => {
    expect(loadConfig({}).workers).toBe(1);
  });
  it("takes a number, or auto for one per core, with MongoDB", () => {
    expect(loadConfig({ ...mongo, KEYGATE_WORKERS: "4" }).workers).toBe(4);
    expect(loadConfig({ ...mongo, KEYGATE_WORKERS: "auto" }).workers).toBeGreaterThanOrEqual(1);
  });
  it.each(["0", "-1", "two", "1.5", "257"])("refuses %s", (value) => {
    expect(() => loadConfig({ ...mongo, KEYGATE_WORKERS: value })).toThrow(ConfigError);
  });
  it("refuses more than one worker on the embedded store", () => {
    expect(() => loadConfig({ KEYGATE_WORKERS: "2" })).toThrow(/KEYGATE_WORKERS: more than one worker needs MONGODB_URI/);
    expect(loadConfig({ KEYGATE_WORKERS: "1" }).workers).toBe(1);
  });
});
