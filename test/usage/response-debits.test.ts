import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IdentityRecord } from "../../src/model/identities.js";
import { newId } from "../../src/model/ids.js";
import type { KeyRecord } from "../../src/model/records.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import type { Store } from "../../src/store/store.js";
import type { DebitCredits } from "../../src/usage/response-debits.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";
import { aKey, T0 } from "../support/records.js";
import { anEntry, NOW, replica, results } from "./access-log-replica.js";

/**
 * The access-log service debits a response-reported cost once per request: Envoy's stream is
 * sent again whole (a retried stream, to this replica or another sharing the store), and every
 * request is debited exactly once. Credits themselves are counted by CheckLimits.debitCredits
 * (test/limits/*): here a ledger of what it was asked to debit.
 */

const CREDITS = { remaining: 1_000, refill: null, setAt: T0 };

/** What debitCredits was asked for, in order: more asks than requests is a double debit. */
class Ledger {
  readonly asks: { keyId: string; identityId: string | null; amount: number }[] = [];
  readonly debit: DebitCredits = async (key, identity, amount) => {
    this.asks.push({ keyId: key.id, identityId: identity?.id ?? null, amount });
  };
}

describe.each([
  ["memory", async () => ({ store: new MemoryStore() as Store, cleanup: async () => {} })],
  ["mongodb", async () => freshMongoStore() as Promise<FreshMongoStore>],
])("response-reported cost on the %s store", (_name, makeStore) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ store, cleanup } = await makeStore());
  });
  afterAll(() => cleanup());

  async function organizationWithKey(settings: { responseCostHeader?: string } = {}, fields: Partial<KeyRecord> = { credits: CREDITS }): Promise<KeyRecord> {
    const organizationId = newId("org");
    await store.organizations.create({ id: organizationId, name: "acme", plan: "free", createdAt: T0, settings });
    const key = aKey(organizationId, fields);
    expect(await store.keys.create(key, { organizationMax: 100, userMax: 100 })).toMatchObject({ ok: true });
    return key;
  }

  it("debits each request once when Envoy sends the stream again, to this replica or another", async () => {
    const key = await organizationWithKey({ responseCostHeader: "x-usage-tokens" });
    const ledger = new Ledger();
    const [a, b] = [replica(store, ledger.debit), replica(store, ledger.debit)];
    const stream = [anEntry(key, randomUUID(), { "x-usage-tokens": "120" }), anEntry(key, randomUUID(), { "x-usage-tokens": "7" })];
    await a.send(stream);
    await a.send(stream);
    await b.send(stream);
    expect(ledger.asks).toEqual([
      { keyId: key.id, identityId: null, amount: 120 },
      { keyId: key.id, identityId: null, amount: 7 },
    ]);
    expect(results(a.metrics)).toEqual({ debited: 2, duplicate: 2 });
    expect(results(b.metrics)).toEqual({ duplicate: 2 });
  });

  it("debits concurrent resends of one entry once", async () => {
    const key = await organizationWithKey({ responseCostHeader: "x-usage-tokens" });
    const ledger = new Ledger();
    const stream = [anEntry(key, randomUUID(), { "x-usage-tokens": "5" })];
    await Promise.all([replica(store, ledger.debit), replica(store, ledger.debit), replica(store, ledger.debit)].map((r) => r.send(stream)));
    expect(ledger.asks).toHaveLength(1);
  });

  it("takes the route's header over the organization's, and the organization's elsewhere", async () => {
    const key = await organizationWithKey({ responseCostHeader: "x-usage-tokens" });
    const ledger = new Ledger();
    const r = replica(store, ledger.debit, (method, path) => (method === "POST" && path === "/v1/files" ? "x-bytes" : null));
    const both = { "x-usage-tokens": "3", "x-bytes": "4096" };
    await r.send([anEntry(key, "req-files", both, "/v1/files?upload=1"), anEntry(key, "req-chat", both)]);
    expect(ledger.asks.map(({ amount }) => amount)).toEqual([4096, 3]);
  });

  it("ignores values that are no whole number in bounds, and entries without a request id, counting each by reason", async () => {
    const key = await organizationWithKey({ responseCostHeader: "x-usage-tokens" });
    const ledger = new Ledger();
    const r = replica(store, ledger.debit);
    await r.send([
      anEntry(key, randomUUID(), { "x-usage-tokens": "-5" }),
      anEntry(key, randomUUID(), { "x-usage-tokens": "1.5" }),
      anEntry(key, randomUUID(), { "x-usage-tokens": "5,5" }),
      anEntry(key, randomUUID(), { "x-usage-tokens": "1000000001" }),
      anEntry(key, "", { "x-usage-tokens": "5" }),
      anEntry(key, "x".repeat(129), { "x-usage-tokens": "5" }),
      // Nothing reported, or nothing to debit: not counted at all.
      anEntry(key, randomUUID(), { "x-other": "5" }),
      anEntry(key, randomUUID(), { "x-usage-tokens": "0" }),
    ]);
    expect(ledger.asks).toEqual([]);
    expect(results(r.metrics)).toEqual({ malformed: 3, too_large: 1, no_request_id: 1, bad_request_id: 1 });
  });

  it("debits nothing for a key without credits or identity, and records nothing for it", async () => {
    const key = await organizationWithKey({ responseCostHeader: "x-usage-tokens" }, {});
    const ledger = new Ledger();
    const r = replica(store, ledger.debit);
    const requestId = randomUUID();
    await r.send([anEntry(key, requestId, { "x-usage-tokens": "9" })]);
    expect(ledger.asks).toEqual([]);
    expect(results(r.metrics)).toEqual({ no_credits: 1 });
    expect(await store.debitedRequests.record(key.organizationId, requestId, new Date(NOW + 1), new Date(NOW))).toBe(true);
  });

  it("debits a key without credits of its own from its identity's, the identity the stored key names", async () => {
    const organizationId = newId("org");
    await store.organizations.create({ id: organizationId, name: "acme", plan: "free", createdAt: T0, settings: { responseCostHeader: "x-usage-tokens" } });
    const identity: IdentityRecord = { id: newId("idt"), organizationId, externalId: "cus_1", name: "Acme", meta: {}, limits: [], credits: CREDITS, createdAt: T0, updatedAt: T0 };
    expect(await store.identities.create(identity, { maxPerOrganization: 100 })).toMatchObject({ ok: true });
    const key = aKey(organizationId, { identityId: identity.id });
    expect(await store.keys.create(key, { organizationMax: 100, userMax: 100 })).toMatchObject({ ok: true });
    const ledger = new Ledger();
    await replica(store, ledger.debit).send([anEntry(key, randomUUID(), { "x-usage-tokens": "40" })]);
    expect(ledger.asks).toEqual([{ keyId: key.id, identityId: identity.id, amount: 40 }]);
  });

  it("debits nothing where neither the route nor the organization names a header", async () => {
    const key = await organizationWithKey();
    const ledger = new Ledger();
    const r = replica(store, ledger.debit);
    await r.send([anEntry(key, randomUUID(), { "x-usage-tokens": "9" })]);
    expect(ledger.asks).toEqual([]);
    expect(results(r.metrics)).toEqual({});
  });

  it("forgets a request whose debit failed, so the entry sent again debits it", async () => {
    const key = await organizationWithKey({ responseCostHeader: "x-usage-tokens" });
    const ledger = new Ledger();
    let fail = true;
    const flaky: DebitCredits = async (k, identity, amount) => {
      if (fail) throw new Error("store unreachable");
      return ledger.debit(k, identity, amount);
    };
    const r = replica(store, flaky);
    const stream = [anEntry(key, randomUUID(), { "x-usage-tokens": "11" })];
    await r.send(stream);
    fail = false;
    await r.send(stream);
    await r.send(stream);
    expect(ledger.asks.map((ask) => ask.amount)).toEqual([11]);
    expect(results(r.metrics)).toEqual({ failed: 1, debited: 1, duplicate: 1 });
  });
});
