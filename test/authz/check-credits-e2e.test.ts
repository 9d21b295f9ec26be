import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Authorization, type CheckResponse } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { RateLimitPeriod, RefillInterval } from "../../gen/keygate/v1/key_admin_pb.js";
import { ManualClock } from "../../src/time/clock.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { envoyRequest, outcomeOf } from "./check-harness.js";

/**
 * Credits and identities through the server as app.ts composes it, on the embedded store, with
 * changes made through the admin API: each is seen by the very next Check (the identity cache is
 * told at once, not after its TTL), on a ManualClock that never lets a TTL run out meanwhile.
 */

describe("Check with credits and identity changes, end to end on the embedded store", () => {
  let t: TestApp;
  let check: Client<typeof Authorization>;
  const clock = new ManualClock(Date.UTC(2026, 11, 3, 10, 0, 0));

  beforeAll(async () => {
    t = await startTestApp({ clock });
    check = createClient(Authorization, createGrpcTransport({ baseUrl: t.app.url }));
  });
  afterAll(() => t.close());

  const checkWith = (secret: string) => check.check(envoyRequest({ "x-api-key": secret }));
  const outcomes = async (secret: string, count: number) => {
    const seen: string[] = [];
    for (let i = 0; i < count; i++) seen.push(outcomeOf(await checkWith(secret)));
    return seen;
  };

  it("an UpdateIdentity's new limit is seen by the very next Check", async () => {
    const { identity } = await t.client.createIdentity({ externalId: "customer-1", name: "Customer 1", meta: {}, limits: [{ name: "team", limit: 2, period: RateLimitPeriod.MINUTE }] });
    const { secret } = await t.client.createKey({ name: "of customer 1", scopes: [], identityId: identity!.id });
    expect(await outcomes(secret, 3)).toEqual(["allowed", "allowed", "RATE_LIMITED"]);
    await t.client.updateIdentity({ id: identity!.id, limits: { values: [{ name: "team", limit: 4, period: RateLimitPeriod.MINUTE }] } });
    expect(await outcomes(secret, 3)).toEqual(["allowed", "allowed", "RATE_LIMITED"]);
    // New credits of the identity too: the next Check spends them.
    await t.client.updateIdentity({ id: identity!.id, limits: { values: [] }, credits: { remaining: 1n } });
    const denied = (await outcomes(secret, 2))[1];
    expect(denied).toBe("CREDITS_EXHAUSTED");
  });

  it("a key's credits run out at zero, the denial says whose and when they refill, and a balance set by UpdateKey starts afresh", async () => {
    const { key, secret } = await t.client.createKey({
      name: "metered",
      scopes: [],
      credits: { remaining: 2n, refill: { amount: 5n, interval: RefillInterval.DAILY, day: 0 } },
    });
    expect(await outcomes(secret, 2)).toEqual(["allowed", "allowed"]);
    const denial: CheckResponse = await checkWith(secret);
    expect(outcomeOf(denial)).toBe("CREDITS_EXHAUSTED");
    expect(denial.status?.message).toBe("The API key's credits are used up; they are refilled at 2026-12-04T00:00:00.000Z.");
    const headers = denial.httpResponse.case === "deniedResponse" ? denial.httpResponse.value.headers : [];
    expect(headers.find((h) => h.header?.key === "retry-after")?.header?.value).toBe(String(14 * 3_600));
    clock.advance(1);
    await t.client.updateKey({ id: key!.id, credits: { remaining: 3n } });
    expect(await outcomes(secret, 4)).toEqual(["allowed", "allowed", "allowed", "CREDITS_EXHAUSTED"]);
  });
});
