import pino from "pino";
import { describe, expect, it, vi } from "vitest";
import { KeyCache, type KeyCacheConfig } from "../../src/cache/key-cache.js";
import { DEFAULT_PLANS } from "../../src/model/plans.js";
import { newId } from "../../src/model/ids.js";
import { KeyEvents } from "../../src/keys/key-events.js";
import { generateSecret, keyPrefixOf, SecretHasher } from "../../src/model/secret.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import type { KeyRecord } from "../../src/model/records.js";
import { ManualClock } from "../../src/time/clock.js";

/** The key cache under store failures (fail-static) and plan changes. */
const hasher = new SecretHasher("key-cache-failures-pepper-0123456789abcdef");
const CONFIG: KeyCacheConfig = {
  cacheMaxEntries: 1_000,
  cacheMaxBytes: 10 * 1024 * 1024,
  cacheTtlMs: 30_000,
  negativeCacheTtlMs: 5_000,
  cacheMaxStalenessMs: 60_000,
  plans: [...DEFAULT_PLANS],
  defaultPlan: "pro",
};

async function setup(config: Partial<KeyCacheConfig> = {}) {
  const clock = new ManualClock();
  const store = new MemoryStore();
  const keyEvents = new KeyEvents();
  const cache = new KeyCache({ store, keyEvents, clock, config: { ...CONFIG, ...config }, logger: pino({ level: "silent" }) });
  const organizationId = newId("org");
  await store.organizations.create({ id: organizationId, name: "Acme", plan: "free", createdAt: new Date() });
  const secret = generateSecret("live");
  const now = new Date(clock.now());
  const key: KeyRecord = {
    id: newId("key"), organizationId, name: "k", description: "", keyPrefix: keyPrefixOf(secret), secretHash: hasher.hash(secret),
    previousSecret: null, environment: "live", keyType: "shared", ownerUserId: "user_X", scopes: ["machines:read"], allowIps: [],
    rateLimit: null, isActive: true, revokedAt: null, expiresAt: null, createdAt: now, createdBy: "bootstrap", updatedAt: now,
  };
  const created = await store.keys.create(key, { organizationMax: 100, userMax: 100 });
  if (!created.ok) throw new Error(created.reason);
  const original = store.keys.findByHash.bind(store.keys);
  let reads = 0;
  const storeDown = (down: boolean) => {
    store.keys.findByHash = down
      ? async () => {
          reads++;
          throw new Error("store down");
        }
      : original;
  };
  return { clock, store, keyEvents, cache, organizationId, hash: key.secretHash, storeDown, reads: () => reads };
}

describe("key cache: fail-static and plan changes", () => {
  it("an expired entry is served while the store is down, up to cacheMaxStalenessMs past its TTL, then refused", async () => {
    const s = await setup();
    expect(await s.cache.get(s.hash)).not.toBeNull();
    s.storeDown(true);
    s.clock.advance(30_001); // expired
    expect(s.cache.cached(s.hash)).toBeUndefined(); // the hot path still misses it
    expect((await s.cache.load(s.hash))?.secretHash).toBe(s.hash);
    s.clock.advance(59_000); // 89 s old: 59 s stale, still within 60 s
    expect((await s.cache.load(s.hash))?.secretHash).toBe(s.hash);
    s.clock.advance(2_000); // 61 s stale
    await expect(s.cache.load(s.hash)).rejects.toThrow("store down");
  });

  it("once a read failed, stale answers do not wait for the store (it is re-read behind)", async () => {
    const s = await setup();
    await s.cache.get(s.hash);
    s.storeDown(true);
    s.clock.advance(31_000);
    await s.cache.load(s.hash); // this one waited for the failing read
    // The store hangs now: a stale answer must not wait for it.
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const findByHash = s.store.keys.findByHash;
    s.storeDown(false);
    const original = s.store.keys.findByHash;
    s.store.keys.findByHash = async (hash) => {
      await gate;
      return original(hash);
    };
    let resolved = false;
    const pending = s.cache.load(s.hash).then(() => (resolved = true));
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(resolved).toBe(true);
    await pending;
    release();
    await new Promise((r) => setTimeout(r, 0));
    expect(s.cache.cached(s.hash)).toBeDefined(); // the background read refreshed it
    expect(findByHash).not.toBe(original);
  });

  it("a read that never answers: a stale entry stands in at the deadline, and the hung read is abandoned, not cached", async () => {
    const s = await setup({ storeReadTimeoutMs: 20 });
    await s.cache.get(s.hash);
    s.clock.advance(31_000); // expired, within the staleness allowance
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const original = s.store.keys.findByHash.bind(s.store.keys);
    let reads = 0;
    s.store.keys.findByHash = async (hash) => {
      reads++;
      if (reads > 1) return original(hash);
      // Only the first read hangs, holding the record as it was when it was read.
      const before = await original(hash);
      await gate;
      return before;
    };
    expect((await s.cache.load(s.hash))?.secretHash).toBe(s.hash); // stale, at the deadline
    // Revoked meanwhile (without the event that would evict it: only the store knows).
    await s.store.keys.revoke(s.organizationId, (await original(s.hash))!.id, new Date(s.clock.now()));
    // The store just failed, so the next caller is answered stale at once and the key re-read
    // behind it: by a fresh read, not by joining the hung one, so it sees the revocation.
    await s.cache.load(s.hash);
    await vi.waitFor(() => expect(s.cache.cached(s.hash)?.revoked).toBe(true), { timeout: 10_000 });
    expect(reads).toBe(2);
    // The hung read ends with the record as it was before the revoke: it must not overwrite the fresh one.
    release();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(s.cache.cached(s.hash)?.revoked).toBe(true);
  });

  it("a read that never answers, with nothing stale to serve, fails at the deadline as the store being down", async () => {
    const s = await setup({ storeReadTimeoutMs: 20 });
    s.store.keys.findByHash = () => new Promise(() => {});
    await expect(s.cache.get(s.hash)).rejects.toThrow("KEYGATE_STORE_READ_TIMEOUT_MS");
  });

  it("without a staleness allowance an expired entry is a miss like any other", async () => {
    const s = await setup({ cacheMaxStalenessMs: 0 });
    await s.cache.get(s.hash);
    s.storeDown(true);
    s.clock.advance(30_001);
    await expect(s.cache.load(s.hash)).rejects.toThrow("store down");
  });

  it("unknown keys are never admitted while the store is down (fail-closed)", async () => {
    const s = await setup();
    s.storeDown(true);
    await expect(s.cache.get(hasher.hash(generateSecret("live")))).rejects.toThrow("store down");
  });

  it("a revoked (evicted) key is not served stale", async () => {
    const s = await setup();
    await s.cache.get(s.hash);
    s.storeDown(true);
    s.cache.evict(s.hash);
    await expect(s.cache.load(s.hash)).rejects.toThrow("store down");
  });

  it("a plan change evicts the organization's plan and its keys", async () => {
    const s = await setup();
    expect((await s.cache.get(s.hash))?.plan.name).toBe("free");
    await s.store.organizations.setPlan(s.organizationId, "pro");
    s.keyEvents.organizationChanged(s.organizationId);
    expect(s.cache.cached(s.hash)).toBeUndefined();
    expect((await s.cache.get(s.hash))?.plan.name).toBe("pro");
  });
});
