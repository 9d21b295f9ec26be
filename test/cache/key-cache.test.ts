import pino from "pino";
import { describe, expect, it } from "vitest";
import { CachedKey } from "../../src/cache/cached-key.js";
import { KeyCache, estimateEntryBytes, type KeyCacheConfig } from "../../src/cache/key-cache.js";
import { SharedKeyParts } from "../../src/cache/shared-key-parts.js";
import { DEFAULT_PLANS } from "../../src/model/plans.js";
import { newId } from "../../src/model/ids.js";
import { KeyEvents } from "../../src/keys/key-events.js";
import { generateSecret, keyPrefixOf, SecretHasher } from "../../src/model/secret.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import type { KeyRecord } from "../../src/model/records.js";
import { ManualClock } from "../../src/time/clock.js";
import { countingStore } from "../authz/check-harness.js";
import { aKey } from "../support/records.js";

const hasher = new SecretHasher("key-cache-tests-pepper-0123456789abcdef");
const CONFIG: KeyCacheConfig = {
  cacheMaxEntries: 1_000,
  cacheMaxBytes: 10 * 1024 * 1024,
  cacheTtlMs: 30_000,
  negativeCacheTtlMs: 5_000,
  plans: [...DEFAULT_PLANS],
  defaultPlan: "pro",
};

async function setup(config: Partial<KeyCacheConfig> = {}) {
  const clock = new ManualClock();
  const memory = new MemoryStore();
  const counted = countingStore(memory);
  const keyEvents = new KeyEvents();
  const cache = new KeyCache({ store: counted.store, keyEvents, clock, config: { ...CONFIG, ...config }, logger: pino({ level: "silent" }), maxOrganizations: 100 });
  const organizationId = newId("org");
  await memory.organizations.create({ id: organizationId, name: "Acme", plan: "free", createdAt: new Date() });

  async function createKey(fields: Partial<KeyRecord> = {}): Promise<{ key: KeyRecord; hash: string }> {
    const secret = generateSecret("live");
    const now = new Date(clock.now());
    const key: KeyRecord = {
      id: newId("key"),
      organizationId,
      name: "k",
      description: "",
      keyPrefix: keyPrefixOf(secret),
      secretHash: hasher.hash(secret),
      previousSecret: null,
      environment: "live",
      keyType: "shared",
      ownerUserId: "user_X",
      scopes: ["machines:read", "tags:read"],
      allowIps: ["10.0.0.0/8"],
      rateLimit: null,
      isActive: true,
      revokedAt: null,
      expiresAt: null,
      createdAt: now,
      createdBy: "bootstrap",
      updatedAt: now,
      ...fields,
    };
    const created = await memory.keys.create(key, { organizationMax: 1_000_000, userMax: 1_000_000 });
    if (!created.ok) throw new Error(created.reason);
    return { key: created.key, hash: key.secretHash };
  }

  return { clock, memory, calls: counted.calls, keyEvents, cache, organizationId, createKey };
}

