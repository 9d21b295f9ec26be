import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CheckResponseSchema } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { generateSecret, keyPrefixOf } from "../../src/model/secret.js";
import type { Store } from "../../src/store/store.js";
import { countingStore, createHarness, envoyRequest, headerMap, outcomeOf } from "./check-harness.js";
import { expectWellFormed } from "./well-formed.js";

describe("Check: the allow path", () => {
  it("adds identity headers (append false), removes the key header, returns rate-limit headers and dynamic metadata", async () => {
    const h = await createHarness();
    const { secret, key } = await h.createKey({ scopes: ["machines:read", "tags:read"], rateLimit: { limit: 10, period: "minute" } });

    const response = await h.service.check(envoyRequest({ "x-api-key": secret }, { contextExtensions: { required_scopes: "machines:read" } }));
    expectWellFormed(response);

    // Checked on what crosses the wire, so `append: false` is proven present, not defaulted.
    const wire = fromBinary(CheckResponseSchema, toBinary(CheckResponseSchema, response));
    expect(wire.status?.code).toBe(0);
    expect(wire.httpResponse.case).toBe("okResponse");
    const ok = wire.httpResponse.value as Extract<typeof wire.httpResponse, { case: "okResponse" }>["value"];
    expect(ok.headers.map((o) => [o.header?.key, o.header?.value, o.append])).toEqual([
      ["x-keygate-key-id", key.id, false],
      ["x-keygate-organization-id", h.organizationId, false],
    ]);
    expect(ok.headersToRemove).toEqual(["x-api-key"]);
    expect(ok.responseHeadersToAdd.map((o) => [o.header?.key, o.header?.value, o.append])).toEqual([
      ["x-ratelimit-limit", "10", false],
      ["x-ratelimit-remaining", "9", false],
      ["x-ratelimit-reset", "61", false],
      ["ratelimit-policy", '"default";q=10;w=60', false],
      ["ratelimit", '"default";r=9;t=61', false],
    ]);
    expect(ok.dynamicMetadata).toBeUndefined();
    expect(wire.dynamicMetadata).toEqual({
      key_id: key.id,
      organization_id: h.organizationId,
      scopes: "machines:read tags:read",
      decision_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });

  it("removes authorization when the key came as a Bearer token", async () => {
    const h = await createHarness();
    const { secret } = await h.createKey();
    const response = await h.service.check(envoyRequest({ authorization: `Bearer ${secret}` }));
    expect(response.httpResponse.case === "okResponse" && response.httpResponse.value.headersToRemove).toEqual(["authorization"]);
  });

  it("reports the organization's per-minute limit when the key has none", async () => {
    const h = await createHarness({ plan: { requestsPerMinute: 50 } });
    const { secret } = await h.createKey();
    const response = await h.service.check(envoyRequest({ "x-api-key": secret }));
    const headers = headerMap(response.httpResponse.case === "okResponse" ? { headers: response.httpResponse.value.responseHeadersToAdd } : undefined);
    expect(headers.get("x-ratelimit-limit")).toBe("50");
    expect(headers.get("x-ratelimit-remaining")).toBe("49");
  });

  it("gives every decision its own id", async () => {
    const h = await createHarness();
    const { secret } = await h.createKey();
    const ids = new Set<unknown>();
    for (let i = 0; i < 5; i++) ids.add((await h.service.check(envoyRequest({ "x-api-key": secret }))).dynamicMetadata?.["decision_id"]);
    expect(ids.size).toBe(5);
  });
});

describe("Check: denials", () => {
  it("a denial for a known key carries its ids in dynamic metadata, never the secret", async () => {
    const h = await createHarness();
    const { secret, key } = await h.createKey({ isActive: false });
    const response = await h.service.check(envoyRequest({ "x-api-key": secret }));
    expectWellFormed(response);
    expect(response.dynamicMetadata).toEqual({ code: "API_KEY_DISABLED", key_id: key.id, organization_id: h.organizationId, decision_id: expect.any(String) });
    expect(Buffer.from(toBinary(CheckResponseSchema, response)).includes(secret)).toBe(false);
  });

  it("the body is the contract's JSON", async () => {
    const h = await createHarness();
    const response = await h.service.check(envoyRequest({}));
    expect(response.httpResponse.case).toBe("deniedResponse");
    const denied = response.httpResponse.value as { body: string; status?: { code: number } };
    expect(JSON.parse(denied.body)).toEqual({ error: { code: "API_KEY_MISSING", message: expect.any(String) } });
    expect(denied.status?.code).toBe(401);
    expect(response.status?.code).toBe(16);
  });

  it("a malformed or mistyped key never reaches the store", async () => {
    let counted!: ReturnType<typeof countingStore>;
    const h = await createHarness({ wrapStore: (store) => (counted = countingStore(store)).store });
    const { secret } = await h.createKey();
    const mistyped = secret.slice(0, -1) + (secret.endsWith("A") ? "B" : "A");
    for (const value of ["", "sk_live_", "sk_live_x", mistyped, secret.toLowerCase(), `${secret}x`, "🔑".repeat(30)]) {
      expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": value })))).toMatch(/^API_KEY_(INVALID|MISSING)$/);
    }
    expect(counted.calls.total()).toBe(0);
  });

  it("a rotated secret works during its grace period and is unknown after it", async () => {
    const h = await createHarness();
    const { secret: oldSecret, key } = await h.createKey();
    const newSecret = generateSecret("live");
    const rotated = await h.backing.keys.replaceSecret(key.organizationId, key.id, {
      secretHash: h.hasher.hash(newSecret),
      keyPrefix: keyPrefixOf(newSecret),
      previousSecretExpiresAt: new Date(h.clock.now() + 60_000),
      updatedAt: new Date(h.clock.now()),
    });
    h.keyEvents.changed(rotated!, key);

    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": oldSecret })))).toBe("allowed");
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": newSecret })))).toBe("allowed");
    h.clock.advance(60_000);
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": oldSecret })))).toBe("API_KEY_INVALID");
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": newSecret })))).toBe("allowed");
  });

  it("a key that expires while cached is expired at once", async () => {
    const h = await createHarness();
    const { secret } = await h.createKey({ expiresInMs: 1_000 });
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret })))).toBe("allowed");
    h.clock.advance(1_000);
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret })))).toBe("API_KEY_EXPIRED");
  });

  it("revoking a key takes effect on the next Check, through the key events", async () => {
    const h = await createHarness();
    const { secret, key } = await h.createKey();
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret })))).toBe("allowed");
    const revoked = await h.backing.keys.revoke(key.organizationId, key.id, new Date(h.clock.now()));
    h.keyEvents.changed(revoked!);
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret })))).toBe("API_KEY_REVOKED");
    await h.backing.keys.delete(key.organizationId, key.id);
    h.keyEvents.removed(key);
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret })))).toBe("API_KEY_INVALID");
  });
});

