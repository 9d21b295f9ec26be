import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CheckRequestSchema, type CheckRequest } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { checkInput, type CheckRequestFields, type InputOptions } from "../../src/authz/check-input.js";
import { CheckRequestDecoder } from "../../src/authz/check-request-decoder.js";
import { compileRouteTable } from "../../src/authz/route-table.js";
import { envoyRequest } from "./check-harness.js";
import { asEnvoySendsIt } from "./envoy-client.js";

/**
 * The lean CheckRequest decoder against protobuf-es's fromBinary, on the only thing that
 * matters: what checkInput makes of the result. Generated requests of every shape, merged
 * (two encodings back to back), with undeclared fields, and mutated into garbage: each gives the
 * same input as fromBinary's message, or the same parse error.
 */

const SECRET = "sk_live_0123456789abcdefghijABCDEFGHIJ0123456789abc123";
const optionSets: InputOptions[] = [
  {
    trustedProxyHops: 0,
    routes: compileRouteTable([
      { method: "GET", path: "/v1/**", scopes: ["machines:read"] },
      { method: "DELETE", path: "/v1/**", scopes: ["machines:delete"] },
    ]),
  },
  { trustedProxyHops: 2, routes: compileRouteTable([]) },
];

const decoder = new CheckRequestDecoder();

/** Every field of a CheckInput, the lazy ones included. */
function snapshot(request: CheckRequestFields) {
  return optionSets.map((options) => {
    const input = checkInput(request, options);
    return {
      key: input.key,
      headersToRemove: input.headersToRemove,
      clientIp: input.clientIp,
      method: input.method,
      path: input.path,
      pathRejected: input.pathRejected,
      requiredScopes: input.requiredScopes,
      requestId: input.requestId,
      requestBytes: input.requestBytes,
    };
  });
}

function expectSameAsFromBinary(bytes: Uint8Array): void {
  let expected: ReturnType<typeof snapshot> | Error;
  try {
    expected = snapshot(fromBinary(CheckRequestSchema, bytes));
  } catch (error) {
    expected = error as Error;
  }
  if (expected instanceof Error) {
    expect(() => decoder.decode(bytes)).toThrow(ConnectError);
    expect(() => decoder.decode(bytes)).toThrow(`parse binary: ${expected.message}`);
  } else {
    expect(snapshot(decoder.decode(bytes))).toEqual(expected);
  }
}

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.constantFrom("", " ", ",", "\uFEFF", "\uFEFFx", "é", "Bearer ", `Bearer ${SECRET}`, SECRET, `${SECRET},${SECRET}`, "10.1.2.3, 10.0.0.9", "::ffff:10.0.0.1", "DELETE", "get"),
);
const headerName = fc.oneof(
  fc.constantFrom(
    "x-api-key",
    "authorization",
    "x-forwarded-for",
    "x-request-id",
    "content-length",
    ":path",
    ":method",
    "x-http-method-override",
    "x-http-method",
    "X-Method-Override",
    "X-Api-Key",
    "__proto__",
    "constructor",
    "user-agent",
  ),
  fc.string({ maxLength: 12 }),
);
const address = fc.oneof(
  fc.record({ case: fc.constant("socketAddress" as const), value: fc.record({ address: fc.oneof(text, fc.ipV4(), fc.ipV6()), portSpecifier: fc.constant({ case: "portValue" as const, value: 443 }) }) }),
  fc.record({ case: fc.constant("pipe" as const), value: fc.record({ path: text, mode: fc.nat() }) }),
  fc.record({ case: fc.constant("envoyInternalAddress" as const), value: fc.record({ endpointId: text }) }),
  fc.constant({ case: undefined }),
);
const peer = fc.record({ address: fc.record({ address }), service: text, labels: fc.dictionary(text, text, { maxKeys: 2 }) }, { requiredKeys: [] });

