import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Authorization, CheckRequestSchema, type CheckResponse } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { RateLimitPeriod } from "../../gen/keygate/v1/key_admin_pb.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import type { Store } from "../../src/store/store.js";
import { freshMongoStore } from "../support/mongo.js";
import { startTestApp, type TestApp } from "../support/app.js";

/** The JSON `code` of a denial, or "allowed". */
function outcome(response: CheckResponse): string {
  if (response.status?.code === 0) return "allowed";
  const body = response.httpResponse.case === "deniedResponse" ? response.httpResponse.value.body : "";
  return (JSON.parse(body) as { error: { code: string } }).error.code;
}

const suites: [string, () => Promise<{ store: Store; cleanup(): Promise<void> }>][] = [
  ["memory", async () => ({ store: new MemoryStore(), cleanup: async () => {} })],
  ["MongoDB", freshMongoStore],
];

describe.each(suites)("admin changes reach Check at once (%s store)", (_name, makeStore) => {
  let t: TestApp;
  let cleanup: () => Promise<void>;
  let authz: Client<typeof Authorization>;

  beforeAll(async () => {
    const made = await makeStore();
    cleanup = made.cleanup;
    t = await startTestApp({ store: made.store, closeStore: false });
    authz = createClient(Authorization, createGrpcTransport({ baseUrl: t.app.url }));
  });
  afterAll(async () => {
    await t?.close();
    await cleanup?.();
  });

  const check = async (secret: string, path = "/machines/42") =>
    outcome(
      await authz.check(
        create(CheckRequestSchema, {
          attributes: {
            source: { address: { address: { case: "socketAddress", value: { address: "10.1.2.3", portSpecifier: { case: "portValue", value: 5555 } } } } },
            request: { http: { method: "GET", path, host: "api.example.com", headers: { "x-api-key": secret, ":path": path } } },
            contextExtensions: { required_scopes: "machines:read" },
          },
        }),
      ),
    );

  it("revoke, disable, scope and IP changes, rotation and delete all apply to the very next Check", async () => {
    const { key, secret } = await t.client.createKey({ name: "svc", scopes: ["machines:read"] });
    const id = key!.id;
    expect(await check(secret)).toBe("allowed");

    await t.client.updateKey({ id, scopes: { values: ["tags:read"] } });
    expect(await check(secret)).toBe("SCOPE_MISSING");
    await t.client.updateKey({ id, scopes: { values: ["machines:read"] }, allowIps: { values: ["192.168.0.0/16"] } });
    expect(await check(secret)).toBe("IP_NOT_ALLOWED");
    await t.client.updateKey({ id, allowIps: { values: ["10.0.0.0/8"] }, isActive: false });
    expect(await check(secret)).toBe("API_KEY_DISABLED");
    await t.client.updateKey({ id, isActive: true, rateLimit: 1, rateLimitPeriod: RateLimitPeriod.HOUR });
    expect(await check(secret)).toBe("allowed");
    expect(await check(secret)).toBe("RATE_LIMITED");
    await t.client.updateKey({ id, rateLimit: 0 });
    expect(await check(secret)).toBe("allowed");

    const rotated = await t.client.regenerateKey({ id });
    expect(await check(secret)).toBe("API_KEY_INVALID");
    expect(await check(rotated.secret)).toBe("allowed");

    await t.client.revokeKey({ id });
    expect(await check(rotated.secret)).toBe("API_KEY_REVOKED");

    const second = await t.client.createKey({ name: "svc 2", scopes: ["machines:read"] });
    expect(await check(second.secret)).toBe("allowed");
    await t.client.deleteKey({ id: second.key!.id });
    expect(await check(second.secret)).toBe("API_KEY_INVALID");
  });

  it("TestKey reports the rate limit Check consumed, without consuming any", async () => {
    const { secret } = await t.client.createKey({ name: "metered", scopes: ["machines:read"], rateLimit: 3, rateLimitPeriod: RateLimitPeriod.MINUTE });
    expect(await check(secret)).toBe("allowed");
    const first = await t.client.testKey({ apiKey: secret });
    const second = await t.client.testKey({ apiKey: secret });
    expect(first.rateLimit).toMatchObject({ limit: 3, remaining: 2 });
    expect(second.rateLimit?.remaining).toBe(2);
  });
});
