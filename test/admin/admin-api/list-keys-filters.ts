import { beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { KeyOrder, KeyState } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { TestApp } from "../../support/app.js";
import { failure } from "../answers.js";
import { keyCreator, type SuiteApp } from "./suite-app.js";

/** ListKeys' state, query and order_by: applied by the server, kept across pages, bad values refused by field. */
export function describeListKeysFilters(suite: () => SuiteApp): void {
  let t: TestApp;
  beforeAll(() => {
    ({ t } = suite());
  });
  const createKey = keyCreator(() => t);

  describe("ListKeys filters and orders", () => {
    it("lists by state, newest first unless asked otherwise", async () => {
      const org = await t.anotherOrganization("enterprise");
      const client = t.clientFor(org.secret);
      const disabled = (await createKey({ name: "off", isActive: false }, client)).key!;
      const revoked = (await createKey({ name: "gone" }, client)).key!;
      await client.revokeKey({ id: revoked.id });
      const active = (await createKey({ name: "on" }, client)).key!;
      const ids = async (state: KeyState) => (await client.listKeys({ state })).keys.map((k) => k.id);
      expect(await ids(KeyState.DISABLED)).toEqual([disabled.id]);
      expect(await ids(KeyState.REVOKED)).toEqual([revoked.id]);
      expect(await ids(KeyState.ACTIVE)).toEqual([active.id, org.key.id]);
      expect(await ids(KeyState.EXPIRED)).toEqual([]);
      expect((await client.listKeys({})).keys.map((k) => k.id)).toEqual([active.id, revoked.id, disabled.id, org.key.id]);
    });

    it("searches and orders by name across pages, the token carrying both", async () => {
      const org = await t.anotherOrganization("enterprise");
      const client = t.clientFor(org.secret);
      for (const name of ["Search c", "search a", "search b", "search a", "other"]) await createKey({ name }, client);
      const names: string[] = [];
      let pageToken = "";
      do {
        const page = await client.listKeys({ query: "SEARCH", orderBy: KeyOrder.NAME_ASC, pageSize: 2, pageToken });
        names.push(...page.keys.map((k) => k.name));
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      expect(names).toEqual(["Search c", "search a", "search a", "search b"]);
      const first = await client.listKeys({ query: "search", orderBy: KeyOrder.NAME_ASC, pageSize: 1 });
      for (const other of [{ query: "search", orderBy: KeyOrder.NAME_DESC }, { query: "searc", orderBy: KeyOrder.NAME_ASC }]) {
        expect(await failure(client.listKeys({ ...other, pageSize: 1, pageToken: first.nextPageToken }))).toMatchObject({
          code: Code.InvalidArgument,
          field: "page_token",
        });
      }
    });

    it("finds a key by its id or prefix in the caller's organization only", async () => {
      const org = await t.anotherOrganization();
      const mine = (await createKey({ name: "mine" }, t.clientFor(org.secret))).key!;
      const theirs = (await createKey({ name: "theirs" })).key!;
      const client = t.clientFor(org.secret);
      expect((await client.listKeys({ query: mine.id })).keys.map((k) => k.id)).toEqual([mine.id]);
      expect((await client.listKeys({ query: mine.keyPrefix })).keys.map((k) => k.id)).toContain(mine.id);
      expect((await client.listKeys({ query: theirs.id })).keys).toEqual([]);
      expect((await client.listKeys({ query: "theirs" })).keys).toEqual([]);
    });

    it("lists an identity's keys, never another organization's identity's", async () => {
      const org = await t.anotherOrganization("enterprise");
      const client = t.clientFor(org.secret);
      const { identity } = await client.createIdentity({ externalId: "customer-1", name: "Customer 1" });
      const older = (await createKey({ name: "tied 1", identityId: identity!.id }, client)).key!;
      await createKey({ name: "loose" }, client);
      const newer = (await createKey({ name: "tied 2", identityId: identity!.id }, client)).key!;
      expect((await client.listKeys({ identityId: identity!.id })).keys.map((k) => k.id)).toEqual([newer.id, older.id]);
      expect((await t.client.listKeys({ identityId: identity!.id })).keys).toEqual([]);
      // The page token carries the filter: it goes on only with the same identity.
      const first = await client.listKeys({ identityId: identity!.id, pageSize: 1 });
      expect((await client.listKeys({ identityId: identity!.id, pageSize: 1, pageToken: first.nextPageToken })).keys.map((k) => k.id)).toEqual([older.id]);
      expect(await failure(client.listKeys({ pageSize: 1, pageToken: first.nextPageToken }))).toMatchObject({ code: Code.InvalidArgument, field: "page_token" });
    });

    it.each([
      ["identity_id", { identityId: "key_01ARZ3NDEKTSV4RRFFQ69G5FAV" }],
      ["state", { state: 99 as KeyState }],
      ["order_by", { orderBy: 99 as KeyOrder }],
      ["query", { query: "x".repeat(101) }],
      ["query", { query: "a\u0007b" }],
      ["query", { query: "a\nb" }],
    ])("refuses a bad %s, naming the field", async (field, request) => {
      expect(await failure(t.client.listKeys(request))).toMatchObject({
        code: Code.InvalidArgument,
        reason: "API_KEY_FIELD_INVALID",
        field,
      });
    });
  });
}
