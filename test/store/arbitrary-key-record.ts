import fc from "fast-check";
import { newId } from "../../src/model/ids.js";
import type { KeyRecord, RateLimitPeriod } from "../../src/model/records.js";
import type { CreditRefill } from "../../src/model/identities.js";

/**
 * Any KeyRecord a store may be given: every optional and nullable field both ways, dates across
 * the whole range (and invalid ones), strings of any characters (and ids and hashes of their usual shapes), lists with repeats, rate limits
 * of any number. Small pools for the shared fields, so generated keys share some of them as keys do.
 */
const date = fc.date();
const period = fc.constantFrom<RateLimitPeriod[]>("second", "minute", "hour", "day");
const pooled = (prefix: string): fc.Arbitrary<string> => fc.oneof(fc.string(), fc.constantFrom(`${prefix}_a`, `${prefix}_b`));
const list: fc.Arbitrary<string[]> = fc.oneof(
  fc.array(fc.string(), { maxLength: 4 }),
  fc.constantFrom(["machines:read"], [], ["a", "a"]).map((shared) => [...shared]),
);

export const arbitraryKeyRecord: fc.Arbitrary<KeyRecord> = fc
  .record({
    id: fc.oneof(fc.string(), fc.constant(null).map(() => newId("key"))),
    organizationId: pooled("org"),
    name: fc.string({ unit: "grapheme" }),
    description: fc.string({ unit: "binary" }),
    keyPrefix: fc.string(),
    secretHash: fc.oneof(fc.string(), fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString("base64url"))),
    previousSecret: fc.option(fc.record({ hash: fc.string(), expiresAt: date })),
    environment: fc.constantFrom<KeyRecord["environment"][]>("live", "test"),
    keyType: fc.constantFrom<KeyRecord["keyType"][]>("user", "shared"),
    ownerUserId: pooled("user"),
    scopes: list,
    allowIps: list,
    rateLimit: fc.option(fc.record({ limit: fc.oneof(fc.nat(), fc.double()), period })),
    isActive: fc.boolean(),
    revokedAt: fc.option(date),
    expiresAt: fc.option(date),
    createdAt: date,
    createdBy: pooled("key"),
    updatedAt: date,
    encryptedSecret: fc.option(
      fc.record({ version: fc.constant(1 as const), keyId: pooled("ek"), nonce: fc.string(), ciphertext: fc.string() }),
      { nil: undefined },
    ),
    // A key without named limits, credits or an identity has none of the fields (an empty list or id is none).
    limits: fc.option(fc.array(fc.record({ name: fc.string(), limit: fc.nat(), period: period }), { minLength: 1, maxLength: 3 }), { nil: undefined }),
    credits: fc.option(
      fc.record({
        remaining: fc.nat(),
        refill: fc.option(fc.record({ amount: fc.nat(), interval: fc.constantFrom<CreditRefill["interval"][]>("daily", "monthly"), day: fc.nat({ max: 31 }) })),
        setAt: date,
      }),
      { nil: undefined },
    ),
    identityId: fc.option(fc.oneof(fc.string({ minLength: 1 }), fc.constantFrom("idt_a", "idt_b")), { nil: undefined }),
  })
  .map(({ encryptedSecret, limits, credits, identityId, ...key }) => ({
    ...key,
    ...(encryptedSecret !== undefined && { encryptedSecret }),
    ...(limits !== undefined && { limits }),
    ...(credits !== undefined && { credits }),
    ...(identityId !== undefined && { identityId }),
  }));
