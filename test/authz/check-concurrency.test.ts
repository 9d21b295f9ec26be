import { createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Authorization } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { authorizationRoutes } from "../../src/authz/check-service.js";
import { DataPlaneBoundary } from "../../src/server/data-plane-boundary.js";
import { countingStore, createHarness, envoyRequest, outcomeOf, type Harness } from "./check-harness.js";

function tally(outcomes: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}

/** A client over Connect's in-memory transport: the same router the server mounts. */
function clientFor(h: Harness) {
  return createClient(Authorization, createRouterTransport(authorizationRoutes(h.deps, new DataPlaneBoundary({ token: undefined, ownListener: false })).routes));
}

describe("Check under concurrency", () => {
  it("200 parallel Checks on a cold key limited to 100/minute admit exactly 100, with one store read", async () => {
    let counted!: ReturnType<typeof countingStore>;
    const h = await createHarness({ wrapStore: (store) => (counted = countingStore(store)).store });
    const { secret } = await h.createKey({ rateLimit: { limit: 100, period: "minute" } });

    const responses = await Promise.all(Array.from({ length: 200 }, () => h.service.check(envoyRequest({ "x-api-key": secret }))));

    expect(tally(responses.map(outcomeOf))).toEqual({ allowed: 100, RATE_LIMITED: 100 });
    expect(counted.calls.keys.get("findByHash")).toBe(1);
    expect(counted.calls.organizations.get("findById")).toBe(1);
    expect(h.usage.events.length).toBe(200);
  });

  it("the same through the Connect router (gRPC-shaped in-memory transport)", async () => {
    const h = await createHarness();
    const { secret } = await h.createKey({ rateLimit: { limit: 100, period: "minute" } });
    const client = clientFor(h);

    const responses = await Promise.all(Array.from({ length: 200 }, () => client.check(envoyRequest({ "x-api-key": secret }))));
    expect(tally(responses.map(outcomeOf))).toEqual({ allowed: 100, RATE_LIMITED: 100 });

    // A minute and a slot later the window has moved past all of them.
    h.clock.advance(61_000);
    expect(outcomeOf(await client.check(envoyRequest({ "x-api-key": secret })))).toBe("allowed");
  });

  it("keys share their organization's per-minute rate exactly", async () => {
    const h = await createHarness({ plan: { requestsPerMinute: 150 } });
    const secrets = await Promise.all(Array.from({ length: 4 }, () => h.createKey().then((k) => k.secret)));
    const responses = await Promise.all(Array.from({ length: 400 }, (_, i) => h.service.check(envoyRequest({ "x-api-key": secrets[i % 4]! }))));
    expect(tally(responses.map(outcomeOf))).toEqual({ allowed: 150, QUOTA_EXCEEDED: 250 });
  });

  it("a denial through the router is still an OK RPC", async () => {
    const h = await createHarness();
    const response = await clientFor(h).check(envoyRequest({ "x-api-key": "garbage" }));
    expect(response.status?.code).toBe(16);
    expect(outcomeOf(response)).toBe("API_KEY_INVALID");
  });
});
