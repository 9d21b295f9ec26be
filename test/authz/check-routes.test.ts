import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CheckRequestSchema, CheckResponseSchema, type CheckRequest } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { CheckRequestDecoder } from "../../src/authz/check-request-decoder.js";
import type { RouteRule } from "../../src/config/config.js";
import { countingStore, createHarness, envoyRequest, outcomeOf, type Harness } from "./check-harness.js";
import { expectWellFormed } from "./well-formed.js";

/**
 * Issue 12, item 4: the route table as the contract's trust-boundary section says. Each request
 * here was allowed for a key without the route's scope; each is now denied. Every case runs
 * through both entries of Check (Connect's message and the lean decoder's fields), so the
 * headers the table reads are proven to survive the lean decoder too.
 */

const TABLE: RouteRule[] = [
  { method: "GET", path: "/machines/*", scopes: ["machines:read"] },
  { method: "POST", path: "/data/*", scopes: ["data:ingest"] },
  { method: "DELETE", path: "/machines/*", scopes: ["machines:delete"] },
];

async function bothEntries(h: Harness, request: CheckRequest): Promise<string> {
  const viaConnect = await h.service.check(request);
  expectWellFormed(viaConnect);
  // The same caller Connect's check() assumes when no boundary interceptor ran.
  const lean = await h.service.checkFields(new CheckRequestDecoder().decode(toBinary(CheckRequestSchema, request)), { passedBoundary: false, peer: undefined });
  const viaLean = fromBinary(CheckResponseSchema, lean);
  expect(outcomeOf(viaLean)).toBe(outcomeOf(viaConnect));
  expect(viaLean.status?.code).toBe(viaConnect.status?.code);
  return outcomeOf(viaConnect);
}

async function tableHarness(scopes: string[], routes: RouteRule[] = TABLE) {
  const h = await createHarness({ config: { routes } });
  const { secret } = await h.createKey({ scopes });
  return { h, secret };
}

describe("route table: spellings and methods that used to bypass it", () => {
  it.each([
    ["GET /machines against /machines/*", "GET", "/machines", {}, "SCOPE_MISSING"],
    ["HEAD needs what GET needs", "HEAD", "/machines/1", {}, "SCOPE_MISSING"],
    ["matching is case-sensitive", "GET", "/MACHINES/1", {}, "ROUTE_NOT_ALLOWED"],
    ["a ; parameter", "GET", "/machines;v=1/1", {}, "PATH_REJECTED"],
    ["..; to climb past a rule", "GET", "/x/..;/machines/1", {}, "PATH_REJECTED"],
    ["an encoded slash", "GET", "/machines%2F1", {}, "PATH_REJECTED"],
    ["an encoded slash, lower case", "GET", "/machines%2f1", {}, "PATH_REJECTED"],
    ["a backslash", "GET", "/machines\\1", {}, "PATH_REJECTED"],
    ["an encoded backslash", "GET", "/machines%5c1", {}, "PATH_REJECTED"],
    ["an encoded NUL", "GET", "/machines/1%00", {}, "PATH_REJECTED"],
    ["POST /data against /data/*", "POST", "/data", {}, "SCOPE_MISSING"],
    ["POST /data/ against /data/*", "POST", "/data/", {}, "SCOPE_MISSING"],
    ["a dot segment", "POST", "/data/.", {}, "PATH_REJECTED"],
    ["an encoded dot segment", "GET", "/machines/%2e%2E/machines/1", {}, "PATH_REJECTED"],
    ["an invalid escape", "GET", "/machines/1%zz", {}, "PATH_REJECTED"],
    ["an escape cut short", "GET", "/machines/1%2", {}, "PATH_REJECTED"],
    ["a trailing %", "GET", "/machines/1%", {}, "PATH_REJECTED"],
    ["a % before the query", "GET", "/machines/1%?x=1", {}, "PATH_REJECTED"],
    ["a double-encoded slash", "GET", "/machines%252F1", {}, "PATH_REJECTED"],
    ["a double-encoded slash, lower case", "GET", "/machines%252f1", {}, "PATH_REJECTED"],
    ["a double-encoded backslash", "GET", "/machines%255c1", {}, "PATH_REJECTED"],
    ["a double-encoded semicolon", "GET", "/machines%253B1", {}, "PATH_REJECTED"],
    ["a double-encoded NUL", "GET", "/machines/1%2500", {}, "PATH_REJECTED"],
    ["a double-encoded dot segment", "GET", "/machines/%252E%252e/machines/1", {}, "PATH_REJECTED"],
    ["a double encoding whose hex digits are escaped too", "GET", "/machines%25%32%461", {}, "PATH_REJECTED"],
    ["a route not in the table", "GET", "/tags/1", {}, "ROUTE_NOT_ALLOWED"],
  ] as const)("%s: %s %s → %s", async (_name, method, path, headers, expected) => {
    const { h, secret } = await tableHarness(["tags:read"]);
    expect(await bothEntries(h, envoyRequest({ "x-api-key": secret, ...headers }, { method, path }))).toBe(expected);
  });

  it.each(["x-http-method-override", "x-http-method", "x-method-override"])("%s: DELETE on a GET-scoped path needs DELETE's scopes too", async (header) => {
    const { h, secret } = await tableHarness(["machines:read"]);
    expect(await bothEntries(h, envoyRequest({ "x-api-key": secret, [header]: "delete" }, { method: "GET", path: "/machines/1" }))).toBe("SCOPE_MISSING");
  });
});

