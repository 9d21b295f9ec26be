import http from "node:http";
import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { KeyAdminService, ListKeysResponseSchema } from "../../gen/keygate/v1/key_admin_pb.js";
import { AuditTrail } from "../../src/audit/audit-trail.js";
import { callerAuthenticator } from "../../src/admin/authenticate-caller.js";
import { callerOf } from "../../src/admin/caller.js";
import { callerAuthentication } from "../../src/admin/caller-interceptor.js";
import { DEFAULT_PLANS, findPlan } from "../../src/model/plans.js";
import { DEFAULT_SCOPES } from "../../src/model/scopes.js";
import { generateSecret, SecretHasher } from "../../src/model/secret.js";
import { createLogger } from "../../src/log/logger.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import type { Store } from "../../src/store/store.js";
import { bootstrapOrganization } from "../../src/tenancy/bootstrap.js";
import { ManualClock } from "../../src/time/clock.js";
import { checker } from "../reliability/check-client.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { storeWith } from "../support/store-with.js";

/**
 * Who gets past the admin API's front door, and what it costs keygate to find out: a rotated-out
 * secret is not an admin credential, the caller is authenticated from the headers before a byte
 * of the body is read, bodies are small, and a noisy neighbour behind the same address cannot
 * lock a valid key out.
 */

async function failure(call: Promise<unknown>): Promise<{ code: string; reason: string; message: string; metadata: Record<string, string> }> {
  try {
    await call;
  } catch (error) {
    const connectError = ConnectError.from(error);
    const info = connectError.findDetails(ErrorInfoSchema)[0];
    return { code: Code[connectError.code], reason: info?.reason ?? "", message: connectError.rawMessage, metadata: { ...info?.metadata } };
  }
  return { code: "ok", reason: "", message: "", metadata: {} };
}

interface RawAnswer {
  status: number;
  body: string;
}

/**
 * An HTTP/1.1 POST that sends its headers and `sent` of the body, never the rest: resolves with
 * the answer keygate gives without waiting for the body. A keygate that waits for the body never
 * answers, and the test fails at its timeout.
 */
function postWithoutFinishing(url: string, path: string, headers: Record<string, string>, sent = ""): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method: "POST", headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body });
        req.destroy();
      });
    });
    req.on("error", reject);
    req.flushHeaders();
    if (sent !== "") req.write(sent);
  });
}

