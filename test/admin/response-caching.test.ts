import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { KeyAdminService } from "../../gen/keygate/v1/key_admin_pb.js";
import type { BootstrapResult } from "../../src/tenancy/bootstrap.js";
import { bearer, startTestApp, type TestApp } from "../support/app.js";
import { anOperator } from "./clients.js";

/**
 * Admin responses over real HTTP: none may be kept by a browser or a shared proxy (several carry
 * a secret), and no request whose URL would hold a secret, or fetch one, is served over Connect's
 * GET, since URLs end up in proxy logs and browser history.
 */

let t: TestApp;
let operator: BootstrapResult;
beforeAll(async () => {
  t = await startTestApp({ env: { KEYGATE_ENCRYPTION_KEY: randomBytes(32).toString("base64") } });
  operator = await anOperator(t);
});
afterAll(async () => {
  await t.close();
});

const post = (path: string, body: unknown, secret = t.admin.secret) =>
  fetch(`${t.app.url}/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
    body: JSON.stringify(body),
  });

const get = (path: string, message: unknown) =>
  fetch(`${t.app.url}/${path}?connect=v1&encoding=json&message=${encodeURIComponent(JSON.stringify(message))}`, {
    headers: { authorization: `Bearer ${t.admin.secret}` },
  });

const KEYS = "keygate.v1.KeyAdminService";

async function recoverableKey(): Promise<{ id: string; secret: string }> {
  const created = await t.client.createKey({ name: "recoverable", scopes: ["machines:read"], recoverable: true });
  return { id: created.key!.id, secret: created.secret };
}

describe("Cache-Control: no-store", () => {
  it.each([
    ["CreateKey", async () => post(`${KEYS}/CreateKey`, { name: "fresh", scopes: ["machines:read"] })],
    ["RegenerateKey", async () => post(`${KEYS}/RegenerateKey`, { id: (await recoverableKey()).id })],
    ["GetKey with show_key_value", async () => post(`${KEYS}/GetKey`, { id: (await recoverableKey()).id, showKeyValue: true })],
    [
      "OperatorService CreateOrganization with an owner key",
      async () => post("keygate.v1.OperatorService/CreateOrganization", { name: "Globex", issueOwnerKey: true }, operator.secret),
    ],
    [
      "OperatorService RegenerateOperatorKey",
      async () => {
        const rotating = await anOperator(t);
        return post("keygate.v1.OperatorService/RegenerateOperatorKey", { id: rotating.key.id }, rotating.secret);
      },
    ],
  ])("on %s, whose response carries a secret", async (_rpc, call) => {
    const response = await call();
    const body = await response.text();
    expect(response.status).toBe(200);
    expect(body).toMatch(/sk_live_[0-9A-Za-z]{46}/);
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  it.each([
    ["ListKeys", async () => post(`${KEYS}/ListKeys`, {}), 200],
    ["ListKeys over GET", async () => get(`${KEYS}/ListKeys`, {}), 200],
    ["an error (a key not found)", async () => post(`${KEYS}/GetKey`, { id: "key_unknown" }), 404],
    ["an unauthenticated call", async () => post(`${KEYS}/ListKeys`, {}, "sk_live_nope"), 401],
    ["OperatorService GetOrganization", async () => post("keygate.v1.OperatorService/GetOrganization", { id: t.admin.organization.id }, operator.secret), 200],
  ])("on every other admin response too: %s", async (_what, call, status) => {
    const response = await call();
    await response.arrayBuffer();
    expect(response.status).toBe(status);
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  it("over gRPC, and on a server stream", async () => {
    const grpc = createClient(KeyAdminService, createGrpcTransport({ baseUrl: t.app.url, interceptors: [bearer(t.admin.secret)] }));
    let unary: Headers | undefined;
    await grpc.createKey({ name: "over grpc", scopes: ["machines:read"] }, { onHeader: (h) => (unary = h) });
    expect(unary?.get("cache-control")).toBe("no-store");

    let streamed: Headers | undefined;
    const abort = new AbortController();
    for await (const _ of t.client.watchUsage({}, { onHeader: (h) => (streamed = h), signal: abort.signal })) break;
    abort.abort();
    expect(streamed?.get("cache-control")).toBe("no-store");
  });
});

describe("Connect GET", () => {
  it("does not serve GetKey: show_key_value would put a secret in a cacheable response to a logged URL", async () => {
    const { id, secret } = await recoverableKey();
    for (const message of [{ id, showKeyValue: true }, { id }]) {
      const response = await get(`${KEYS}/GetKey`, message);
      const body = await response.text();
      expect(response.status).toBe(405);
      expect(body).not.toContain(secret.slice(12));
    }
    // The same request over POST still works.
    expect((await t.client.getKey({ id, showKeyValue: true })).secret).toBe(secret);
  });

  it("does not serve TestKey, whose request is a secret that GET would write into the URL", async () => {
    const { secret } = await recoverableKey();
    const response = await get(`${KEYS}/TestKey`, { apiKey: secret });
    await response.arrayBuffer();
    expect(response.status).toBe(405);
    expect(t.logs.join("")).not.toContain('"method":"keygate.v1.KeyAdminService/TestKey"');
    expect((await t.client.testKey({ apiKey: secret })).valid).toBe(true);
  });
});
