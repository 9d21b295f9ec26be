import { describe, expect, it } from "vitest";
import { AuditTrail } from "../../src/audit/audit-trail.js";
import { loadConfig } from "../../src/config/config.js";
import { KeyEvents } from "../../src/keys/key-events.js";
import { ActOnLeaks } from "../../src/leaks/act-on-leaks.js";
import type { LeakedKey } from "../../src/leaks/classify-tokens.js";
import { findPlan } from "../../src/model/plans.js";
import type { KeyRecord } from "../../src/model/records.js";
import { generateSecret, SecretHasher } from "../../src/model/secret.js";
import type { LeakedKeyAction, WebhookEvent } from "../../src/model/webhooks.js";
import type { LeakResponse } from "../../src/leaks/leak-response.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import type { Store } from "../../src/store/store.js";
import { bootstrapOrganization } from "../../src/tenancy/bootstrap.js";
import { ManualClock } from "../../src/time/clock.js";

const config = loadConfig({ KEYGATE_PEPPER: "test-pepper-0123456789abcdef-0123456789abcdef", KEYGATE_DEMO_BOOTSTRAP: "false" });
const URL = "https://github.com/octo/repo/blob/0123abc/.env";

async function world(action?: LeakedKeyAction) {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const hasher = new SecretHasher(config.pepper);
  const audit = new AuditTrail(store, clock);
  const keyEvents = new KeyEvents();
  const announced: string[] = [];
  keyEvents.onChange((_previously, key) => announced.push(`${key?.id} active=${key?.isActive} revoked=${key?.revokedAt !== null}`));
  const events: WebhookEvent[] = [];
  const observed: Pick<Store, "keys" | "organizations" | "webhooks" | "atomically"> = {
    keys: store.keys,
    organizations: store.organizations,
    atomically: (work) => store.atomically(work),
    webhooks: Object.assign(Object.create(store.webhooks) as Store["webhooks"], {
      enqueue: async (event: WebhookEvent) => {
        const written = await store.webhooks.enqueue(event);
        if (written !== null) events.push(event);
        return written;
      },
      isWritten: (organizationId: string, eventId: string) => store.webhooks.isWritten(organizationId, eventId),
    }),
  };
  const created = await bootstrapOrganization(
    { store, hasher, clock, scopes: config.scopes },
    { organizationName: "acme", plan: findPlan(config.plans, config.defaultPlan)!, ownerName: "owner", environment: "live" },
  );
  if (action) await store.organizations.updateSettings(created.organization.id, { leakedKeyAction: action });
  const acted: LeakResponse[] = [];
  const leaks = new ActOnLeaks({ store: observed, plans: config, audit, keyEvents, now: () => new Date(clock.now()), observer: { acted: (done) => acted.push(done) } });
  const report = { token: created.secret, type: "keygate_api_key", url: URL, source: "commit" };
  const leak = (key: KeyRecord = created.key, secret: "current" | "previous" = "current"): LeakedKey => ({ key, secret, report });
  const stored = async () => (await store.keys.findById(created.organization.id, created.key.id))!;
  const audited = async () => (await store.audit.list(created.organization.id, { limit: 50 })).filter((entry) => entry.action === "key.leaked");
  /** The key rotated, its leaked secret now the previous one, in its grace for `graceMs` more. */
  const rotated = async (graceMs: number) =>
    (await store.keys.replaceSecret(created.organization.id, created.key.id, {
      secretHash: hasher.hash(generateSecret("live")),
      keyPrefix: "sk_live_Nw22",
      previousSecretExpiresAt: new Date(clock.now() + graceMs),
      updatedAt: new Date(clock.now()),
    }))!;
  return { store, leaks, leak, report, stored, audited, events, announced, acted, rotated, clock, key: created.key };
}

