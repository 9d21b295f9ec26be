import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anOperator, operatorClientFor } from "../admin/clients.js";
import type { TestApp } from "../support/app.js";
import { checker, within } from "./check-client.js";
import { startReplicaFleet, type ReplicaFleet } from "./replica-fleet.js";

/**
 * Two keygate replicas over one MongoDB database: an admin change made through replica A reaches
 * replica B's cache within the change feed's bound (docs/operating.md), far inside B's 30 s TTL.
 */
const POLL_MS = 200;
/** The documented bound is interval + one round trip; the test allows generous scheduling slack. */
const BOUND_MS = POLL_MS + 1_800;

describe("changes reach every replica's cache within the bound", () => {
  let fleet: ReplicaFleet;
  let a: TestApp;
  let b: TestApp;
  let checkB: ReturnType<typeof checker>;

  beforeAll(async () => {
    fleet = await startReplicaFleet({ env: { KEYGATE_CHANGE_POLL_INTERVAL_MS: String(POLL_MS), KEYGATE_CACHE_TTL_MS: "60000" } });
    [a, b] = fleet.replicas as [TestApp, TestApp];
    checkB = checker(b.app.url);
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it("revoke on A: B denies within the bound", async () => {
    const { key, secret } = await a.client.createKey({ name: "svc", scopes: ["machines:read"] });
    expect(await checkB(secret)).toBe("allowed"); // now cached on B for 60 s
    await a.client.revokeKey({ id: key!.id });
    const tookMs = await within(BOUND_MS, "API_KEY_REVOKED", () => checkB(secret));
    expect(tookMs).toBeLessThan(BOUND_MS);
  });

  it("disable, rotation and delete on A reach B too", async () => {
    const { key, secret } = await a.client.createKey({ name: "svc 2", scopes: ["machines:read"] });
    const id = key!.id;
    expect(await checkB(secret)).toBe("allowed");
    await a.client.updateKey({ id, isActive: false });
    await within(BOUND_MS, "API_KEY_DISABLED", () => checkB(secret));
    await a.client.updateKey({ id, isActive: true });
    await within(BOUND_MS, "allowed", () => checkB(secret));

    const rotated = await a.client.regenerateKey({ id });
    await within(BOUND_MS, "API_KEY_INVALID", () => checkB(secret));
    expect(await checkB(rotated.secret)).toBe("allowed");

    await a.client.deleteKey({ id });
    await within(BOUND_MS, "API_KEY_INVALID", () => checkB(rotated.secret));
  });

  it("a plan change made through A's operator API reaches B's cache within the bound", async () => {
    const operator = await anOperator(a);
    const operatorApi = operatorClientFor(a, operator.secret);
    const tenant = await operatorApi.createOrganization({ name: "Plan Co", plan: "free", ownerName: "Pat", issueOwnerKey: true });
    const secret = tenant.ownerKeySecret;
    const hash = b.app.hasher.hash(secret);
    await checkB(secret); // cached on B with its organization's plan
    expect(b.app.keyCache.cached(hash)?.plan.name).toBe("free");
    await operatorApi.setOrganizationPlan({ id: tenant.organization!.id, plan: "pro" });
    await within(BOUND_MS, "pro", async () => {
      await checkB(secret);
      return b.app.keyCache.cached(hash)?.plan.name ?? "none";
    });
  });

  it("a change is logged once, stamped with the store's clock", async () => {
    const log = fleet.db.collection("key_changes");
    const before = await log.countDocuments();
    const { key } = await b.client.createKey({ name: "svc 3", scopes: ["machines:read"] });
    await b.client.revokeKey({ id: key!.id });
    await within(BOUND_MS, "1", async () => String((await log.countDocuments()) - before));
    const entry = await log.find().sort({ at: -1 }).limit(1).next();
    expect(entry?.["at"]).toBeInstanceOf(Date);
    expect(Math.abs((entry!["at"] as Date).getTime() - Date.now())).toBeLessThan(60_000);
  });
});
