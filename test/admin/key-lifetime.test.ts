import { describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { settingsOf } from "../../src/model/organization-settings.js";
import { DEFAULT_ORGANIZATION_SETTINGS } from "../../src/model/webhooks.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import type { ManualClock } from "../../src/time/clock.js";
import type { TestApp } from "../support/app.js";
import { failure } from "./answers.js";
import { appOnStore } from "./clients.js";
import { WatchedOutbox } from "./key-change-events-outbox.js";

const DAY_MS = 24 * 60 * 60 * 1000;

describe("an organization's settings in force", () => {
  it("are the defaults where it set none, stored null included, and its own where it did", () => {
    expect(settingsOf({})).toEqual(DEFAULT_ORGANIZATION_SETTINGS);
    const stored = { settings: { maxKeyLifetimeDays: 90, expiryWarningDays: null as unknown as number, quotaThresholds: [50] } };
    expect(settingsOf(stored)).toEqual({ ...DEFAULT_ORGANIZATION_SETTINGS, maxKeyLifetimeDays: 90, quotaThresholds: [50] });
  });

  it("never hand out the shared defaults to be changed", () => {
    settingsOf({}).quotaThresholds.push(1);
    expect(settingsOf({}).quotaThresholds).toEqual([80, 100]);
  });
});

/**
 * The organization's maximum key lifetime through a real server: CreateKey without an expiry
 * gets the latest one allowed, and an expiry asked beyond it, or asked away, is refused naming
 * expires_at, with nothing written and no event queued.
 */
describe("the maximum key lifetime", () => {
  let t: TestApp;
  let clock: ManualClock;
  let outbox: WatchedOutbox;
  appOnStore(
    async () => {
      outbox = new WatchedOutbox(new MemoryStore());
      return { store: outbox.store, cleanup: async () => {} };
    },
    (app, appClock) => {
      t = app;
      clock = appClock;
    },
  );

  /** A fresh organization whose keys live at most `days` (0: no maximum), and its owner's client. */
  async function organization(days: number) {
    const org = await t.anotherOrganization("pro");
    await t.store.organizations.updateSettings(org.organization.id, { maxKeyLifetimeDays: days });
    outbox.take();
    return { org, owner: t.clientFor(org.secret) };
  }

  const inDays = (days: number, ms = 0) => timestampFromDate(new Date(clock.now() + days * DAY_MS + ms));

  it("without a maximum, a key needs no expiry and may lose the one it has", async () => {
    const { owner } = await organization(0);
    const { key } = await owner.createKey({ name: "forever", scopes: ["machines:read"] });
    expect(key!.expiresAt).toBeUndefined();
    const { key: dated } = await owner.updateKey({ id: key!.id, expiresAt: inDays(400) });
    expect(dated!.expiresAt).toEqual(inDays(400));
    expect((await owner.updateKey({ id: key!.id, clearExpiresAt: true })).key!.expiresAt).toBeUndefined();
  });

  it("gives a key created without an expiry the latest one, and keeps an expiry asked within it", async () => {
    const { owner } = await organization(30);
    const { key } = await owner.createKey({ name: "defaulted", scopes: ["machines:read"] });
    expect(timestampDate(key!.expiresAt!).getTime()).toBe(timestampDate(key!.createdAt!).getTime() + 30 * DAY_MS);
    expect(JSON.parse(outbox.take()[0]!.payload).data.key.expires_at).toBe(timestampDate(key!.expiresAt!).toISOString());

    const { key: sooner } = await owner.createKey({ name: "sooner", scopes: ["machines:read"], expiresAt: inDays(10) });
    expect(sooner!.expiresAt).toEqual(inDays(10));
    const { key: latest } = await owner.createKey({ name: "latest", scopes: ["machines:read"], expiresAt: inDays(30) });
    expect(latest!.expiresAt).toEqual(inDays(30));
  });

  it("refuses CreateKey asking a later expiry: nothing is created, audited or queued", async () => {
    const { org, owner } = await organization(30);
    const audited = await t.store.audit.list(org.organization.id, { limit: 100 });
    const refused = await failure(owner.createKey({ name: "too long", scopes: ["machines:read"], expiresAt: inDays(30, 1) }));
    expect(refused).toMatchObject({ code: Code.InvalidArgument, reason: "API_KEY_FIELD_INVALID", field: "expires_at" });
    expect(refused.message).toContain("30 days");
    expect(await t.store.keys.countByState(org.organization.id)).toEqual({ total: 1, active: 1 });
    expect(await t.store.audit.list(org.organization.id, { limit: 100 })).toEqual(audited);
    expect(outbox.take()).toEqual([]);
  });

  it("refuses UpdateKey asking a later expiry or none: only a new secret extends a key's life", async () => {
    const { org, owner } = await organization(30);
    const { key } = await owner.createKey({ name: "bounded", scopes: ["machines:read"], expiresAt: inDays(5) });
    outbox.take();
    for (const update of [{ expiresAt: inDays(31) }, { clearExpiresAt: true }, { name: "renamed too", expiresAt: inDays(30, 1) }, { expiresAt: inDays(6) }]) {
      expect(await failure(owner.updateKey({ id: key!.id, ...update }))).toMatchObject({ code: Code.InvalidArgument, reason: "API_KEY_FIELD_INVALID", field: "expires_at" });
    }
    expect(await t.store.keys.findById(org.organization.id, key!.id)).toMatchObject({ name: "bounded", expiresAt: timestampDate(inDays(5)) });
    expect(outbox.take()).toEqual([]);
    // Nearer is always allowed.
    expect((await owner.updateKey({ id: key!.id, expiresAt: inDays(3) })).key!.expiresAt).toEqual(inDays(3));

    // Days on, pushing the expiry out is still refused: UpdateKey cannot keep a key alive forever.
    clock.advance(2 * DAY_MS);
    expect(await failure(owner.updateKey({ id: key!.id, expiresAt: inDays(30) }))).toMatchObject({ field: "expires_at" });
    // RegenerateKey issues a new secret, which lives the maximum from now.
    const { key: rotated } = await owner.regenerateKey({ id: key!.id });
    expect(rotated!.expiresAt).toEqual(inDays(30));
  });

  it("RegenerateKey gives the new secret the maximum from now, whatever the key's expiry was; without a maximum it stays", async () => {
    const { org, owner } = await organization(0);
    const { key: soon } = await owner.createKey({ name: "soon", scopes: ["machines:read"], expiresAt: inDays(2) });
    const { key: forever } = await owner.createKey({ name: "forever", scopes: ["machines:read"] });
    expect((await owner.regenerateKey({ id: soon!.id })).key!.expiresAt).toEqual(inDays(2));
    await t.store.organizations.updateSettings(org.organization.id, { maxKeyLifetimeDays: 10 });
    expect((await owner.regenerateKey({ id: soon!.id })).key!.expiresAt).toEqual(inDays(10));
    expect((await owner.regenerateKey({ id: forever!.id })).key!.expiresAt).toEqual(inDays(10));
  });

  it("leaves a key made before the maximum as it is until its expiry is changed", async () => {
    const { org, owner } = await organization(0);
    const { key } = await owner.createKey({ name: "older", scopes: ["machines:read"] });
    await t.store.organizations.updateSettings(org.organization.id, { maxKeyLifetimeDays: 7 });
    const { key: renamed } = await owner.updateKey({ id: key!.id, name: "older, renamed" });
    expect(renamed!.name).toBe("older, renamed");
    expect(renamed!.expiresAt).toBeUndefined();
    expect(await failure(owner.updateKey({ id: key!.id, expiresAt: inDays(8) }))).toMatchObject({ field: "expires_at" });
  });
});
