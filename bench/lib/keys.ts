import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { isWellFormedSecret, SecretHasher } from "../../src/model/secret.js";
import type { KeyRecord, Organization } from "../../src/model/records.js";

/**
 * The bench's key population, generated identically in the load generator (which needs the
 * secrets) and in each server process (which stores only their hashes): secret i is derived
 * from a seed, so nothing big has to cross a process boundary, and a server's peak RSS is its
 * own, not that of parsing a file of 100,000 records.
 *
 * Roles by index: 0 the allowed key, 1 a key without the scope the request needs, 2 a key
 * limited to one request a day (every request after the first is RATE_LIMITED), 3.. bulk keys
 * shaped like the allowed one. `unknownSecret` is well-formed but never stored.
 */

export const BENCH_PEPPER = "keygate-bench-pepper-not-a-secret-0123456789";
export const REQUIRED_SCOPE = "machines:read";
export const HIT = 0;
export const NO_SCOPE = 1;
export const LIMITED = 2;
export const ROLE_KEYS = 3;
/** Keys per organization in the generated population. */
const KEYS_PER_ORGANIZATION = 100;

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function base62(bytes: Uint8Array, length: number): string {
  let out = "";
  for (let i = 0; out.length < length; i++) out += BASE62[bytes[i % bytes.length]! % 62];
  return out;
}

/** The same checksum as src/model/secret.ts (asserted below with isWellFormedSecret). */
function checksum(randomPart: string): string {
  let value = crc32(randomPart);
  let out = "";
  for (let i = 0; i < 6; i++) {
    out = BASE62[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

export function benchSecret(seed: string, index: number): string {
  const randomPart = base62(createHash("sha256").update(`${seed}/${index}`).digest(), 40);
  const secret = `sk_live_${randomPart}${checksum(randomPart)}`;
  if (!isWellFormedSecret(secret)) throw new Error("bench secret generator disagrees with src/model/secret.ts");
  return secret;
}

export const unknownSecret = (seed: string): string => benchSecret(seed, -1);

/** The allowed key's secret with its last checksum character changed: rejected before any lookup. */
export function malformedSecret(seed: string): string {
  const secret = benchSecret(seed, HIT);
  return secret.slice(0, -1) + (secret.endsWith("A") ? "B" : "A");
}

const fixedId = (kind: string, seed: string, index: number): string =>
  `${kind}_${base62(createHash("sha256").update(`${kind}/${seed}/${index}`).digest(), 26).toUpperCase().replace(/[ILOU]/g, "X")}`;

export interface Population {
  organizations: Organization[];
  keys(): Generator<KeyRecord>;
}

export function population(seed: string, count: number, plan: string, pepper = BENCH_PEPPER): Population {
  const hasher = new SecretHasher(pepper);
  const created = new Date("2026-01-01T00:00:00.000Z");
  const organizationCount = Math.max(1, Math.ceil(count / KEYS_PER_ORGANIZATION));
  const organizations = Array.from({ length: organizationCount }, (_, i) => ({
    id: fixedId("org", seed, i),
    name: `bench org ${i}`,
    plan,
    createdAt: created,
  }));
  function* keys(): Generator<KeyRecord> {
    for (let i = 0; i < count; i++) {
      const secret = benchSecret(seed, i);
      const organizationId = organizations[Math.floor(i / KEYS_PER_ORGANIZATION)]!.id;
      yield {
        id: fixedId("key", seed, i),
        organizationId,
        name: `bench key ${i}`,
        description: "",
        keyPrefix: secret.slice(0, 12),
        secretHash: hasher.hash(secret),
        previousSecret: null,
        environment: "live",
        keyType: "shared",
        ownerUserId: fixedId("user", seed, 0),
        scopes: i === NO_SCOPE ? ["tags:read"] : [REQUIRED_SCOPE, "machines:write", "tags:read"],
        allowIps: [],
        rateLimit: i === LIMITED ? { limit: 1, period: "day" } : { limit: 1_000_000_000, period: "hour" },
        isActive: true,
        revokedAt: null,
        expiresAt: null,
        createdAt: created,
        createdBy: "bootstrap",
        updatedAt: created,
      };
    }
  }
  return { organizations, keys };
}
