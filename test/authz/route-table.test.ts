import { describe, expect, it } from "vitest";
import { compileRouteTable } from "../../src/authz/route-table.js";
import type { RouteRule } from "../../src/config/config.js";

const rules: RouteRule[] = [
  { method: "*", path: "/v1/*", scopes: ["data:export"] },
  { method: "GET", path: "/v1/machines/*", scopes: ["machines:read"] },
  { method: "*", path: "/v1/machines/*", scopes: ["machines:write"] },
  { method: "DELETE", path: "/v1/machines/*", scopes: ["machines:delete"] },
  { method: "GET", path: "/v1/machines/*/tags", scopes: ["tags:read"] },
  { method: "*", path: "/v1/machines/*/tags/**", scopes: ["tags:write"] },
  { method: "GET", path: "/v1/machines/special", scopes: ["machines:read", "admin:read"] },
  { method: "*", path: "/v1/docs/**/raw", scopes: ["documents:read"] },
  { method: "POST", path: "/v1/ingest", scopes: ["data:ingest"] },
];

describe("route table: most specific match wins", () => {
  const table = compileRouteTable(rules);

  it.each([
    ["GET", "/v1/machines/42", ["machines:read"]],
    ["PUT", "/v1/machines/42", ["machines:write"]],
    ["DELETE", "/v1/machines/42", ["machines:delete"]],
    ["GET", "/v1/machines/42/tags", ["tags:read"]],
    ["POST", "/v1/machines/42/tags", ["tags:write"]],
    ["POST", "/v1/machines/42/tags/7", ["tags:write"]],
    ["POST", "/v1/machines/42/tags/7/labels", ["tags:write"]],
    ["GET", "/v1/machines/special", ["machines:read", "admin:read"]],
    ["DELETE", "/v1/machines/special", ["machines:delete"]],
    ["GET", "/v1/other", ["data:export"]],
    ["GET", "/v1/docs/a/b/c/raw", ["documents:read"]],
    ["GET", "/v1/docs/raw", ["documents:read"]],
    ["POST", "/v1/ingest", ["data:ingest"]],
    ["GET", "/v1/ingest", ["data:export"]],
    ["POST", "/v1/ingest/more", ["data:export"]],
    ["GET", "/v1/machines", ["machines:read"]],
    ["DELETE", "/v1/machines/", ["machines:delete"]],
    ["GET", "/v1/machines/42/", ["machines:read"]],
    ["POST", "/v1/ingest/", ["data:ingest"]],
    ["GET", "/v1", ["data:export"]],
    ["GET", "/v1/Machines/42", ["data:export"]],
    ["GET", "/v2/machines/42", null],
    ["GET", "/V1/machines/42", null],
    ["GET", "/", null],
    ["GET", "", null],
    ["GET", "*", null],
  ] as const)("%s %s → %j", (method, path, expected) => {
    expect(table.scopesFor(method, path)).toEqual(expected);
  });

  it("breaks ties by method, then by order in the file", () => {
    const tied = compileRouteTable([
      { method: "*", path: "/a/*", scopes: ["tags:read"] },
      { method: "*", path: "/a/*", scopes: ["tags:write"] },
      { method: "GET", path: "/a/*", scopes: ["tags:delete"] },
    ]);
    expect(tied.scopesFor("GET", "/a/b")).toEqual(["tags:delete"]);
    expect(tied.scopesFor("POST", "/a/b")).toEqual(["tags:read"]);
  });

  it("an empty table requires nothing and allows everything", () => {
    const empty = compileRouteTable([]);
    expect(empty.configured).toBe(false);
    expect(empty.scopesFor("GET", "/anything", "DELETE")).toEqual([]);
    expect(table.configured).toBe(true);
  });

  it("a /** rule allows the rest explicitly", () => {
    const open = compileRouteTable([...rules, { method: "*", path: "/**", scopes: [] }]);
    expect(open.scopesFor("GET", "/v2/machines/42")).toEqual([]);
    expect(open.scopesFor("GET", "/")).toEqual([]);
    expect(open.scopesFor("GET", "/v1/machines/42")).toEqual(["machines:read"]);
  });

  it("reads rule paths in the spelling requests are matched in", () => {
    const spelled = compileRouteTable([
      { method: "GET", path: "/%61dmin/a%3ab/", scopes: ["admin:read"] },
      { method: "*", path: "/**", scopes: [] },
    ]);
    expect(spelled.scopesFor("GET", "/admin/a%3Ab")).toEqual(["admin:read"]);
    expect(spelled.scopesFor("GET", "/admin/a%3Ab/")).toEqual(["admin:read"]);
  });

  it("/p/* also matches /p, in a glob too, but /* matches only what starts with /", () => {
    const globs = compileRouteTable([
      { method: "*", path: "/a/*/b/*", scopes: ["tags:read"] },
      { method: "*", path: "/*", scopes: ["tags:write"] },
    ]);
    expect(globs.scopesFor("GET", "/a/x/b")).toEqual(["tags:read"]);
    expect(globs.scopesFor("GET", "/a/x/b/y")).toEqual(["tags:read"]);
    expect(globs.scopesFor("GET", "/a/x")).toEqual(["tags:write"]);
    expect(globs.scopesFor("GET", "")).toBeNull();
  });

  it("stays fast on a hostile path", () => {
    const hostile = compileRouteTable([{ method: "*", path: "/**/a*a*a*a*b/**/c", scopes: ["tags:read"] }]);
    const path = "/" + Array.from({ length: 2_000 }, () => "a".repeat(50)).join("/");
    const started = performance.now();
    expect(hostile.scopesFor("GET", path)).toBeNull();
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe("route table: HEAD and method overrides never need less", () => {
  const table = compileRouteTable([
    { method: "GET", path: "/m/*", scopes: ["machines:read"] },
    { method: "HEAD", path: "/m/*", scopes: ["tags:read"] },
    { method: "HEAD", path: "/only-head", scopes: [] },
    { method: "DELETE", path: "/m/*", scopes: ["machines:delete"] },
    { method: "POST", path: "/m/*", scopes: ["machines:write"] },
    { method: "PURGE", path: "/**", scopes: ["admin:write"] },
    { method: "*", path: "/any/*", scopes: ["data:export"] },
  ]);

  it.each([
    ["HEAD as GET, plus the rules naming HEAD", "HEAD", "/m/1", undefined, ["machines:read", "tags:read"]],
    ["HEAD where GET is not allowed", "HEAD", "/only-head", undefined, null],
    ["HEAD through a * rule", "HEAD", "/any/1", undefined, ["data:export"]],
    ["an override adds its method's scopes", "GET", "/m/1", "DELETE", ["machines:read", "machines:delete"]],
    ["override values are read case-insensitively and trimmed", "GET", "/m/1", " delete ", ["machines:read", "machines:delete"]],
    ["every joined override adds", "GET", "/m/1", "DELETE, POST", ["machines:read", "machines:delete", "machines:write"]],
    ["an override to HEAD adds GET's and HEAD's", "POST", "/m/1", "HEAD", ["machines:write", "machines:read", "tags:read"]],
    ["an override no rule allows", "GET", "/m/1", "PATCH", null],
    ["an override to a method only a /** rule names", "GET", "/m/1", "PURGE", ["machines:read", "admin:write"]],
    ["an override through a * rule", "GET", "/any/1", "FOO", ["data:export"]],
    ["empty override values override nothing", "GET", "/m/1", " , ,", ["machines:read"]],
    ["an override to the method itself", "DELETE", "/m/1", "DELETE", ["machines:delete"]],
  ] as const)("%s: %s %s (override %j) → %j", (_name, method, path, overrides, expected) => {
    expect(table.scopesFor(method, path, overrides)).toEqual(expected);
  });
});
