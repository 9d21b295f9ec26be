import { hashesOf } from "../model/key-hashes.js";
import type { KeyRecord } from "../model/records.js";
import type { Environment } from "../model/secret.js";

/**
 * What is kept of a deleted key, so that a leak report naming its secret (src/leaks/) is still
 * recognised as keygate's: a true positive that changes nothing, and the customer is told. Only
 * the secret hashes the key was already stored with (HMAC, never a secret) and its public fields,
 * which say which key it was. KeyRepository.delete writes it in the same atomic step as the delete.
 */
export interface DeletedKey {
  id: string;
  organizationId: string;
  name: string;
  keyPrefix: string;
  environment: Environment;
  /** The hashes the key answered to when it was deleted: its secret's and, in a grace period, the previous one's. */
  secretHashes: string[];
  /** Stamped by the store when it deleted the key. */
  deletedAt: Date;
}

/**
 * How long a deleted key is remembered. A leak found after that is a false positive, which is
 * harmless (the secret opens nothing); within it the customer hears of it. GitHub reports within
 * seconds of a push, but a secret also leaks later, through a fork or a mirror of the repository
 * it was deleted for, or when someone publishes an old `.env`: 90 days covers those, and the
 * store holds a few hundred bytes per key deleted in that time (MongoDB drops older ones by a TTL
 * index, the embedded store as it writes).
 */
export const DELETED_KEY_RETENTION_MS = 90 * 24 * 60 * 60 * 1000;

export interface DeletedKeyRepository {
  /** The key deleted within the retention that had this secret hash; null when there is none. */
  findByHash(secretHash: string): Promise<DeletedKey | null>;
}

export function deletedKeyOf(key: KeyRecord, deletedAt: Date): DeletedKey {
  return {
    id: key.id,
    organizationId: key.organizationId,
    name: key.name,
    keyPrefix: key.keyPrefix,
    environment: key.environment,
    secretHashes: hashesOf(key),
    deletedAt,
  };
}
