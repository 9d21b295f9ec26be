import { ADMIN_SCOPES } from "../model/scopes.js";
import type { KeyEvents } from "../keys/key-events.js";
import type { KeyPatch, Store, UpdateKeyOutcome } from "../store/store.js";
import type { KeyRecord } from "../model/records.js";
import type { Clock } from "../time/clock.js";
import type { CallerAudit } from "./caller-audit.js";
import type { Caller } from "./caller.js";
import type { ChangeEvents } from "./change-events.js";

/** What became of a removed user's keys. */
export interface SettledKeys {
  /** `user` keys disabled now (revoked ones and ones already disabled are left as they are). */
  disabled: string[];
  /** `shared` keys now owned by `successor`. */
  transferred: string[];
  /** The organization's first owner or admin, or "" when no key needed one. */
  successor: string;
}

export interface OwnerRemovalDeps {
  store: Store;
  clock: Clock;
  keyEvents: KeyEvents;
  audit: CallerAudit;
  events: ChangeEvents;
}

const PAGE = 500;
/** Handing a removed user's shared key on is no new key: the receiver's key limit does not apply. */
const UNBOUNDED = { organizationMax: Number.MAX_SAFE_INTEGER, userMax: Number.MAX_SAFE_INTEGER };

/**
 * The keys of a removed user. Their `user` keys stop working at once: the store marks each
 * disabled and KeyEvents drops it from Check's cache. Their `shared` keys belong to a team rather
 * than a person, so they pass to the organization's first owner or admin, without their admin
 * scopes (the removed user still knows the secret). Every change is audited with reason
 * `owner_removed`, and makes a `key.updated` event written with it.
 *
 * The user record goes first and the keys after, so a key given to the user by a request racing
 * the removal is either seen by the sweep or finds its owner gone when it checks afterwards
 * (`settleIfOwnerRemoved`).
 */
export class OwnerRemoval {
  constructor(private readonly deps: OwnerRemovalDeps) {}

  async settleKeysOf(caller: Caller, organizationId: string, removedUserId: string): Promise<SettledKeys> {
    const settled: SettledKeys = { disabled: [], transferred: [], successor: "" };
    let afterId: string | undefined;
    for (;;) {
      const page = await this.deps.store.keys.list(organizationId, {
        ownerUserId: removedUserId,
        limit: PAGE,
        ...(afterId === undefined ? {} : { afterId }),
      });
      for (const key of page) await this.#settle(caller, key, settled);
      if (page.length < PAGE) return settled;
      afterId = page[page.length - 1]!.id;
    }
  }

  /** After a write that named `key.ownerUserId` as owner: when that user is gone, settle the key. */
  async settleIfOwnerRemoved(caller: Caller, key: KeyRecord): Promise<KeyRecord> {
    if (key.revokedAt !== null || (await this.deps.store.users.findById(key.organizationId, key.ownerUserId))) return key;
    return (await this.#settle(caller, key, { disabled: [], transferred: [], successor: "" })) ?? key;
  }

  async #settle(caller: Caller, key: KeyRecord, settled: SettledKeys): Promise<KeyRecord | undefined> {
    if (key.revokedAt !== null) return undefined;
    const updatedAt = new Date(this.deps.clock.now());
    const details = { reason: "owner_removed", userId: key.ownerUserId };
    if (key.keyType === "user") {
      if (!key.isActive) return undefined;
      const outcome = await this.#update(caller, key, { isActive: false, updatedAt });
      if (!outcome.ok) return undefined;
      this.deps.keyEvents.changed(outcome.key);
      settled.disabled.push(key.id);
      await this.deps.audit.changed(caller, { organizationId: key.organizationId, action: "key.disable", keyId: key.id, details });
      return outcome.key;
    }
    settled.successor ||= await this.#successor(key.organizationId, key.ownerUserId);
    if (settled.successor === "") return undefined;
    // The removed user still knows the secret, and on the admin API a key acts with its owner's
    // role: left as they are, its admin scopes would let them act as the successor (an owner,
    // say) after their own removal. The key keeps serving Check; admin rights on it are the
    // successor's to grant again.
    const scopes = key.scopes.filter((scope) => !ADMIN_SCOPES.includes(scope));
    const adminScopesTaken = scopes.length < key.scopes.length;
    const patch = { ownerUserId: settled.successor, updatedAt, ...(adminScopesTaken && { scopes }) };
    const outcome = await this.#update(caller, key, patch);
    if (!outcome.ok) return undefined;
    this.deps.keyEvents.changed(outcome.key);
    settled.transferred.push(key.id);
    await this.deps.audit.changed(caller, {
      organizationId: key.organizationId,
      action: "key.update",
      keyId: key.id,
      details: { ...details, fields: adminScopesTaken ? "owner_user_id,scopes" : "owner_user_id", ownerUserId: settled.successor },
    });
    return outcome.key;
  }

  /** The key's change, and its event when it was made. */
  #update(caller: Caller, key: KeyRecord, patch: KeyPatch): Promise<UpdateKeyOutcome> {
    return this.deps.events.write(
      caller,
      () => this.deps.store.keys.update(key.organizationId, key.id, patch, UNBOUNDED),
      (outcome) => (outcome.ok ? [{ type: "key.updated", key: outcome.key }] : []),
    );
  }

  /** The organization's first owner or admin (in creation order), other than the removed user. */
  async #successor(organizationId: string, removedUserId: string): Promise<string> {
    let afterId: string | undefined;
    for (;;) {
      const users = await this.deps.store.users.listByOrganization(organizationId, {
        limit: PAGE,
        ...(afterId === undefined ? {} : { afterId }),
      });
      const first = users.find((user) => user.id !== removedUserId && (user.role === "owner" || user.role === "admin"));
      if (first) return first.id;
      if (users.length < PAGE) return "";
      afterId = users[users.length - 1]!.id;
    }
  }
}
