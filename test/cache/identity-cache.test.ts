import pino from "pino";
import { describe, expect, it } from "vitest";
import { ChangeFeed } from "../../src/cache/change-feed.js";
import { IdentityCache } from "../../src/cache/identity-cache.js";
import type { IdentityRecord } from "../../src/model/identities.js";
import type { ChangeLogEntry } from "../../src/store/store.js";

/** The identity cache Check reads identities' limits through: hits read nothing, loads are shared, changes are followed. */

const AT = new Date(Date.UTC(2026, 0, 1));
const identity = (id: string, limit: number, organizationId = "org_1"): IdentityRecord => ({
  id,
  organizationId,
  externalId: `ext-${id}`,
  name: id,
  meta: { plan: "gold" },
  limits: [{ name: "team", limit, period: "minute" }],
  credits: null,
  createdAt: AT,
  updatedAt: AT,
});

/** A store of identities whose reads can be held, to see what happens while one is on its way. */
function store(records: IdentityRecord[]) {
  const byId = new Map(records.map((record) => [record.id, record]));
  const reads: string[] = [];
  let held: (() => void)[] | null = null;
  return {
    byId,
    reads,
    hold: () => void (held = []),
    release: () => {
      const waiting = held ?? [];
      held = null;
      for (const go of waiting) go();
    },
    load: async (organizationId: string, id: string) => {
      reads.push(id);
      if (held !== null) await new Promise<void>((go) => held!.push(go));
      const record = byId.get(id);
      return record?.organizationId === organizationId ? record : null;
    },
  };
}

describe("IdentityCache", () => {
  it("a hit reads nothing; concurrent misses share one read; what is held is only what the limits read", async () => {
    const s = store([identity("idt_1", 5)]);
    const cache = new IdentityCache({ loadIdentity: s.load, ttlMs: 60_000 });
    expect(cache.cached("org_1", "idt_1")).toBeUndefined();
    const loads = await Promise.all([cache.load("org_1", "idt_1"), cache.lookup({ organizationId: "org_1", identityId: "idt_1" })]);
    expect(loads[0]).toEqual({ id: "idt_1", organizationId: "org_1", limits: [{ name: "team", limit: 5, period: "minute" }] });
    expect(cache.lookup({ organizationId: "org_1", identityId: "idt_1" })).toBe(loads[0]);
    expect(s.reads).toEqual(["idt_1"]);
  });

  it("an absent identity is remembered as null, and another organization's is null for this one", async () => {
    const s = store([identity("idt_theirs", 5, "org_2")]);
    const cache = new IdentityCache({ loadIdentity: s.load, ttlMs: 60_000 });
    expect(await cache.load("org_1", "idt_gone")).toBeNull();
    expect(cache.lookup({ organizationId: "org_1", identityId: "idt_gone" })).toBeNull();
    expect(await cache.load("org_2", "idt_theirs")).toMatchObject({ id: "idt_theirs" });
    expect(cache.cached("org_1", "idt_theirs")).toBeNull();
    expect(s.reads).toEqual(["idt_gone", "idt_theirs"]);
  });

  it("a change announced while a read is on its way: that read is not cached, the next reads again", async () => {
    const s = store([identity("idt_1", 5)]);
    const cache = new IdentityCache({ loadIdentity: s.load, ttlMs: 60_000 });
    s.hold();
    const before = cache.load("org_1", "idt_1");
    s.byId.set("idt_1", identity("idt_1", 9));
    cache.invalidate("idt_1");
    s.release();
    await before;
    expect(cache.cached("org_1", "idt_1")).toBeUndefined();
    expect(await cache.load("org_1", "idt_1")).toMatchObject({ limits: [{ limit: 9 }] });
  });

  it("the change feed drops an identity on its entry, and everything after a gap", async () => {
    const s = store([identity("idt_1", 5), identity("idt_2", 5)]);
    const cache = new IdentityCache({ loadIdentity: s.load, ttlMs: 60_000 });
    await cache.load("org_1", "idt_1");
    await cache.load("org_1", "idt_2");
    let now = 0;
    let failing = false;
    const log: ChangeLogEntry[] = [];
    const keyCache = { refresh: () => {}, evictOrganization: () => {}, clear: () => {} };
    const changes = {
      recent: async () => {
        if (failing) throw new Error("store down");
        return log;
      },
    };
    const feed = new ChangeFeed({ changes, keyCache, identityCache: cache, intervalMs: 1_000, windowMs: 10_000, logger: pino({ level: "silent" }), nowMs: () => now });
    log.push({ id: "e1", change: { kind: "identity", organizationId: "org_1", identityId: "idt_1" } });
    await feed.tick();
    expect(cache.cached("org_1", "idt_1")).toBeUndefined();
    expect(cache.cached("org_1", "idt_2")).not.toBeUndefined();
    failing = true;
    now += 6_000;
    await feed.tick();
    failing = false;
    now += 1_000;
    await feed.tick();
    expect(cache.size).toBe(0);
    await feed.close();
  });
});