describe("Check: limits", () => {
  it("the 429 carries retry-after and the limit's headers", async () => {
    const h = await createHarness();
    const { secret } = await h.createKey({ rateLimit: { limit: 1, period: "second" } });
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret })))).toBe("allowed");
    h.clock.advance(500);
    const response = await h.service.check(envoyRequest({ "x-api-key": secret }));
    expectWellFormed(response);
    expect(response.status?.code).toBe(7);
    const headers = headerMap(response.httpResponse.case === "deniedResponse" ? response.httpResponse.value : undefined);
    expect(Object.fromEntries(headers)).toEqual({
      "content-type": "application/json",
      "retry-after": "1",
      "x-ratelimit-limit": "1",
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": "1",
      "ratelimit-policy": '"default";q=1;w=1',
      "ratelimit": '"default";r=0;t=1',
    });
    h.clock.advance(520);
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret })))).toBe("allowed");
  });

  it("denied requests spend no budget", async () => {
    const h = await createHarness();
    const { secret } = await h.createKey({ rateLimit: { limit: 2, period: "minute" }, scopes: ["machines:read"] });
    for (let i = 0; i < 10; i++) {
      const denied = await h.service.check(envoyRequest({ "x-api-key": secret }, { contextExtensions: { required_scopes: "machines:write" } }));
      expect(outcomeOf(denied)).toBe("SCOPE_MISSING");
    }
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret })))).toBe("allowed");
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret })))).toBe("allowed");
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret })))).toBe("RATE_LIMITED");
    expect(h.limits.peekLimits((await h.backing.keys.findByHash(h.hasher.hash(secret)))!, null)[0]!.state.remaining).toBe(0);
  });

  it("a quota denial does not spend the key's rate limit", async () => {
    const h = await createHarness({ plan: { requestsPerMinute: 1 } });
    const { secret, key } = await h.createKey({ rateLimit: { limit: 5, period: "minute" } });
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret })))).toBe("allowed");
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret })))).toBe("QUOTA_EXCEEDED");
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret })))).toBe("QUOTA_EXCEEDED");
    expect(h.limits.peekLimits(key, null)[0]!.state.remaining).toBe(4);
  });

  it("the monthly quota is seeded once per organization and month from stored usage", async () => {
    const h = await createHarness({ plan: { monthlyQuota: 100 }, loadMonthlyRequests: async () => 98 });
    const { secret } = await h.createKey();
    const { secret: second } = await h.createKey();
    const outcomes = await Promise.all([secret, second, secret, second].map((s) => h.service.check(envoyRequest({ "x-api-key": s }))));
    expect(outcomes.map(outcomeOf).sort()).toEqual(["QUOTA_EXCEEDED", "QUOTA_EXCEEDED", "allowed", "allowed"]);
    expect(h.monthlyLoads).toEqual([{ organizationId: h.organizationId, monthStartMs: Date.UTC(2026, 0, 1) }]);

    const denied = outcomes.find((r) => outcomeOf(r) === "QUOTA_EXCEEDED")!;
    const headers = headerMap(denied.httpResponse.case === "deniedResponse" ? denied.httpResponse.value : undefined);
    const untilFebruary = Math.ceil((Date.UTC(2026, 1, 1) - h.clock.now()) / 1000);
    expect(headers.get("retry-after")).toBe(String(untilFebruary));
    expect(headers.get("x-ratelimit-reset")).toBe(String(untilFebruary));

    h.clock.set(Date.UTC(2026, 1, 1, 0, 0, 5));
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret })))).toBe("allowed");
    expect(h.monthlyLoads.map((l) => l.monthStartMs)).toEqual([Date.UTC(2026, 0, 1), Date.UTC(2026, 1, 1)]);
  });
});

