import { beforeAll, describe, expect, it } from "vitest";
import type { IdentityRecord } from "../../../src/model/identities.js";
import { newId } from "../../../src/model/ids.js";
import type { KeyRecord } from "../../../src/model/records.js";
import type { Store } from "../../../src/store/store.js";
import { aKey } from "../../support/records.js";
import { keysThrough, ROOMY, T1, T2 } from "./fixtures.js";

export function anIdentity(organizationId: string, fields: Partial<IdentityRecord> = {}): IdentityRecord {
  return {
    id: newId("idt"),
    organizationId,
    externalId: `customer-${newId("idt").slice(-8)}`,
    name: "Acme Corp",
    meta: { plan: "gold", region: "eu" },
    limits: [
      { name: "per-second", limit: 10, period: "second" },
      { name: "daily", limit: 10_000, period: "day" },
    ],
    credits: { remaining: 1_000, refill: { amount: 1_000, interval: "monthly", day: 1 }, setAt: T1 },
    createdAt: T1,
    updatedAt: T1,
    ...fields,
  };
}

/**
 * Identities (issue 19): created, found, listed, changed and deleted, each organization only its
 * own, external ids unique within one; and the keys' fields that tie them to identities and hold
 * their own limits and credits.
 */
/** A bound no contract test reaches but the one about the bound. */
const ROOMY_IDENTITIES = { maxPerOrganization: 1_000 };

