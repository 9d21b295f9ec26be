import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { startApp } from "../../src/app.js";
import { newId } from "../../src/model/ids.js";
import { createHarness, envoyRequest, outcomeOf } from "./check-harness.js";
import { envoyClient } from "./envoy-client.js";

/**
 * Identities through the whole server as main composes it: Check reads a key's identity from the
 * store (app.ts wires the identity cache to store.identities), and its keys share its limits.
 */

const running: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((close) => close()));
});

describe("Check with identities, end to end", () => {
  it("two keys of one identity, stored, share its limit; a key of none keeps its own", async () => {
    const h = await createHarness({ config: { port: 0, host: "127.0.0.1" } });
    const at = new Date(h.clock.now());
    const identityId = newId("idt", h.clock.now());
    const created = await h.backing.identities.create({
      id: identityId,
      organizationId: h.organizationId,
      externalId: "customer-42",
      name: "Customer 42",
      meta: {},
      limits: [{ name: "team", limit: 3, period: "minute" }],
      credits: null,
      createdAt: at,
      updatedAt: at,
    }, { maxPerOrganization: 10 });
    expect(created.ok).toBe(true);
    const a = await h.createKey({ rateLimit: { limit: 100, period: "minute" }, identityId });
    const b = await h.createKey({ rateLimit: { limit: 100, period: "minute" }, identityId });
    const alone = await h.createKey({ rateLimit: { limit: 100, period: "minute" } });
    const app = await startApp({ config: h.config, store: h.backing, logger: pino({ level: "silent" }), clock: h.clock });
    const client = envoyClient(`127.0.0.1:${app.port}`);
    running.push(async () => {
      client.close();
      await app.close();
    });
    const outcomes = [];
    for (const secret of [a.secret, b.secret, a.secret, b.secret]) outcomes.push(outcomeOf(await client.check(envoyRequest({ "x-api-key": secret }))));
    expect(outcomes).toEqual(["allowed", "allowed", "allowed", "RATE_LIMITED"]);
    for (let i = 0; i < 4; i++) expect(outcomeOf(await client.check(envoyRequest({ "x-api-key": alone.secret })))).toBe("allowed");
  });
});
