import { create, ScalarType, type DescField, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyAdminService } from "../../gen/keygate/v1/key_admin_pb.js";
import { OperatorService } from "../../gen/keygate/v1/operator_pb.js";
import type { Store } from "../../src/store/store.js";
import type { BootstrapResult } from "../../src/tenancy/bootstrap.js";
import { anOperator } from "../admin/clients.js";
import { bearer, startTestApp, type TestApp } from "../support/app.js";

/**
 * Property: whatever field values an admin request carries, the answer is OK or a deliberate
 * error code (never `internal` or `unknown`), and a request that fails writes nothing. Every
 * unary method of KeyAdminService and OperatorService, requests built from their descriptors.
 */

const RUNS_PER_METHOD = 40;
const DELIBERATE = new Set([
  Code.InvalidArgument,
  Code.NotFound,
  Code.AlreadyExists,
  Code.PermissionDenied,
  Code.Unauthenticated,
  Code.ResourceExhausted,
  Code.FailedPrecondition,
  Code.OutOfRange,
  Code.Unimplemented,
]);

function valuesFor(pool: fc.Arbitrary<string>) {
  const text = fc.oneof(
    { weight: 4, arbitrary: pool },
    { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }) },
    { weight: 1, arbitrary: fc.constantFrom("", " ", "x".repeat(5_000), "\u0000", "../", "$where", "{\"$gt\":\"\"}", "__proto__") },
  );
  const int = fc.oneof(fc.constantFrom(0, 1, -1, 2 ** 31 - 1, -(2 ** 31)), fc.integer({ min: -1_000, max: 1_000_000 }));
  const uint = fc.oneof(fc.constantFrom(0, 1, 2 ** 32 - 1), fc.nat({ max: 1_000_000 }));
  const big = fc.oneof(fc.constantFrom(0n, 1n, -1n, 2n ** 62n), fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }));

  function scalar(type: ScalarType): fc.Arbitrary<unknown> {
    switch (type) {
      case ScalarType.STRING:
        return text;
      case ScalarType.BOOL:
        return fc.boolean();
      case ScalarType.BYTES:
        return fc.uint8Array({ maxLength: 16 });
      case ScalarType.DOUBLE:
      case ScalarType.FLOAT:
        return fc.oneof(fc.double({ noNaN: false }), fc.constantFrom(0, -1, 1e12));
      case ScalarType.INT64:
      case ScalarType.SINT64:
      case ScalarType.SFIXED64:
        return big;
      case ScalarType.UINT64:
      case ScalarType.FIXED64:
        return fc.oneof(fc.constantFrom(0n, 1n), fc.bigInt({ min: 0n, max: 2n ** 40n }));
      case ScalarType.UINT32:
      case ScalarType.FIXED32:
        return uint;
      default:
        return int;
    }
  }

  function single(field: DescField, depth: number): fc.Arbitrary<unknown> {
    if (field.fieldKind === "scalar") return scalar(field.scalar);
    if (field.fieldKind === "enum") return fc.oneof(fc.constantFrom(...field.enum.values.map((v) => v.number)), fc.constant(99));
    if (field.fieldKind === "message") return message(field.message, depth + 1);
    if (field.fieldKind === "list") {
      const item =
        field.listKind === "scalar"
          ? scalar(field.scalar)
          : field.listKind === "enum"
            ? fc.constantFrom(...field.enum.values.map((v) => v.number))
            : message(field.message, depth + 1);
      return fc.array(item, { maxLength: 4 });
    }
    return fc.constant({});
  }

  function message(desc: DescMessage, depth: number): fc.Arbitrary<Record<string, unknown>> {
    if (depth > 3) return fc.constant({});
    const parts: Record<string, fc.Arbitrary<unknown>> = {};
    for (const field of desc.fields) if (field.oneof === undefined) parts[field.localName] = single(field, depth);
    for (const oneof of desc.oneofs) {
      parts[oneof.localName] = fc.oneof(
        fc.constant({ case: undefined }),
        ...oneof.fields.map((field) => single(field, depth).map((value) => ({ case: field.localName, value }))),
      );
    }
    return fc.record(parts, { requiredKeys: [] });
  }

  return (desc: DescMessage) => message(desc, 0);
}

async function snapshot(store: Store, organizationIds: string[]): Promise<string> {
  const state: unknown[] = [await store.organizations.count()];
  for (const organizationId of organizationIds) {
    state.push(await store.keys.list(organizationId, { limit: 10_000 }));
    state.push(await store.users.listByOrganization(organizationId, { limit: 10_000 }));
    state.push(await store.organizations.findById(organizationId));
  }
  // Usage bookkeeping (last use) is not what a failed request could have written.
  return JSON.stringify(state, (name, value: unknown) => (name === "lastUsedAt" ? undefined : value));
}

describe("admin requests with random field values", () => {
  let t: TestApp;
  let operator: BootstrapResult;
  let pool: fc.Arbitrary<string>;

  beforeAll(async () => {
    t = await startTestApp({ env: { KEYGATE_ADMIN_REQUESTS_PER_MINUTE: "0", KEYGATE_FAILED_KEY_ATTEMPTS_PER_MINUTE: "0" } });
    operator = await anOperator(t);
    const victims = await Promise.all([0, 1, 2].map((i) => t.client.createKey({ name: `victim ${i}`, scopes: ["machines:read"] })));
    const other = await t.anotherOrganization();
    // Ids that exist (never the callers' own keys or owners: the run must keep its callers), and
    // values that are valid somewhere.
    pool = fc.constantFrom(
      ...victims.map((v) => v.key!.id),
      other.key.id,
      other.organization.id,
      t.admin.organization.id,
      "key_00000000000000000000000000",
      "user_does_not_exist",
      ...t.config.scopes.map((s) => s.name),
      "machines:*",
      "10.0.0.0/8",
      "2001:db8::/32",
      "300.1.1.1/33",
      "free",
      "pro",
      "2026-11",
      "2026-11-23",
      "owner",
      "admin",
      "member",
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  const services: [DescService, () => string][] = [
    [KeyAdminService, () => t.admin.secret],
    [OperatorService, () => operator.secret],
  ];
  for (const [service, secretOf] of services) {
    for (const method of service.methods.filter((m) => m.methodKind === "unary")) {
      it(`${service.name}.${method.name}: a deliberate code, and nothing written when it fails`, async () => {
        const client = createClient(
          service,
          createConnectTransport({ baseUrl: t.app.url, httpVersion: "1.1", interceptors: [bearer(secretOf())] }),
        ) as unknown as Record<string, (request: unknown) => Promise<unknown>>;
        const organizationIds = [t.admin.organization.id, operator.organization.id];
        await fc.assert(
          fc.asyncProperty(valuesFor(pool)(method.input), async (init) => {
            const request = create(method.input, init as never);
            const before = await snapshot(t.store, organizationIds);
            let code: Code | "ok" = "ok";
            try {
              await client[method.localName]!(request);
            } catch (error) {
              code = ConnectError.from(error).code;
            }
            if (code === "ok") return;
            expect(DELIBERATE.has(code), `${method.name} answered ${Code[code]}`).toBe(true);
            expect(await snapshot(t.store, organizationIds)).toBe(before);
          }),
          { numRuns: RUNS_PER_METHOD },
        );
      });
    }
  }
});
