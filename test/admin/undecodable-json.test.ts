import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app.js";

/**
 * A Connect JSON request whose message does not decode (a misspelt field, a value of the wrong type)
 * is refused like every other bad field: invalid_argument with an ErrorInfo, reason
 * API_KEY_FIELD_INVALID and the field named, logged like any admin RPC; and nothing is changed.
 * Sent as a client would, with fetch, so that Connect's own JSON parsing is what is tested.
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

interface ConnectErrorJson {
  code: string;
  message: string;
  details?: { type: string; debug?: { reason: string; domain: string; metadata?: Record<string, string> } }[];
}

async function post(method: string, body: string, secret = t.admin.secret): Promise<{ status: number; error: ConnectErrorJson }> {
  const response = await fetch(`${t.app.url}/keygate.v1.KeyAdminService/${method}`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body,
  });
  return { status: response.status, error: (await response.json()) as ConnectErrorJson };
}

describe("a Connect JSON message that does not decode", () => {
  it("names an unknown field in an ErrorInfo, and creates nothing", async () => {
    const { status, error } = await post("CreateKey", JSON.stringify({ name: "ci", rateLimitPeriodd: "RATE_LIMIT_PERIOD_MINUTE" }));
    expect(status).toBe(400);
    expect(error.code).toBe("invalid_argument");
    expect(error.message).toContain("rateLimitPeriodd: unknown field of keygate.v1.CreateKeyRequest");
    expect(error.details).toEqual([
      { type: "google.rpc.ErrorInfo", value: expect.any(String), debug: { reason: "API_KEY_FIELD_INVALID", domain: "keygate", metadata: { field: "rateLimitPeriodd" } } },
    ]);
    expect((await t.client.listKeys({})).keys.filter((key) => key.name === "ci")).toEqual([]);
    // Through the service's interceptors: logged like any refused call, with its code.
    const logged = t.logs.filter((line) => line.includes('"keygate.v1.KeyAdminService/CreateKey"') && line.includes("rateLimitPeriodd"));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('"code":"InvalidArgument"');
  });

  it("names a field whose value does not decode (a number for a string)", async () => {
    const { status, error } = await post("CreateKey", JSON.stringify({ name: 5 }));
    expect(status).toBe(400);
    expect(error.details?.[0]?.debug).toEqual({ reason: "API_KEY_FIELD_INVALID", domain: "keygate", metadata: { field: "name" } });
  });

  it("names a field whose enum value is misspelt, with the values it takes, at any depth", async () => {
    const { status, error } = await post("CreateKey", JSON.stringify({ name: "ci", rateLimit: 10, rateLimitPeriod: "MINUTE" }));
    expect(status).toBe(400);
    expect(error.code).toBe("invalid_argument");
    expect(error.details?.[0]?.debug).toEqual({ reason: "API_KEY_FIELD_INVALID", domain: "keygate", metadata: { field: "rate_limit_period" } });
    expect(error.message).toMatch(/^rate_limit_period: not a valid value for this field \(.*"MINUTE" is not one of RATE_LIMIT_PERIOD_UNSPECIFIED, RATE_LIMIT_PERIOD_SECOND, RATE_LIMIT_PERIOD_MINUTE, RATE_LIMIT_PERIOD_HOUR, RATE_LIMIT_PERIOD_DAY\)$/);
    expect((await t.client.listKeys({})).keys.filter((key) => key.name === "ci")).toEqual([]);
    const nested = await post("CreateKey", JSON.stringify({ name: "ci", limits: [{ name: "burst", limit: 1, period: "RATE_LIMIT_PERIOD_SECOND" }, { name: "daily", limit: 1, period: "daily" }] }));
    expect(nested.error.details?.[0]?.debug).toMatchObject({ reason: "API_KEY_FIELD_INVALID", metadata: { field: "period" } });
  });

  it("names an unknown field of a nested message", async () => {
    const { error } = await post("UpdateKey", JSON.stringify({ id: "key_x", scopes: { valuez: ["machines:read"] } }));
    expect(error.details?.[0]?.debug).toMatchObject({ reason: "API_KEY_FIELD_INVALID", metadata: { field: "valuez" } });
  });

  it("never quotes a secret sent as a field name", async () => {
    const { error } = await post("ListKeys", JSON.stringify({ [t.admin.secret]: true }));
    expect(error.code).toBe("invalid_argument");
    expect(JSON.stringify(error)).not.toContain(t.admin.secret);
  });

  it("tells it only to a caller who may make the call: one without the scope is refused that first", async () => {
    const reader = await t.client.createKey({ name: "reads only", scopes: ["admin:read"] });
    const { status, error } = await post("CreateKey", JSON.stringify({ nmae: "ci" }), reader.secret);
    expect(status).toBe(403);
    expect(error.details?.[0]?.debug).toMatchObject({ reason: "PERMISSION_DENIED", metadata: { scope: "admin:write" } });
  });

  it("still refuses an unknown caller first, without reading the body", async () => {
    const { status, error } = await post("CreateKey", JSON.stringify({ nmae: "ci" }), "sk_live_wrong");
    expect(status).toBe(401);
    expect(error.code).toBe("unauthenticated");
  });

  it("leaves bytes that are not JSON to Connect, and a valid message unchanged", async () => {
    expect((await post("ListKeys", "{not json")).error.code).toBe("invalid_argument");
    const created = await fetch(`${t.app.url}/keygate.v1.KeyAdminService/CreateKey`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.admin.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "decoded once, then by Connect", scopes: ["machines:read"] }),
    });
    expect(created.status).toBe(200);
    expect(((await created.json()) as { key: { name: string } }).key.name).toBe("decoded once, then by Connect");
  });
});
