import { beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import type { TestApp } from "../../support/app.js";
import { failure } from "../answers.js";
import { keyCreator, type SuiteApp } from "./suite-app.js";

/** ListKeys pages: none skipped or repeated while keys change, the filter bound to the token, bad sizes and tokens refused. */
export function describeListKeysPagination(suite: () => SuiteApp): void {
  let t: TestApp;
  beforeAll(() => {
    ({ t } = suite());
  });
  const createKey = keyCreator(() => t);

  describe("ListKeys pagination", () => {
    it("neither skips nor repeats a key while keys are created and deleted between pages", async () => {
      const org = await t.anotherOrganization("enterprise");
      const client = t.clientFor(org.secret);
      const initial: string[] = [org.key.id];
      for (let i = 0; i < 30; i++) initial.push((await createKey({}, client)).key!.id);
      const deletedDuringWalk = new Set<string>();
      const seen: string[] = [];
      let pageToken = "";
      let page = 0;
      do {
        const response = await client.listKeys({ pageSize: 7, pageToken });
        seen.push(...response.keys.map((k) => k.id));
        pageToken = response.nextPageToken;
        // Between pages: create two keys and delete one not yet seen and one already seen.
        await createKey({}, client);
        await createKey({}, client);
        const unseen = initial.find((id) => !seen.includes(id) && !deletedDuringWalk.has(id) && id !== org.key.id);
        if (unseen && page % 2 === 0) {
          await client.deleteKey({ id: unseen });
          deletedDuringWalk.add(unseen);
        }
        const seenOne = seen.find((id) => id !== org.key.id && !deletedDuringWalk.has(id));
        if (seenOne) {
          await client.deleteKey({ id: seenOne });
          deletedDuringWalk.add(seenOne);
        }
        page++;
      } while (pageToken !== "");
      expect(new Set(seen).size).toBe(seen.length);
      for (const id of initial) if (!deletedDuringWalk.has(id)) expect(seen).toContain(id);
      for (const id of deletedDuringWalk) if (!seen.includes(id)) expect(initial).toContain(id);
    });

    it("filters on is_active and binds the token to the filter", async () => {
      const org = await t.anotherOrganization();
      const client = t.clientFor(org.secret);
      const disabled = [];
      for (let i = 0; i < 3; i++) disabled.push((await createKey({ isActive: false }, client)).key!.id);
      await createKey({}, client);
      const inactive = await client.listKeys({ isActive: false });
      // Newest first, ListKeys' default order.
      expect(inactive.keys.map((k) => k.id)).toEqual([...disabled].reverse());
      const active = await client.listKeys({ isActive: true });
      expect(active.keys.every((k) => k.isActive)).toBe(true);
      const first = await client.listKeys({ isActive: false, pageSize: 1 });
      expect(await failure(client.listKeys({ isActive: true, pageSize: 1, pageToken: first.nextPageToken }))).toMatchObject({
        code: Code.InvalidArgument,
        field: "page_token",
      });
    });

    it("refuses bad page sizes and tampered tokens", async () => {
      for (const pageSize of [-1, 1001]) {
        expect(await failure(t.client.listKeys({ pageSize }))).toMatchObject({ code: Code.InvalidArgument, field: "page_size" });
      }
      const { nextPageToken } = await t.client.listKeys({ pageSize: 1 });
      const [payload, signature] = nextPageToken.split(".");
      const forged = Buffer.from(JSON.stringify(["keys", t.admin.organization.id, "any", "key_0"])).toString("base64url");
      for (const token of ["garbage", `${forged}.${signature}`, `${payload}.AAAA${signature!.slice(4)}`, `${payload}`]) {
        expect(await failure(t.client.listKeys({ pageSize: 1, pageToken: token }))).toMatchObject({
          code: Code.InvalidArgument,
          reason: "API_KEY_FIELD_INVALID",
          field: "page_token",
        });
      }
    });
  });
}
