import type { KeyEvents } from "../keys/key-events.js";
import type { GuardedRevokeOutcome, Store } from "../store/store.js";
import { asSeen } from "../store/key-as-seen.js";
import type { KeyRecord } from "../model/records.js";
import type { Clock } from "../time/clock.js";
import type { CallerAudit } from "./caller-audit.js";
import type { Caller } from "./caller.js";
import type { ChangeEvents } from "./change-events.js";

export interface KeyRevocationDeps {
  store: Store;
  clock: Clock;
  keyEvents: KeyEvents;
  audit: CallerAudit;
  events: ChangeEvents;
}

/**
 * Revoking a key the policy has let the caller revoke: the one implementation behind
 * KeyAdminService.RevokeKey and OperatorService.RevokeOperatorKey. The write carries the key as
 * the decision saw it (a changed key throws KeyChangedError: decide again, decided-on-current-key.ts). Check's cache drops the key at
 * once; only the call that actually revoked it is audited and makes a `key.revoked` event, written
 * with the revocation (repeats answer the first revocation).
 */
export class KeyRevocation {
  constructor(private readonly deps: KeyRevocationDeps) {}

  /** The key as revoked; null when it is gone. */
  async revoke(caller: Caller, key: KeyRecord, reason: string): Promise<KeyRecord | null> {
    const now = this.deps.clock.now();
    const revoked = await this.deps.events.write(
      caller,
      () => this.deps.store.keys.revoke(key.organizationId, key.id, new Date(now), asSeen(key)),
      (written) => (written && revokedNow(written, now) ? [{ type: "key.revoked", key: written, reason }] : []),
    );
    return revoked && this.#revoked(caller, revoked, now, reason);
  }

  /**
   * Like revoke, but never the organization's last usable key holding `scope` (decided by the
   * store in one step, so two racing calls cannot revoke the last two).
   */
  async revokeUnlessLastHolder(caller: Caller, key: KeyRecord, reason: string, scope: string): Promise<GuardedRevokeOutcome> {
    const now = this.deps.clock.now();
    const outcome = await this.deps.events.write(
      caller,
      () => this.deps.store.keys.revokeUnlessLastHolder(key.organizationId, key.id, scope, new Date(now)),
      (written) => (written.ok && revokedNow(written.key, now) ? [{ type: "key.revoked", key: written.key, reason }] : []),
    );
    return outcome.ok ? { ok: true, key: await this.#revoked(caller, outcome.key, now, reason) } : outcome;
  }

  async #revoked(caller: Caller, revoked: KeyRecord, now: number, reason: string): Promise<KeyRecord> {
    this.deps.keyEvents.changed(revoked);
    if (revokedNow(revoked, now)) await this.deps.audit.changed(caller, { action: "key.revoke", keyId: revoked.id, details: { reason } });
    return revoked;
  }
}

/** This call revoked it (a key revoked before keeps its first revocation's time). */
const revokedNow = (key: KeyRecord, now: number): boolean => key.revokedAt?.getTime() === now;