describe("KeyCache", () => {
  it("a hit costs no store call at all", async () => {
    const s = await setup();
    const { hash } = await s.createKey();
    await s.cache.get(hash);
    const before = s.calls.total();
    for (let i = 0; i < 1_000; i++) expect(s.cache.cached(hash)).not.toBeUndefined();
    for (let i = 0; i < 100; i++) await s.cache.get(hash);
    expect(s.calls.total()).toBe(before);
  });

  it("entries hold what Check reads of the record, the pre-parsed allow-list and scope set, and the organization's plan", async () => {
    const s = await setup();
    const { key, hash } = await s.createKey();
    const entry = (await s.cache.get(hash))!;
    expect({ id: entry.id, organizationId: entry.organizationId, secretHash: entry.secretHash, isActive: entry.isActive, revoked: entry.revoked }).toEqual({
      id: key.id,
      organizationId: key.organizationId,
      secretHash: key.secretHash,
      isActive: true,
      revoked: false,
    });
    expect(entry.updatedAtMs).toBe(key.updatedAt.getTime());
    expect(entry.scopes.has("machines:read") && entry.scopes.has("tags:read") && !entry.scopes.has("tags:write")).toBe(true);
    expect(entry.scopes.joined).toBe("machines:read tags:read");
    expect(entry.allowList.isOpen).toBe(false);
    expect(entry.plan.name).toBe("free");
    // No copy of the record: what Check does not read is not there.
    expect(Object.keys(entry)).not.toContain("name");
    expect(JSON.stringify(entry)).not.toContain(key.keyPrefix);
  });

  it("keys with the same scopes, allow-list and rate limit share one of each; keys of an organization share it", async () => {
    const s = await setup();
    const fields = { scopes: ["tags:read"], allowIps: ["10.0.0.0/8", "192.168.0.0/16"], rateLimit: { limit: 10, period: "minute" as const } };
    const a = (await s.cache.get((await s.createKey(fields)).hash))!;
    const b = (await s.cache.get((await s.createKey(fields)).hash))!;
    const other = (await s.cache.get((await s.createKey({ scopes: ["tags:read", "machines:read"], allowIps: ["10.0.0.0/8"], rateLimit: { limit: 11, period: "minute" } })).hash))!;
    expect(a.id).not.toBe(b.id);
    expect(a.scopes).toBe(b.scopes);
    expect(a.allowList).toBe(b.allowList);
    expect(a.rateLimit).toBe(b.rateLimit);
    expect(a.rateLimit).toEqual({ limit: 10, period: "minute" });
    expect(a.organization).toBe(b.organization);
    expect(other.scopes).not.toBe(a.scopes);
    expect(other.allowList).not.toBe(a.allowList);
    expect(other.rateLimit).not.toBe(a.rateLimit);
    expect(other.organization).toBe(a.organization);
  });

  it("single-flight: 100 concurrent lookups of an uncached hash → one findByHash, one organization read", async () => {
    const s = await setup();
    const { hash } = await s.createKey();
    const entries = await Promise.all(Array.from({ length: 100 }, () => s.cache.get(hash)));
    expect(new Set(entries).size).toBe(1);
    expect(s.calls.keys.get("findByHash")).toBe(1);
    expect(s.calls.organizations.get("findById")).toBe(1);
  });

  it("single-flight for unknown hashes too, then the negative cache answers until it expires", async () => {
    const s = await setup();
    const unknown = hasher.hash(generateSecret("live"));
    const answers = await Promise.all(Array.from({ length: 100 }, () => s.cache.get(unknown)));
    expect(answers.every((a) => a === null)).toBe(true);
    expect(s.calls.keys.get("findByHash")).toBe(1);
    expect(s.cache.cached(unknown)).toBeNull();
    s.clock.advance(5_000);
    expect(await s.cache.get(unknown)).toBeNull();
    expect(s.calls.keys.get("findByHash")).toBe(1);
    s.clock.advance(1);
    expect(s.cache.cached(unknown)).toBeUndefined();
    await s.cache.get(unknown);
    expect(s.calls.keys.get("findByHash")).toBe(2);
  });

  it("a negative TTL of 0 disables the negative cache", async () => {
    const s = await setup({ negativeCacheTtlMs: 0 });
    const unknown = hasher.hash(generateSecret("live"));
    await s.cache.get(unknown);
    await s.cache.get(unknown);
    expect(s.calls.keys.get("findByHash")).toBe(2);
  });

  it("entries expire after cacheTtlMs", async () => {
    const s = await setup();
    const { hash } = await s.createKey();
    await s.cache.get(hash);
    s.clock.advance(30_000);
    expect(s.cache.cached(hash)).toBeDefined();
    s.clock.advance(1);
    expect(s.cache.cached(hash)).toBeUndefined();
  });

  it("KeyEvents replace a changed key's entries with its record as it is now, under the hashes it is found by now", async () => {
    const s = await setup();
    const previous = hasher.hash(generateSecret("live"));
    const { key, hash } = await s.createKey({ previousSecret: { hash: previous, expiresAt: new Date(s.clock.now() + 60_000) } });
    await s.cache.get(hash);
    await s.cache.get(previous);
    const disabled = { ...key, isActive: false };
    s.keyEvents.changed(disabled);
    // No store read is needed (one that an outage would refuse): the new record is there.
    expect(s.cache.cached(hash)?.isActive).toBe(false);
    expect(s.cache.cached(previous)?.isActive).toBe(false);

    // A rotation: the old hashes give way to the new one, the new secret is served at once.
    const rotatedHash = hasher.hash(generateSecret("live"));
    const rotated = { ...disabled, secretHash: rotatedHash, previousSecret: null };
    s.keyEvents.changed(rotated, disabled);
    expect(s.cache.cached(hash)).toBeUndefined();
    expect(s.cache.cached(previous)).toBeUndefined();
    expect(s.cache.cached(rotatedHash)?.secretHash).toBe(rotatedHash);
  });

  it("a change arriving late never replaces a newer record, nor brings a revoked key back", async () => {
    const s = await setup();
    const { key, hash } = await s.createKey();
    await s.cache.get(hash);
    const renamed = { ...key, name: "renamed", updatedAt: new Date(key.updatedAt.getTime() + 1_000) };
    const revoked = { ...renamed, isActive: false, revokedAt: new Date(key.updatedAt.getTime() + 2_000), updatedAt: new Date(key.updatedAt.getTime() + 2_000) };
    s.keyEvents.changed(revoked);
    // The rename committed first but is announced after the revoke (its commit was confirmed late).
    s.keyEvents.changed(renamed);
    expect(s.cache.cached(hash)).toMatchObject({ revoked: true, updatedAtMs: revoked.updatedAt.getTime() });
    // Even an unrevoked record stamped later (another replica's clock) does not undo a revocation.
    s.keyEvents.changed({ ...renamed, updatedAt: new Date(key.updatedAt.getTime() + 9_000) });
    expect(s.cache.cached(hash)).toMatchObject({ revoked: true, updatedAtMs: revoked.updatedAt.getTime() });
  });

  it("a removed key's hashes are remembered as unknown; an unknown hash a change names holds the key", async () => {
    const s = await setup();
    const { key, hash } = await s.createKey();
    await s.cache.get(hash);
    s.keyEvents.removed(key);
    expect(s.cache.cached(hash)).toBeNull();

    const later = hasher.hash(generateSecret("live"));
    await s.cache.get(later);
    expect(s.cache.cached(later)).toBeNull();
    s.keyEvents.changed({ ...key, secretHash: later, previousSecret: null });
    expect(s.cache.cached(later)?.id).toBe(key.id);
  });

  it("a change during an in-flight read: the stale read is not cached, the changed record is", async () => {
    const s = await setup();
    const { key, hash } = await s.createKey();
    await s.cache.get(hash);
    s.clock.advance(30_001);
    const inFlight = s.cache.get(hash);
    const revoked = await s.memory.keys.revoke(key.organizationId, key.id, new Date(s.clock.now()));
    s.keyEvents.changed(revoked!);
    await inFlight;
    // Not the record as the read found it: the revoked one, or none (the organization's plan had
    // expired with the key, so the change could only evict it).
    expect(s.cache.cached(hash)?.revoked ?? "evicted").not.toBe(false);
  });

  it("is bounded by entries", async () => {
    const s = await setup({ cacheMaxEntries: 10 });
    for (let i = 0; i < 50; i++) await s.cache.get((await s.createKey()).hash);
    expect(s.cache.stats.entries).toBe(10);
  });

  it("is bounded by estimated bytes", async () => {
    const s = await setup({ cacheMaxBytes: 8 * 1024 });
    const hashes: string[] = [];
    for (let i = 0; i < 50; i++) {
      const { hash } = await s.createKey({ description: "d".repeat(500), allowIps: Array.from({ length: 5 }, (_, j) => `10.${i}.${j}.0/24`) });
      hashes.push(hash);
      await s.cache.get(hash);
    }
    expect(s.cache.stats.bytes).toBeLessThanOrEqual(8 * 1024);
    expect(s.cache.stats.entries).toBeGreaterThan(0);
    expect(s.cache.stats.entries).toBeLessThan(50);
    expect(s.cache.cached(hashes.at(-1)!)).toBeDefined();
  });

  it("estimates what an entry holds: its own parts in full, a share of the parts keys have alike", () => {
    const organization = { id: "org_1", plan: DEFAULT_PLANS[0]! };
    const estimateWith = (parts: SharedKeyParts, fields: Partial<KeyRecord>) => estimateEntryBytes(new CachedKey(aKey("org_1", fields), organization, parts), parts);
    // The first key of its scopes, allow-list and rate limit: it pays for them in full.
    const estimate = (fields: Partial<KeyRecord>) => estimateWith(new SharedKeyParts(), fields);
    const allowIps = Array.from({ length: 20 }, (_, i) => `10.0.${i}.0/24`);
    expect(estimate({ allowIps })).toBeGreaterThan(estimate({ allowIps: [] }) + 2_000);
    // The keys that have them alike share them.
    const shared = new SharedKeyParts();
    const first = estimateWith(shared, { allowIps });
    const tenth = Array.from({ length: 9 }, () => estimateWith(shared, { allowIps })).at(-1)!;
    expect(tenth).toBeLessThan(first - 2_000);
    // A rotating key's second hash is its own string.
    expect(estimate({ previousSecret: { hash: "f".repeat(64), expiresAt: new Date() } })).toBeGreaterThan(estimate({}) + 60);
    // What the record has that Check does not read costs nothing.
    expect(estimate({ description: "x".repeat(1_000), name: "y".repeat(100) })).toBe(estimate({}));
  });

  it("a store failure rejects the lookup and caches nothing", async () => {
    const s = await setup();
    const { hash } = await s.createKey();
    const original = s.memory.keys.findByHash.bind(s.memory.keys);
    s.memory.keys.findByHash = async () => {
      throw new Error("store down");
    };
    await expect(s.cache.get(hash)).rejects.toThrow("store down");
    expect(s.cache.cached(hash)).toBeUndefined();
    s.memory.keys.findByHash = original;
    expect(await s.cache.get(hash)).not.toBeNull();
  });

  it("an organization or plan that is gone falls back to the default plan", async () => {
    const s = await setup();
    const { hash } = await s.createKey({ organizationId: newId("org") });
    expect((await s.cache.get(hash))?.plan.name).toBe("pro");
  });

  it("close() stops listening to key events", async () => {
    const s = await setup();
    const { key, hash } = await s.createKey();
    await s.cache.get(hash);
    s.cache.close();
    s.keyEvents.removed(key);
    expect(s.cache.cached(hash)).toBeDefined();
  });
});
