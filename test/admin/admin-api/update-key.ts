import { beforeAll, describe, expect, it } from "vitest";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { RateLimitPeriod, type ApiKey } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { ManualClock } from "../../../src/time/clock.js";
import type { TestApp } from "../../support/app.js";
import { failure } from "../answers.js";
import { HOUR, keyCreator, type SuiteApp } from "./suite-app.js";

/** UpdateKey: only the fields present change, validated like CreateKey; a revoked key is not changed. */
export function describeUpdateKey(suite: () => SuiteApp): void {
  let t: TestApp;
  let clock: ManualClock;
  beforeAll(() => {
    ({ t, clock } = suite());
  });
  const createKey = keyCreator(() => t);

  describe("UpdateKey", () => {
    it("changes only the fields present", async () => {
      const { key } = await createKey({
        description: "before",
        allowIps: ["10.0.0.1"],
        rateLimit: 10,
        rateLimitPeriod: RateLimitPeriod.SECOND,
        expiresAt: timestampFromMs(clock.now() + 48 * HOUR),
      });
      const renamed = (await t.client.updateKey({ id: key!.id, name: "renamed" })).key!;
      expect(renamed).toMatchObject({ ...stable(key!), name: "renamed" });

      const changed = (
        await t.client.updateKey({
          id: key!.id,
          scopes: { values: ["machines:read", "tags:read"] },
          allowIps: { values: [] },
          rateLimitPeriod: RateLimitPeriod.MINUTE,
          clearExpiresAt: true,
          isActive: false,
        })
      ).key!;
      expect(changed).toMatchObject({
        name: "renamed",
        description: "before",
        scopes: ["machines:read", "tags:read"],
        allowIps: [],
        rateLimit: 10,
        rateLimitPeriod: RateLimitPeriod.MINUTE,
        isActive: false,
      });
      expect(changed.expiresAt).toBeUndefined();
      // 0 is never unlimited: the key gets its owner's bound (here the pro plan's 6000 per minute).
      const bounded = (await t.client.updateKey({ id: key!.id, rateLimit: 0 })).key!;
      expect(bounded).toMatchObject({ rateLimit: 6000, rateLimitPeriod: RateLimitPeriod.MINUTE, name: "renamed" });
    });

    it("validates like CreateKey and leaves the key untouched on error", async () => {
      const { key } = await createKey();
      const cases: [Parameters<typeof t.client.updateKey>[0], string, string][] = [
        [{ name: "" }, "API_KEY_FIELD_INVALID", "name"],
        [{ scopes: { values: ["nope:nope"] } }, "API_KEY_SCOPE_NAME_INVALID", "scopes"],
        [{ allowIps: { values: ["300.1.1.1"] } }, "API_KEY_ALLOW_IP_INVALID", "allow_ips"],
        [{ rateLimit: -1 }, "API_KEY_FIELD_INVALID", "rate_limit"],
        [{ ownerUserId: "user_nobody" }, "API_KEY_USER_INVALID", "owner_user_id"],
        [{ expiresAt: timestampFromMs(clock.now() - 1), name: "x" }, "API_KEY_FIELD_INVALID", "expires_at"],
      ];
      for (const [fields, reason, field] of cases) {
        expect(await failure(t.client.updateKey({ id: key!.id, ...fields }))).toMatchObject({ code: Code.InvalidArgument, reason, field });
      }
      expect((await t.client.getKey({ id: key!.id })).key).toEqual(key);
    });

    it("refuses changes to a revoked key", async () => {
      const { key } = await createKey();
      await t.client.revokeKey({ id: key!.id });
      expect(await failure(t.client.updateKey({ id: key!.id, isActive: true }))).toMatchObject({
        code: Code.InvalidArgument,
        field: "id",
      });
    });
  });
}

/** The fields of a key that an update of its name must leave as they are. */
function stable(key: ApiKey) {
  const { name: _name, updatedAt: _updatedAt, usage: _usage, $typeName: _type, ...rest } = key;
  return rest;
}
