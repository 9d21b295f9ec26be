import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { HTTPAccessLogEntrySchema } from "../../gen/envoy/data/accesslog/v3/accesslog_pb.js";
import { RequestMethod } from "../../gen/envoy/config/core/v3/request_method_pb.js";
import { DEBIT_WINDOW_MS, debitRememberedUntil, readResponseCost, routeOf } from "../../src/usage/response-cost-reading.js";

const NOW = Date.UTC(2031, 2, 15, 12);
const entry = (value: string, requestId = "9b2c-41", path = "/v1/chat/./completions?stream=1") =>
  create(HTTPAccessLogEntrySchema, {
    request: { requestMethod: RequestMethod.POST, path, requestId },
    response: { responseHeaders: { "x-usage-tokens": value } },
  });

describe("a response-reported cost", () => {
  it("is a whole number, spaces around it allowed, up to a billion", () => {
    expect(readResponseCost(entry(" 1250 "), "x-usage-tokens", NOW, NOW)).toEqual({ result: "debit", requestId: "9b2c-41", amount: 1250 });
    expect(readResponseCost(entry("1000000000"), "x-usage-tokens", NOW, NOW)).toMatchObject({ amount: 1_000_000_000 });
    expect(readResponseCost(entry("1000000001"), "x-usage-tokens", NOW, NOW)).toEqual({ result: "too_large" });
    for (const value of ["", "-1", "+1", "1e3", "0x10", "12 tokens", "1,2"]) {
      expect(readResponseCost(entry(value), "x-usage-tokens", NOW, NOW)).toEqual({ result: "malformed" });
    }
  });

  it("is nothing when the header was not logged or reports 0", () => {
    expect(readResponseCost(entry("5"), "x-bytes", NOW, NOW)).toBeNull();
    expect(readResponseCost(entry("0"), "x-usage-tokens", NOW, NOW)).toBeNull();
  });

  it("is debited only within the debit window, inside which the record of a debit always lives", () => {
    const start = NOW - DEBIT_WINDOW_MS;
    expect(readResponseCost(entry("5"), "x-usage-tokens", start, NOW)).toMatchObject({ result: "debit" });
    expect(readResponseCost(entry("5"), "x-usage-tokens", start - 1, NOW)).toEqual({ result: "late" });
    expect(debitRememberedUntil(start).getTime()).toBeGreaterThan(NOW);
  });

  it("is matched to the route by the method and the path as Check normalizes it", () => {
    expect(routeOf(entry("5"))).toEqual({ method: "POST", path: "/v1/chat/completions" });
  });
});