export function describeIdentitiesContract(getStore: () => Store): void {
  let store: Store;
  const keys = keysThrough(getStore);
  beforeAll(() => {
    store = getStore();
  });

  const created = async (identity: IdentityRecord): Promise<IdentityRecord> => {
    expect(await store.identities.create(identity, ROOMY_IDENTITIES)).toStrictEqual({ ok: true, identity });
    return identity;
  };

  describe("identities", () => {
    it("creates, finds and lists an organization's identities in id order, exactly as given", async () => {
      const org = newId("org");
      const first = await created(anIdentity(org));
      const second = await created(anIdentity(org, { meta: {}, limits: [], credits: null }));
      const elsewhere = await created(anIdentity(newId("org"), { externalId: first.externalId }));
      expect(await store.identities.findById(org, first.id)).toStrictEqual(first);
      expect(await store.identities.findById(org, second.id)).toStrictEqual(second);
      expect(await store.identities.findById(org, elsewhere.id)).toBeNull();
      expect(await store.identities.list(org, { limit: 10 })).toStrictEqual([first, second]);
      expect(await store.identities.list(org, { limit: 1 })).toStrictEqual([first]);
      expect(await store.identities.list(org, { afterId: first.id, limit: 10 })).toStrictEqual([second]);
      expect(await store.identities.list(org, { externalId: second.externalId, limit: 10 })).toStrictEqual([second]);
      expect(await store.identities.list(org, { externalId: "nobody", limit: 10 })).toEqual([]);
    });

    it("refuses a second identity with an organization's external id, writing nothing", async () => {
      const org = newId("org");
      const first = await created(anIdentity(org));
      const again = anIdentity(org, { externalId: first.externalId });
      expect(await store.identities.create(again, ROOMY_IDENTITIES)).toStrictEqual({ ok: false, reason: "external_id_taken" });
      expect(await store.identities.findById(org, again.id)).toBeNull();
      expect(await store.identities.list(org, { limit: 10 })).toStrictEqual([first]);
    });

    it("refuses an identity past the organization's bound, concurrent creations included, and frees a place on deletion", async () => {
      const org = newId("org");
      const bound = { maxPerOrganization: 3 };
      const first = await created(anIdentity(org));
      const racing = Array.from({ length: 4 }, () => anIdentity(org));
      const outcomes = await Promise.all(racing.map((identity) => store.identities.create(identity, bound)));
      expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(2);
      expect(outcomes.filter((outcome) => !outcome.ok)).toEqual([
        { ok: false, reason: "limit_reached" },
        { ok: false, reason: "limit_reached" },
      ]);
      expect(await store.identities.list(org, { limit: 10 })).toHaveLength(3);
      // Another organization's bound is its own.
      expect((await store.identities.create(anIdentity(newId("org")), { maxPerOrganization: 1 })).ok).toBe(true);
      const late = anIdentity(org);
      expect(await store.identities.create(late, bound)).toStrictEqual({ ok: false, reason: "limit_reached" });
      expect(await store.identities.findById(org, late.id)).toBeNull();
      expect((await store.identities.delete(org, first.id)).ok).toBe(true);
      expect(await store.identities.create(late, bound)).toStrictEqual({ ok: true, identity: late });
    });

    it("changes only the fields given, removes credits with null, and never another organization's identity", async () => {
      const org = newId("org");
      const identity = await created(anIdentity(org));
      const taken = await created(anIdentity(org));
      expect(await store.identities.update(newId("org"), identity.id, { name: "x", updatedAt: T2 })).toStrictEqual({ ok: false, reason: "not_found" });
      expect(await store.identities.update(org, newId("idt"), { name: "x", updatedAt: T2 })).toStrictEqual({ ok: false, reason: "not_found" });
      expect(await store.identities.update(org, identity.id, { externalId: taken.externalId, updatedAt: T2 })).toStrictEqual({
        ok: false,
        reason: "external_id_taken",
      });
      const limits = [{ name: "hourly", limit: 500, period: "hour" as const }];
      const changed = { ...identity, name: "Acme Inc", meta: { tier: "2" }, limits, credits: null, updatedAt: T2 };
      expect(await store.identities.update(org, identity.id, { name: "Acme Inc", meta: { tier: "2" }, limits, credits: null, updatedAt: T2 })).toStrictEqual({
        ok: true,
        identity: changed,
      });
      const renamed = { ...changed, externalId: "acme-renamed" };
      expect(await store.identities.update(org, identity.id, { externalId: "acme-renamed", updatedAt: T2 })).toStrictEqual({ ok: true, identity: renamed });
      expect(await store.identities.findById(org, identity.id)).toStrictEqual(renamed);
      // Its old external id is free again; its own, given again, is no clash.
      await created(anIdentity(org, { externalId: identity.externalId }));
      expect(await store.identities.update(org, identity.id, { externalId: "acme-renamed", updatedAt: T2 })).toMatchObject({ ok: true });
    });

    it("deletes an identity only while no key that is not revoked is tied to it", async () => {
      const org = newId("org");
      const identity = await created(anIdentity(org));
      const key = await keys.created(aKey(org, { identityId: identity.id }));
      expect(await store.identities.delete(newId("org"), identity.id)).toStrictEqual({ ok: false, reason: "not_found" });
      expect(await store.identities.delete(org, identity.id)).toStrictEqual({ ok: false, reason: "in_use", keys: 1 });
      expect(await store.identities.findById(org, identity.id)).toStrictEqual(identity);
      await store.keys.revoke(org, key.id, T2);
      expect(await store.identities.delete(org, identity.id)).toStrictEqual({ ok: true, identity });
      expect(await store.identities.delete(org, identity.id)).toStrictEqual({ ok: false, reason: "not_found" });
      expect(await store.identities.findById(org, identity.id)).toBeNull();
      // Its external id may name a new identity.
      await created(anIdentity(org, { externalId: identity.externalId }));
    });

    it("ties a key only to an identity of the key's organization", async () => {
      const org = newId("org");
      const identity = await created(anIdentity(org));
      expect(await store.identities.tie(org, identity.id)).toBe(true);
      expect(await store.identities.tie(newId("org"), identity.id)).toBe(false);
      expect(await store.identities.tie(org, newId("idt"))).toBe(false);
      expect(await store.identities.findById(org, identity.id)).toStrictEqual(identity);
    });
  });

  describe("keys: identities, named limits and credits", () => {
    const held: Pick<KeyRecord, "limits" | "credits" | "identityId"> = {
      limits: [
        { name: "burst", limit: 3, period: "second" },
        { name: "steady", limit: 10, period: "minute" },
      ],
      credits: { remaining: 50, refill: { amount: 100, interval: "daily", day: 0 }, setAt: T1 },
      identityId: newId("idt"),
    };

    it("keeps a key's named limits, credits and identity, and lists the keys tied to an identity", async () => {
      const org = newId("org");
      const key = await keys.created(aKey(org, held));
      const plain = await keys.created(aKey(org));
      expect(await store.keys.findById(org, key.id)).toStrictEqual(key);
      expect(await store.keys.findByHash(key.secretHash)).toStrictEqual(key);
      expect(await store.keys.findById(org, plain.id)).toStrictEqual(plain);
      expect(await store.keys.list(org, { identityId: held.identityId!, limit: 10 })).toStrictEqual([key]);
      expect(await store.keys.list(newId("org"), { identityId: held.identityId!, limit: 10 })).toEqual([]);
    });

    it("replaces them with a patch, and removes credits and the identity with null", async () => {
      const org = newId("org");
      const key = await keys.created(aKey(org));
      const set = await store.keys.update(org, key.id, { ...held, updatedAt: T2 }, ROOMY);
      expect(set).toStrictEqual({ ok: true, key: { ...key, ...held, updatedAt: T2 } });
      const cleared = await store.keys.update(org, key.id, { limits: [], credits: null, identityId: null, updatedAt: T2 }, ROOMY);
      expect(cleared).toStrictEqual({ ok: true, key: { ...key, updatedAt: T2 } });
      expect(await store.keys.findById(org, key.id)).toStrictEqual({ ...key, updatedAt: T2 });
      expect(await store.keys.list(org, { identityId: held.identityId!, limit: 10 })).toEqual([]);
    });
  });
}
