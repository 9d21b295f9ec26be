import type { SecretEncryption } from "../crypto/secret-encryption.js";
import type { KeyEvents } from "../keys/key-events.js";
import { generateSecret, keyPrefixOf, type SecretHasher } from "../model/secret.js";
import { asSeen } from "../store/key-as-seen.js";
import type { Store } from "../store/store.js";
import type { KeyRecord } from "../model/records.js";
import type { Clock } from "../time/clock.js";
import type { CallerAudit } from "./caller-audit.js";
import type { Caller } from "./caller.js";
import type { ChangeEvents } from "./change-events.js";
import { fieldError, keyNotFound, preconditionFailed } from "./errors.js";
import { expiryOnRegenerate } from "./keys/key-lifetime.js";

export interface KeyRegenerationDeps {
  store: Store;
  hasher: SecretHasher;
  clock: Clock;
  keyEvents: KeyEvents;
  audit: CallerAudit;
  events: ChangeEvents;
  /** Seals recoverable keys' secrets; absent when the server has no KEYGATE_ENCRYPTION_KEY. */
  encryption?: SecretEncryption | undefined;
}

/**
 * A new secret for a key the policy has let the caller regenerate: the one implementation behind
 * KeyAdminService.RegenerateKey and OperatorService.RegenerateOperatorKey, so an operator key
 * rotates exactly like any other. The old secret keeps working for the grace period (0: not at
 * all), a recoverable key stays recoverable, Check's cache drops the old entries, the change is
 * audited in the caller's organization, and its `key.rotated` event is written with it. The new
 * secret is returned once and kept nowhere.
 */
export class KeyRegeneration {
  constructor(private readonly deps: KeyRegenerationDeps) {}

  async regenerate(caller: Caller, current: KeyRecord, graceSeconds: number): Promise<{ key: KeyRecord; secret: string }> {
    const { deps } = this;
    if (current.revokedAt !== null) throw fieldError("id", "the key is revoked and cannot be regenerated");
    if (current.encryptedSecret && !deps.encryption) {
      throw preconditionFailed("id", "the key is recoverable and this server has no KEYGATE_ENCRYPTION_KEY to seal its new secret");
    }
    const now = deps.clock.now();
    const secret = generateSecret(current.environment);
    const expiresAt = expiryOnRegenerate(caller.organization, now);
    const replacement = {
      secretHash: deps.hasher.hash(secret),
      keyPrefix: keyPrefixOf(secret),
      previousSecretExpiresAt: graceSeconds > 0 ? new Date(now + graceSeconds * 1000) : null,
      // A recoverable key stays recoverable: its new secret is sealed in the same write.
      encryptedSecret: current.encryptedSecret && deps.encryption ? deps.encryption.seal(secret, current.id) : null,
      // Under a maximum key lifetime the new secret lives that long (keys/key-lifetime.ts).
      ...(expiresAt !== undefined && { expiresAt }),
      updatedAt: new Date(now),
    };
    const rotated = await deps.events.write(
      caller,
      () => deps.store.keys.replaceSecret(current.organizationId, current.id, replacement, asSeen(current)),
      (written) => (written ? [{ type: "key.rotated", key: written }] : []),
    );
    if (!rotated) throw keyNotFound(current.id);
    // The cached entries of the secrets the key answered to before the change give way to the new one.
    deps.keyEvents.changed(rotated, current);
    await deps.audit.changed(caller, { action: "key.regenerate", keyId: rotated.id, details: { gracePeriodSeconds: String(graceSeconds) } });
    return { key: rotated, secret };
  }
}