const checkRequest: fc.Arbitrary<CheckRequest> = fc
  .record(
    {
      source: peer,
      destination: peer,
      http: fc.record(
        {
          id: text,
          method: fc.oneof(fc.constantFrom("GET", "post", ""), text),
          headers: fc.dictionary(headerName, text, { maxKeys: 10 }),
          path: fc.oneof(fc.constantFrom("/v1/machines?page=2", "//v1/./machines", "/%761/x", "/v1;x/y", "/v1/a%2fb", "/v1", "/v2/x"), text),
          host: text,
          size: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
          protocol: text,
          headerMap: fc.record({ headers: fc.array(fc.record({ key: headerName, value: text, rawValue: fc.uint8Array({ maxLength: 12 }) }), { maxLength: 4 }) }),
        },
        { requiredKeys: [] },
      ),
      contextExtensions: fc.dictionary(fc.oneof(fc.constant("required_scopes"), text), fc.oneof(fc.constantFrom("machines:read", "tags:read tags:write"), text), {
        maxKeys: 3,
      }),
    },
    { requiredKeys: [] },
  )
  .map((r) =>
    create(CheckRequestSchema, {
      attributes: {
        ...(r.source && { source: r.source }),
        ...(r.destination && { destination: r.destination }),
        ...(r.http && { request: { http: r.http } }),
        contextExtensions: r.contextExtensions ?? {},
      },
    } as never),
  );

/** Fields CheckRequest's schema does not declare, with every wire type fromBinary skips. */
const undeclared = fc.array(
  fc.oneof(
    fc.record({ no: fc.integer({ min: 20, max: 5000 }), value: fc.uint8Array({ maxLength: 8 }) }).map(({ no, value }) => new BinaryWriter().tag(no, WireType.LengthDelimited).bytes(value).finish()),
    fc.record({ no: fc.integer({ min: 20, max: 5000 }), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }).map(({ no, value }) => new BinaryWriter().tag(no, WireType.Varint).uint64(value).finish()),
    fc.integer({ min: 20, max: 5000 }).map((no) => new BinaryWriter().tag(no, WireType.Bit32).fixed32(7).finish()),
    fc.integer({ min: 20, max: 5000 }).map((no) => new BinaryWriter().tag(no, WireType.Bit64).fixed64(7n).finish()),
  ),
  { maxLength: 3 },
);

const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

describe("the lean CheckRequest decoder gives checkInput what fromBinary gives it", () => {
  it("Envoy-shaped requests, with the AttributeContext fields keygate does not declare", () => {
    for (const request of [
      envoyRequest({ "x-api-key": SECRET }, { contextExtensions: { required_scopes: "machines:read" } }),
      envoyRequest({ authorization: `Bearer ${SECRET}`, "x-forwarded-for": "203.0.113.9, 198.51.100.7", "content-length": "42" }, { sourceIp: "2001:db8::1" }),
      envoyRequest({}),
      create(CheckRequestSchema, {}),
    ]) {
      expectSameAsFromBinary(toBinary(CheckRequestSchema, asEnvoySendsIt(request)));
    }
  });

  it("generated requests", () => {
    fc.assert(fc.property(checkRequest, (request) => expectSameAsFromBinary(toBinary(CheckRequestSchema, request))), { numRuns: 400 });
  });

  it("two encodings back to back merge as protobuf merges them", () => {
    fc.assert(
      fc.property(checkRequest, checkRequest, (a, b) => expectSameAsFromBinary(concat(toBinary(CheckRequestSchema, a), toBinary(CheckRequestSchema, b)))),
      { numRuns: 200 },
    );
  });

  it("undeclared fields anywhere at the top level are skipped", () => {
    fc.assert(
      fc.property(checkRequest, undeclared, (request, extra) => expectSameAsFromBinary(concat(...extra, toBinary(CheckRequestSchema, request), ...extra))),
      { numRuns: 200 },
    );
  });

  it("mutated bytes: truncated, bytes flipped or inserted, give the same input or the same error", () => {
    const mutation = fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), kind: fc.constantFrom("truncate", "flip", "insert") });
    fc.assert(
      fc.property(checkRequest, fc.array(mutation, { minLength: 1, maxLength: 3 }), (request, mutations) => {
        let bytes = [...toBinary(CheckRequestSchema, request)];
        for (const { at, byte, kind } of mutations) {
          const i = bytes.length === 0 ? 0 : at % bytes.length;
          if (kind === "truncate") bytes = bytes.slice(0, i);
          else if (kind === "flip") bytes[i] = byte;
          else bytes.splice(i, 0, byte);
        }
        expectSameAsFromBinary(Uint8Array.from(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it("arbitrary bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => expectSameAsFromBinary(bytes)), { numRuns: 1000 });
  });
});