describe("route table: what it still allows", () => {
  it.each([
    ["GET /machines", ["machines:read"], "GET", "/machines", {}],
    ["HEAD with GET's scope", ["machines:read"], "HEAD", "/machines/1", {}],
    ["a trailing slash", ["machines:read"], "GET", "/machines/1/", {}],
    ["an override with both methods' scopes", ["machines:read", "machines:delete"], "GET", "/machines/1", { "x-http-method-override": "DELETE" }],
    ["escapes of unreserved characters", ["machines:read"], "GET", "/%6Dachines/1?x=%2F", {}],
    ["doubled slashes", ["machines:read"], "GET", "//machines//1", {}],
    ["an encoded % (a literal percent sign)", ["machines:read"], "GET", "/machines/100%25", {}],
    ["an encoded % before an escape of an unreserved character", ["machines:read"], "GET", "/machines/50%2541", {}],
  ] as const)("%s", async (_name, scopes, method, path, headers) => {
    const { h, secret } = await tableHarness([...scopes]);
    expect(await bothEntries(h, envoyRequest({ "x-api-key": secret, ...headers }, { method, path }))).toBe("allowed");
  });

  it("Envoy's required_scopes still take precedence over the table, but not over the path screen", async () => {
    const { h, secret } = await tableHarness([]);
    const named = { contextExtensions: { required_scopes: "" } };
    expect(await bothEntries(h, envoyRequest({ "x-api-key": secret }, { path: "/tags/1", ...named }))).toBe("allowed");
    expect(await bothEntries(h, envoyRequest({ "x-api-key": secret }, { path: "/tags;x/1", ...named }))).toBe("PATH_REJECTED");
  });

  it("an override on a route Envoy names the scopes of needs the table's scopes for the overriding method too", async () => {
    const { h, secret } = await tableHarness(["machines:read"]);
    const named = { contextExtensions: { required_scopes: "machines:read" } };
    const override = { "x-api-key": secret, "x-http-method-override": "DELETE" };
    expect(await bothEntries(h, envoyRequest(override, { path: "/machines/1", ...named }))).toBe("SCOPE_MISSING");
    // A method the table allows nowhere on that path is not allowed through an override either.
    expect(await bothEntries(h, envoyRequest({ ...override, "x-http-method-override": "PATCH" }, { path: "/machines/1", ...named }))).toBe("ROUTE_NOT_ALLOWED");
    // Overriding with the request's own method changes nothing.
    expect(await bothEntries(h, envoyRequest({ ...override, "x-http-method-override": "get" }, { path: "/machines/1", ...named }))).toBe("allowed");
    const { secret: both } = await h.createKey({ scopes: ["machines:read", "machines:delete"] });
    expect(await bothEntries(h, envoyRequest({ ...override, "x-api-key": both }, { path: "/machines/1", ...named }))).toBe("allowed");
  });

  it("without a table nothing changes: no route is refused and no path rejected", async () => {
    const h = await createHarness();
    const { secret } = await h.createKey();
    expect(await bothEntries(h, envoyRequest({ "x-api-key": secret }, { path: "/machines;v=1/1" }))).toBe("allowed");
    expect(await bothEntries(h, envoyRequest({ "x-api-key": secret, "x-http-method-override": "DELETE" }, { path: "/anything" }))).toBe("allowed");
  });
});