/** A whole HTTP/1.1 POST (chunked when no content-length is given). */
function post(url: string, path: string, headers: Record<string, string>, body: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method: "POST", headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** A deeply nested JSON document of about `bytes` bytes, the kind that is slow to parse. */
const nested = (bytes: number) => "[".repeat(bytes / 2) + "]".repeat(bytes / 2);

const LIST_KEYS = "/keygate.v1.KeyAdminService/ListKeys";

describe("admin caller authentication", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  describe("a secret superseded by RegenerateKey", () => {
    it("works for Check and TestKey during its grace period, but the admin API refuses it; the new secret works", async () => {
      const { key, secret: old } = await t.client.createKey({ name: "automation", scopes: ["admin:write", "machines:read"] });
      const rotated = await t.client.regenerateKey({ id: key!.id, gracePeriodSeconds: 3_600 });
      const withOld = t.clientFor(old);

      // The old secret may not rotate its key again (which would lock out the holder of the new one) ...
      expect(await failure(withOld.regenerateKey({ id: key!.id }))).toMatchObject({ code: "Unauthenticated", reason: "UNAUTHENTICATED" });
      // ... nor use any other admin RPC.
      expect(await failure(withOld.listKeys({}))).toMatchObject({ code: "Unauthenticated", reason: "UNAUTHENTICATED" });
      expect(await failure(withOld.createKey({ name: "backdoor", scopes: ["machines:read"] }))).toMatchObject({ code: "Unauthenticated" });

      // The new secret is its key's only admin credential, and still the current one.
      const withNew = t.clientFor(rotated.secret);
      expect((await withNew.listKeys({})).keys.map((k) => k.id)).toContain(key!.id);
      expect((await t.client.getKey({ id: key!.id })).key!.keyPrefix).toBe(rotated.secret.slice(0, 12));

      // On the data plane the grace period holds, as RegenerateKey promised.
      expect(await t.client.testKey({ apiKey: old })).toMatchObject({ valid: true, keyId: key!.id });
      expect(await checker(t.app.url)(old)).toBe("allowed");
    });

    it("the refusal is audited in the key's organization, without the secret", async () => {
      const { key, secret: old } = await t.client.createKey({ name: "audited", scopes: ["admin:read"] });
      await t.client.regenerateKey({ id: key!.id, gracePeriodSeconds: 60 });
      expect((await failure(t.clientFor(old).listKeys({}))).code).toBe("Unauthenticated");
      const events = await t.client.listAuditEvents({ keyId: key!.id });
      const refused = events.events.find((e) => e.action === "auth.failed");
      expect(refused?.details).toMatchObject({ method: "ListKeys", reason: "SECRET_SUPERSEDED" });
      expect(JSON.stringify(events.events.map((e) => e.details))).not.toContain(old);
      expect(t.logs.join("")).not.toContain(old);
    });
  });

  describe("before the body", () => {
    it("HTTP/1.1: a caller without a valid key is refused from its headers; keygate never waits for its 4 MB body", async () => {
      const headers = { "content-type": "application/json", "content-length": String(4_000_000) };
      const missing = await postWithoutFinishing(t.app.url, LIST_KEYS, headers, nested(64 * 1024));
      expect(missing.status).toBe(401);
      expect(JSON.parse(missing.body)).toMatchObject({ code: "unauthenticated" });
      const wrong = await postWithoutFinishing(t.app.url, LIST_KEYS, { ...headers, authorization: `Bearer ${generateSecret("live")}` }, nested(1024));
      expect(wrong.status).toBe(401);
      expect(JSON.parse(wrong.body)).toMatchObject({ code: "unauthenticated", message: "invalid API key" });
    });

    it("HTTP/1.1: the same with GET, whose message is in the query", async () => {
      const message = encodeURIComponent(JSON.stringify({ pageToken: "x" }));
      const response = await fetch(`${t.app.url}${LIST_KEYS}?connect=v1&encoding=json&message=${message}`);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ code: "unauthenticated" });
    });

    it("gRPC over HTTP/2: the call ends unauthenticated while its message is still arriving", async () => {
      const session = http2.connect(t.app.url);
      session.on("error", () => {});
      try {
        const status = await new Promise<string>((resolve, reject) => {
          const stream = session.request({ ":method": "POST", ":path": LIST_KEYS, "content-type": "application/grpc", te: "trailers" });
          const envelope = Buffer.alloc(5);
          envelope.writeUInt32BE(4_000_000, 1);
          stream.write(envelope);
          stream.write(Buffer.alloc(32 * 1024));
          let headerStatus: string | undefined;
          stream.on("response", (headers) => (headerStatus = headers["grpc-status"] as string | undefined));
          stream.on("trailers", (trailers) => resolve(String(trailers["grpc-status"])));
          stream.on("close", () => (headerStatus === undefined ? reject(new Error(`closed without a status (${stream.rstCode})`)) : resolve(headerStatus)));
          stream.resume();
        });
        expect(status).toBe(String(Code.Unauthenticated));
      } finally {
        session.destroy();
      }
    });
  });

  describe("the admin body limit", () => {
    it("refuses a declared body over 64 KiB with resource_exhausted, naming the limit, before it is sent", async () => {
      const answer = await postWithoutFinishing(t.app.url, LIST_KEYS, {
        "content-type": "application/json",
        "content-length": String(64 * 1024 + 1),
        authorization: `Bearer ${t.admin.secret}`,
      });
      expect(answer.status).toBe(429);
      const body = JSON.parse(answer.body) as { code: string; message: string };
      expect(body.code).toBe("resource_exhausted");
      expect(body.message).toContain("65536");
      expect(body.message).toContain("KEYGATE_ADMIN_MAX_BODY_BYTES");
    });

    it("refuses a chunked body once it grows past the limit", async () => {
      const answer = await post(
        t.app.url,
        LIST_KEYS,
        { "content-type": "application/json", authorization: `Bearer ${t.admin.secret}` },
        JSON.stringify({ pageToken: "x".repeat(70 * 1024) }),
      );
      expect(answer.status).toBe(429);
      expect(JSON.parse(answer.body)).toMatchObject({ code: "resource_exhausted" });
    });

    it("takes bodies within the limit", async () => {
      const { key } = await t.client.createKey({ name: "d".repeat(100), description: "a".repeat(1000), scopes: ["machines:read"] });
      expect(key!.description).toHaveLength(1000);
    });
  });
});

