import { beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import type { TestApp } from "../../support/app.js";
import { failure } from "../answers.js";
import { keyCreator, type SuiteApp } from "./suite-app.js";

/** The plan's key limits: the last slot under a race, which keys hold a slot, and which plans may make admin keys. */
export function describeKeyLimits(suite: () => SuiteApp): void {
  let t: TestApp;
  beforeAll(() => {
    ({ t } = suite());
  });
  const createKey = keyCreator(() => t);

  describe("key limits", () => {
    it("holds under concurrency: two creates racing for the last slot, exactly one succeeds", async () => {
      const org = await t.anotherOrganization("free");
      const client = t.clientFor(org.secret);
      // free: 10 keys per organization, 5 per user; the bootstrap key holds one user slot.
      for (let i = 0; i < 3; i++) await createKey({}, client);
      const raced = await Promise.allSettled([createKey({}, client), createKey({}, client)]);
      expect(raced.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const rejected = raced.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect(await failure(Promise.reject(rejected.reason))).toMatchObject({
        code: Code.ResourceExhausted,
        reason: "API_KEY_LIMIT_EXCEEDED",
      });
      const limits = await client.getMyLimits({});
      expect(limits).toMatchObject({ maxKeys: 5, currentKeys: 5, canCreateAdminKeys: false });
    });

    it("counts disabled keys and frees the slot of revoked and deleted keys", async () => {
      const org = await t.anotherOrganization("free");
      const client = t.clientFor(org.secret);
      const made = [];
      for (let i = 0; i < 4; i++) made.push((await createKey({ isActive: i === 0 }, client)).key!.id);
      expect((await failure(createKey({}, client))).reason).toBe("API_KEY_LIMIT_EXCEEDED");
      await client.revokeKey({ id: made[1]! });
      await createKey({}, client);
      expect((await failure(createKey({}, client))).reason).toBe("API_KEY_LIMIT_EXCEEDED");
      await client.deleteKey({ id: made[2]! });
      await createKey({}, client);
    });

    it("lets only plans that allow it create admin keys", async () => {
      const org = await t.anotherOrganization("free");
      expect(await failure(createKey({ scopes: ["admin:read"] }, t.clientFor(org.secret)))).toMatchObject({
        code: Code.PermissionDenied,
        field: "scopes",
      });
      const limits = await t.clientFor(org.secret).getMyLimits({});
      expect(limits.availableScopes).not.toContain("admin:read");
      expect(limits.maxRateLimit).toBe(60);
    });
  });
}