describe("Envoy-scoped routes without a route table (the shipped deploy/envoy set-up)", () => {
  const named = { contextExtensions: { required_scopes: "machines:read" } };

  async function envoyScoped(scopes: string[]) {
    const h = await createHarness();
    const { secret } = await h.createKey({ scopes });
    return { h, secret };
  }

  it.each(["x-http-method-override", "x-http-method", "x-method-override"])(
    "%s: DELETE on a route Envoy chose for GET is denied, its scopes being unknown",
    async (header) => {
      const { h, secret } = await envoyScoped(["machines:read"]);
      expect(await bothEntries(h, envoyRequest({ "x-api-key": secret, [header]: "DELETE" }, { method: "GET", path: "/v1/machines/1", ...named }))).toBe("SCOPE_MISSING");
    },
  );

  it("an override joined with others, or naming the request's own method, is read as the table path reads it", async () => {
    const { h, secret } = await envoyScoped(["machines:read"]);
    const request = (override: string) => envoyRequest({ "x-api-key": secret, "x-http-method-override": override }, { method: "GET", path: "/v1/machines/1", ...named });
    expect(await bothEntries(h, request("get, DELETE"))).toBe("SCOPE_MISSING");
    expect(await bothEntries(h, request(" get "))).toBe("allowed");
    expect(await bothEntries(h, request(" , "))).toBe("allowed");
  });

  it.each([
    ["a ; parameter", "/v1/data;x/export"],
    ["..; to climb past a route", "/v1/x/..;/data/export"],
    ["an encoded slash", "/v1/data%2Fexport"],
    ["a backslash", "/v1/data\\export"],
  ])("%s is rejected before any key work: %s", async (_name, path) => {
    const { h, secret } = await envoyScoped([]);
    expect(await bothEntries(h, envoyRequest({ "x-api-key": secret }, { path, ...named }))).toBe("PATH_REJECTED");
    expect(await bothEntries(h, envoyRequest({ "x-api-key": secret }, { path, contextExtensions: { required_scopes: "" } }))).toBe("PATH_REJECTED");
    expect(await bothEntries(h, envoyRequest({}, { path, ...named }))).toBe("PATH_REJECTED");
  });

  it("a plain request on an Envoy-scoped route is still allowed, with its query untouched", async () => {
    const { h, secret } = await envoyScoped(["machines:read"]);
    expect(await bothEntries(h, envoyRequest({ "x-api-key": secret }, { path: "/v1/machines/1?filter=a;b&p=%2F", ...named }))).toBe("allowed");
    expect(await bothEntries(h, envoyRequest({ "x-api-key": secret, "x-http-method-override": "GET" }, { path: "/v1/machines/1", ...named }))).toBe("allowed");
  });

  it("without an extension and without a table, nothing is screened, as before", async () => {
    const { h, secret } = await envoyScoped([]);
    expect(await bothEntries(h, envoyRequest({ "x-api-key": secret }, { path: "/v1/data;x/export" }))).toBe("allowed");
    expect(await bothEntries(h, envoyRequest({ "x-api-key": secret, "x-http-method-override": "DELETE" }, { path: "/v1/machines/1" }))).toBe("allowed");
  });
});

describe("route table: where its denials sit in the order of checks", () => {
  it("PATH_REJECTED comes before any key work: no store read, no usage", async () => {
    let counted: ReturnType<typeof countingStore>["calls"] | undefined;
    const h = await createHarness({
      config: { routes: TABLE },
      wrapStore: (store) => {
        const wrapped = countingStore(store);
        counted = wrapped.calls;
        return wrapped.store;
      },
    });
    const { secret } = await h.createKey({ scopes: ["machines:read"] });
    for (const headers of [{ "x-api-key": secret }, { "x-api-key": "sk_live_not-a-key" }, {}] as Record<string, string>[]) {
      expect(outcomeOf(await h.service.check(envoyRequest(headers, { path: "/machines%2F1" })))).toBe("PATH_REJECTED");
    }
    expect(counted!.total()).toBe(0);
    expect(h.usage.events).toEqual([]);
  });

  it("ROUTE_NOT_ALLOWED comes at the scope step: after the key's own denials, counted in its usage, spending no budget", async () => {
    const h = await createHarness({ config: { routes: TABLE } });
    const { secret, key } = await h.createKey({ scopes: ["machines:read"], rateLimit: { limit: 1, period: "minute" } });
    const { secret: elsewhere } = await h.createKey({ scopes: ["machines:read"], allowIps: ["192.0.2.0/24"] });
    expect(outcomeOf(await h.service.check(envoyRequest({}, { path: "/tags/1" })))).toBe("API_KEY_MISSING");
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": elsewhere }, { path: "/tags/1" })))).toBe("IP_NOT_ALLOWED");
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret }, { path: "/tags/1" })))).toBe("ROUTE_NOT_ALLOWED");
    expect(h.usage.events.filter((event) => event.keyId === key.id)).toEqual([
      { keyId: key.id, organizationId: h.organizationId, method: "GET", path: "/tags/1", outcome: "ROUTE_NOT_ALLOWED", atMs: h.clock.now() },
    ]);
    // The one request a minute is still there for an allowed route.
    expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret }, { path: "/machines/1" })))).toBe("allowed");
  });
});
