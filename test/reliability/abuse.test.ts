import net from "node:net";
import http from "node:http";
import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { KeyAdminService } from "../../gen/keygate/v1/key_admin_pb.js";
import { SlidingCounters } from "../../src/abuse/sliding-counters.js";
import { generateSecret } from "../../src/model/secret.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { countingStore } from "../authz/check-harness.js";
import { bearer, startTestApp, type TestApp } from "../support/app.js";
import { checker } from "./check-client.js";

/**
 * Brute force and floods: failed keys throttled per IP, admin requests per caller, failed admin
 * authentication per client (behind trusted proxies too), bounded memory and sizes.
 */

async function rpcError(call: () => Promise<unknown>): Promise<{ code: string; reason?: string }> {
  try {
    await call();
    return { code: "ok" };
  } catch (error) {
    const connectError = ConnectError.from(error);
    const reason = /reason":"([A-Z_]+)/.exec(JSON.stringify(connectError.details))?.[1];
    return { code: Code[connectError.code], reason };
  }
}

describe("SlidingCounters", () => {
  it("admits `limit` events per window, slides, and forgets the least recent source past maxSources", () => {
    let now = 1_200_000; // a window start
    const counters = new SlidingCounters({ limit: 3, windowMs: 60_000, maxSources: 100, nowMs: () => now });
    expect([counters.take("a"), counters.take("a"), counters.take("a")]).toEqual([0, 0, 0]);
    expect(counters.take("a")).toBeGreaterThan(0);
    expect(counters.take("b")).toBe(0); // per source
    now += 60_000; // next window: the previous one still weighs in fully at its start
    expect(counters.exceeded("a")).toBe(true);
    now += 40_000; // 2/3 through: 3 × 1/3 = 1 left of the previous window
    expect(counters.count("a")).toBeCloseTo(1, 5);
    expect(counters.take("a")).toBe(0);
    now += 120_000;
    expect(counters.count("a")).toBe(0);
    for (let i = 0; i < 10_000; i++) counters.add(`flood-${i}`);
    expect(counters.size).toBe(100);
  });

  it("a limit of 0 admits everything", () => {
    const counters = new SlidingCounters({ limit: 0, windowMs: 60_000, maxSources: 10 });
    for (let i = 0; i < 100; i++) expect(counters.take("a")).toBe(0);
  });
});

