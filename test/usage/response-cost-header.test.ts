import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { compileRouteTable } from "../../src/authz/route-table.js";
import { parseRoutes } from "../../src/config/route-rules.js";
import { startTestApp, type TestApp } from "../support/app.js";

/** Where the response header a cost is read from is declared: a route table rule, else the organization's setting. */

let running: TestApp | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe("a route's costHeader", () => {
  it("is taken lower-cased, and refused at start when it is no header name", () => {
    expect(parseRoutes([{ method: "POST", path: "/v1/chat", scopes: [], costHeader: "X-Usage-Tokens" }], [])).toEqual([
      { method: "POST", path: "/v1/chat", scopes: [], costHeader: "x-usage-tokens" },
    ]);
    expect(() => parseRoutes([{ path: "/a", scopes: [], costHeader: ":status" }], [])).toThrow(/route 0: costHeader must be a response header name/);
    expect(() => parseRoutes([{ path: "/a", scopes: [], costHeader: 5 }], [])).toThrow(/route 0: costHeader must be a response header name/);
  });

  it("is found for a request by the rule its method takes, as its cost is; none elsewhere", () => {
    const table = compileRouteTable(
      parseRoutes(
        [
          { method: "POST", path: "/v1/chat/*", scopes: [], costHeader: "x-usage-tokens" },
          { method: "GET", path: "/v1/files/*", scopes: [], costHeader: "x-bytes" },
          { path: "/v1/*", scopes: [] },
        ],
        [],
      ),
    );
    expect(table.costHeaderFor("POST", "/v1/chat/completions")).toBe("x-usage-tokens");
    expect(table.costHeaderFor("HEAD", "/v1/files/a")).toBe("x-bytes");
    expect(table.costHeaderFor("GET", "/v1/chat/completions")).toBeNull();
    expect(table.costHeaderFor("POST", "/elsewhere")).toBeNull();
    expect(compileRouteTable([]).costHeaderFor("POST", "/v1/chat/completions")).toBeNull();
  });
});

describe("the organization setting response_cost_header", () => {
  it("is empty by default; an owner sets it (lower-cased) and clears it", async () => {
    running = await startTestApp();
    const { client } = running;
    expect((await client.getOrganizationSettings({})).settings?.responseCostHeader).toBe("");
    expect((await client.updateOrganizationSettings({ responseCostHeader: "X-Usage-Tokens" })).settings?.responseCostHeader).toBe("x-usage-tokens");
    expect((await client.getOrganizationSettings({})).settings?.responseCostHeader).toBe("x-usage-tokens");
    expect((await client.updateOrganizationSettings({ responseCostHeader: "" })).settings?.responseCostHeader).toBe("");
  });

  it("refuses what is no header name, naming the field and changing nothing", async () => {
    running = await startTestApp();
    const error = await running.client.updateOrganizationSettings({ responseCostHeader: "x usage" }).catch((thrown: unknown) => ConnectError.from(thrown));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    expect((error as ConnectError).message).toContain("response_cost_header");
    expect((await running.client.getOrganizationSettings({})).settings?.responseCostHeader).toBe("");
  });
});
