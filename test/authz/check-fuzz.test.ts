import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CheckRequestSchema } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { createHarness, envoyRequest, outcomeOf } from "./check-harness.js";
import { expectWellFormed } from "./well-formed.js";

/**
 * Bad input never becomes a thrown RPC error: whatever Envoy (or anything pretending to be
 * Envoy) sends, Check answers with a well-formed allow or deny.
 */

const text = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("", " ", ",", "Bearer", "Bearer ", "bearer ,", "::ffff:", "[", "%", "%2", "%2f", "%2e", "..", ".", ";", "\\", "/", "?", "#"),
);

async function harnessWithKey() {
  const h = await createHarness({
    config: { routes: [{ method: "*", path: "/v1/**", scopes: ["machines:read"] }], trustedProxyHops: 2 },
  });
  const { secret } = await h.createKey({ scopes: ["machines:read"], allowIps: ["10.0.0.0/8", "2001:db8::/32"], rateLimit: { limit: 5, period: "second" } });
  return { h, secret };
}

describe("Check on bad input", () => {
  it("random requests: never throws, always a well-formed response", async () => {
    const { h, secret } = await harnessWithKey();
    const credential = fc.oneof(
      text,
      fc.constant(secret),
      fc.nat({ max: secret.length }).map((n) => secret.slice(0, n)),
      fc.nat({ max: secret.length - 1 }).map((n) => secret.slice(0, n) + "!" + secret.slice(n + 1)),
      text.map((t) => `Bearer ${secret}${t}`),
      text.map((t) => `${t}${secret}`),
    );
    const headers = fc.dictionary(
      fc.oneof(
        fc.constantFrom("x-api-key", "authorization", "x-forwarded-for", ":path", ":method", "content-length", "x-http-method-override", "__proto__", "constructor"),
        text,
      ),
      fc.oneof(credential, text),
      { maxKeys: 8 },
    );
    const request = fc.record(
      {
        headers,
        path: fc.oneof(text, text.map((t) => `/v1/${t}`)),
        method: text,
        source: fc.oneof(text, fc.ipV4(), fc.ipV6(), fc.constant("::ffff:10.0.0.1")),
        scopes: fc.option(text),
        size: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        rawHeaders: fc.array(fc.record({ key: text, value: text, rawValue: fc.uint8Array({ maxLength: 40 }) }), { maxLength: 4 }),
        advanceMs: fc.nat({ max: 5_000 }),
      },
      { requiredKeys: ["headers"] },
    );

    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const built = envoyRequest(r.headers, {
          ...(r.path !== undefined && { path: r.path }),
          ...(r.method !== undefined && { method: r.method }),
          ...(r.source !== undefined && { sourceIp: r.source }),
          ...(r.scopes !== undefined && r.scopes !== null && { contextExtensions: { required_scopes: r.scopes } }),
        });
        const http = built.attributes!.request!.http!;
        if (r.size !== undefined) http.size = r.size;
        if (r.rawHeaders !== undefined && r.rawHeaders.length > 0) {
          http.headers = {};
          http.headerMap = { $typeName: "envoy.config.core.v3.HeaderMap", headers: r.rawHeaders.map((x) => ({ $typeName: "envoy.config.core.v3.HeaderValue", ...x })) };
        }
        h.clock.advance(r.advanceMs ?? 0);
        const response = await h.service.check(built);
        expectWellFormed(response);
      }),
      { numRuns: 400 },
    );
  });

  it("random bytes in string fields on the wire (non-UTF-8) decode and get a decision", async () => {
    const { h, secret } = await harnessWithKey();
    const encoded = toBinary(CheckRequestSchema, envoyRequest({ "x-api-key": secret, "x-forwarded-for": "XFFXFF, 10.0.0.7, 10.0.0.2", "user-agent": "UAUAUA" }));
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.constantFrom("XFFXFF", "UAUAUA"), async (bytes, marker) => {
        const wire = Buffer.from(encoded);
        wire.set(bytes, wire.indexOf(marker));
        const response = await h.service.check(fromBinary(CheckRequestSchema, wire));
        expectWellFormed(response);
      }),
      { numRuns: 200 },
    );
  });

  it("a key header with invalid UTF-8 on the wire is a clean API_KEY_INVALID", async () => {
    const { h, secret } = await harnessWithKey();
    const wire = Buffer.from(toBinary(CheckRequestSchema, envoyRequest({ "x-api-key": secret })));
    const at = wire.indexOf(secret);
    wire[at + 10] = 0xff;
    wire[at + 11] = 0xfe;
    const response = await h.service.check(fromBinary(CheckRequestSchema, wire));
    expectWellFormed(response);
    expect(outcomeOf(response)).toBe("API_KEY_INVALID");
  });

  it("no http attributes, no attributes at all", async () => {
    const { h } = await harnessWithKey();
    for (const request of [create(CheckRequestSchema), create(CheckRequestSchema, { attributes: {} }), create(CheckRequestSchema, { attributes: { request: {} } })]) {
      const response = await h.service.check(request);
      expectWellFormed(response);
      expect(outcomeOf(response)).toBe("API_KEY_MISSING");
    }
  });

  it("thousands of headers and 1 MB values", async () => {
    const { h, secret } = await harnessWithKey();
    const many: Record<string, string> = {};
    for (let i = 0; i < 5_000; i++) many[`x-header-${i}`] = `value-${i}`;
    const megabyte = "A".repeat(1024 * 1024);
    const cases: Array<[Record<string, string>, string]> = [
      [{ ...many, "x-api-key": secret, "x-forwarded-for": "1.1.1.1, 10.0.0.7, 10.0.0.2" }, "allowed"],
      [{ "x-api-key": megabyte }, "API_KEY_INVALID"],
      [{ authorization: `Bearer ${megabyte}` }, "API_KEY_INVALID"],
      [{ authorization: megabyte }, "API_KEY_MISSING"],
      [{ "x-api-key": `${secret},`.repeat(20_000) }, "API_KEY_INVALID"],
      [{ "x-api-key": secret, "x-forwarded-for": `${"9.9.9.9,".repeat(100_000)}10.0.0.7, 10.0.0.2` }, "allowed"],
      [{ "x-api-key": secret, "x-forwarded-for": megabyte }, "IP_NOT_ALLOWED"],
      [{ "x-api-key": secret, "x-forwarded-for": "1.1.1.1, 10.0.0.7, 10.0.0.2", "x-http-method-override": "X,".repeat(300_000) }, "allowed"],
    ];
    for (const [headers, expected] of cases) {
      h.clock.advance(1_000);
      const started = performance.now();
      const response = await h.service.check(envoyRequest(headers, { path: `/v1/x?${"q".repeat(1024 * 1024)}` }));
      expectWellFormed(response);
      expect(outcomeOf(response)).toBe(expected);
      expect(performance.now() - started).toBeLessThan(1_000);
    }
    const hugePath = await h.service.check(envoyRequest({ "x-api-key": secret, "x-forwarded-for": "1.1.1.1, 10.0.0.7, 10.0.0.2" }, { path: `/v1/${"a/".repeat(300_000)}` }));
    expectWellFormed(hugePath);
    expect(h.usage.events.every((event) => event.path.length <= 1_024)).toBe(true);
  });

  it("every truncation of a valid key is refused without a store read", async () => {
    const { h, secret } = await harnessWithKey();
    for (let n = 0; n < secret.length; n++) {
      const outcome = outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret.slice(0, n) })));
      expect(outcome).toBe(n === 0 ? "API_KEY_MISSING" : "API_KEY_INVALID");
    }
    expect(h.keyCache.stats).toEqual({ entries: 0, bytes: 0, unknown: 0 });
  });
});
