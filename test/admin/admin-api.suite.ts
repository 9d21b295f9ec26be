import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import {
  Environment,
  KeyType,
  RateLimitPeriod,
  type ApiKey,
} from "../../gen/keygate/v1/key_admin_pb.js";
import { isWellFormedSecret } from "../../src/model/secret.js";
import type { ManualClock } from "../../src/time/clock.js";
import type { TestApp } from "../support/app.js";
import { appOnStore, type StoreMaker } from "./clients.js";

/** What a failed call carried: its code, ErrorInfo reason, and field (when it names one). */
export async function failure(call: Promise<unknown>): Promise<{ code: Code; reason: string; field?: string; message: string }> {
  try {
    await call;
  } catch (error) {
    const connectError = ConnectError.from(error);
    const info = connectError.findDetails(ErrorInfoSchema)[0];
    return {
      code: connectError.code,
      reason: info?.reason ?? "",
      ...(info?.metadata["field"] !== undefined && { field: info.metadata["field"] }),
      message: connectError.rawMessage,
    };
  }
  throw new Error("expected the call to fail, but it succeeded");
}

const HOUR = 3_600_000;

/** JSON text of a message, for searching it (int64 fields are bigints). */
export const text = (value: unknown): string => JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));

/**
 * The whole KeyAdminService key lifecycle through a real server and Connect client, on the
 * store `makeStore` gives. Run by one file per store so both pass the same behaviour.
 */
