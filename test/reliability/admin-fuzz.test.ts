import { create, ScalarType, type DescField, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { KeyAdminService, type WatchUsageResponse } from "../../gen/keygate/v1/key_admin_pb.js";
import { OperatorService } from "../../gen/keygate/v1/operator_pb.js";
import type { App } from "../../src/app.js";
import type { Store } from "../../src/store/store.js";
import type { BootstrapResult } from "../../src/tenancy/bootstrap.js";
import { failure } from "../admin/answers.js";
import { anOperator } from "../admin/clients.js";
import { bearer, startTestApp, type TestApp } from "../support/app.js";
import { settled, watchIntervalsFromNow } from "../admin/usage/watch-usage-leaks.js";

/**
 * Property: whatever field values an admin request carries, the answer is OK or a deliberate
 * error code (never `internal` or `unknown`), and a request that fails writes nothing. Every
 * unary method of KeyAdminService and OperatorService, requests built from their descriptors;
 * and the one server stream, WatchUsage: a deliberate code (naming the field when the argument
 * is invalid) or a stream that can be read and cancelled, which the server then ends too,
 * leaving no flush listener or heartbeat timer behind.
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

/** How the server ended WatchUsage calls so far (the admin RPC metric), by code. */
async function watchUsageEndings(app: App): Promise<Record<string, number>> {
  const metric = await app.metrics.registry.getSingleMetric("keygate_admin_rpcs_total")!.get();
  return byCode(metric.values.filter((v) => v.labels["method"] === "WatchUsage").map((v) => [String(v.labels["code"]), v.value]));
}

const byCode = (counts: Iterable<[string, number]>): Record<string, number> => Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b)));

describe("admin requests with random field values", () => {
  let t: TestApp;
  let operator: BootstrapResult;
  let pool: fc.Arbitrary<string>;
  /** Key ids every stream property tries besides the random ones: the org's own, another org's. */
  let watchedKeyIds: string[];

  beforeAll(async () => {
    t = await startTestApp({ env: { KEYGATE_ADMIN_REQUESTS_PER_MINUTE: "0", KEYGATE_FAILED_KEY_ATTEMPTS_PER_MINUTE: "0" } });
    operator = await anOperator(t);
    const victims = await Promise.all([0, 1, 2].map((i) => t.client.createKey({ name: `victim ${i}`, scopes: ["machines:read"] })));
    const other = await t.anotherOrganization();
    watchedKeyIds = [victims[0]!.key!.id, other.key.id];
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

  it("every other method is a server stream fuzzed below", () => {
    const streams = services.flatMap(([service]) => service.methods.filter((m) => m.methodKind !== "unary").map((m) => `${service.name}.${m.name}`));
    expect(streams).toEqual(["KeyAdminService.WatchUsage"]);
  });

  it("KeyAdminService.WatchUsage: a deliberate code naming its field, or a stream read and cancelled cleanly; nothing left behind", async () => {
    const method = KeyAdminService.method.watchUsage;
    const fields = method.input.fields.map((field) => field.name);
    const client = createClient(KeyAdminService, createConnectTransport({ baseUrl: t.app.url, httpVersion: "1.1", interceptors: [bearer(t.admin.secret)] }));
    const heartbeats = watchIntervalsFromNow();
    const leftBehind = () => ({ flushListeners: t.app.usage.recorder.listenerCount, heartbeats: heartbeats() });
    const baseline = leftBehind();
    try {
      await fc.assert(
        fc.asyncProperty(valuesFor(pool)(method.input), async (init) => {
          const request = create(method.input, init as never);
          const before = await snapshot(t.store, [t.admin.organization.id]);
          const endings = await watchUsageEndings(t.app);
          const cancel = new AbortController();
          const events = client.watchUsage(request, { signal: cancel.signal })[Symbol.asyncIterator]();
          const first = events.next();
          let ended: string;
          if (await first.then(() => true, () => false)) {
            try {
              // Today's snapshot, for what was asked: the key, or the organization ("").
              expect(((await first).value as WatchUsageResponse).keyId).toBe(request.keyId);
            } finally {
              cancel.abort();
            }
            expect((await failure(events.next())).code).toBe(Code.Canceled);
            ended = Code[Code.Canceled];
          } else {
            const { code, field, message } = await failure(first);
            expect(DELIBERATE.has(code), `WatchUsage answered ${Code[code]}: ${message}`).toBe(true);
            if (code === Code.InvalidArgument) {
              expect(fields).toContain(field);
              expect(message).toContain(field);
            }
            expect(await snapshot(t.store, [t.admin.organization.id])).toBe(before);
            ended = Code[code];
          }
          // The server ended the call the same way, and dropped its listener and timer.
          const expected = byCode(Object.entries({ ...endings, [ended]: (endings[ended] ?? 0) + 1 }));
          expect(await settled(() => watchUsageEndings(t.app), expected)).toEqual(expected);
          expect(await settled(leftBehind, baseline)).toEqual(baseline);
        }),
        {
          numRuns: RUNS_PER_METHOD,
          // Each outcome at least once, whatever the random values: the organization, one key, not found.
          examples: [[{}], ...watchedKeyIds.map((keyId) => [{ keyId }] as [Record<string, unknown>])],
        },
      );
    } finally {
      vi.restoreAllMocks();
    }
  });
});