describe("admin body limit setting", () => {
  it("KEYGATE_ADMIN_MAX_BODY_BYTES sets the limit", async () => {
    const t = await startTestApp({ env: { KEYGATE_ADMIN_MAX_BODY_BYTES: "2048" } });
    try {
      const headers = { "content-type": "application/json", authorization: `Bearer ${t.admin.secret}` };
      const big = await post(t.app.url, "/keygate.v1.KeyAdminService/CreateKey", headers, JSON.stringify({ name: "x", description: "a".repeat(3000) }));
      expect(big.status).toBe(429);
      expect(JSON.parse(big.body)).toMatchObject({ code: "resource_exhausted" });
      expect((JSON.parse(big.body) as { message: string }).message).toContain("2048");
      const small = await post(t.app.url, "/keygate.v1.KeyAdminService/CreateKey", headers, JSON.stringify({ name: "x", description: "a".repeat(1000), scopes: ["machines:read"] }));
      expect(small.status).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe("an organization whose plan is no longer configured", () => {
  it("keeps its keys working at Check on the default plan, but its admins are refused, audited, and nothing is granted", async () => {
    // It starts on "free" (no admin keys); then the plans file loses that plan, and the stored name stays.
    const t = await startTestApp({ plan: "free" });
    try {
      await t.store.organizations.setPlan(t.admin.organization.id, "retired");
      const fallback = findPlan(t.config.plans, t.config.defaultPlan)!;
      expect(fallback.canCreateAdminKeys).toBe(true);

      // The data plane stays up: the organization's keys are held to the default plan.
      expect(await checker(t.app.url)(t.admin.secret)).toBe("allowed");
      expect(t.logs.join("")).toContain("applying the default plan");

      // The admin plane refuses rather than grant what the default plan allows and "free" did not.
      const keysBefore = (await t.store.keys.countByState(t.admin.organization.id)).total;
      const refusal = await t.client.createKey({ name: "escalated", scopes: ["admin:write"] }).then(
        () => undefined,
        (error: unknown) => ConnectError.from(error),
      );
      expect(refusal?.code).toBe(Code.Unauthenticated);
      expect(refusal?.rawMessage).toContain('plan "retired" is not configured');
      expect(refusal?.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UNAUTHENTICATED");
      expect((await t.store.keys.countByState(t.admin.organization.id)).total).toBe(keysBefore);
      const audited = await t.store.audit.list(t.admin.organization.id, { limit: 10 });
      expect(audited.some((event) => event.action === "auth.failed" && event.details["reason"] === "PLAN_NOT_CONFIGURED")).toBe(true);

      // Restoring a configured plan lets them back in, on that plan.
      await t.store.organizations.setPlan(t.admin.organization.id, "free");
      expect((await t.client.getQuotaStatus({})).plan).toBe("free");
    } finally {
      await t.close();
    }
  });
});

/**
 * A store whose findByHash calls are counted, with the most that ever ran at once; while `gate`
 * is set, every lookup waits for it (a store that has stopped answering).
 */
function lookupsOf(inner: Store): { store: Store; lookups: { total: number; concurrent: number; maxConcurrent: number; gate?: Promise<void> } } {
  const lookups: { total: number; concurrent: number; maxConcurrent: number; gate?: Promise<void> } = { total: 0, concurrent: 0, maxConcurrent: 0 };
  const keys = new Proxy(inner.keys, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property !== "findByHash" || typeof value !== "function") return typeof value === "function" ? value.bind(target) : value;
      return async (...args: unknown[]) => {
        lookups.total++;
        lookups.maxConcurrent = Math.max(lookups.maxConcurrent, ++lookups.concurrent);
        try {
          // A store round trip takes a while, so lookups that are allowed to overlap do.
          await new Promise((resolve) => setTimeout(resolve, 20));
          await lookups.gate;
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          lookups.concurrent--;
        }
      };
    },
  });
  const store = storeWith(inner, { keys });
  return { store, lookups };
}

describe("the failed-key throttle counts failures only", () => {
  const LIMIT = 5;
  let t: TestApp;
  let lookups: ReturnType<typeof lookupsOf>["lookups"];
  beforeAll(async () => {
    const counted = lookupsOf(new MemoryStore());
    lookups = counted.lookups;
    t = await startTestApp({ store: counted.store, closeStore: true, env: { KEYGATE_FAILED_KEY_ATTEMPTS_PER_MINUTE: String(LIMIT) } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("100 bad keys from one address do not lock out a valid admin key behind the same address; bad keys stay refused", async () => {
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 100; i++) {
      const { code } = await failure(t.clientFor(generateSecret("live")).listKeys({}));
      outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
    }
    expect(outcomes).toEqual(new Map([["Unauthenticated", LIMIT], ["ResourceExhausted", 100 - LIMIT]]));
    // Malformed keys need no lookup and are refused as throttled too.
    expect(await failure(t.clientFor("sk_live_not-a-key").listKeys({}))).toMatchObject({ code: "ResourceExhausted", reason: "UNAUTHENTICATED" });

    // The valid key of the same address (loopback) works, and so does a second one.
    expect((await t.client.listKeys({})).keys.length).toBeGreaterThan(0);
    const { secret } = await t.client.createKey({ name: "second admin", scopes: ["admin:read"] });
    expect((await failure(t.clientFor(secret).listKeys({}))).code).toBe("ok");
    expect(await failure(t.clientFor(generateSecret("live")).listKeys({}))).toMatchObject({ code: "ResourceExhausted", reason: "UNAUTHENTICATED" });
  });

  it("a throttled address's lookups run one at a time, however many it sends at once", async () => {
    for (let i = 0; i < LIMIT; i++) await failure(t.clientFor(generateSecret("live")).listKeys({}));
    expect((await failure(t.clientFor(generateSecret("live")).listKeys({}))).code).toBe("ResourceExhausted");
    lookups.maxConcurrent = 0;
    const before = lookups.total;
    const flood = Array.from({ length: 30 }, () => failure(t.clientFor(generateSecret("live")).listKeys({})));
    const valid = failure(t.client.listKeys({}));
    expect(new Set((await Promise.all(flood)).map((f) => f.code))).toEqual(new Set(["ResourceExhausted"]));
    expect((await valid).code).toBe("ok");
    expect(lookups.total - before).toBe(31);
    expect(lookups.maxConcurrent).toBe(1);
  });

  it("a throttled address's queue of lookups is bounded: a flood past it is refused without a lookup", async () => {
    for (let i = 0; i < LIMIT; i++) await failure(t.clientFor(generateSecret("live")).listKeys({}));
    // The store stops answering: the first lookup holds the queue, which fills up behind it.
    let release!: () => void;
    lookups.gate = new Promise((resolve) => (release = resolve));
    const before = lookups.total;
    const flood = Array.from({ length: 100 }, () => failure(t.clientFor(generateSecret("live")).listKeys({})));
    const settled = new Set<number>();
    flood.forEach((f, i) => void f.then(() => settled.add(i)));
    // Everything past the queue's 32 is answered at once, while the store still hangs.
    await vi.waitFor(() => expect(settled.size).toBe(100 - 32), { timeout: 20_000 });
    expect(lookups.total - before).toBe(1);
    release();
    lookups.gate = undefined;
    expect(new Set((await Promise.all(flood)).map((f) => f.code))).toEqual(new Set(["ResourceExhausted"]));
    expect(lookups.total - before).toBe(32);
    // The valid key of the same address gets through once the queue has drained.
    expect((await failure(t.client.listKeys({}))).code).toBe("ok");
  });
});

describe("the interceptor without an admission (an in-memory transport)", () => {
  it("authenticates the caller itself: a valid key gets through, anything else is refused", async () => {
    const store = new MemoryStore();
    const clock = new ManualClock();
    const hasher = new SecretHasher("test-pepper-0123456789abcdef-0123456789abcdef");
    const audit = new AuditTrail(store, clock);
    const plan = DEFAULT_PLANS.find((p) => p.name === "pro")!;
    const admin = await bootstrapOrganization({ store, hasher, clock, scopes: DEFAULT_SCOPES }, { organizationName: "acme", plan, ownerName: "owner", environment: "live" });
    const authenticate = callerAuthenticator({ store, hasher, clock, plans: DEFAULT_PLANS, scopes: DEFAULT_SCOPES, audit, logger: createLogger("silent") });
    const transport = createRouterTransport((router) =>
      router.service(
        KeyAdminService,
        { listKeys: (_req, ctx) => create(ListKeysResponseSchema, { nextPageToken: callerOf(ctx).key.id }) },
        { interceptors: [callerAuthentication({ authenticate, audit })] },
      ),
    );
    const client = (secret: string) => createClient(KeyAdminService, transport).listKeys({}, { headers: { authorization: `Bearer ${secret}` } });
    expect((await client(admin.secret)).nextPageToken).toBe(admin.key.id);
    expect(await failure(client(generateSecret("live")))).toMatchObject({ code: "Unauthenticated", reason: "UNAUTHENTICATED" });
    expect(await failure(createClient(KeyAdminService, transport).listKeys({}))).toMatchObject({ code: "Unauthenticated" });
  });
});
