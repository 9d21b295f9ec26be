import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { IdentityRecord, NamedLimit } from "../../src/model/identities.js";
import type { KeyRecord } from "../../src/model/records.js";
import { createHarness, envoyRequest, headerMap, outcomeOf, type HarnessOptions } from "./check-harness.js";
import { expectWellFormed } from "./well-formed.js";

/**
 * Check with named limits, costs and identities (issue 19) on the embedded store: what a route
 * spends, the 429 that names the limit that ran out (the key's or its identity's), the RateLimit
 * header fields, and an identity's limits shared by its keys, read once through the identity cache
 * (here from a map of identities, to see each read).
 */

async function harness(options: HarnessOptions & { identities?: IdentityRecord[] } = {}) {
  const loads: string[] = [];
  const identities = new Map((options.identities ?? []).map((identity) => [identity.id, identity]));
  const h = await createHarness({
    ...options,
    loadIdentity: async (organizationId, identityId) => {
      loads.push(identityId);
      const identity = identities.get(identityId);
      return identity?.organizationId === organizationId ? identity : null;
    },
  });
  async function key(rateLimit: KeyRecord["rateLimit"], limits: NamedLimit[] = [], identityId?: string) {
    return (await h.createKey({ rateLimit, limits, ...(identityId !== undefined && { identityId }) })).secret;
  }
  return { h, key, loads, identities };
}

function identity(organizationId: string, id: string, limits: NamedLimit[]): IdentityRecord {
  const at = new Date(Date.UTC(2026, 0, 1));
  return { id, organizationId, externalId: `customer-${id}`, name: id, meta: {}, limits, credits: null, createdAt: at, updatedAt: at };
}

const denial = (response: Awaited<ReturnType<Awaited<ReturnType<typeof createHarness>>["service"]["check"]>>) => {
  if (response.httpResponse.case !== "deniedResponse") return { code: "allowed", message: "", headers: new Map<string, string>() };
  const body = JSON.parse(response.httpResponse.value.body) as { error: { code: string; message: string } };
  return { ...body.error, headers: headerMap(response.httpResponse.value) };
};

