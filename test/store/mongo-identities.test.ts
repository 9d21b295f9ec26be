import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/model/ids.js";
import type { StoreChange } from "../../src/store/store.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";
import { aKey } from "../support/records.js";
import { anIdentity } from "./contract/identities.js";
import { ROOMY, T2 } from "./contract/fixtures.js";

/**
 * What MongoDB adds to the identities contract: the change-log entries other replicas follow, for
 * exactly the identity changes that alter what a Check decides, committed with them.
 */
describe("mongodb identities", () => {
  let fresh: FreshMongoStore;

  beforeAll(async () => {
    fresh = await freshMongoStore();
  });

  afterAll(async () => {
    await fresh?.cleanup();
  });

  const identityChanges = async (organizationId: string): Promise<StoreChange[]> =>
    (await fresh.store.changes.recent(600_000))
      .map((entry) => entry.change)
      .filter((change) => change.kind === "identity" && change.organizationId === organizationId);

  it("logs an identity's change of limits or credits and its deletion, and nothing for its name, meta or external id", async () => {
    const { store } = fresh;
    const org = newId("org");
    const identity = anIdentity(org);
    await store.identities.create(identity, { maxPerOrganization: 10 });
    await store.identities.update(org, identity.id, { name: "Acme Inc", meta: {}, externalId: "acme-2", updatedAt: T2 });
    expect(await identityChanges(org)).toEqual([]);

    const entry: StoreChange = { kind: "identity", organizationId: org, identityId: identity.id };
    await store.identities.update(org, identity.id, { limits: [], updatedAt: T2 });
    await store.identities.update(org, identity.id, { credits: null, updatedAt: T2 });
    expect(await identityChanges(org)).toEqual([entry, entry]);
    await store.identities.delete(org, identity.id);
    expect(await identityChanges(org)).toEqual([entry, entry, entry]);
  });

  it("logs nothing for a refused deletion, and keeps a tie marker out of the record", async () => {
    const { store } = fresh;
    const org = newId("org");
    const identity = anIdentity(org);
    await store.identities.create(identity, { maxPerOrganization: 10 });
    await store.keys.create(aKey(org, { identityId: identity.id }), ROOMY);
    expect(await store.identities.tie(org, identity.id)).toBe(true);
    expect(await store.identities.findById(org, identity.id)).toStrictEqual(identity);
    expect(await store.identities.delete(org, identity.id)).toEqual({ ok: false, reason: "in_use", keys: 1 });
    expect(await identityChanges(org)).toEqual([]);
  });
});
