import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { endpointNormalizer } from "../../src/usage/endpoint.js";
import { utcDay } from "../../src/time/utc-days.js";

const normalize = endpointNormalizer(loadConfig({}).usageIdSegmentPattern);

describe("endpoint normalization", () => {
  it.each([
    ["numbers", "GET", "/v1/machines/123", "GET /v1/machines/{id}"],
    ["another number is the same endpoint", "GET", "/v1/machines/456", "GET /v1/machines/{id}"],
    ["nested ids", "DELETE", "/v1/machines/42/tags/7", "DELETE /v1/machines/{id}/tags/{id}"],
    ["a UUID", "GET", "/v1/documents/3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b", "GET /v1/documents/{id}"],
    ["an ObjectId", "GET", "/v1/documents/65a1f0c2e4b0a1b2c3d4e5f6", "GET /v1/documents/{id}"],
    ["a keygate id", "GET", "/keys/key_01HZY8V6Q2J9K3M4N5P6R7S8T9", "GET /keys/{id}"],
    ["a prefixed id", "POST", "/customers/cus_Nf2b8Qz1/charges", "POST /customers/{id}/charges"],
    ["a long token", "GET", "/share/aB3dE5fG7hJ9kL1mN3pQ5", "GET /share/{id}"],
    ["names stay", "GET", "/v1/machines", "GET /v1/machines"],
    ["version segments stay", "GET", "/v2/components/search", "GET /v2/components/search"],
    ["the root", "GET", "/", "GET /"],
    ["a trailing slash stays", "GET", "/v1/tags/", "GET /v1/tags/"],
    ["an overlong segment", "GET", `/wiki/${"how-to-".repeat(12)}`, "GET /wiki/{id}"],
    ["deep paths are cut", "GET", `/${Array.from({ length: 20 }, (_, i) => `s${"x".repeat(i % 3)}`).join("/")}`, "GET /s/sx/sxx/s/sx/sxx/s/sx/sxx/s/sx/sxx/**"],
    ["a target that is not a path", "OPTIONS", "*", "OPTIONS {other}"],
    ["an empty path", "GET", "", "GET {other}"],
    ["an odd method", "get ", "/v1/machines", "OTHER /v1/machines"],
    ["no method", "", "/v1/machines", "OTHER /v1/machines"],
  ])("%s", (_, method, path, expected) => {
    expect(normalize(method, path)).toBe(expected);
  });

  it("takes a configured pattern for id-like segments", () => {
    const custom = endpointNormalizer(loadConfig({ KEYGATE_USAGE_ID_SEGMENT_PATTERN: "[a-z]+-\\d+" }).usageIdSegmentPattern);
    expect(custom("GET", "/tickets/abc-123/comments/99")).toBe("GET /tickets/{id}/comments/99");
  });

  it("refuses a pattern that does not compile or matches an empty segment", () => {
    expect(() => loadConfig({ KEYGATE_USAGE_ID_SEGMENT_PATTERN: "([" })).toThrow(/KEYGATE_USAGE_ID_SEGMENT_PATTERN: must be a regular expression/);
    expect(() => loadConfig({ KEYGATE_USAGE_ID_SEGMENT_PATTERN: "\\d*" })).toThrow(/must not match an empty path segment/);
  });
});

describe("usage settings", () => {
  it("defaults alerts to 80%, sorts and dedupes a list, and refuses what is not a percentage", () => {
    expect(loadConfig({}).usageAlertThresholds).toEqual([80]);
    expect(loadConfig({ KEYGATE_USAGE_ALERT_THRESHOLDS: "90, 50,90,100" }).usageAlertThresholds).toEqual([50, 90, 100]);
    for (const bad of ["0", "101", "80%", "eighty", "50,,60"]) {
      expect(() => loadConfig({ KEYGATE_USAGE_ALERT_THRESHOLDS: bad })).toThrow(/KEYGATE_USAGE_ALERT_THRESHOLDS/);
    }
  });

  it("keeps at least 62 days so last month's bill stays answerable", () => {
    expect(loadConfig({}).usageRetentionDays).toBe(400);
    expect(() => loadConfig({ KEYGATE_USAGE_RETENTION_DAYS: "30" })).toThrow(/KEYGATE_USAGE_RETENTION_DAYS: must be between 62/);
  });

  it("answers the same from its memo, also after the memo fills and is emptied", () => {
    const fresh = endpointNormalizer(loadConfig({}).usageIdSegmentPattern);
    const first = fresh("GET", "/machines/123/tags");
    for (let i = 0; i < 25_000; i++) fresh("GET", `/things/${i}/x${i}`);
    expect(fresh("GET", "/machines/123/tags")).toBe(first);
    expect(first).toBe(normalize("GET", "/machines/456/tags"));
    expect(fresh("POST", "/machines/123/tags")).not.toBe(first);
  });
});

describe("UTC days", () => {
  it("names the day of each instant, whichever order instants come in", () => {
    const instants = ["2031-03-01T23:59:59.999Z", "2031-03-02T00:00:00.000Z", "2031-02-28T12:00:00.000Z", "2031-03-02T00:00:00.001Z", "1999-12-31T23:59:59.999Z"];
    for (const instant of instants) expect(utcDay(Date.parse(instant))).toBe(instant.slice(0, 10));
  });
});
