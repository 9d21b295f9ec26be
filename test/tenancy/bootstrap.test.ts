import { describe, expect, it } from "vitest";
import { DEFAULT_PLANS } from "../../src/model/plans.js";
import { DEFAULT_SCOPES } from "../../src/model/scopes.js";
import { SecretHasher } from "../../src/model/secret.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { bootstrapOperator, bootstrapOrganization, createOrganization } from "../../src/tenancy/bootstrap.js";
import { isPlatformOperator, PLATFORM_ADMIN } from "../../src/model/platform.js";
import { ManualClock } from "../../src/time/clock.js";

const pro = DEFAULT_PLANS.find((p) => p.name === "pro")!;

function deps() {
  return { store: new MemoryStore(), hasher: new SecretHasher("p".repeat(40)), clock: new ManualClock(Date.UTC(2031, 0, 1)), scopes: DEFAULT_SCOPES };
}

describe("creating organizations", () => {
  it("bootstraps a tenant: owner, admin key with the whole catalog, audited by `bootstrap`", async () => {
    const d = deps();
    const result = await bootstrapOrganization(d, { organizationName: "Acme", plan: pro, ownerName: "Ada", environment: "test" });
    expect(result.organization).not.toHaveProperty("kind");
    expect(result.owner).toMatchObject({ role: "owner", name: "Ada" });
    expect(result.key.scopes).toEqual(DEFAULT_SCOPES.map((s) => s.name));
    expect(isPlatformOperator(result.key, result.organization)).toBe(false);
    const events = await d.store.audit.list(result.organization.id, { limit: 10 });
    expect(events.map((e) => [e.action, e.actorKeyId])).toEqual([
      ["key.create", "bootstrap"],
      ["org.create", "bootstrap"],
    ]);
  });

  it("bootstraps a platform operator: a platform organization and a platform:admin key beside its own admin scopes", async () => {
    const d = deps();
    const result = await bootstrapOperator(d, { organizationName: "platform", plan: pro, ownerName: "ops", environment: "live" });
    expect(result.organization.kind).toBe("platform");
    expect(result.key.scopes).toEqual([PLATFORM_ADMIN, "admin:read", "admin:write"]);
    expect(result.secret).toMatch(/^sk_live_/);
    expect(isPlatformOperator(result.key, result.organization)).toBe(true);
    expect((await d.store.organizations.findById(result.organization.id))?.kind).toBe("platform");
    expect((await d.store.audit.list(result.organization.id, { limit: 10 }))[1]!.details).toMatchObject({ kind: "platform" });
  });

  it("creates an organization for an operator without a key, recording the operator as the actor", async () => {
    const d = deps();
    const created = await createOrganization(d, {
      name: "Globex",
      plan: pro,
      ownerName: "Hank",
      actor: { keyId: "key_OPERATOR", userId: "user_OPERATOR", organizationId: "org_PLATFORM" },
    });
    expect(created.key).toBeUndefined();
    expect(created.secret).toBeUndefined();
    expect(await d.store.keys.countByState(created.organization.id)).toEqual({ total: 0, active: 0 });
    const [event] = await d.store.audit.list(created.organization.id, { limit: 10 });
    expect(event).toMatchObject({
      action: "org.create",
      actorKeyId: "key_OPERATOR",
      actorUserId: "user_OPERATOR",
      details: { actorOrganizationId: "org_PLATFORM", ownerUserId: created.owner.id },
    });
  });

  it("a platform:admin key outside a platform organization is no operator, nor is a platform key without it", () => {
    expect(isPlatformOperator({ scopes: [PLATFORM_ADMIN] }, {})).toBe(false);
    expect(isPlatformOperator({ scopes: ["admin:write"] }, { kind: "platform" })).toBe(false);
  });
});