describe("Check: usage and faults", () => {
  it("records every decision on a known key, allowed or denied, and none for unknown keys", async () => {
    const h = await createHarness();
    const { secret, key } = await h.createKey({ scopes: ["machines:read"] });
    await h.service.check(envoyRequest({ "x-api-key": secret, "content-length": "42" }, { path: "/v1/machines/7?x=1", method: "put" }));
    await h.service.check(envoyRequest({ "x-api-key": secret }, { contextExtensions: { required_scopes: "tags:read" } }));
    await h.service.check(envoyRequest({ "x-api-key": generateSecret("live") }));
    await h.service.check(envoyRequest({}));
    expect(h.usage.events).toEqual([
      { keyId: key.id, organizationId: h.organizationId, method: "PUT", path: "/v1/machines/7", outcome: "allowed", atMs: h.clock.now(), requestBytes: 42 },
      { keyId: key.id, organizationId: h.organizationId, method: "GET", path: "/v1/machines", outcome: "SCOPE_MISSING", atMs: h.clock.now() },
    ]);
  });

  it("a failing usage recorder does not fail the decision", async () => {
    const h = await createHarness();
    const { secret } = await h.createKey();
    h.usage.record = () => {
      throw new Error("recorder broken");
    };
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret })))).toBe("allowed");
  });

  it("a store failure on an uncached key is an `unavailable` RPC error (Envoy's failure_mode_allow decides); cached keys keep working", async () => {
    let broken = false;
    const breakable = withFindByHash(async (find, hash) => {
      if (broken) throw new Error("connection reset");
      return find(hash);
    });
    const h = await createHarness({ wrapStore: breakable });
    const { secret: cachedSecret } = await h.createKey();
    const { secret: uncachedSecret } = await h.createKey();
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": cachedSecret })))).toBe("allowed");
    broken = true;
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": cachedSecret })))).toBe("allowed");
    const error = await h.service.check(envoyRequest({ "x-api-key": uncachedSecret })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Unavailable);
    expect((error as ConnectError).message).not.toContain(uncachedSecret);
    broken = false;
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": uncachedSecret })))).toBe("allowed");
  });

  it("a key read that never answers fails at KEYGATE_STORE_READ_TIMEOUT_MS, and the next Check reads afresh instead of queueing behind it", async () => {
    // A read on a connection to a primary that died: it never settles.
    let hanging = false;
    let reads = 0;
    const hangable = withFindByHash((find, hash) => {
      reads++;
      return hanging ? new Promise(() => {}) : find(hash);
    });
    const h = await createHarness({ wrapStore: hangable, config: { storeReadTimeoutMs: 50 } });
    const { secret } = await h.createKey();
    hanging = true;
    const stuck = await Promise.all([1, 2, 3].map(() => h.service.check(envoyRequest({ "x-api-key": secret })).catch((e: unknown) => e)));
    for (const error of stuck) {
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).toBe(Code.Unavailable);
    }
    expect(reads).toBe(1); // concurrent Checks shared the one read
    hanging = false;
    // The hung read is still pending; a new Check does not wait for it.
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret })))).toBe("allowed");
    expect(reads).toBe(2);
  });

  it("a failing monthly usage load is `unavailable`, and the next Check tries again", async () => {
    let fail = true;
    const h = await createHarness({
      loadMonthlyRequests: async () => {
        if (fail) throw new Error("usage store down");
        return 0;
      },
    });
    const { secret } = await h.createKey();
    const error = await h.service.check(envoyRequest({ "x-api-key": secret })).catch((e: unknown) => e);
    expect((error as ConnectError).code).toBe(Code.Unavailable);
    fail = false;
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret })))).toBe("allowed");
  });
});

/** A store whose keys.findByHash goes through `read`, which may fail, hang or pass to the real one. */
function withFindByHash(read: (find: (hash: string) => Promise<unknown>, hash: string) => Promise<unknown>): (store: Store) => Store {
  return (store) =>
    new Proxy(store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property !== "keys") return value;
        return new Proxy(value as object, {
          get(keys, name, r) {
            const method = Reflect.get(keys, name, r);
            if (name !== "findByHash") return method;
            return (hash: string) => read((h) => (method as (h: string) => Promise<unknown>).call(keys, h), hash);
          },
        });
      },
    });
}
