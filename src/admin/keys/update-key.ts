import { create } from "@bufbuild/protobuf";
import { RateLimitPeriod as RateLimitPeriodEnum, UpdateKeyResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import { asSeen } from "../../store/key-as-seen.js";
import { boundRateLimit, rateWithin } from "../../store/key-bound.js";
import type { KeyPatch } from "../../store/store.js";
import { callerOf } from "../caller.js";
import { publicFieldsChanged } from "../change-events.js";
import { decidedOnCurrentKey } from "../decided-on-current-key.js";
import { adminError, fieldError, keyNotFound } from "../errors.js";
import { effectiveLimits, keyRateBound, mayGiveRate, mayGrantScopes, mayNameOwner, ownerMayHold } from "../policy.js";
import {
  boundedByDefault,
  periodOf,
  requiredId,
  validAllowIps,
  validDescription,
  validExpiry,
  validName,
  validRateLimit,
  validScopes,
} from "../validation.js";
import type { KeyAdminHandler, AdminParts } from "../admin-parts.js";
import { checkExpiryOnUpdate } from "./key-lifetime.js";
import { existingKey, ownerIn } from "./key-lookups.js";
import { withUsage } from "./keys-with-usage.js";
import { mayActOn } from "./may-act-on.js";
import { settled } from "./settled-key.js";
import { checkLimitsForNewOwner, keyNamedLimits, tieToIdentity } from "./key-metering.js";
import { validCredits } from "../credits-fields.js";

/**
 * UpdateKey: only the fields present change. A new owner, scopes or rate are weighed by the
 * policy against the key as it is when written (decided-on-current-key.ts), and bounded by the
 * limits of the owner the key will have; a new expiry by the organization's maximum key lifetime.
 * A change and its `key.updated` event are one write.
 */
export function updateKey(parts: AdminParts): KeyAdminHandler<"updateKey"> {
  const { deps, allow } = parts;
  const { store, clock } = deps;

  return decidedOnCurrentKey(async (req, ctx) => {
    const caller = callerOf(ctx);
    requiredId(req.id);
    const patch: KeyPatch = { updatedAt: new Date(clock.now()) };
    if (req.name !== undefined) patch.name = validName(req.name);
    if (req.description !== undefined) patch.description = validDescription(req.description);
    if (req.scopes) patch.scopes = validScopes(req.scopes.values, deps.scopes);
    if (req.allowIps) patch.allowIps = validAllowIps(req.allowIps.values);
    if (req.expiresAt && req.clearExpiresAt) throw fieldError("clear_expires_at", "cannot be combined with expires_at");
    if (req.expiresAt) patch.expiresAt = validExpiry(req.expiresAt, clock.now());
    if (req.clearExpiresAt) patch.expiresAt = null;
    if (req.credits && req.clearCredits) throw fieldError("clear_credits", "cannot be combined with credits");
    if (req.credits) patch.credits = validCredits(req.credits, "credits", patch.updatedAt);
    if (req.clearCredits) patch.credits = null;
    if (req.identityId !== undefined) patch.identityId = req.identityId === "" ? null : req.identityId;
    const newOwner = req.ownerUserId === undefined ? undefined : await ownerIn(store, caller, req.ownerUserId);
    if (newOwner) patch.ownerUserId = newOwner.id;

    if (req.rateLimit !== undefined && req.rateLimit < 0) throw fieldError("rate_limit", "must be positive, or 0 for its owner's bound");
    const current = await existingKey(store, caller, req.id);
    await mayActOn(parts, ctx, caller, "update", current);
    checkExpiryOnUpdate(caller.organization, patch.expiresAt, current.expiresAt, clock.now());
    if (patch.scopes) await allow(ctx, mayGrantScopes(caller.actor, patch.scopes), current.id);
    if (newOwner) await allow(ctx, mayNameOwner(caller.actor, newOwner), current.id);
    // The owner the key will have; null when its owner was removed (its limits are then the plan's).
    const owner = newOwner ?? (await store.users.findById(caller.organization.id, current.ownerUserId));
    if (req.isActive === true && owner === null) {
      throw adminError("API_KEY_USER_INVALID", "is_active: the key's owner was removed; give it to a member (owner_user_id) to enable it", {
        field: "is_active",
      });
    }
    if (req.isActive !== undefined) patch.isActive = req.isActive;
    const ownerLimits = effectiveLimits(caller.plan, deps.scopes, owner ?? { id: current.ownerUserId });
    const ownerId = owner?.id ?? current.ownerUserId;
    // Left out or 0, a rate is the tightest bound: the owner's, and for another user's key the caller's too.
    const rateBound = keyRateBound(caller.actor, { id: ownerId }, ownerLimits.rateLimitBound);
    if (owner && (req.scopes || newOwner)) {
      const held = { id: owner.id, availableScopes: ownerLimits.availableScopes };
      await allow(ctx, ownerMayHold(held, patch.scopes ?? current.scopes, req.scopes ? "scopes" : "owner_user_id"), current.id);
    }
    if (req.rateLimit === 0) {
      patch.rateLimit = boundedByDefault(req.rateLimitPeriod, rateBound);
    } else if (req.rateLimit !== undefined || req.rateLimitPeriod !== RateLimitPeriodEnum.UNSPECIFIED) {
      const limit = req.rateLimit ?? current.rateLimit?.limit;
      if (limit === undefined) throw fieldError("rate_limit", "is required: the key has no rate limit to change the period of");
      const period =
        req.rateLimitPeriod === RateLimitPeriodEnum.UNSPECIFIED ? current.rateLimit?.period : periodOf(req.rateLimitPeriod);
      if (period === undefined) throw fieldError("rate_limit_period", "is required with rate_limit");
      patch.rateLimit = validRateLimit(limit, period, ownerLimits.rateLimitBound);
    } else if (newOwner && current.rateLimit && !rateWithin(current.rateLimit, ownerLimits.maxRateLimitPerMinute)) {
      const { limit, period } = current.rateLimit;
      throw fieldError("owner_user_id", `the key's rate limit of ${limit} per ${period} exceeds ${ownerLimits.rateLimitBound.whose} maximum of ${ownerLimits.maxRateLimitPerMinute} requests per minute`);
    }
    // A key never stays without a rate limit (one made before bounds applied gets its owner's now).
    if ((patch.rateLimit ?? current.rateLimit) === null) patch.rateLimit = boundRateLimit(rateBound.maxPerMinute);
    if (patch.rateLimit) await allow(ctx, mayGiveRate(caller.actor, { id: ownerId }, patch.rateLimit), current.id);
    if (req.limits) {
      patch.limits = await keyNamedLimits(parts, ctx, caller, req.limits.values, "limits.values", { id: ownerId, bound: ownerLimits.rateLimitBound }, current.id);
    } else if (newOwner) {
      checkLimitsForNewOwner(current.limits, ownerLimits.rateLimitBound);
    }

    const slots = { organizationMax: caller.plan.maxKeysPerOrganization, userMax: ownerLimits.maxKeys };
    const outcome = await parts.events.write(
      caller,
      async () => {
        await tieToIdentity(store, caller, patch.identityId);
        return store.keys.update(caller.organization.id, req.id, patch, slots, asSeen(current));
      },
      // A patch that leaves the key as it was (its name given again, say) is no change to tell of.
      (updated) => (updated.ok && publicFieldsChanged(current, updated.key) ? [{ type: "key.updated", key: updated.key }] : []),
    );
    if (!outcome.ok) {
      if (outcome.reason === "not_found") throw keyNotFound(req.id);
      if (outcome.reason === "revoked") throw fieldError("id", "the key is revoked and can no longer be changed");
      throw adminError("API_KEY_LIMIT_EXCEEDED", `owner_user_id: that user already holds ${ownerLimits.maxKeys} keys`, {
        field: "owner_user_id",
        limit: String(ownerLimits.maxKeys),
      });
    }
    deps.keyEvents.changed(outcome.key);
    const changed = Object.keys(patch).filter((field) => field !== "updatedAt");
    await parts.audit.changed(caller, { action: "key.update", keyId: req.id, details: { fields: changed.join(",") } });
    // Its owner may have been removed, or their limits narrowed, since the lookups above.
    const key = await settled(parts, caller, outcome.key);
    const [withTotals] = await withUsage(parts, [key]);
    return create(UpdateKeyResponseSchema, { key: withTotals });
  });
}
