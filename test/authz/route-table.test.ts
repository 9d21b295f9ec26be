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
    ["GET", "/v2/machines/42", []],
    ["GET", "/", []],
    ["GET", "", []],
    ["GET", "*", []],
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

  it("an empty table requires nothing", () => {
    expect(compileRouteTable([]).scopesFor("GET", "/anything")).toEqual([]);
  });

  it("stays fast on a hostile path", () => {
    const hostile = compileRouteTable([{ method: "*", path: "/**/a*a*a*a*b/**/c", scopes: ["tags:read"] }]);
    const path = "/" + Array.from({ length: 2_000 }, () => "a".repeat(50)).join("/");
    const started = performance.now();
    expect(hostile.scopesFor("GET", path)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