describe("abuse bounds of a running keygate", () => {
  const LIMIT = 10;
  let t: TestApp;
  let calls: ReturnType<typeof countingStore>["calls"];
  let check: ReturnType<typeof checker>;

  beforeAll(async () => {
    const counted = countingStore(new MemoryStore());
    calls = counted.calls;
    t = await startTestApp({
      store: counted.store,
      env: { KEYGATE_FAILED_KEY_ATTEMPTS_PER_MINUTE: String(LIMIT), KEYGATE_ADMIN_REQUESTS_PER_MINUTE: "30" },
    });
    check = checker(t.app.url);
  });
  afterAll(async () => {
    await t?.close();
  });

  it("Check: past the failed-key limit an IP's unknown keys are denied without a store read; its cached keys still work", async () => {
    const attacker = "198.51.100.7";
    const { secret: cachedSecret } = await t.client.createKey({ name: "cached", scopes: ["machines:read"] });
    const { secret: uncachedSecret } = await t.client.createKey({ name: "uncached", scopes: ["machines:read"] });
    expect(await check(cachedSecret, attacker)).toBe("allowed");

    const readsBefore = calls.keys.get("findByHash") ?? 0;
    for (let i = 0; i < LIMIT; i++) expect(await check(generateSecret("live"), attacker)).toBe("API_KEY_INVALID");
    expect((calls.keys.get("findByHash") ?? 0) - readsBefore).toBe(LIMIT);

    const throttledBefore = calls.keys.get("findByHash") ?? 0;
    for (let i = 0; i < 200; i++) expect(await check(generateSecret("live"), attacker)).toBe("API_KEY_INVALID");
    expect(await check(uncachedSecret, attacker)).toBe("API_KEY_INVALID"); // documented: throttled IPs get no lookups
    expect(calls.keys.get("findByHash") ?? 0).toBe(throttledBefore);
    expect(await check(cachedSecret, attacker)).toBe("allowed");
    // Other sources are unaffected.
    expect(await check(uncachedSecret, "203.0.113.9")).toBe("allowed");
  });

  it("admin: failed authentications from one peer end in resource_exhausted", async () => {
    const other = await t.anotherOrganization();
    // A fresh peer address is not available over loopback: use a throwaway app's own counters.
    const app = await startTestApp({ env: { KEYGATE_FAILED_KEY_ATTEMPTS_PER_MINUTE: "5" } });
    try {
      for (let i = 0; i < 5; i++) expect((await rpcError(() => app.clientFor(generateSecret("live")).listKeys({}))).code).toBe("Unauthenticated");
      expect(await rpcError(() => app.clientFor(generateSecret("live")).listKeys({}))).toEqual({ code: "ResourceExhausted", reason: "UNAUTHENTICATED" });
      // The right key from that peer still works: only failing keys are throttled
      // (test/admin/caller-authentication.test.ts).
      expect((await rpcError(() => app.client.listKeys({}))).code).toBe("ok");
    } finally {
      await app.close();
    }
    expect((await rpcError(() => t.clientFor(other.secret).listKeys({}))).code).toBe("ok");
  });

  it("admin behind a trusted proxy: each forwarded client has its own failed-auth budget; an untrusted peer's header is ignored", async () => {
    const env = { KEYGATE_FAILED_KEY_ATTEMPTS_PER_MINUTE: "3" };
    // The test's loopback connection plays the proxy: trusted by one app, not by the other.
    const behindProxy = await startTestApp({ env: { ...env, KEYGATE_TRUSTED_PROXIES: "127.0.0.1/32" } });
    const direct = await startTestApp({ env: { ...env, KEYGATE_TRUSTED_PROXIES: "10.0.0.0/8" } });
    /** KeyAdminService through the proxy, which reports `forwardedFor`. */
    const through = (app: TestApp, forwardedFor: string, secret = generateSecret("live")) =>
      createClient(
        KeyAdminService,
        createConnectTransport({
          baseUrl: app.app.url,
          httpVersion: "1.1",
          interceptors: [
            bearer(secret),
            (next) => (req) => {
              req.header.set("x-forwarded-for", forwardedFor);
              return next(req);
            },
          ],
        }),
      );
    const listKeys = (app: TestApp, forwardedFor: string, secret?: string) => rpcError(() => through(app, forwardedFor, secret).listKeys({}));
    try {
      for (let i = 0; i < 3; i++) expect((await listKeys(behindProxy, "198.51.100.1")).code).toBe("Unauthenticated");
      expect(await listKeys(behindProxy, "198.51.100.1")).toEqual({ code: "ResourceExhausted", reason: "UNAUTHENTICATED" });
      expect((await listKeys(behindProxy, "198.51.100.1", behindProxy.admin.secret)).code).toBe("ok");
      // What the client writes left of the proxy's entry does not get it a new budget.
      expect((await listKeys(behindProxy, "203.0.113.50, 198.51.100.1")).code).toBe("ResourceExhausted");
      // Another client behind the same proxy has a budget of its own.
      expect((await listKeys(behindProxy, "198.51.100.2")).code).toBe("Unauthenticated");
      expect((await listKeys(behindProxy, "198.51.100.2", behindProxy.admin.secret)).code).toBe("ok");

      // A peer that is no trusted proxy is its own client, whatever addresses it claims.
      for (let i = 0; i < 3; i++) expect((await listKeys(direct, `198.51.100.${10 + i}`)).code).toBe("Unauthenticated");
      expect(await listKeys(direct, "198.51.100.20")).toEqual({ code: "ResourceExhausted", reason: "UNAUTHENTICATED" });
    } finally {
      await behindProxy.close();
      await direct.close();
    }
  });

  it("admin: requests are rate limited per caller key", async () => {
    const caller = await t.anotherOrganization();
    const client = t.clientFor(caller.secret);
    const outcomes: string[] = [];
    for (let i = 0; i < 31; i++) outcomes.push((await rpcError(() => client.listKeys({}))).code);
    expect(outcomes.slice(0, 30).every((code) => code === "ok")).toBe(true);
    expect(await rpcError(() => client.listKeys({}))).toEqual({ code: "ResourceExhausted", reason: "API_KEY_LIMIT_EXCEEDED" });
    // Another caller is not affected.
    const second = await t.anotherOrganization();
    expect((await rpcError(() => t.clientFor(second.secret).listKeys({}))).code).toBe("ok");
  });

  it("HTTP/1.1 refuses headers beyond 64 KiB with 431", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${t.app.url}/healthz`, { headers: { "x-big": "a".repeat(70 * 1024) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(431);
  });

  it("HTTP/2 announces bounded streams and header lists, and refuses oversized header lists", async () => {
    const session = http2.connect(t.app.url);
    try {
      const settings = await new Promise<http2.Settings>((resolve) => session.once("remoteSettings", resolve));
      expect(settings.maxConcurrentStreams).toBeLessThanOrEqual(1_000);
      expect(settings.maxHeaderListSize).toBeLessThanOrEqual(256 * 1024);
      const outcome = await new Promise<string>((resolve) => {
        const stream = session.request({ ":path": "/healthz", "x-big": "a".repeat(300 * 1024) });
        stream.on("response", (headers) => resolve(String(headers[":status"])));
        stream.on("error", (error) => resolve(`error ${(error as NodeJS.ErrnoException).code ?? error.message}`));
        stream.on("close", () => resolve(`closed ${stream.rstCode}`));
        stream.end();
      });
      expect(outcome).not.toBe("200");
    } finally {
      session.close();
    }
  });
});

describe("slow, idle and flooding connections", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      env: { KEYGATE_HEADERS_TIMEOUT_MS: "300", KEYGATE_IDLE_CONNECTION_TIMEOUT_MS: "1000", KEYGATE_REQUEST_BODY_TIMEOUT_MS: "300" },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Opens a TCP connection, writes `bytes`, and resolves with how long the server kept it open. */
  function heldOpenMs(bytes: string): Promise<number> {
    const { hostname, port } = new URL(t.app.url);
    return new Promise((resolve) => {
      const started = performance.now();
      const socket = net.connect(Number(port), hostname, () => socket.write(bytes));
      // A reset is one way the server closes it (ECONNRESET); "close" follows either way.
      socket.on("error", () => {});
      socket.on("close", () => resolve(performance.now() - started));
      socket.resume();
      // Far past every bound under test: a connection still open here is held 5 s, which fails the test.
      setTimeout(() => socket.destroy(), 5_000).unref();
    });
  }

  it("a connection that sends nothing, or too little to tell its protocol, is closed after the headers timeout", async () => {
    expect(await heldOpenMs("")).toBeLessThan(2_000);
    expect(await heldOpenMs("PR")).toBeLessThan(2_000);
  });

  it("an HTTP/1.1 request whose headers never end is closed after the headers timeout", async () => {
    // Node checks header deadlines on a timer of its own; the bound is the timeout plus that.
    expect(await heldOpenMs("GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: ")).toBeLessThan(5_000);
  });

  it("an HTTP/1.1 request whose body trickles in (a byte every 100 ms, so never idle) is closed after the request body timeout", async () => {
    const { hostname, port } = new URL(t.app.url);
    const closed = await new Promise<boolean>((resolve) => {
      const socket = net.connect(Number(port), hostname, () =>
        socket.write("POST /envoy.service.auth.v3.Authorization/Check HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"),
      );
      const trickle = setInterval(() => socket.write(" "), 100);
      let stillOpen = false;
      // The server may close it with a reset while a byte is on its way (ECONNRESET, EPIPE): that
      // is the close under test, and "close" follows.
      socket.on("error", () => {});
      socket.on("close", () => {
        clearInterval(trickle);
        resolve(!stillOpen);
      });
      socket.resume();
      // Far past the bound under test: a connection still open here fails the test.
      setTimeout(() => {
        stillOpen = true;
        socket.destroy();
      }, 5_000).unref();
    });
    expect(closed).toBe(true);
  });

  it("an idle HTTP/2 connection is closed after the idle timeout; one with traffic is not", async () => {
    const session = http2.connect(t.app.url);
    const closed = new Promise<number>((resolve) => {
      const started = performance.now();
      session.on("close", () => resolve(performance.now() - started));
    });
    session.on("error", () => {});
    for (let i = 0; i < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const status = await new Promise<string>((resolve, reject) => {
        const stream = session.request({ ":path": "/healthz" });
        stream.on("response", (headers) => resolve(String(headers[":status"])));
        stream.on("error", reject);
        stream.resume();
        stream.end();
      });
      expect(status).toBe("200"); // 1.2 s of use, longer than the idle timeout, and still open
    }
    const lifetime = await closed;
    expect(lifetime).toBeGreaterThan(1_200);
    expect(lifetime).toBeLessThan(6_000);
  });

  it("a rapid-reset flood (streams opened and cancelled at once) loses its connection; other clients are still served", async () => {
    const flood = http2.connect(t.app.url);
    flood.on("error", () => {});
    const closed = new Promise<void>((resolve) => flood.once("close", () => resolve()));
    await new Promise((resolve) => flood.once("connect", resolve));
    let opened = 0;
    for (let i = 0; i < 20_000 && !flood.closed && !flood.destroyed; i++) {
      const stream = flood.request({ ":method": "POST", ":path": "/envoy.service.auth.v3.Authorization/Check", "content-type": "application/grpc" });
      stream.on("error", () => {});
      stream.close(http2.constants.NGHTTP2_CANCEL);
      opened++;
      if (i % 500 === 499) await new Promise((resolve) => setImmediate(resolve));
    }
    await closed;
    // nghttp2 (inside node:http2) answers a reset flood with GOAWAY after about a thousand streams.
    expect(opened).toBeLessThan(20_000);
    const healthy = await fetch(`${t.app.url}/healthz`);
    expect(healthy.status).toBe(200);
  });
});
