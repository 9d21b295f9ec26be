import type { Plan } from "../model/plans.js";
import type { ScopeDefinition } from "../model/scopes.js";
import type { KeyEvents } from "../keys/key-events.js";
import { boundedFields, type KeyBound } from "../store/key-bound.js";
import type { Store } from "../store/store.js";
import type { KeyRecord, User } from "../model/records.js";
import { PLATFORM_ADMIN } from "../model/platform.js";
import type { Clock } from "../time/clock.js";
import type { CallerAudit } from "./caller-audit.js";
import type { Caller } from "./caller.js";
import type { ChangeEvents } from "./change-events.js";
import { effectiveLimits } from "./policy.js";

export interface KeyReboundDeps {
  store: Store;
  clock: Clock;
  keyEvents: KeyEvents;
  audit: CallerAudit;
  events: ChangeEvents;
  catalog: readonly ScopeDefinition[];
}

type Owner = Pick<User, "id" | "organizationId" | "limits">;

/**
 * Keeps a user's keys within their limits: when UpdateUser narrows them (max_rate_limit lowered,
 * available_scopes narrowed, can_create_admin_keys off), or an operator moves the organization
 * to a plan with a lower rate, every key the user owns loses the scopes they may no longer hold
 * and has its rate lowered to their bound, at once: KeyEvents drops the old entries from Check's
 * cache and each change is audited in the owner's organization (`key.update`, reason
 * `owner_limits`).
 *
 * The user record is written first and the keys after, so a key written by a request racing
 * the narrowing under the old limits is either seen by the sweep or finds the new limits when it
 * checks afterwards (`settle`), like a removed owner's keys (owner-removal.ts).
 */
export class KeyRebound {
  constructor(private readonly deps: KeyReboundDeps) {}

  /** What the owner's keys may hold under the plan; platform:admin is never the admin API's to take. */
  boundOf(plan: Plan, owner: Owner): KeyBound {
    const limits = effectiveLimits(plan, this.deps.catalog, owner);
    return { scopes: [...limits.heldScopes, PLATFORM_ADMIN], maxPerMinute: limits.maxRateLimitPerMinute };
  }

  /**
   * Brings every key of `owner` within their limits under the plan (default: the caller's, the
   * organization it acts in); returns the keys changed.
   */
  async keysOf(caller: Caller, owner: Owner, plan: Plan = caller.plan): Promise<KeyRecord[]> {
    const updatedAt = new Date(this.deps.clock.now());
    const changed = await this.deps.events.write(
      caller,
      () => this.deps.store.keys.boundKeysOfOwner(owner.organizationId, owner.id, this.boundOf(plan, owner), updatedAt),
      (keys) => keys.map((key) => ({ type: "key.updated" as const, key })),
    );
    for (const key of changed) {
      // The bound changes no secret: the hashes the key is cached under are still these.
      this.deps.keyEvents.changed(key);
      await this.deps.audit.changed(caller, {
        organizationId: owner.organizationId,
        action: "key.update",
        keyId: key.id,
        details: {
          reason: "owner_limits",
          userId: owner.id,
          scopes: key.scopes.join(" "),
          rateLimit: key.rateLimit ? `${key.rateLimit.limit}/${key.rateLimit.period}` : "",
        },
      });
    }
    return changed;
  }

  /** After a write under limits read before it: when the owner's limits narrowed since, the key goes within them now. */
  async settle(caller: Caller, key: KeyRecord, owner: Owner): Promise<KeyRecord> {
    if (key.revokedAt !== null || boundedFields(key, this.boundOf(caller.plan, owner)) === null) return key;
    const changed = await this.keysOf(caller, owner);
    return changed.find((k) => k.id === key.id) ?? (await this.deps.store.keys.findById(key.organizationId, key.id)) ?? key;
  }
}
