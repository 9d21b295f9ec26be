import { fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { CheckRequestSchema, type CheckResponse } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { startApp, type App } from "../../src/app.js";
import {
  createHarness,
  envoyRequest,
  expectFixtureAnswer,
  fixtureOptions,
  fixtureRequest,
  loadFixtures,
  outcomeOf,
  type HarnessOptions,
} from "./check-harness.js";
import { asEnvoySendsIt, envoyClient } from "./envoy-client.js";
import { expectWellFormed } from "./well-formed.js";

/**
 * Check end to end: keygate's own server (startApp: one h2c port, protocol sniffing, Connect's
 * router speaking gRPC) and a plain @grpc/grpc-js client sending Envoy-shaped requests: lowercase
 * headers with :authority, a query in :path, x-forwarded-for, x-request-id, source.address,
 * context_extensions, and the AttributeContext fields keygate does not declare. Time is a
 * ManualClock shared by the test and the app, so limits are tested without sleeping.
 */

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
});

async function served(options: HarnessOptions = {}) {
  const h = await createHarness({ ...options, config: { port: 0, host: "127.0.0.1", ...options.config } });
  const app: App = await startApp({ config: h.config, store: h.backing, logger: pino({ level: "silent" }), clock: h.clock });
  const client = envoyClient(`127.0.0.1:${app.port}`);
  running.push({
    close: async () => {
      client.close();
      await app.close();
    },
  });
  return { h, app, check: client.check };
}

describe("Check end to end (keygate server, grpc-js client, Envoy-shaped requests)", () => {
  it.each(loadFixtures())("%s", async (_name, fixture) => {
    const { h, check } = await served(fixtureOptions(fixture));
    await expectFixtureAnswer(fixture, await fixtureRequest(h, fixture), check);
  });

  it("requests on this wire carry the fields of Envoy's full AttributeContext that keygate does not declare", () => {
    const decoded = fromBinary(CheckRequestSchema, toBinary(CheckRequestSchema, asEnvoySendsIt(envoyRequest({}))));
    expect(decoded.attributes?.$unknown?.map((field) => field.no)).toEqual([11, 12, 13]);
    expect(decoded.attributes?.request?.http?.$unknown?.map((field) => field.no)).toEqual([11, 12]);
  });

  it("the allow path: identity headers with append false, key header removed, rate-limit headers, dynamic metadata", async () => {
    const { h, check } = await served({ config: { trustedProxyHops: 1 } });
    const { secret, key } = await h.createKey({ scopes: ["machines:read"], allowIps: ["198.51.100.0/24"], rateLimit: { limit: 100, period: "minute" } });
    const response = await check(
      envoyRequest(
        { authorization: `Bearer ${secret}`, "x-forwarded-for": "203.0.113.9, 198.51.100.7" },
        { path: "/v1/machines?page=2&per_page=50", sourceIp: "10.0.0.3", contextExtensions: { required_scopes: "machines:read" } },
      ),
    );
    expectWellFormed(response);
    expect(response.status?.code).toBe(0);
    expect(response.httpResponse.case).toBe("okResponse");
    const ok = response.httpResponse.value as Extract<CheckResponse["httpResponse"], { case: "okResponse" }>["value"];
    expect(ok.headers.map((o) => [o.header?.key, o.header?.value, o.append])).toEqual([
      ["x-keygate-key-id", key.id, false],
      ["x-keygate-organization-id", key.organizationId, false],
    ]);
    expect(ok.headersToRemove).toEqual(["authorization"]);
    expect(ok.responseHeadersToAdd.map((o) => [o.header?.key, o.header?.value, o.append])).toEqual([
      ["x-ratelimit-limit", "100", false],
      ["x-ratelimit-remaining", "99", false],
      ["x-ratelimit-reset", "61", false],
      ["ratelimit-policy", '"default";q=100;w=60', false],
      ["ratelimit", '"default";r=99;t=61', false],
    ]);
    expect(response.dynamicMetadata).toEqual({ key_id: key.id, organization_id: key.organizationId, scopes: "machines:read", decision_id: expect.any(String) });
  });

  it("200 parallel Checks on a key limited to 100/minute admit exactly 100", async () => {
    const { h, check } = await served();
    const { secret } = await h.createKey({ rateLimit: { limit: 100, period: "minute" } });
    const responses = await Promise.all(Array.from({ length: 200 }, () => check(envoyRequest({ "x-api-key": secret }))));
    const outcomes = responses.map(outcomeOf);
    expect(outcomes.filter((o) => o === "allowed").length).toBe(100);
    expect(outcomes.filter((o) => o === "RATE_LIMITED").length).toBe(100);
  });

  it("a 1 MB header value and thousands of headers still get a decision", async () => {
    const { h, check } = await served();
    const { secret } = await h.createKey();
    const many: Record<string, string> = {};
    for (let i = 0; i < 3_000; i++) many[`x-h-${i}`] = "v";
    expect(outcomeOf(await check(envoyRequest({ ...many, "x-api-key": secret, "x-junk": "j".repeat(1024 * 1024) })))).toBe("allowed");
    expect(outcomeOf(await check(envoyRequest({ "x-api-key": "k".repeat(1024 * 1024) })))).toBe("API_KEY_INVALID");
  });

  it("revoking a key through the app's key events takes effect on the next Check", async () => {
    const { h, app, check } = await served();
    const { secret, key } = await h.createKey();
    expect(outcomeOf(await check(envoyRequest({ "x-api-key": secret })))).toBe("allowed");
    const revoked = await h.backing.keys.revoke(key.organizationId, key.id, new Date(h.clock.now()));
    app.keyEvents.changed(revoked!);
    expect(outcomeOf(await check(envoyRequest({ "x-api-key": secret })))).toBe("API_KEY_REVOKED");
  });

  it("a store outage on an uncached key is an UNAVAILABLE RPC, which Envoy's failure_mode_allow decides", async () => {
    const { h, check } = await served();
    const { secret } = await h.createKey();
    h.backing.keys.findByHash = async () => {
      throw new Error("store down");
    };
    const error = await check(envoyRequest({ "x-api-key": secret })).catch((e: grpc.ServiceError) => e);
    expect((error as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
  });
});
