import type { Store } from "../store/store.js";
import { SealedSecretError, type SecretEncryption } from "../crypto/secret-encryption.js";

/** A sealed secret this run could not open: its key stays as it is (and is still not readable). */
export interface UnreadableSecret {
  organizationId: string;
  keyId: string;
  sealedWith: string;
  reason: string;
}

export interface ReencryptReport {
  /** Sealed again under the current encryption key. */
  resealed: number;
  /** Changed by a RegenerateKey, revoke or delete between read and write: nothing to do for them. */
  changedMeanwhile: number;
  /** With --dry-run: how many would be resealed. */
  pending: number;
  unreadable: UnreadableSecret[];
}

export interface ReencryptOptions {
  batchSize?: number;
  dryRun?: boolean;
}

/**
 * Re-seals every recoverable secret that is not under the current encryption key, in key id
 * order, a batch at a time. Safe beside running servers: each swap is conditional on the sealed
 * secret still being the one read (the nonce), so a RegenerateKey in between wins; and safe to
 * run again after an interruption, since resealed keys no longer match. Secrets stay in memory
 * only for the moment of resealing and are never returned or logged.
 */
export async function reencryptSecrets(
  store: Pick<Store, "keys">,
  encryption: SecretEncryption,
  options: ReencryptOptions = {},
): Promise<ReencryptReport> {
  const batchSize = options.batchSize ?? 500;
  const report: ReencryptReport = { resealed: 0, changedMeanwhile: 0, pending: 0, unreadable: [] };
  let afterId: string | undefined;
  for (;;) {
    const page = await store.keys.listSealedNotWith(encryption.currentKeyId, {
      limit: batchSize,
      ...(afterId === undefined ? {} : { afterId }),
    });
    for (const key of page) {
      const sealed = key.encryptedSecret!;
      let next;
      try {
        next = encryption.reseal(sealed, key.id);
      } catch (error) {
        if (!(error instanceof SealedSecretError)) throw error;
        report.unreadable.push({ organizationId: key.organizationId, keyId: key.id, sealedWith: sealed.keyId, reason: error.message });
        continue;
      }
      if (options.dryRun) {
        report.pending++;
        continue;
      }
      if (await store.keys.replaceSealedSecret(key.organizationId, key.id, sealed.nonce, next)) report.resealed++;
      else report.changedMeanwhile++;
    }
    if (page.length < batchSize) return report;
    afterId = page[page.length - 1]!.id;
  }
}
