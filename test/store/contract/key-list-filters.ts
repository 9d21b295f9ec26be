import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/model/ids.js";
import type { KeyRecord } from "../../../src/model/records.js";
import type { KeyListOrder, KeyListQuery, Store } from "../../../src/store/store.js";
import { aKey } from "../../support/records.js";
import { keysThrough, T1, T2 } from "./fixtures.js";

/** Keys: a listing filtered by state and search, in each order, paged after a cursor. */
export function describeKeyListFiltersContract(getStore: () => Store): void {
  let store: Store;
  beforeAll(() => {
    store = getStore();
  });
  const { created } = keysThrough(() => store);
  const names = (page: KeyRecord[]) => page.map((key) => key.name);

  /** Every page of the listing, each `size` long, each after the last key of the one before. */
  async function allPages(org: string, query: Omit<KeyListQuery, "limit">, size: number): Promise<KeyRecord[]> {
    const all: KeyRecord[] = [];
    for (;;) {
      const last = all.at(-1);
      const page = await store.keys.list(org, { ...query, limit: size, ...(last && { afterId: last.id, afterName: last.name }) });
      all.push(...page);
      if (page.length < size) return all;
    }
  }

  describe("keys: list filters and orders", () => {
    it("filters on the state Check decides: revoked, then disabled, then expired", async () => {
      const org = newId("org");
      const now = T1;
      await created(aKey(org, { name: "active" }));
      await created(aKey(org, { name: "active until later", expiresAt: T2 }));
      await created(aKey(org, { name: "disabled", isActive: false }));
      await created(aKey(org, { name: "disabled and expired", isActive: false, expiresAt: now }));
      await created(aKey(org, { name: "expired", expiresAt: now }));
      const revoked = await created(aKey(org, { name: "revoked and expired", expiresAt: now }));
      await store.keys.revoke(org, revoked.id, now);
      await created(aKey(newId("org"), { name: "another organization's", isActive: false }));
      const inState = async (is: "active" | "disabled" | "revoked" | "expired") =>
        names(await store.keys.list(org, { state: { is, now }, limit: 100 }));
      expect(await inState("active")).toEqual(["active", "active until later"]);
      expect(await inState("disabled")).toEqual(["disabled", "disabled and expired"]);
      expect(await inState("expired")).toEqual(["expired"]);
      expect(await inState("revoked")).toEqual(["revoked and expired"]);
    });

    it("searches names and key prefixes by prefix ignoring case, and ids exactly, taking the text literally", async () => {
      const org = newId("org");
      await created(aKey(org, { name: "Billing export", keyPrefix: "sk_test_aaaa" }));
      await created(aKey(org, { name: "billing-sync", keyPrefix: "sk_test_bbbb" }));
      const byPrefix = await created(aKey(org, { name: "ci deploy", keyPrefix: "sk_live_Xy12" }));
      await created(aKey(org, { name: "a.b (v2)", keyPrefix: "sk_test_cccc" }));
      await created(aKey(org, { name: "axb", keyPrefix: "sk_test_dddd" }));
      await created(aKey(newId("org"), { name: "billing elsewhere" }));
      const found = async (search: string) => names(await store.keys.list(org, { search, limit: 100 }));
      expect(await found("BILL")).toEqual(["Billing export", "billing-sync"]);
      expect(await found("sk_live_xY")).toEqual(["ci deploy"]);
      expect(await found(byPrefix.id)).toEqual(["ci deploy"]);
      expect(await found(byPrefix.id.slice(0, -1))).toEqual([]);
      expect(await found("a.b (")).toEqual(["a.b (v2)"]);
      expect(await found(".*")).toEqual([]);
      expect(await found("export")).toEqual([]);
    });

    it.each<[KeyListOrder, string[]]>([
      ["created_asc", ["delta", "alpha", "charlie", "alpha", "bravo"]],
      ["created_desc", ["bravo", "alpha", "charlie", "alpha", "delta"]],
      ["name_asc", ["alpha", "alpha", "bravo", "charlie", "delta"]],
      ["name_desc", ["delta", "charlie", "bravo", "alpha", "alpha"]],
    ])("lists in %s order, every key once across pages, with filters kept", async (order, expected) => {
      const org = newId("org");
      for (const name of ["delta", "alpha", "charlie", "alpha", "bravo"]) await created(aKey(org, { name }));
      await created(aKey(org, { name: "alpha disabled", isActive: false }));
      await created(aKey(newId("org"), { name: "alpha" }));
      const query = { order, state: { is: "active" as const, now: T1 } };
      for (const size of [1, 2, 100]) expect(names(await allPages(org, query, size))).toEqual(expected);
      const ids = (await allPages(org, query, 2)).map((key) => key.id);
      expect(new Set(ids).size).toBe(5);
      expect(names(await allPages(org, { order, search: "ALPHA" }, 1))).toHaveLength(3);
    });
  });
}
