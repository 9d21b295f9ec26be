import pino from "pino";
import { describe, expect, it } from "vitest";
import { ChangeFeed } from "../../src/cache/change-feed.js";
import { KeyEvents } from "../../src/keys/key-events.js";
import type { ChangeLogEntry, ChangeLogRepository, StoreChange } from "../../src/store/store.js";

/** The change feed's rules, against an in-memory log: skip own and applied entries, clear after a gap, retry writes. */
function setup() {
  let now = 0;
  let failing = false;
  const log: (ChangeLogEntry & { atMs: number })[] = [];
  const changes: ChangeLogRepository = {
    async append(origin: string, change: StoreChange) {
      if (failing) throw new Error("store down");
      log.push({ id: String(log.length), origin, change, atMs: now });
    },
    async recent(windowMs: number) {
      if (failing) throw new Error("store down");
      return log.filter((entry) => entry.atMs >= now - windowMs);
    },
  };
  const evicted: string[] = [];
  const keyCache = {
    evict: (hash: string) => void evicted.push(hash),
    evictOrganization: (id: string) => void evicted.push(`org:${id}`),
    clear: () => void evicted.push("CLEAR"),
  };
  const keyEvents = new KeyEvents();
  const feed = new ChangeFeed({ changes, keyEvents, keyCache, intervalMs: 1_000, windowMs: 10_000, logger: pino({ level: "silent" }), nowMs: () => now });
  return {
    feed,
    keyEvents,
    log,
    evicted,
    advance: (ms: number) => (now += ms),
    setFailing: (value: boolean) => (failing = value),
    remote: (change: StoreChange) => log.push({ id: `r${log.length}`, origin: "other replica", change, atMs: now }),
  };
}

describe("ChangeFeed", () => {
  it("applies other replicas' entries once, never its own", async () => {
    const s = setup();
    s.keyEvents.changed({ id: "k1", organizationId: "o", secretHash: "own", previousSecret: null });
    s.remote({ kind: "key", hashes: ["h1", "h2"] });
    s.remote({ kind: "organization", organizationId: "o2" });
    await s.feed.tick();
    await s.feed.tick();
    expect(s.evicted).toEqual(["h1", "h2", "org:o2"]);
    expect(s.log.filter((entry) => entry.origin === s.feed.origin).map((entry) => entry.change)).toEqual([{ kind: "key", hashes: ["own"] }]);
  });

  it("local changes made while the store is down are written once it is back", async () => {
    const s = setup();
    await s.feed.tick();
    s.setFailing(true);
    s.keyEvents.organizationChanged("o1");
    await s.feed.tick();
    expect(s.log).toHaveLength(0);
    s.setFailing(false);
    await s.feed.tick();
    expect(s.log.map((entry) => entry.change)).toEqual([{ kind: "organization", organizationId: "o1" }]);
  });

  it("a change made while a poll runs is written right after it, not an interval later", async () => {
    const s = setup();
    const polling = s.feed.tick();
    s.keyEvents.changed({ id: "k1", organizationId: "o", secretHash: "during", previousSecret: null });
    await polling;
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(s.log.map((entry) => entry.change)).toEqual([{ kind: "key", hashes: ["during"] }]);
  });

  it("after a read gap longer than half the window it drops the whole cache", async () => {
    const s = setup();
    await s.feed.tick();
    s.setFailing(true);
    s.advance(4_000);
    await s.feed.tick();
    s.setFailing(false);
    await s.feed.tick(); // 4 s since the last read: within the window
    expect(s.evicted).toEqual([]);
    s.setFailing(true);
    s.advance(6_000);
    await s.feed.tick();
    s.setFailing(false);
    await s.feed.tick(); // 6 s: entries may have slid out unseen
    expect(s.evicted).toEqual(["CLEAR"]);
  });
});
