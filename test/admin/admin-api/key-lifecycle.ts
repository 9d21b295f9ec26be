import { beforeAll, describe, expect, it } from "vitest";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { RateLimitPeriod } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { ManualClock } from "../../../src/time/clock.js";
import type { TestApp } from "../../support/app.js";
import { failure } from "../answers.js";
import { keyCreator, type SuiteApp } from "./suite-app.js";

/** Revoke, delete, regenerate (with and without a grace period) and TestKey, and unknown ids. */
export function describeKeyLifecycle(suite: () => SuiteApp): void {
  let t: TestApp;
  let clock: ManualClock;
  beforeAll(() => {
    ({ t, clock } = suite());
  });
  const createKey = keyCreator(() => t);

  describe("revoke, delete, regenerate and test", () => {
    it("revokes for good and keeps the record", async () => {
      const { key, secret } = await createKey();
      const revoked = (await t.client.revokeKey({ id: key!.id, reason: "leaked" })).key!;
      expect(revoked.revokedAt).toBeDefined();
      expect(revoked.isActive).toBe(false);
      const again = (await t.client.revokeKey({ id: key!.id })).key!;
      expect(again.revokedAt).toEqual(revoked.revokedAt);
      expect((await t.client.getKey({ id: key!.id })).key!.revokedAt).toEqual(revoked.revokedAt);
      expect(await t.client.testKey({ apiKey: secret })).toMatchObject({ valid: false, reason: "API_KEY_REVOKED", keyId: key!.id });
    });

    it("deletes permanently", async () => {
      const { key, secret } = await createKey();
      await t.client.deleteKey({ id: key!.id });
      expect(await failure(t.client.getKey({ id: key!.id }))).toMatchObject({ code: Code.NotFound, reason: "API_KEY_NOT_FOUND" });
      expect(await failure(t.client.deleteKey({ id: key!.id }))).toMatchObject({ code: Code.NotFound });
      expect(await t.client.testKey({ apiKey: secret })).toMatchObject({ valid: false, reason: "API_KEY_INVALID" });
    });

    it("regenerates with a grace period for the old secret", async () => {
      const { key, secret: old } = await createKey({ rateLimit: 5, rateLimitPeriod: RateLimitPeriod.MINUTE });
      const rotated = await t.client.regenerateKey({ id: key!.id, gracePeriodSeconds: 60 });
      expect(rotated.secret).not.toBe(old);
      expect(rotated.key!.keyPrefix).toBe(rotated.secret.slice(0, 12));
      expect(rotated.key).toMatchObject({ id: key!.id, scopes: key!.scopes, rateLimit: 5 });
      expect(await t.client.testKey({ apiKey: old })).toMatchObject({ valid: true, keyId: key!.id });
      expect(await t.client.testKey({ apiKey: rotated.secret })).toMatchObject({
        valid: true,
        keyId: key!.id,
        rateLimit: { limit: 5, remaining: 5, period: RateLimitPeriod.MINUTE },
      });
      clock.advance(61_000);
      expect(await t.client.testKey({ apiKey: old })).toMatchObject({ valid: false, reason: "API_KEY_INVALID" });
      expect((await t.client.testKey({ apiKey: rotated.secret })).valid).toBe(true);
    });

    it("ends the old secret at once without a grace period", async () => {
      const { key, secret: old } = await createKey();
      const rotated = await t.client.regenerateKey({ id: key!.id });
      expect((await t.client.testKey({ apiKey: old })).valid).toBe(false);
      expect((await t.client.testKey({ apiKey: rotated.secret })).valid).toBe(true);
      expect(await failure(t.client.regenerateKey({ id: key!.id, gracePeriodSeconds: -1 }))).toMatchObject({
        code: Code.InvalidArgument,
        field: "grace_period_seconds",
      });
    });

    it("tests keys: expired, malformed, and missing input", async () => {
      const { secret } = await createKey({ expiresAt: timestampFromMs(clock.now() + 1000) });
      clock.advance(1000);
      expect(await t.client.testKey({ apiKey: secret })).toMatchObject({ valid: false, isExpired: true, reason: "API_KEY_EXPIRED" });
      expect(await t.client.testKey({ apiKey: secret.slice(0, -1) + (secret.endsWith("A") ? "B" : "A") })).toMatchObject({
        valid: false,
        reason: "API_KEY_INVALID",
        keyId: "",
      });
      expect(await failure(t.client.testKey({ apiKey: "" }))).toMatchObject({ code: Code.InvalidArgument, field: "api_key" });
    });

    it("answers unknown and blank ids clearly", async () => {
      for (const call of [
        () => t.client.getKey({ id: "key_unknown" }),
        () => t.client.updateKey({ id: "key_unknown", name: "x" }),
        () => t.client.revokeKey({ id: "key_unknown" }),
        () => t.client.regenerateKey({ id: "key_unknown" }),
        () => t.client.deleteKey({ id: "key_unknown" }),
      ]) {
        expect(await failure(call())).toMatchObject({ code: Code.NotFound, reason: "API_KEY_NOT_FOUND" });
      }
      expect(await failure(t.client.getKey({ id: "" }))).toMatchObject({ code: Code.InvalidArgument, field: "id" });
    });
  });
}