export function describeAdminApi(storeName: string, makeStore: StoreMaker) {
  describe(`KeyAdminService on the ${storeName} store`, () => {
    let t: TestApp;
    let clock: ManualClock;
    appOnStore(makeStore, (app, appClock) => {
      t = app;
      clock = appClock;
    });

    const createKey = (fields: Record<string, unknown> = {}, client = t.client) =>
      client.createKey({ name: "ci deploy", scopes: ["machines:read"], ...fields });

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

    describe("caller authentication", () => {
      it("refuses a missing, malformed or unknown key as unauthenticated", async () => {
        for (const secret of ["", "not-a-key", "sk_live_" + "A".repeat(46)]) {
          const refused = await failure(t.clientFor(secret).listKeys({}));
          expect(refused).toMatchObject({ code: Code.Unauthenticated, reason: "UNAUTHENTICATED" });
        }
      });

      it("refuses revoked, disabled and expired keys and audits each failure", async () => {
        const revoked = await createKey({ scopes: ["admin:read"] });
        await t.client.revokeKey({ id: revoked.key!.id });
        const disabled = await createKey({ scopes: ["admin:read"], isActive: false });
        const expiring = await createKey({ scopes: ["admin:read"], expiresAt: timestampFromMs(clock.now() + HOUR) });
        expect((await t.clientFor(expiring.secret).listScopes({})).scopes.length).toBeGreaterThan(0);
        clock.advance(HOUR);
        for (const [created, why] of [
          [revoked, "API_KEY_REVOKED"],
          [disabled, "API_KEY_DISABLED"],
          [expiring, "API_KEY_EXPIRED"],
        ] as const) {
          const refused = await failure(t.clientFor(created.secret).listKeys({}));
          expect(refused).toMatchObject({ code: Code.Unauthenticated, reason: "UNAUTHENTICATED" });
          const events = (await t.client.listAuditEvents({ keyId: created.key!.id })).events;
          expect(events.find((e) => e.action === "auth.failed")).toMatchObject({
            actorKeyId: created.key!.id,
            details: { method: "ListKeys", reason: why },
          });
        }
      });

      it("needs admin:read to read and admin:write to change", async () => {
        const reader = await createKey({ scopes: ["admin:read", "machines:read"] });
        const none = await createKey({ scopes: ["machines:read"] });
        expect((await t.clientFor(reader.secret).listKeys({})).keys.length).toBeGreaterThan(0);
        expect(await failure(t.clientFor(reader.secret).createKey({ name: "x" }))).toMatchObject({
          code: Code.PermissionDenied,
          reason: "PERMISSION_DENIED",
        });
        expect(await failure(t.clientFor(none.secret).listKeys({}))).toMatchObject({ code: Code.PermissionDenied });
        const events = (await t.client.listAuditEvents({ keyId: none.key!.id })).events;
        expect(events.some((e) => e.action === "auth.failed" && e.details["reason"] === "SCOPE_MISSING")).toBe(true);
      });
    });

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

    describe("tenant isolation", () => {
      it("shows another organization's keys as not found on every RPC", async () => {
        const other = await t.anotherOrganization();
        const theirs = t.clientFor(other.secret);
        const { key, secret } = await createKey();
        const id = key!.id;
        for (const call of [
          () => theirs.getKey({ id }),
          () => theirs.updateKey({ id, name: "mine now" }),
          () => theirs.revokeKey({ id }),
          () => theirs.regenerateKey({ id }),
          () => theirs.deleteKey({ id }),
        ]) {
          expect(await failure(call())).toMatchObject({ code: Code.NotFound, reason: "API_KEY_NOT_FOUND" });
        }
        expect(await theirs.testKey({ apiKey: secret })).toMatchObject({ valid: false, reason: "API_KEY_INVALID", keyId: "" });
        const listed = await theirs.listKeys({ pageSize: 1000 });
        expect(listed.keys.every((k) => k.organizationId === other.organization.id)).toBe(true);
        const audit = await theirs.listAuditEvents({ pageSize: 1000 });
        expect(audit.events.every((e) => e.organizationId === other.organization.id)).toBe(true);
        expect((await theirs.listAuditEvents({ keyId: id })).events).toEqual([]);
        expect((await theirs.getMyLimits({})).organizationId).toBe(other.organization.id);
        expect((await t.client.getKey({ id })).key).toEqual(key);
      });

      it("refuses a page token issued to another organization", async () => {
        const other = await t.anotherOrganization();
        for (let i = 0; i < 3; i++) await createKey();
        const { nextPageToken } = await t.client.listKeys({ pageSize: 1 });
        expect(nextPageToken).not.toBe("");
        expect(await failure(t.clientFor(other.secret).listKeys({ pageSize: 1, pageToken: nextPageToken }))).toMatchObject({
          code: Code.InvalidArgument,
          field: "page_token",
        });
      });
    });

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
        expect(inactive.keys.map((k) => k.id)).toEqual(disabled);
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

    describe("audit, scopes and limits", () => {
      it("records every change with actor, key id and time, and never a secret", async () => {
        const org = await t.anotherOrganization();
        const client = t.clientFor(org.secret);
        const { key, secret } = await createKey({}, client);
        await client.updateKey({ id: key!.id, name: "renamed" });
        const rotated = await client.regenerateKey({ id: key!.id });
        await client.revokeKey({ id: key!.id, reason: "rotated out" });
        await client.deleteKey({ id: key!.id });
        const events = (await client.listAuditEvents({ keyId: key!.id })).events;
        expect(events.map((e) => e.action)).toEqual(["key.delete", "key.revoke", "key.regenerate", "key.update", "key.create"]);
        for (const event of events) {
          expect(event).toMatchObject({ actorKeyId: org.key.id, actorUserId: org.owner.id, keyId: key!.id, organizationId: org.organization.id });
          expect(event.occurredAt).toBeDefined();
        }
        expect(events[3]!.details["fields"]).toBe("name");
        const everything = text(await client.listAuditEvents({ pageSize: 1000 }));
        for (const s of [secret, rotated.secret, org.secret]) expect(everything).not.toContain(s.slice(12));
      });

      it("pages audit events newest first", async () => {
        const org = await t.anotherOrganization();
        const client = t.clientFor(org.secret);
        for (let i = 0; i < 5; i++) await createKey({}, client);
        const ids: string[] = [];
        let pageToken = "";
        do {
          const page = await client.listAuditEvents({ pageSize: 2, pageToken });
          ids.push(...page.events.map((e) => e.id));
          pageToken = page.nextPageToken;
        } while (pageToken);
        expect(ids).toEqual([...ids].sort().reverse());
        expect(ids.length).toBe(7);
      });

      it("lists the scope catalog and the caller's limits", async () => {
        const scopes = (await t.client.listScopes({})).scopes;
        expect(scopes.map((s) => s.name)).toEqual(t.config.scopes.map((s) => s.name));
        expect(scopes.every((s) => s.description !== "")).toBe(true);
        const limits = await t.client.getMyLimits({});
        expect(limits).toMatchObject({
          userId: t.admin.owner.id,
          maxKeys: 25,
          organizationMaxKeys: 100,
          maxRateLimit: 6000,
          canCreateAdminKeys: true,
        });
        expect(limits.currentKeys).toBe(await t.store.keys.countHoldingSlots(t.admin.organization.id, t.admin.owner.id));
        expect(limits.availableScopes).toContain("admin:write");
      });
    });

    it("never writes a secret to the log", async () => {
      const { key, secret } = await createKey();
      const rotated = await t.client.regenerateKey({ id: key!.id, gracePeriodSeconds: 10 });
      const wrong = "sk_live_" + rotated.secret.slice(8, -6) + "zzzzzz";
      await failure(t.clientFor(wrong).listKeys({}));
      await t.client.revokeKey({ id: key!.id });
      await failure(t.clientFor(rotated.secret).listKeys({}));
      await failure(t.clientFor(secret).listKeys({}));
      const log = t.logs.join("");
      expect(log).toContain('"method":"keygate.v1.KeyAdminService/CreateKey"');
      expect(log).toContain(`"callerKeyId":"${t.admin.key.id}"`);
      for (const s of [secret, rotated.secret, wrong, t.admin.secret]) expect(log).not.toContain(s.slice(12, 40));
    });
  });
}

/** The fields of a key that an update of its name must leave as they are. */
function stable(key: ApiKey) {
  const { name: _name, updatedAt: _updatedAt, usage: _usage, $typeName: _type, ...rest } = key;
  return rest;
}
