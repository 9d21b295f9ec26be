import type { KeyEvents } from "../keys/key-events.js";
import type { GuardedRevokeOutcome, Store } from "../store/store.js";
import { asSeen } from "../store/key-as-seen.js";
import type { KeyRecord } from "../model/records.js";
import type { Clock } from "../time/clock.js";
import type { CallerAudit } from "./caller-audit.js";
import type { Caller } from "./caller.js";

export interface KeyRevocationDeps {
  store: Store;
  clock: Clock;
  keyEvents: KeyEvents;
  audit: CallerAudit;
}

/**
 * Revoking a key the policy has let the caller revoke: the one implementation behind
 * KeyAdminService.RevokeKey and OperatorService.RevokeOperatorKey. The write carries the key as
 * the decision saw it (a changed key throws KeyChangedError: decide again, decided-on-current-key.ts). Check's cache drops the key at
 * once; only the call that actually revoked it is audited (repeats answer the first revocation).
 */
export class KeyRevocation {
  constructor(private readonly deps: KeyRevocationDeps) {}

  /** The key as revoked; null when it is gone. */
  async revoke(caller: Caller, key: KeyRecord, reason: string): Promise<KeyRecord | null> {
    const now = this.deps.clock.now();
    const revoked = await this.deps.store.keys.revoke(key.organizationId, key.id, new Date(now), asSeen(key));
    return revoked && this.#revoked(caller, revoked, now, reason);
  }

  /**
   * Like revoke, but never the organization's last usable key holding `scope` (decided by the
   * store in one step, so two racing calls cannot revoke the last two).
   */
  async revokeUnlessLastHolder(caller: Caller, key: KeyRecord, reason: string, scope: string): Promise<GuardedRevokeOutcome> {
    const now = this.deps.clock.now();
    const outcome = await this.deps.store.keys.revokeUnlessLastHolder(key.organizationId, key.id, scope, new Date(now));
    return outcome.ok ? { ok: true, key: await this.#revoked(caller, outcome.key, now, reason) } : outcome;
  }

  async #revoked(caller: Caller, revoked: KeyRecord, now: number, reason: string): Promise<KeyRecord> {
    this.deps.keyEvents.changed(revoked);
    if (revoked.revokedAt?.getTime() === now) await this.deps.audit.changed(caller, { action: "key.revoke", keyId: revoked.id, details: { reason } });
    return revoked;
  }
}
