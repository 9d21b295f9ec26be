import { describe, expect, it } from "vitest";
import { AuditTrail } from "../../src/audit/audit-trail.js";
import { loadConfig } from "../../src/config/config.js";
import { KeyEvents } from "../../src/keys/key-events.js";
import { ActOnLeaks } from "../../src/leaks/act-on-leaks.js";
import type { LeakedKey } from "../../src/leaks/classify-tokens.js";
import { findPlan } from "../../src/model/plans.js";
import type { KeyRecord } from "../../src/model/records.js";
import { SecretHasher } from "../../src/model/secret.js";
import type { LeakedKeyAction, WebhookEvent } from "../../src/model/webhooks.js";
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
    }),
  };
  const created = await bootstrapOrganization(
    { store, hasher, clock, scopes: config.scopes },
    { organizationName: "acme", plan: findPlan(config.plans, config.defaultPlan)!, ownerName: "owner", environment: "live" },
  );
  if (action) await store.organizations.updateSettings(created.organization.id, { leakedKeyAction: action });
  const acted: LeakedKeyAction[] = [];
  const leaks = new ActOnLeaks({ store: observed, plans: config, audit, keyEvents, now: () => new Date(clock.now()), observer: { acted: (done) => acted.push(done) } });
  const leak = (key: KeyRecord = created.key): LeakedKey => ({ key, report: { token: created.secret, type: "keygate_api_key", url: URL, source: "commit" } });
  const stored = async () => (await store.keys.findById(created.organization.id, created.key.id))!;
  const audited = async () => (await store.audit.list(created.organization.id, { limit: 50 })).filter((entry) => entry.action === "key.leaked");
  return { leaks, leak, stored, audited, events, announced, acted, key: created.key };
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

  it("changes nothing for a key already revoked", async () => {
    const w = await world();
    await w.leaks.act([w.leak({ ...w.key, isActive: false, revokedAt: new Date(0) })]);
    expect((await w.stored()).isActive).toBe(true);
    expect(w.events).toEqual([]);
    expect(await w.audited()).toEqual([]);
  });

  it("leaves a key changed since it was read for the next report to decide on", async () => {
    const w = await world();
    await w.leaks.act([w.leak({ ...w.key, name: "as it was before an admin renamed it", updatedAt: new Date(1) })]);
    expect((await w.stored()).isActive).toBe(true);
    expect(w.events).toEqual([]);
  });
});
