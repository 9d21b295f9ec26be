import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { MetadataSchema } from "../../gen/envoy/config/core/v3/base_pb.js";
import { CheckRequestSchema, CheckResponseSchema, type CheckRequest, type CheckResponse } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { authorizationRoutes } from "../../src/authz/check-service.js";
import {
  createHarness,
  envoyRequest,
  expectFixtureAnswer,
  fixtureOptions,
  fixtureRequest,
  loadFixtures,
  outcomeOf,
  type Harness,
  type HarnessOptions,
} from "./check-harness.js";
import { expectWellFormed } from "./well-formed.js";

/**
 * Check over a real HTTP/2 (h2c) connection with a plain @grpc/grpc-js client, the way Envoy
 * calls it: application/grpc, binary protobuf, lowercase headers with pseudo-headers, a query in
 * :path, x-forwarded-for, x-request-id, source.address, context_extensions, plus the fields of
 * Envoy's full AttributeContext that keygate's trimmed copy does not declare. The server is
 * connect-node's adapter on node:http2 with authorizationRoutes, as the app mounts it.
 */

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function lengthDelimited(no: number, payload: Uint8Array) {
  return { no, wireType: WireType.LengthDelimited, data: new BinaryWriter().bytes(payload).finish() };
}

/** Adds what Envoy sends and keygate's protos leave out, some of it not even valid UTF-8. */
function asEnvoySendsIt(request: CheckRequest): CheckRequest {
  const attributes = request.attributes;
  if (attributes === undefined) return request;
  const metadata = toBinary(MetadataSchema, create(MetadataSchema, { filterMetadata: { "envoy.filters.http.jwt_authn": { sub: "user-1" } } }));
  attributes.$unknown = [
    lengthDelimited(11, metadata), // metadata_context
    lengthDelimited(12, new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(Buffer.from([0x61, 0xff, 0x62])).finish()), // tls_session.sni
    lengthDelimited(13, metadata), // route_metadata_context
  ];
  if (attributes.request) {
    attributes.request.$unknown = [lengthDelimited(1, toBinary(TimestampSchema, create(TimestampSchema, { seconds: 1_768_478_400n })))];
    if (attributes.request.http) {
      attributes.request.http.$unknown = [lengthDelimited(11, Buffer.from([0xc3, 0x28, 0x7b])), lengthDelimited(12, Buffer.from("raw body"))];
    }
  }
  return request;
}

async function serve(h: Harness) {
  const routes = authorizationRoutes(h.deps);
  const server = http2.createServer(connectNodeAdapter({ routes, readMaxBytes: 4 * 1024 * 1024 }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const client = new grpc.Client(`127.0.0.1:${(server.address() as AddressInfo).port}`, grpc.credentials.createInsecure());
  servers.push({
    close: () =>
      new Promise<void>((resolve) => {
        client.close();
        server.close(() => resolve());
      }),
  });
  const check = (request: CheckRequest): Promise<CheckResponse> =>
    new Promise((resolve, reject) => {
      // Envoy's own call metadata; keygate must ignore it (the client address is in the attributes).
      const metadata = new grpc.Metadata();
      metadata.set("x-envoy-internal", "true");
      metadata.set("x-forwarded-for", "10.99.99.99");
      client.makeUnaryRequest(
        "/envoy.service.auth.v3.Authorization/Check",
        (message: CheckRequest) => Buffer.from(toBinary(CheckRequestSchema, asEnvoySendsIt(message))),
        (bytes: Buffer) => fromBinary(CheckResponseSchema, bytes),
        request,
        metadata,
        { deadline: Date.now() + 10_000 },
        (error, response) => (error ? reject(error) : resolve(response!)),
      );
    });
  return { check };
}

async function served(options: HarnessOptions = {}) {
  const h = await createHarness(options);
  return { h, ...(await serve(h)) };
}

describe("Check over gRPC (HTTP/2, grpc-js client, Envoy-shaped requests)", () => {
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
    ]);
    expect(response.dynamicMetadata).toEqual({ key_id: key.id, organization_id: key.organizationId, scopes: "machines:read", decision_id: expect.any(String) });
    expect(h.usage.events).toEqual([expect.objectContaining({ keyId: key.id, method: "GET", path: "/v1/machines", outcome: "allowed" })]);
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

  it("a store outage on an uncached key is an UNAVAILABLE RPC, which Envoy's failure_mode_allow decides", async () => {
    const { h, check } = await served();
    const { secret } = await h.createKey();
    h.memory.keys.findByHash = async () => {
      throw new Error("store down");
    };
    const error = await check(envoyRequest({ "x-api-key": secret })).catch((e: grpc.ServiceError) => e);
    expect((error as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
  });
});
