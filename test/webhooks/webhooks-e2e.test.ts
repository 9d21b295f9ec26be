import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RateLimitPeriod } from "../../gen/keygate/v1/key_admin_pb.js";
import { DEFAULT_PLANS } from "../../src/model/plans.js";
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from "../../src/model/webhooks.js";
import { systemClock } from "../../src/time/clock.js";
import { envoyRequest, outcomeOf } from "../authz/check-harness.js";
import { envoyClient, type EnvoyClient } from "../authz/envoy-client.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { hmacVerifies } from "./delivery/hmac.js";
import { Receiver, type Received } from "./delivery/receiver.js";

/**
 * Every event type keygate makes today, caused the way a user causes it (admin calls, Checks,
 * time passing) on a running keygate, arrives at a real receiver signed so that the
 * `standardwebhooks` verifier and a plain HMAC both accept it. (`key.leaked` comes with the
 * secret-scanning endpoint, which is not built yet.)
 */

/** A plan whose monthly quota a few Checks cross, so quota.threshold can be caused here. */
function plansFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), "keygate-plans-")), "plans.json");
  writeFileSync(file, JSON.stringify([{ ...DEFAULT_PLANS[0], name: "tiny", monthlyQuota: 4 }]));
  return file;
}

describe("webhooks end to end: every event type arrives signed", () => {
  let t: TestApp;
  let receiver: Receiver;
  let envoy: EnvoyClient;
  let secret: string;

  beforeAll(async () => {
    receiver = await Receiver.start();
    t = await startTestApp({
      clock: systemClock,
      plan: "tiny",
      env: {
        KEYGATE_PLANS_FILE: plansFile(),
        KEYGATE_DEFAULT_PLAN: "tiny",
        KEYGATE_WEBHOOK_ALLOW_INSECURE_TARGETS: "true",
        KEYGATE_WEBHOOK_SCHEDULE_INTERVAL_MS: "100",
        KEYGATE_USAGE_FLUSH_INTERVAL_MS: "50",
      },
    });
    envoy = envoyClient(new URL(t.app.url).host);
    const created = await t.client.createWebhookEndpoint({ url: receiver.url(), description: "every type" });
    secret = created.signingSecret;
  });
  afterAll(async () => {
    envoy?.close();
    await t?.close();
    await receiver?.close();
  });

  /** The first delivery of `type` that arrives (awaited, not slept for). */
  async function arrival(type: WebhookEventType): Promise<Received> {
    for (;;) {
      const found = receiver.received.find((received) => (JSON.parse(received.body) as { type: string }).type === type);
      if (found) return found;
      await receiver.count(receiver.received.length + 1);
    }
  }

  it("warns at start that insecure targets are allowed; a server without the setting does not", async () => {
    const warning = "KEYGATE_WEBHOOK_ALLOW_INSECURE_TARGETS=true";
    expect(t.logs.join("")).toContain(warning);
    const secure = await startTestApp();
    try {
      expect(secure.logs.join("")).not.toContain(warning);
    } finally {
      await secure.close();
    }
  });

  it("causes each event and receives it, verified by standardwebhooks and by a plain HMAC", { timeout: 60_000 }, async () => {
    const client = t.client;
    // key.created, key.updated, key.rotated, key.revoked, key.deleted: admin calls.
    const { key } = await client.createKey({ name: "lifecycle" });
    await client.updateKey({ id: key!.id, name: "lifecycle renamed" });
    await client.regenerateKey({ id: key!.id });
    await client.revokeKey({ id: key!.id, reason: "done with it" });
    await client.deleteKey({ id: key!.id });
    // user.removed.
    const { user } = await client.addUser({ name: "leaving" });
    await client.removeUser({ id: user!.id });
    // identity.created, identity.updated, identity.deleted.
    const { identity } = await client.createIdentity({ externalId: "e2e-customer" });
    await client.updateIdentity({ id: identity!.id, name: "renamed" });
    await client.deleteIdentity({ id: identity!.id });
    // webhook.test.
    const endpoints = await client.listWebhookEndpoints({});
    await client.sendTestWebhook({ id: endpoints.endpoints[0]!.id });
    // key.expiring now (within 7 days), key.expired a moment later.
    await client.createKey({ name: "short-lived", expiresAt: timestampFromMs(Date.now() + 1_500) });
    // rate_limit.exceeded: a key allowed once a minute, checked twice; key.credits_low: a key's one
    // credit spent (0 left, under the default 10%); quota.threshold: the plan's 4 requests a month
    // crossed (80% and 100%) by those and the plain key's allowed Checks.
    const limited = await client.createKey({ name: "limited", rateLimit: 1, rateLimitPeriod: RateLimitPeriod.MINUTE });
    expect(outcomeOf(await envoy.check(envoyRequest({ "x-api-key": limited.secret })))).toBe("allowed");
    expect(outcomeOf(await envoy.check(envoyRequest({ "x-api-key": limited.secret })))).toBe("RATE_LIMITED");
    const metered = await client.createKey({ name: "metered", credits: { remaining: 1n } });
    expect(outcomeOf(await envoy.check(envoyRequest({ "x-api-key": metered.secret })))).toBe("allowed");
    const plain = await client.createKey({ name: "plain" });
    for (let i = 0; i < 2; i++) expect(outcomeOf(await envoy.check(envoyRequest({ "x-api-key": plain.secret })))).toBe("allowed");

    const verifier = new Webhook(secret);
    const made = WEBHOOK_EVENT_TYPES.filter((type) => type !== "key.leaked");
    for (const type of made) {
      const received = await arrival(type);
      const headers = received.headers as Record<string, string>;
      const event = verifier.verify(received.body, headers) as { type: string; data: Record<string, unknown> };
      expect(event.type, type).toBe(type);
      expect(hmacVerifies(secret, received.headers, received.body), type).toBe(true);
      expect(headers["content-type"]).toMatch(/^application\/json/);
      expect(received.body).not.toContain(secret);
    }
    const revoked = JSON.parse((await arrival("key.revoked")).body) as { data: { key: { id: string }; actor: { key_id: string } } };
    expect(revoked.data.key.id).toBe(key!.id);
    expect(revoked.data.actor.key_id).toBe(t.admin.key.id);
    // Secrets and hashes never ride along.
    for (const received of receiver.received) {
      expect(received.body).not.toMatch(/sk_(live|test)_[A-Za-z0-9]{8,}|secret_hash|secretHash/);
    }
  });
});