describe("ActOnLeaks", () => {
  it("disables a leaked key by default, with key.leaked saying where and an audit entry, and announces it", async () => {
    const w = await world();
    await w.leaks.act([w.leak()]);
    expect((await w.stored()).isActive).toBe(false);
    expect((await w.stored()).revokedAt).toBeNull();
    expect(w.events.map((event) => event.type)).toEqual(["key.leaked"]);
    const data = JSON.parse(w.events[0]!.payload).data;
    expect(data).toMatchObject({ key: { id: w.key.id, is_active: false }, url: URL, source: "commit", action: "disable" });
    expect(w.events[0]!.payload).not.toContain(w.leak().report.token);
    const [entry, ...more] = await w.audited();
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ keyId: w.key.id, actorKeyId: "keygate", details: { url: URL, source: "commit", action: "disable" } });
    expect(w.announced).toEqual([`${w.key.id} active=false revoked=false`]);
    expect(w.acted).toEqual(["disable"]);
  });

  it("revokes under leaked_key_action revoke", async () => {
    const w = await world("revoke");
    await w.leaks.act([w.leak()]);
    expect((await w.stored()).revokedAt).not.toBeNull();
    expect(JSON.parse(w.events[0]!.payload).data).toMatchObject({ action: "revoke", url: URL });
    expect(w.announced).toEqual([`${w.key.id} active=false revoked=true`]);
  });

  it("only tells under leaked_key_action notify", async () => {
    const w = await world("notify");
    await w.leaks.act([w.leak()]);
    expect((await w.stored()).isActive).toBe(true);
    expect(w.events).toHaveLength(1);
    expect(await w.audited()).toHaveLength(1);
    expect(w.announced).toEqual([]);
  });

  it.each(["disable", "revoke", "notify"] as const)("writes nothing twice when GitHub sends the same report again (%s)", async (action) => {
    const w = await world(action);
    await w.leaks.act([w.leak()]);
    // The retry is classified afresh: it finds the key as the first report left it.
    await w.leaks.act([w.leak(await w.stored())]);
    expect(w.events).toHaveLength(1);
    expect(await w.audited()).toHaveLength(1);
    expect(w.acted).toEqual([action]);
  });

  it("changes nothing for a key already revoked, and says so: key.leaked and the audit entry with action none", async () => {
    const w = await world();
    await w.leaks.act([w.leak({ ...w.key, isActive: false, revokedAt: new Date(0) })]);
    expect((await w.stored()).isActive).toBe(true);
    expect(JSON.parse(w.events[0]!.payload).data).toMatchObject({ url: URL, action: "none", secret: "current" });
    expect(await w.audited()).toMatchObject([{ keyId: w.key.id, details: { url: URL, action: "none" } }]);
    expect(w.announced).toEqual([]);
    expect(w.acted).toEqual(["none"]);
  });

  it("ends the grace period of a leaked previous secret at once and leaves the current secret working", async () => {
    const w = await world("revoke");
    const before = await w.rotated(3_600_000);
    w.clock.advance(1_000);
    await w.leaks.act([w.leak(before, "previous")]);
    const after = await w.stored();
    expect(after).toMatchObject({ isActive: true, revokedAt: null, secretHash: before.secretHash });
    expect(after.previousSecret).toEqual({ hash: before.previousSecret!.hash, expiresAt: new Date(w.clock.now()) });
    expect(JSON.parse(w.events[0]!.payload).data).toMatchObject({ key: { id: w.key.id, is_active: true }, url: URL, action: "end_grace_period", secret: "previous" });
    expect(await w.audited()).toMatchObject([{ details: { action: "end_grace_period", secret: "previous" } }]);
    expect(w.announced).toEqual([`${w.key.id} active=true revoked=false`]);
    // GitHub's retry finds the secret past its grace: nothing more.
    await w.leaks.act([w.leak(after, "previous")]);
    expect(w.events).toHaveLength(1);
    expect(w.acted).toEqual(["end_grace_period"]);
  });

  it("only tells of a leaked previous secret under notify, and of one past its grace", async () => {
    const notify = await world("notify");
    const rotated = await notify.rotated(3_600_000);
    await notify.leaks.act([notify.leak(rotated, "previous")]);
    expect(await notify.stored()).toStrictEqual(rotated);
    expect(notify.acted).toEqual(["notify"]);

    const past = await world();
    const expired = await past.rotated(1_000);
    past.clock.advance(1_000);
    await past.leaks.act([past.leak(expired, "previous")]);
    expect(await past.stored()).toStrictEqual(expired);
    expect(JSON.parse(past.events[0]!.payload).data).toMatchObject({ action: "none", secret: "previous" });
    expect(past.acted).toEqual(["none"]);
  });

  it("tells of a deleted key's leak with what is kept of it, changes nothing, and writes nothing twice", async () => {
    const w = await world();
    await w.store.keys.delete(w.key.organizationId, w.key.id);
    const deleted = (await w.store.deletedKeys.findByHash(w.key.secretHash))!;
    await w.leaks.act([{ deleted, report: w.report }]);
    await w.leaks.act([{ deleted, report: w.report }]);
    expect(w.events).toHaveLength(1);
    const data = JSON.parse(w.events[0]!.payload).data;
    expect(data).toEqual({
      key: { id: w.key.id, organization_id: w.key.organizationId, name: w.key.name, key_prefix: w.key.keyPrefix, environment: "live", deleted_at: deleted.deletedAt.toISOString() },
      url: URL,
      source: "commit",
      action: "none",
    });
    expect(await w.audited()).toMatchObject([{ keyId: w.key.id, actorKeyId: "keygate", details: { url: URL, source: "commit", action: "none" } }]);
    expect(w.announced).toEqual([]);
    expect(w.acted).toEqual(["none"]);
  });

  it("changes nothing on the same report again: a key an admin re-enabled since stays enabled, with no second event or audit entry", async () => {
    const w = await world();
    await w.leaks.act([w.leak()]);
    const disabled = await w.stored();
    expect(disabled.isActive).toBe(false);
    const reenabled = await w.store.keys.update(w.key.organizationId, w.key.id, { isActive: true, updatedAt: new Date(w.clock.now()) }, { organizationMax: 1_000, userMax: 1_000 });
    expect(reenabled.ok).toBe(true);
    await w.leaks.act([w.leak(await w.stored())]);
    expect((await w.stored()).isActive).toBe(true);
    expect(w.events).toHaveLength(1);
    expect(await w.audited()).toHaveLength(1);
    expect(w.announced).toEqual([`${w.key.id} active=false revoked=false`]);
    expect(w.acted).toEqual(["disable"]);
  });

  it("leaves a key changed since it was read for the next report to decide on", async () => {
    const w = await world();
    await w.leaks.act([w.leak({ ...w.key, name: "as it was before an admin renamed it", updatedAt: new Date(1) })]);
    expect((await w.stored()).isActive).toBe(true);
    expect(w.events).toEqual([]);
  });
});
