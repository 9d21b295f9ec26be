import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { KeyAdminService } from "../../gen/keygate/v1/key_admin_pb.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { bearer, startTestApp, type TestApp } from "../support/app.js";

describe("one port for every protocol", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const transports: [string, () => Transport][] = [
    ["Connect JSON over HTTP/1.1", () => createConnectTransport({ baseUrl: t.app.url, httpVersion: "1.1" })],
    ["Connect binary over HTTP/1.1", () => createConnectTransport({ baseUrl: t.app.url, httpVersion: "1.1", useBinaryFormat: true })],
    ["Connect JSON over h2c", () => createConnectTransport({ baseUrl: t.app.url, httpVersion: "2" })],
    ["gRPC over h2c", () => createGrpcTransport({ baseUrl: t.app.url })],
    ["gRPC-Web over HTTP/1.1", () => createGrpcWebTransport({ baseUrl: t.app.url, httpVersion: "1.1" })],
    ["gRPC-Web over h2c", () => createGrpcWebTransport({ baseUrl: t.app.url, httpVersion: "2" })],
  ];

  it.each(transports)("serves KeyAdminService with %s", async (_name, transport) => {
    const client = createClient(KeyAdminService, transport());
    const created = await client.createKey({ name: "protocol probe", scopes: ["tags:read"] }, { headers: { "x-api-key": t.admin.secret } });
    expect(created.secret).toMatch(/^sk_live_/);
    const listed = await client.listKeys({}, { headers: { authorization: `Bearer ${t.admin.secret}` } });
    expect(listed.keys.map((k) => k.id)).toContain(created.key!.id);
  });

  it("answers a malformed JSON body with a clean invalid_argument", async () => {
    const response = await fetch(`${t.app.url}/keygate.v1.KeyAdminService/CreateKey`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${t.admin.secret}` },
      body: '{"name": "x", "scopes": 12',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: "invalid_argument" });
    const wrongType = await fetch(`${t.app.url}/keygate.v1.KeyAdminService/CreateKey`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${t.admin.secret}` },
      body: '{"name": "x", "rateLimitPeriod": "RATE_LIMIT_PERIOD_FORTNIGHT"}',
    });
    expect(wrongType.status).toBe(400);
    expect(((await wrongType.json()) as { message: string }).message).toMatch(/^rate_limit_period: .*FORTNIGHT.* is not one of .*RATE_LIMIT_PERIOD_MINUTE/);
  });

  it("answers the probes", async () => {
    expect((await fetch(`${t.app.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${t.app.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready" });
    expect((await fetch(`${t.app.url}/nowhere`)).status).toBe(404);
  });

  it("serves gRPC health Check and Watch, and turns NOT_SERVING on shutdown, which ends the Watch", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: t.app.url }));
    expect((await health.check({})).status).toBe(ServingStatus.SERVING);
    expect((await health.check({ service: "envoy.service.auth.v3.Authorization" })).status).toBe(ServingStatus.SERVING);
    await expect(health.check({ service: "nope.Service" })).rejects.toThrow(/unknown service/);

    const seen: ServingStatus[] = [];
    for await (const update of health.watch({})) {
      seen.push(update.status);
      if (seen.length === 1) t.app.readiness.beginShutdown();
    }
    expect(seen).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    expect((await fetch(`${t.app.url}/readyz`)).status).toBe(503);
  });
});

describe("graceful close", () => {
  it("lets a call in flight finish while refusing new connections", async () => {
    const store = new MemoryStore();
    let entered!: () => void;
    const reached = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const list = store.keys.list.bind(store.keys);
    store.keys.list = async (...args) => {
      entered();
      await gate;
      return list(...args);
    };
    const t = await startTestApp({ store });
    const client = createClient(KeyAdminService, createGrpcTransport({ baseUrl: t.app.url, interceptors: [bearer(t.admin.secret)] }));
    const inFlight = client.listKeys({});
    await reached;
    const closing = t.close();
    await expect(fetch(`${t.app.url}/healthz`)).rejects.toThrow();
    release();
    expect((await inFlight).keys.length).toBe(1);
    await closing;
  });

  it("closes idle HTTP/1.1 keep-alive connections at once instead of waiting for the deadline", async () => {
    const t = await startTestApp({ env: { KEYGATE_SHUTDOWN_TIMEOUT_MS: "20000" } });
    expect((await t.client.listKeys({})).keys.length).toBe(1);
    const started = performance.now();
    await t.close();
    // Left open, the socket would linger until its 5 s keep-alive timeout (or the 20 s deadline).
    expect(performance.now() - started).toBeLessThan(3_000);
  });
});