describe("Check: named limits, cost and identities", () => {
  it("a key's named limit that runs out denies 429 RATE_LIMITED naming it, with the RateLimit fields", async () => {
    const { h, key } = await harness();
    const secret = await key({ limit: 100, period: "minute" }, [{ name: "hourly", limit: 2, period: "hour" }]);
    const request = envoyRequest({ "x-api-key": secret });
    const first = await h.service.check(request);
    expect(outcomeOf(first)).toBe("allowed");
    const added = first.httpResponse.case === "okResponse" ? headerMap({ headers: first.httpResponse.value.responseHeadersToAdd }) : new Map();
    expect(added.get("ratelimit-policy")).toBe('"default";q=100;w=60, "hourly";q=2;w=3600');
    // After one request: hourly has 1 of 2 left, the tightest, as x-ratelimit-* say too.
    expect(added.get("ratelimit")).toBe('"hourly";r=1;t=3660');
    expect(added.get("x-ratelimit-remaining")).toBe("1");
    expect(outcomeOf(await h.service.check(request))).toBe("allowed");
    const third = await h.service.check(request);
    expectWellFormed(third);
    expect(denial(third)).toMatchObject({
      code: "RATE_LIMITED",
      message: 'The API key\'s rate limit "hourly" is exceeded; retry after the time in the Retry-After header.',
    });
    expect(third.status?.message).toBe('The API key\'s rate limit "hourly" is exceeded; retry after the time in the Retry-After header.');
    expect(denial(third).headers.get("ratelimit")).toBe('"hourly";r=0;t=3660');
    expect(Number(denial(third).headers.get("retry-after"))).toBeGreaterThan(3_000);
  });

  it("a route's cost from context_extensions is spent on every limit; a route naming limits spends only those", async () => {
    const { h, key } = await harness();
    const secret = await key({ limit: 10, period: "minute" }, [{ name: "expensive", limit: 12, period: "hour" }]);
    const costly = envoyRequest({ "x-api-key": secret }, { contextExtensions: { cost: "5" } });
    expect(outcomeOf(await h.service.check(costly))).toBe("allowed");
    expect(outcomeOf(await h.service.check(costly))).toBe("allowed");
    // 10 of the default's 10 spent: the next costly request is denied by it, naming it.
    expect(denial(await h.service.check(costly)).message).toContain('"default"');
    // A route that spends only "expensive": 2 of its 12 left, so cost 2 fits and cost 1 more does not.
    const cheap = (cost: string) => envoyRequest({ "x-api-key": secret }, { contextExtensions: { cost, limits: "expensive" } });
    expect(outcomeOf(await h.service.check(cheap("2")))).toBe("allowed");
    expect(denial(await h.service.check(cheap("1")))).toMatchObject({ code: "RATE_LIMITED", message: expect.stringContaining('"expensive"') });
  });

  it("a route naming a limit the key lacks still spends the key's rate limit: no route takes a key past its owner's bound", async () => {
    const { h, key } = await harness();
    const secret = await key({ limit: 2, period: "minute" }, []);
    const named = envoyRequest({ "x-api-key": secret }, { contextExtensions: { limits: "expensive" } });
    expect(outcomeOf(await h.service.check(named))).toBe("allowed");
    expect(outcomeOf(await h.service.check(named))).toBe("allowed");
    expect(denial(await h.service.check(named))).toMatchObject({ code: "RATE_LIMITED", message: expect.stringContaining('"default"') });
  });

  it("the route table's cost and limits apply where Envoy sends none; Envoy's win where it does", async () => {
    const { h, key } = await harness({
      config: { routes: [{ method: "*", path: "/v1/*", scopes: [] }, { method: "POST", path: "/v1/generate", scopes: [], cost: 4, limits: ["tokens"] }] },
    });
    const secret = await key({ limit: 1, period: "minute" }, [{ name: "tokens", limit: 10, period: "hour" }]);
    const generate = (contextExtensions?: Record<string, string>) => envoyRequest({ "x-api-key": secret }, { method: "POST", path: "/v1/generate", ...(contextExtensions && { contextExtensions }) });
    // The default limit (1/minute) is not spent on /v1/generate: only "tokens", 4 a request.
    expect(outcomeOf(await h.service.check(generate()))).toBe("allowed");
    expect(outcomeOf(await h.service.check(generate()))).toBe("allowed");
    expect(denial(await h.service.check(generate())).message).toContain('"tokens"');
    expect(outcomeOf(await h.service.check(generate({ cost: "2" })))).toBe("allowed");
    // Elsewhere every limit applies, "tokens" (spent) too; a route naming only the default spends its one request.
    expect(denial(await h.service.check(envoyRequest({ "x-api-key": secret }, { path: "/v1/machines" }))).message).toContain('"tokens"');
    const own = envoyRequest({ "x-api-key": secret }, { path: "/v1/machines", contextExtensions: { limits: "default" } });
    expect(outcomeOf(await h.service.check(own))).toBe("allowed");
    expect(denial(await h.service.check(own)).message).toContain('"default"');
  });

  it.each(["0", "-1", "1.5", "abc", "1000001", ""])("a malformed cost %j from Envoy's route is ROUTE_NOT_ALLOWED, and spends nothing", async (cost) => {
    const { h, key } = await harness();
    const secret = await key({ limit: 1, period: "minute" });
    const response = await h.service.check(envoyRequest({ "x-api-key": secret }, { contextExtensions: { cost } }));
    expectWellFormed(response);
    expect(outcomeOf(response)).toBe("ROUTE_NOT_ALLOWED");
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret })))).toBe("allowed");
  });

  it.each(["", "bad name", "a/b", "x".repeat(65)])("malformed limits %j from Envoy's route are ROUTE_NOT_ALLOWED", async (limits) => {
    const { h, key } = await harness();
    const secret = await key({ limit: 1, period: "minute" });
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret }, { contextExtensions: { limits: limits === "bad name" ? "ok bad:name" : limits } })))).toBe("ROUTE_NOT_ALLOWED");
  });

  it("two keys of one identity share its limit; the denial says it is the identity's; the identity is read once", async () => {
    const { h, key, loads, identities } = await harness();
    identities.set("idt_customer", identity(h.organizationId, "idt_customer", [{ name: "team", limit: 3, period: "minute" }]));
    const a = await key({ limit: 100, period: "minute" }, [], "idt_customer");
    const b = await key({ limit: 100, period: "minute" }, [], "idt_customer");
    const outcomes = [];
    for (const secret of [a, b, a, b, a]) outcomes.push(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret }))));
    expect(outcomes).toEqual(["allowed", "allowed", "allowed", "RATE_LIMITED", "RATE_LIMITED"]);
    const denied = denial(await h.service.check(envoyRequest({ "x-api-key": a })));
    expect(denied.message).toBe('The API key\'s identity\'s rate limit "team" is exceeded; retry after the time in the Retry-After header.');
    expect(denied.headers.get("ratelimit")).toBe('"identity:team";r=0;t=61');
    expect(loads).toEqual(["idt_customer"]);
  });

  it("an identity changed is read again once invalidated; a deleted one leaves its keys their own limits", async () => {
    const { h, key, loads, identities } = await harness();
    identities.set("idt_c", identity(h.organizationId, "idt_c", [{ name: "team", limit: 1, period: "minute" }]));
    const secret = await key({ limit: 100, period: "minute" }, [], "idt_c");
    const request = envoyRequest({ "x-api-key": secret });
    expect(outcomeOf(await h.service.check(request))).toBe("allowed");
    expect(outcomeOf(await h.service.check(request))).toBe("RATE_LIMITED");
    // Raised: the change feed's (or the admin's) invalidation makes the next Check read it again.
    identities.set("idt_c", identity(h.organizationId, "idt_c", [{ name: "team", limit: 2, period: "minute" }]));
    h.identityCache!.invalidate("idt_c");
    expect(outcomeOf(await h.service.check(request))).toBe("allowed");
    expect(outcomeOf(await h.service.check(request))).toBe("RATE_LIMITED");
    identities.delete("idt_c");
    h.identityCache!.invalidate("idt_c");
    expect(outcomeOf(await h.service.check(request))).toBe("allowed");
    expect(loads).toEqual(["idt_c", "idt_c", "idt_c"]);
  });

  it("another organization's identity never applies to a key", async () => {
    const { h, key, identities } = await harness();
    identities.set("idt_other", identity("org_someone_else", "idt_other", [{ name: "team", limit: 1, period: "minute" }]));
    const secret = await key({ limit: 100, period: "minute" }, [], "idt_other");
    for (let i = 0; i < 3; i++) expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret })))).toBe("allowed");
  });

  it("an identity that cannot be read makes the Check unavailable, as a key that cannot be read does", async () => {
    const h = await createHarness({ loadIdentity: async () => Promise.reject(new Error("store down")) });
    const withIdentity = await h.createKey({ rateLimit: { limit: 10, period: "minute" }, identityId: "idt_unreadable" });
    await expect(h.service.check(envoyRequest({ "x-api-key": withIdentity.secret }))).rejects.toMatchObject({ code: Code.Unavailable });
    // A key without an identity reads none: it works.
    const plain = await h.createKey({ rateLimit: { limit: 10, period: "minute" } });
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": plain.secret })))).toBe("allowed");
  });
});
