import { beforeAll, describe, expect, it } from "vitest";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { Environment, KeyType, RateLimitPeriod } from "../../../gen/keygate/v1/key_admin_pb.js";
import { isWellFormedSecret } from "../../../src/model/secret.js";
import type { ManualClock } from "../../../src/time/clock.js";
import type { TestApp } from "../../support/app.js";
import { failure, text } from "../answers.js";
import { HOUR, keyCreator, type SuiteApp } from "./suite-app.js";

/** CreateKey: the secret returned once, the defaults, every invalid field refused by name, and no scope granted beyond the caller's. */
export function describeCreateKey(suite: () => SuiteApp): void {
  let t: TestApp;
  let clock: ManualClock;
  beforeAll(() => {
    ({ t, clock } = suite());
  });
  const createKey = keyCreator(() => t);

  describe("CreateKey", () => {
    it("returns the secret once, in the contract's format, and stores only its prefix", async () => {
      const created = await createKey({
        description: "deploys from CI",
        allowIps: ["10.0.0.0/8", "2001:db8::/32"],
        rateLimit: 100,
        rateLimitPeriod: RateLimitPeriod.MINUTE,
        expiresAt: timestampFromMs(clock.now() + 24 * HOUR),
        environment: Environment.TEST,
        keyType: KeyType.SHARED,
      });
      expect(created.secret).toMatch(/^sk_test_[0-9A-Za-z]{46}$/);
      expect(isWellFormedSecret(created.secret)).toBe(true);
      const key = created.key!;
      expect(key.id).toMatch(/^key_/);
      expect(key.organizationId).toBe(t.admin.organization.id);
      expect(key.keyPrefix).toBe(created.secret.slice(0, 12));
      expect(key).toMatchObject({
        name: "ci deploy",
        description: "deploys from CI",
        environment: Environment.TEST,
        keyType: KeyType.SHARED,
        ownerUserId: t.admin.owner.id,
        scopes: ["machines:read"],
        allowIps: ["10.0.0.0/8", "2001:db8::/32"],
        rateLimit: 100,
        rateLimitPeriod: RateLimitPeriod.MINUTE,
        isActive: true,
        createdBy: t.admin.key.id,
      });
      const fetched = (await t.client.getKey({ id: key.id })).key!;
      expect(text(fetched)).not.toContain(created.secret.slice(12));
      expect(fetched.keyPrefix).toBe(key.keyPrefix);
      const stored = await t.store.keys.findById(t.admin.organization.id, key.id);
      expect(JSON.stringify(stored)).not.toContain(created.secret);
    });

    it("defaults to a live, active user key owned by the caller", async () => {
      const { key, secret } = await createKey();
      expect(secret.startsWith("sk_live_")).toBe(true);
      expect(key).toMatchObject({ environment: Environment.LIVE, keyType: KeyType.USER, isActive: true, ownerUserId: t.admin.owner.id });
    });

    it.each([
      ["empty name", { name: "  " }, "API_KEY_FIELD_INVALID", "name"],
      ["long name", { name: "n".repeat(101) }, "API_KEY_FIELD_INVALID", "name"],
      ["name with control characters", { name: "bad\u0000name" }, "API_KEY_FIELD_INVALID", "name"],
      ["unknown scope", { scopes: ["machines:fly"] }, "API_KEY_SCOPE_NAME_INVALID", "scopes"],
      ["bad CIDR", { allowIps: ["10.0.0.0/33"] }, "API_KEY_ALLOW_IP_INVALID", "allow_ips"],
      ["not an address", { allowIps: ["example.com"] }, "API_KEY_ALLOW_IP_INVALID", "allow_ips"],
      ["bad IPv6 CIDR", { allowIps: ["2001:db8::/129"] }, "API_KEY_ALLOW_IP_INVALID", "allow_ips"],
      ["a period with rate limit 0 (the owner's bound)", { rateLimit: 0, rateLimitPeriod: RateLimitPeriod.MINUTE }, "API_KEY_FIELD_INVALID", "rate_limit_period"],
      ["negative rate limit", { rateLimit: -5, rateLimitPeriod: RateLimitPeriod.MINUTE }, "API_KEY_FIELD_INVALID", "rate_limit"],
      ["rate limit above the plan", { rateLimit: 1000, rateLimitPeriod: RateLimitPeriod.SECOND }, "API_KEY_FIELD_INVALID", "rate_limit"],
      ["rate limit without period", { rateLimit: 10 }, "API_KEY_FIELD_INVALID", "rate_limit_period"],
      ["period outside the enum", { rateLimit: 10, rateLimitPeriod: 9 }, "API_KEY_FIELD_INVALID", "rate_limit_period"],
      ["environment outside the enum", { environment: 7 }, "API_KEY_FIELD_INVALID", "environment"],
      ["key type outside the enum", { keyType: 7 }, "API_KEY_FIELD_INVALID", "key_type"],
      ["expiry in the past", { expiresAt: timestampFromMs(Date.now() - HOUR) }, "API_KEY_FIELD_INVALID", "expires_at"],
      ["unknown owner", { ownerUserId: "user_01ABCDEFGHJKMNPQRSTVWXYZ01" }, "API_KEY_USER_INVALID", "owner_user_id"],
    ])("refuses %s, naming the field, and writes nothing", async (_case, fields, reason, field) => {
      const before = await t.store.keys.countByState(t.admin.organization.id);
      const refused = await failure(createKey(fields));
      expect(refused).toMatchObject({ code: Code.InvalidArgument, reason, field });
      expect(refused.message).toContain(field);
      expect(await t.store.keys.countByState(t.admin.organization.id)).toEqual(before);
    });

    it("will not let a caller grant a scope it does not hold", async () => {
      const limited = await createKey({ scopes: ["admin:write", "machines:read"] });
      const refused = await failure(createKey({ scopes: ["machines:write"] }, t.clientFor(limited.secret)));
      expect(refused).toMatchObject({ code: Code.PermissionDenied, reason: "PERMISSION_DENIED", field: "scopes" });
      const allowed = await createKey({ scopes: ["machines:read"] }, t.clientFor(limited.secret));
      expect(allowed.key!.createdBy).toBe(limited.key!.id);
    });
  });
}
