import { randomBytes } from "node:crypto";
import { newId } from "../../src/model/ids.js";
import type { KeyRecord } from "../../src/model/records.js";

/** Records for store tests: plausible, complete, and unique where the store requires it. */

export const T0 = new Date("2031-03-01T10:00:00.000Z");

/** A fresh secret hash (the store only ever sees hashes). */
export const hash = (): string => randomBytes(32).toString("hex");

export function aKey(organizationId: string, fields: Partial<KeyRecord> = {}): KeyRecord {
  return {
    id: newId("key"),
    organizationId,
    name: "ci deploy",
    description: "",
    keyPrefix: "sk_test_abc1",
    secretHash: hash(),
    previousSecret: null,
    environment: "test",
    keyType: "user",
    ownerUserId: "user_OWNER",
    scopes: ["machines:read"],
    allowIps: [],
    rateLimit: null,
    isActive: true,
    revokedAt: null,
    expiresAt: null,
    createdAt: T0,
    createdBy: "bootstrap",
    updatedAt: T0,
    ...fields,
  };
}

/** A key with every optional field filled in. */
export const aFullKey = (organizationId: string, fields: Partial<KeyRecord> = {}): KeyRecord =>
  aKey(organizationId, {
    name: "billing export",
    description: "nightly export to the warehouse",
    keyPrefix: "sk_live_Zx9q",
    environment: "live",
    keyType: "shared",
    scopes: ["data:export", "documents:read"],
    allowIps: ["10.0.0.0/8", "2001:db8::/32"],
    rateLimit: { limit: 120, period: "minute" },
    expiresAt: new Date("2032-01-01T00:00:00.000Z"),
    createdBy: "key_CREATOR",
    ...fields,
  });

