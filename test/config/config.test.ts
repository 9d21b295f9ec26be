import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/config.js";
import { DEFAULT_PLANS } from "../../src/model/plans.js";

const file = (contents: string): string => {
  const path = join(mkdtempSync(join(tmpdir(), "keygate-config-")), "file.json");
  writeFileSync(path, contents);
  return path;
};

describe("configuration", () => {
  it("has working defaults for the embedded store", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 8080, logLevel: "info", mongodbUri: undefined, mongodbDb: "keygate", defaultPlan: "pro" });
    expect(config.pepperGenerated).toBe(true);
    expect(config.scopes.map((s) => s.name)).toContain("admin:write");
  });

  it.each([
    [{ PORT: "eighty" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ MONGODB_URI: "postgres://x" }, "MONGODB_URI"],
    [{ MONGODB_URI: "mongodb://localhost" }, "KEYGATE_PEPPER"],
    [{ KEYGATE_PEPPER: "short" }, "KEYGATE_PEPPER"],
    [{ MONGODB_DB: "bad name" }, "MONGODB_DB"],
    [{ KEYGATE_DEFAULT_PLAN: "platinum" }, "KEYGATE_DEFAULT_PLAN"],
    [{ KEYGATE_DEMO_BOOTSTRAP: "maybe" }, "KEYGATE_DEMO_BOOTSTRAP"],
    [{ KEYGATE_TRUSTED_PROXY_HOPS: "-1" }, "KEYGATE_TRUSTED_PROXY_HOPS"],
    [{ KEYGATE_TRUSTED_PROXIES: "10.0.0.0/33" }, "KEYGATE_TRUSTED_PROXIES"],
    [{ KEYGATE_TRUSTED_PROXIES: "10.0.0.0/8;fd00::/8" }, "KEYGATE_TRUSTED_PROXIES"],
    [{ KEYGATE_TRUSTED_PROXIES: "proxy.internal" }, "KEYGATE_TRUSTED_PROXIES"],
    [{ KEYGATE_SECRET_SCANNING_SOURCES: "192.30.252.0/33" }, "KEYGATE_SECRET_SCANNING_SOURCES"],
    [{ KEYGATE_PLANS_FILE: "/nonexistent/plans.json" }, "KEYGATE_PLANS_FILE"],
    [{ KEYGATE_STORE_READ_TIMEOUT_MS: "0" }, "KEYGATE_STORE_READ_TIMEOUT_MS"],
    [{ KEYGATE_STORE_READ_TIMEOUT_MS: "3s" }, "KEYGATE_STORE_READ_TIMEOUT_MS"],
    [{ KEYGATE_STORE_READ_TIMEOUT_MS: "600000" }, "KEYGATE_STORE_READ_TIMEOUT_MS"],
    [{ KEYGATE_STORE_WRITE_WAIT_MS: "999" }, "KEYGATE_STORE_WRITE_WAIT_MS"],
    [{ KEYGATE_STORE_WRITE_WAIT_MS: "15s" }, "KEYGATE_STORE_WRITE_WAIT_MS"],
    // Renamed: a deployment still setting it is told, not silently given another bound.
    [{ KEYGATE_MONGODB_SERVER_SELECTION_TIMEOUT_MS: "2000" }, "KEYGATE_MONGODB_SERVER_SELECTION_TIMEOUT_MS"],
    [{ KEYGATE_LIMITS_OUTAGE_ALLOWANCE: "all" }, "KEYGATE_LIMITS_OUTAGE_ALLOWANCE"],
    // Retired with leased limits: nothing they tuned exists any more.
    [{ KEYGATE_RATE_LIMIT_SYNC_INTERVAL_MS: "200" }, "KEYGATE_RATE_LIMIT_SYNC_INTERVAL_MS"],
    [{ KEYGATE_QUOTA_REFRESH_INTERVAL_MS: "0" }, "KEYGATE_QUOTA_REFRESH_INTERVAL_MS"],
  ])("stops on %o, naming %s", (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^${variable}:`));
  });

  it("waits out an election for 15 s on a write by default (KEYGATE_STORE_WRITE_WAIT_MS)", () => {
    expect(loadConfig({}).storeWriteWaitMs).toBe(15_000);
    expect(loadConfig({ KEYGATE_STORE_WRITE_WAIT_MS: "30000" }).storeWriteWaitMs).toBe(30_000);
    expect(() => loadConfig({ KEYGATE_MONGODB_SERVER_SELECTION_TIMEOUT_MS: "2000" })).toThrow(/replaced by KEYGATE_STORE_WRITE_WAIT_MS/);
  });

  it("admits a share of each window beyond held slices while MongoDB does not answer leases, unless told none", () => {
    expect(loadConfig({}).limitsOutageAllowance).toBe("share");
    expect(loadConfig({ KEYGATE_LIMITS_OUTAGE_ALLOWANCE: "none" }).limitsOutageAllowance).toBe("none");
    expect(() => loadConfig({ KEYGATE_RATE_LIMIT_SYNC_INTERVAL_MS: "200" })).toThrow(/lease slices of each limit/);
  });

  it("waits 3 s for a key read on a Check by default (KEYGATE_STORE_READ_TIMEOUT_MS)", () => {
    expect(loadConfig({}).storeReadTimeoutMs).toBe(3_000);
    expect(loadConfig({ KEYGATE_STORE_READ_TIMEOUT_MS: "750" }).storeReadTimeoutMs).toBe(750);
  });

  it("bounds what requests make keygate read and hold: documented defaults, and each setting validated", () => {
    expect(loadConfig({})).toMatchObject({
      adminMaxBodyBytes: 64 * 1024,
      bodyBufferBytesPerConnection: 16 * 1024 * 1024,
      bodyBufferBytesPerProcess: 64 * 1024 * 1024,
      requestBodyTimeoutMs: 30_000,
    });
    expect(
      loadConfig({
        KEYGATE_ADMIN_MAX_BODY_BYTES: "2048",
        KEYGATE_BODY_BUFFER_BYTES_PER_CONNECTION: String(8 * 1024 * 1024),
        KEYGATE_BODY_BUFFER_BYTES_PER_PROCESS: String(32 * 1024 * 1024),
        KEYGATE_REQUEST_BODY_TIMEOUT_MS: "5000",
      }),
    ).toMatchObject({ adminMaxBodyBytes: 2048, bodyBufferBytesPerConnection: 8 * 1024 * 1024, bodyBufferBytesPerProcess: 32 * 1024 * 1024, requestBodyTimeoutMs: 5000 });
    // A larger per-connection bound raises the per-process default with it.
    expect(loadConfig({ KEYGATE_BODY_BUFFER_BYTES_PER_CONNECTION: String(100 * 1024 * 1024) }).bodyBufferBytesPerProcess).toBe(100 * 1024 * 1024);

    const stops = (env: Record<string, string>, message: RegExp) => expect(() => loadConfig(env)).toThrow(message);
    stops({ KEYGATE_ADMIN_MAX_BODY_BYTES: "64k" }, /^KEYGATE_ADMIN_MAX_BODY_BYTES: must be an integer/);
    stops({ KEYGATE_ADMIN_MAX_BODY_BYTES: "100" }, /^KEYGATE_ADMIN_MAX_BODY_BYTES: must be between 1024 and 4194304/);
    stops({ KEYGATE_ADMIN_MAX_BODY_BYTES: String(8 * 1024 * 1024) }, /^KEYGATE_ADMIN_MAX_BODY_BYTES: must be between/);
    // A connection must hold one Check message of the largest size (4 MiB) and its framing.
    stops({ KEYGATE_BODY_BUFFER_BYTES_PER_CONNECTION: String(1024 * 1024) }, /^KEYGATE_BODY_BUFFER_BYTES_PER_CONNECTION: must be between 4195328 and/);
    stops(
      { KEYGATE_BODY_BUFFER_BYTES_PER_CONNECTION: String(32 * 1024 * 1024), KEYGATE_BODY_BUFFER_BYTES_PER_PROCESS: String(16 * 1024 * 1024) },
      /^KEYGATE_BODY_BUFFER_BYTES_PER_PROCESS: must be at least KEYGATE_BODY_BUFFER_BYTES_PER_CONNECTION \(33554432\)/,
    );
    stops({ KEYGATE_BODY_BUFFER_BYTES_PER_PROCESS: "-1" }, /^KEYGATE_BODY_BUFFER_BYTES_PER_PROCESS:/);
    stops({ KEYGATE_REQUEST_BODY_TIMEOUT_MS: "0" }, /^KEYGATE_REQUEST_BODY_TIMEOUT_MS: must be between 100 and 600000/);
  });

  it("caps WatchUsage streams: 10 per key and 50 per organization by default, each setting validated", () => {
    expect(loadConfig({})).toMatchObject({ usageWatchMaxStreamsPerKey: 10, usageWatchMaxStreamsPerOrganization: 50 });
    expect(loadConfig({ KEYGATE_USAGE_WATCH_MAX_STREAMS_PER_KEY: "3", KEYGATE_USAGE_WATCH_MAX_STREAMS_PER_ORGANIZATION: "500" })).toMatchObject({
      usageWatchMaxStreamsPerKey: 3,
      usageWatchMaxStreamsPerOrganization: 500,
    });
    expect(() => loadConfig({ KEYGATE_USAGE_WATCH_MAX_STREAMS_PER_KEY: "0" })).toThrow(/^KEYGATE_USAGE_WATCH_MAX_STREAMS_PER_KEY: must be between 1 and 100/);
    expect(() => loadConfig({ KEYGATE_USAGE_WATCH_MAX_STREAMS_PER_KEY: "ten" })).toThrow(/^KEYGATE_USAGE_WATCH_MAX_STREAMS_PER_KEY: must be an integer/);
    expect(() => loadConfig({ KEYGATE_USAGE_WATCH_MAX_STREAMS_PER_ORGANIZATION: "100000" })).toThrow(
      /^KEYGATE_USAGE_WATCH_MAX_STREAMS_PER_ORGANIZATION: must be between 1 and 10000/,
    );
  });

  it("trusts no proxy by default, and takes comma-separated IPv4 and IPv6 addresses and CIDRs", () => {
    expect(loadConfig({}).trustedProxies).toEqual([]);
    expect(loadConfig({ KEYGATE_TRUSTED_PROXIES: " 10.0.0.0/8, fd00::/8,192.0.2.1 ," }).trustedProxies).toEqual(["10.0.0.0/8", "fd00::/8", "192.0.2.1"]);
    expect(() => loadConfig({ KEYGATE_TRUSTED_PROXIES: "10.0.0.0/8, 10.0.0.0/40" })).toThrow(/^KEYGATE_TRUSTED_PROXIES: "10.0.0.0\/40" is not/);
  });

  it("lists no secret-scanning sources by default, and takes GitHub's hooks ranges as CIDRs", () => {
    expect(loadConfig({}).secretScanningSources).toEqual([]);
    expect(loadConfig({ KEYGATE_SECRET_SCANNING_SOURCES: "192.30.252.0/22, 2a0a:a440::/29" }).secretScanningSources).toEqual(["192.30.252.0/22", "2a0a:a440::/29"]);
  });

  it("reads and validates the plans, scopes and routes files", () => {
    const plans = file(JSON.stringify([{ ...DEFAULT_PLANS[1], name: "team" }]));
    const scopes = file(JSON.stringify([{ name: "reports:read", description: "Read reports" }]));
    const routes = file(JSON.stringify([{ method: "GET", path: "/reports/*", scopes: ["reports:read"] }]));
    const config = loadConfig({ KEYGATE_PLANS_FILE: plans, KEYGATE_DEFAULT_PLAN: "team", KEYGATE_SCOPES_FILE: scopes, KEYGATE_ROUTES_FILE: routes });
    expect(config.plans.map((p) => p.name)).toEqual(["team"]);
    // The admin scopes are keygate's own and always in the catalog.
    expect(config.scopes.map((s) => s.name)).toEqual(["reports:read", "admin:read", "admin:write"]);
    expect(config.routes).toEqual([{ method: "GET", path: "/reports/*", scopes: ["reports:read"] }]);

    expect(() => loadConfig({ KEYGATE_PLANS_FILE: file(JSON.stringify([{ ...DEFAULT_PLANS[0], maxKeysPerUser: 0 }])) })).toThrow(
      /KEYGATE_PLANS_FILE: .*maxKeysPerUser/,
    );
    expect(() => loadConfig({ KEYGATE_PLANS_FILE: file("{not json") })).toThrow(/KEYGATE_PLANS_FILE/);
    expect(() => loadConfig({ KEYGATE_ROUTES_FILE: file(JSON.stringify([{ path: "/x", scopes: ["ghost:read"] }])) })).toThrow(
      /KEYGATE_ROUTES_FILE: .*ghost:read/,
    );
  });

  // A catalog scope can be granted to tenants' keys (CreateOrganization's issue_owner_key gives the
  // owner every one), so platform:admin in it would make a tenant owner a platform operator's peer.
  it("refuses a scopes file holding platform:admin, the operators' scope", () => {
    const scopes = file(JSON.stringify([{ name: "reports:read" }, { name: "platform:admin", description: "Operate the platform" }]));
    expect(() => loadConfig({ KEYGATE_SCOPES_FILE: scopes })).toThrow(ConfigError);
    expect(() => loadConfig({ KEYGATE_SCOPES_FILE: scopes })).toThrow(
      /^KEYGATE_SCOPES_FILE: .*scope 1: platform:admin is the platform operators' scope and cannot be in the catalog/,
    );
  });

  // Once configured, the route table is the data plane's allow-list: a rule that can never match
  // a request (Check rejects or merges that spelling first) would be a silent hole in it.
  it.each([
    [[], /holds no rule/],
    [[{ method: "GET*", path: "/x", scopes: [] }], /route 0: method/],
    [[{ method: "GE T", path: "/x", scopes: [] }], /route 0: method/],
    [[{ method: "M".repeat(33), path: "/x", scopes: [] }], /route 0: method/],
    [[{ method: "GET", path: "x/y", scopes: [] }], /route 0: path must start with \//],
    [[{ method: "GET", path: "/a;v=1", scopes: [] }], /route 0: path \/a;v=1 holds a ; parameter/],
    [[{ method: "GET", path: "/a%2Fb", scopes: [] }], /route 0: path .* holds a ; parameter, an encoded slash/],
    [[{ method: "GET", path: "/a%zz", scopes: [] }], /route 0: path \/a%zz holds .* an invalid escape/],
    [[{ method: "GET", path: "/a%252Fb", scopes: [] }], /route 0: path .* \(also double-encoded\)/],
    [[{ method: "GET", path: "/a/../b", scopes: [] }], /route 0: path .* segment/],
    [[{ method: "GET", path: "/a/%2e/b", scopes: [] }], /route 0: path .* segment/],
    [[{ method: "GET", path: "/a//b", scopes: [] }], /route 0: path \/a\/\/b has an empty segment/],
    [[{ method: "GET", path: "/a", scopes: [], costHedaer: "x-usage-tokens" }], /route 0: unknown field "costHedaer"/],
    [["GET /a"], /route 0: must be an object/],
  ])("refuses the routes file %j", (routes, message) => {
    expect(() => loadConfig({ KEYGATE_ROUTES_FILE: file(JSON.stringify(routes)) })).toThrow(ConfigError);
    expect(() => loadConfig({ KEYGATE_ROUTES_FILE: file(JSON.stringify(routes)) })).toThrow(message);
  });

  it("takes any method token and * in a route", () => {
    const routes = [
      { method: "M-SEARCH", path: "/x", scopes: [] },
      { method: "*", path: "/**", scopes: [] },
      { path: "/.well-known/*", scopes: [] },
    ];
    expect(loadConfig({ KEYGATE_ROUTES_FILE: file(JSON.stringify(routes)) }).routes.map((r) => r.method)).toEqual(["M-SEARCH", "*", "*"]);
  });
});
