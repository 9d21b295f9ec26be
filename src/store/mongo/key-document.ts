import type { KeyPatch } from "../store.js";
import type { KeyRecord, SealedSecret } from "../../model/records.js";
import { toCredits, toNamedLimits } from "./identity-fields.js";
import type { StoredRecord } from "./documents.js";

/**
 * A key as stored: the record with its id as `_id`, dates as BSON dates; while a
 * revokeUnlessLastHolder call is deciding about it, that call's claim.
 */
export type KeyDocument = StoredRecord<KeyRecord> & { revocationClaim?: RevocationClaim };

/**
 * Set on a key by revokeUnlessLastHolder before it looks for another holder, and taken off when
 * it is done: a claimed key does not count as the other holder of a racing call. A claim left by
 * a call that died counts for CLAIM_MS only (key-repository.ts).
 */
export interface RevocationClaim {
  token: string;
  at: Date;
}

/** Field by field, so nothing but the record's own fields ever leaves the store. */
export function toRecord(doc: KeyDocument): KeyRecord {
  return {
    id: doc._id,
    organizationId: doc.organizationId,
    name: doc.name,
    description: doc.description,
    keyPrefix: doc.keyPrefix,
    secretHash: doc.secretHash,
    previousSecret: doc.previousSecret && { hash: doc.previousSecret.hash, expiresAt: doc.previousSecret.expiresAt },
    environment: doc.environment,
    keyType: doc.keyType,
    ownerUserId: doc.ownerUserId,
    scopes: doc.scopes,
    allowIps: doc.allowIps,
    rateLimit: doc.rateLimit && { limit: doc.rateLimit.limit, period: doc.rateLimit.period },
    isActive: doc.isActive,
    revokedAt: doc.revokedAt,
    expiresAt: doc.expiresAt,
    createdAt: doc.createdAt,
    createdBy: doc.createdBy,
    updatedAt: doc.updatedAt,
    ...(doc.encryptedSecret && { encryptedSecret: toSealedSecret(doc.encryptedSecret) }),
    // An update that removes one stores null: null and absent are both none.
    ...(doc.limits?.length && { limits: toNamedLimits(doc.limits) }),
    ...(doc.credits && { credits: toCredits(doc.credits) }),
    ...(doc.identityId && { identityId: doc.identityId }),
  };
}

const toSealedSecret = (sealed: SealedSecret): SealedSecret => ({
  version: sealed.version,
  keyId: sealed.keyId,
  nonce: sealed.nonce,
  ciphertext: sealed.ciphertext,
});

/** Every field UpdateKey may set; the type makes this list follow KeyPatch. */
const PATCHABLE: Record<keyof KeyPatch, true> = {
  name: true,
  description: true,
  scopes: true,
  allowIps: true,
  rateLimit: true,
  expiresAt: true,
  isActive: true,
  ownerUserId: true,
  limits: true,
  credits: true,
  identityId: true,
  updatedAt: true,
};

/** The `$set` for a patch: present fields only (`undefined` is absent, `null` clears). */
export function changesOf(patch: KeyPatch): Partial<KeyDocument> {
  const changes: Record<string, unknown> = {};
  for (const field of Object.keys(PATCHABLE) as (keyof KeyPatch)[]) {
    if (patch[field] !== undefined) changes[field] = patch[field];
  }
  return changes as Partial<KeyDocument>;
}
