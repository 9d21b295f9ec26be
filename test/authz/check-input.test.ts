import { create, fromJson } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CheckRequestSchema } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { checkInput, presentedKey, type InputOptions } from "../../src/authz/check-input.js";
import { parseClientIp } from "../../src/net/ip-allow-list.js";
import { isAmbiguousPath, normalizePath } from "../../src/net/request-path.js";
import { compileRouteTable } from "../../src/authz/route-table.js";
import { envoyRequest } from "./check-harness.js";

const SECRET = "sk_live_0123456789abcdefghijABCDEFGHIJ0123456789abc123";
const OTHER = "sk_test_ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvuABCDEF";
const options: InputOptions = { trustedProxyHops: 0, routes: compileRouteTable([]) };
const fromHeaders = (headers: Record<string, string>) => presentedKey((name) => (Object.hasOwn(headers, name) ? headers[name] : undefined));

describe("key extraction", () => {
  it.each([
    ["x-api-key", { "x-api-key": SECRET }, SECRET, "x-api-key"],
    ["x-api-key with spaces", { "x-api-key": `  ${SECRET}\t` }, SECRET, "x-api-key"],
    ["Bearer", { authorization: `Bearer ${SECRET}` }, SECRET, "authorization"],
    ["bearer lower case", { authorization: `bearer ${SECRET}` }, SECRET, "authorization"],
    ["BEARER upper case, tab", { authorization: `BEARER\t${SECRET}` }, SECRET, "authorization"],
    ["x-api-key wins over Bearer", { "x-api-key": SECRET, authorization: `Bearer ${OTHER}` }, SECRET, "x-api-key"],
    ["empty x-api-key falls back to Bearer", { "x-api-key": " ", authorization: `Bearer ${OTHER}` }, OTHER, "authorization"],
    ["same key joined twice", { "x-api-key": `${SECRET},${SECRET}` }, SECRET, "x-api-key"],
    ["same key joined with spaces", { "x-api-key": `${SECRET}, ${SECRET}` }, SECRET, "x-api-key"],
    ["empty entries ignored", { "x-api-key": `,${SECRET},` }, SECRET, "x-api-key"],
    ["different keys stay joined (invalid)", { "x-api-key": `${SECRET},${OTHER}` }, `${SECRET},${OTHER}`, "x-api-key"],
    ["Basic then Bearer", { authorization: `Basic dXNlcjpw,Bearer ${SECRET}` }, SECRET, "authorization"],
    ["Bearer repeated", { authorization: `Bearer ${SECRET}, Bearer ${SECRET}` }, SECRET, "authorization"],
    ["garbage Bearer token", { authorization: "Bearer not a key" }, "not a key", "authorization"],
  ] as const)("%s", (_name, headers, secret, header) => {
    expect(fromHeaders(headers)).toEqual({ kind: "presented", secret, header });
  });

  it.each([
    ["no headers", {}],
    ["empty x-api-key", { "x-api-key": "" }],
    ["only commas", { "x-api-key": " , ," }],
    ["Basic scheme", { authorization: "Basic dXNlcjpwYXNz" }],
    ["scheme only", { authorization: "Bearer" }],
    ["Bearer with blanks", { authorization: "Bearer    " }],
    ["Bearerx scheme", { authorization: `Bearerx ${SECRET}` }],
    ["token without scheme", { authorization: SECRET }],
  ] as const)("missing: %s", (_name, headers) => {
    expect(fromHeaders(headers)).toEqual({ kind: "missing" });
  });

  it.each([
    [{}, []],
    [{ "x-api-key": SECRET }, ["x-api-key"]],
    [{ authorization: `Bearer ${SECRET}` }, ["authorization"]],
    [{ "x-api-key": SECRET, authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x" }, ["x-api-key"]],
    [{ "x-api-key": SECRET, authorization: `Bearer ${SECRET}` }, ["x-api-key", "authorization"]],
    [{ "x-api-key": SECRET, authorization: `Basic x, Bearer ${OTHER}` }, ["x-api-key", "authorization"]],
    [{ "x-api-key": "", authorization: `Bearer ${SECRET}` }, ["authorization"]],
  ])("headers to remove for %j: %j", (headers, expected) => {
    expect(checkInput(envoyRequest(headers), options).headersToRemove).toEqual(expected);
  });

  it("a 1 MB header is presented as is, without being split", () => {
    const huge = "a,".repeat(512 * 1024);
    expect(fromHeaders({ "x-api-key": huge })).toEqual({ kind: "presented", secret: huge.trim(), header: "x-api-key" });
  });

  it("reads header_map when Envoy sends raw headers (encode_raw_headers)", () => {
    const request = fromJson(CheckRequestSchema, {
      attributes: {
        request: {
          http: {
            path: "/v1/x",
            method: "GET",
            headerMap: {
              headers: [
                { key: "Authorization", rawValue: Buffer.from(`Bearer ${SECRET}`).toString("base64") },
                { key: "x-forwarded-for", value: "1.1.1.1" },
                { key: "x-forwarded-for", value: "2.2.2.2" },
              ],
            },
          },
        },
      },
    });
    const input = checkInput(request, { ...options, trustedProxyHops: 1 });
    expect(input.key).toEqual({ kind: "presented", secret: SECRET, header: "authorization" });
    expect(input.clientIp).toEqual(parseClientIp("2.2.2.2"));
  });
});

describe("client address", () => {
  const xff = (value: string | undefined, hops: number, source = "10.0.0.9") =>
    checkInput(envoyRequest(value === undefined ? {} : { "x-forwarded-for": value }, { sourceIp: source }), { ...options, trustedProxyHops: hops }).clientIp;

  it.each([
    ["the TCP peer without trusted hops", "6.6.6.6", 0, "10.0.0.9"],
    ["the last entry with 1 hop", "6.6.6.6, 198.51.100.7", 1, "198.51.100.7"],
    ["the 2nd from the right with 2 hops", "6.6.6.6, 198.51.100.7, 10.0.0.2", 2, "198.51.100.7"],
    ["exactly enough entries", "198.51.100.7,10.0.0.2", 2, "198.51.100.7"],
    ["an IPv6 entry", "2001:db8::7, 10.0.0.2", 2, "2001:db8::7"],
    ["an entry with a port", "198.51.100.7:4711, 10.0.0.2", 2, "198.51.100.7"],
    ["a bracketed IPv6 entry with a port", "[2001:db8::7]:4711", 1, "2001:db8::7"],
  ] as const)("%s", (_name, value, hops, expected) => {
    expect(xff(value, hops)).toEqual(parseClientIp(expected));
  });

  it.each([
    ["too few entries", "198.51.100.7", 2],
    ["no header", undefined, 1],
    ["an empty trusted entry", "198.51.100.7, ", 1],
    ["an entry that is not an address", "unknown, 10.0.0.2", 2],
  ] as const)("none: %s", (_name, value, hops) => {
    expect(xff(value, hops)).toBeNull();
  });

  it("none when the peer is not a socket address", () => {
    const request = create(CheckRequestSchema, { attributes: { source: { address: { address: { case: "pipe", value: { path: "/tmp/s" } } } } } });
    expect(checkInput(request, options).clientIp).toBeNull();
  });
});

describe("method, path and required scopes", () => {
  it.each([
    ["/v1/machines?page=2", "/v1/machines"],
    ["/v1/machines#top", "/v1/machines"],
    ["/v1/machines/?a=b#c", "/v1/machines/"],
    ["//v1//machines", "/v1/machines"],
    ["/v1/./machines/../tags", "/v1/tags"],
    ["/v1/%6Dachines", "/v1/machines"],
    ["/v1/%2e%2e/admin", "/admin"],
    ["/v1/a%2Fb", "/v1/a%2Fb"],
    ["/v1/a%2fb", "/v1/a%2Fb"],
    ["/v1/a%3ab%c3%a9", "/v1/a%3Ab%C3%A9"],
    ["/v1/a%zz%4", "/v1/a%zz%4"],
    ["/v1/caf\u00e9/x y", "/v1/caf%C3%A9/x%20y"],
    ["/../../etc", "/etc"],
    ["/", "/"],
    ["", ""],
    ["*", "*"],
    ["https://host/path?q", "https://host/path"],
  ])("normalizePath(%j) = %j", (raw, expected) => {
    expect(normalizePath(raw)).toBe(expected);
  });

  it.each([
    ["/machines;v=1/1"],
    ["/x/..;/machines/1"],
    ["/machines%2F1"],
    ["/machines%2f1"],
    ["/machines%5C1"],
    ["/machines%5c1"],
    ["/machines%3B1"],
    ["/machines%001"],
    ["/machines\\1"],
    ["/machines\u00001"],
    ["/data/."],
    ["/data/.."],
    ["/./data"],
    ["/a/../b"],
    ["/a/%2e/b"],
    ["/a/.%2E/b"],
    ["/a/%2e%2e"],
    ["/a/./b?x=1"],
    ["/a%2"],
    ["/a%2x/b"],
    ["/a%"],
    ["/a%?x=1"],
    ["/a%zz"],
    ["/a%252F"],
    ["/a%252f"],
    ["/a%255C"],
    ["/a%253b"],
    ["/a%2500"],
    ["/a/%252E/b"],
    ["/a/b%252e"],
    ["/a%25%32%46"],
    ["/a%25%32f"],
    ["/a%252%46"],
  ])("isAmbiguousPath(%j)", (path) => {
    expect(isAmbiguousPath(path)).toBe(true);
  });

  it.each([
    ["/machines/1"],
    ["/"],
    [""],
    ["*"],
    ["/.well-known/x"],
    ["/a/...b/c"],
    ["/a/..b"],
    ["/a/b."],
    ["/a%25"],
    ["/a%2541"],
    ["/a%25%41"],
    ["/a%2525"],
    ["/a%41"],
    ["/a?x=;&p=%2F&q=/../&r=%zz&s=%252F"],
    ["/a#/../;"],
    ["//a//b/"],
  ])("not ambiguous: %j", (path) => {
    expect(isAmbiguousPath(path)).toBe(false);
  });

  it("rejects ambiguous paths wherever scopes are required: with a route table, or where Envoy names the scopes", () => {
    const routes = compileRouteTable([{ method: "*", path: "/**", scopes: [] }]);
    const semicolon = envoyRequest({}, { path: "/v1;x/machines" });
    expect(checkInput(semicolon, options).pathRejected).toBe(false);
    expect(checkInput(semicolon, { ...options, routes }).pathRejected).toBe(true);
    expect(checkInput(envoyRequest({}, { path: "/v1;x", contextExtensions: { required_scopes: "" } }), { ...options, routes }).pathRejected).toBe(true);
    expect(checkInput(envoyRequest({}, { path: "/v1;x", contextExtensions: { required_scopes: "" } }), options).pathRejected).toBe(true);
    expect(checkInput(envoyRequest({}, { path: "/v1;x", contextExtensions: { required_scopes: "machines:read" } }), options).pathRejected).toBe(true);
    expect(checkInput(envoyRequest({}, { path: "/v1/x?a=;" }), { ...options, routes }).pathRejected).toBe(false);
  });

  it("a configured table gives null scopes where no rule allows the request", () => {
    const routes = compileRouteTable([{ method: "GET", path: "/v1/machines/*", scopes: ["machines:read"] }]);
    const withRoutes = { ...options, routes };
    expect(checkInput(envoyRequest({}, { path: "/v1/machines" }), withRoutes).requiredScopes).toEqual(["machines:read"]);
    expect(checkInput(envoyRequest({}, { path: "/v1/tags" }), withRoutes).requiredScopes).toBeNull();
    expect(checkInput(envoyRequest({}, { path: "/v1/tags" }), options).requiredScopes).toEqual([]);
  });

  it("reads every method-override header, from header_map too", () => {
    const routes = compileRouteTable([
      { method: "GET", path: "/v1/*", scopes: ["machines:read"] },
      { method: "DELETE", path: "/v1/*", scopes: ["machines:delete"] },
      { method: "PUT", path: "/v1/*", scopes: ["machines:write"] },
      { method: "PATCH", path: "/v1/*", scopes: ["tags:write"] },
    ]);
    const withRoutes = { ...options, routes };
    const headers = { "x-http-method-override": "delete", "x-http-method": "PUT", "x-method-override": "patch" };
    expect(checkInput(envoyRequest(headers, { path: "/v1/m" }), withRoutes).requiredScopes).toEqual(["machines:read", "machines:delete", "machines:write", "tags:write"]);
    const raw = fromJson(CheckRequestSchema, {
      attributes: {
        request: {
          http: {
            path: "/v1/m",
            method: "GET",
            headerMap: { headers: [{ key: "X-HTTP-Method-Override", value: "DELETE" }, { key: "x-http-method-override", value: "PUT" }] },
          },
        },
      },
    });
    expect(checkInput(raw, withRoutes).requiredScopes).toEqual(["machines:read", "machines:delete", "machines:write"]);
  });

  it("takes method and path from the http attributes, upper-casing the method", () => {
    const input = checkInput(envoyRequest({}, { method: "delete", path: "/v1/machines/7?force=1" }), options);
    expect(input.method).toBe("DELETE");
    expect(input.path).toBe("/v1/machines/7");
    expect(input.requestId).toBe("req-1");
  });

  it("context_extensions required_scopes wins over the route table, even when empty", () => {
    const routes = compileRouteTable([{ method: "*", path: "/v1/*", scopes: ["machines:read"] }]);
    const withRoutes = { ...options, routes };
    expect(checkInput(envoyRequest({}), withRoutes).requiredScopes).toEqual(["machines:read"]);
    expect(checkInput(envoyRequest({}, { contextExtensions: { required_scopes: "tags:read  tags:write tags:read" } }), withRoutes).requiredScopes).toEqual([
      "tags:read",
      "tags:write",
    ]);
    expect(checkInput(envoyRequest({}, { contextExtensions: { required_scopes: "" } }), withRoutes).requiredScopes).toEqual([]);
  });

  it("request size from http.size, else content-length", () => {
    const sized = envoyRequest({ "content-length": "512" });
    expect(checkInput(sized, options).requestBytes).toBe(512);
    sized.attributes!.request!.http!.size = 2048n;
    expect(checkInput(sized, options).requestBytes).toBe(2048);
    sized.attributes!.request!.http!.size = -1n;
    expect(checkInput(sized, options).requestBytes).toBe(512);
    expect(checkInput(envoyRequest({ "content-length": "-5" }), options).requestBytes).toBeUndefined();
    expect(checkInput(envoyRequest({ "content-length": "9".repeat(40) }), options).requestBytes).toBeUndefined();
  });

  it("headers named like Object.prototype members are plain headers", () => {
    const request = envoyRequest({ constructor: "x", __proto__: "y", toString: "z" } as Record<string, string>);
    expect(() => checkInput(request, options)).not.toThrow();
    expect(checkInput(request, options).key).toEqual({ kind: "missing" });
  });
});
