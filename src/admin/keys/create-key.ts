import { create } from "@bufbuild/protobuf";
import {
  CreateKeyResponseSchema,
  Environment as EnvironmentEnum,
  KeyType as KeyTypeEnum,
  RateLimitPeriod as RateLimitPeriodEnum,
} from "../../../gen/keygate/v1/key_admin_pb.js";
import { newId } from "../../model/ids.js";
import type { KeyRecord } from "../../model/records.js";
import { generateSecret, keyPrefixOf } from "../../model/secret.js";
import { callerOf } from "../caller.js";
import { adminError, fieldError, preconditionFailed } from "../errors.js";
import { ENVIRONMENTS, KEY_TYPES, toApiKey } from "../mapping.js";
import { effectiveLimits, keyRateBound, mayGiveRate, mayGrantScopes, mayNameOwner, ownerMayHold } from "../policy.js";
import {
  boundedByDefault,
  periodOf,
  validAllowIps,
  validDescription,
  validExpiry,
  validName,
  validRateLimit,
  validScopes,
} from "../validation.js";
import type { KeyAdminHandler, AdminParts } from "../admin-parts.js";
import { expiryOnCreate } from "./key-lifetime.js";
import { ownerIn } from "./key-lookups.js";
import { settled } from "./settled-key.js";
import { keyNamedLimits, tieToIdentity } from "./key-metering.js";
import { validCredits } from "../credits-fields.js";

/**
 * CreateKey: a key for the caller's user or, when the policy lets the caller name one, another
 * member. Its rate, scopes and slot are bounded by its owner's limits, its expiry by the
 * organization's maximum key lifetime; the secret is answered once (and sealed on the record only
 * when the key is recoverable). The key and its `key.created` event are one write.
 */
export function createKey(parts: AdminParts): KeyAdminHandler<"createKey"> {
  const { deps, allow } = parts;
  const { store, clock } = deps;

  return async (req, ctx) => {
    const caller = callerOf(ctx);
    const now = clock.now();
    const environment = req.environment === EnvironmentEnum.UNSPECIFIED ? "live" : ENVIRONMENTS.get(req.environment);
    if (!environment) throw fieldError("environment", "must be ENVIRONMENT_LIVE or ENVIRONMENT_TEST");
    const keyType = req.keyType === KeyTypeEnum.UNSPECIFIED ? "user" : KEY_TYPES.get(req.keyType);
    if (!keyType) throw fieldError("key_type", "must be KEY_TYPE_USER or KEY_TYPE_SHARED");
    // Left out or 0, the key gets the tightest bound that applies (below, once the owner is known).
    const ownLimit = req.rateLimit !== undefined && req.rateLimit !== 0;
    if (ownLimit && req.rateLimitPeriod === RateLimitPeriodEnum.UNSPECIFIED) {
      throw fieldError("rate_limit_period", "is required with rate_limit");
    }
    if (req.rateLimit === undefined && req.rateLimitPeriod !== RateLimitPeriodEnum.UNSPECIFIED) {
      throw fieldError("rate_limit", "is required with rate_limit_period");
    }
    const period = ownLimit ? periodOf(req.rateLimitPeriod) : undefined;
    if (req.recoverable && !deps.encryption) {
      throw preconditionFailed("recoverable", "this server has no KEYGATE_ENCRYPTION_KEY, so it cannot keep a secret recoverable");
    }
    const name = validName(req.name);
    const description = validDescription(req.description);
    const allowIps = validAllowIps(req.allowIps);
    const expiresAt = expiryOnCreate(caller.organization, req.expiresAt ? validExpiry(req.expiresAt, now) : null, now);
    const owner = await ownerIn(store, caller, req.ownerUserId);
    await allow(ctx, mayNameOwner(caller.actor, owner));
    // The caller grants (its key's scopes, its user's admin-key right); the owner holds (their limits).
    const ownerLimits = owner.id === caller.user.id ? caller.actor.limits : effectiveLimits(caller.plan, deps.scopes, owner);
    const rateLimit =
      period === undefined
        ? boundedByDefault(req.rateLimitPeriod, keyRateBound(caller.actor, owner, ownerLimits.rateLimitBound))
        : validRateLimit(req.rateLimit!, period, ownerLimits.rateLimitBound);
    await allow(ctx, mayGiveRate(caller.actor, owner, rateLimit));
    const limits = await keyNamedLimits(parts, ctx, caller, req.limits, "limits", { id: owner.id, bound: ownerLimits.rateLimitBound });
    const credits = req.credits && validCredits(req.credits, "credits", new Date(now));
    const identityId = req.identityId;
    const scopes = validScopes(req.scopes, deps.scopes);
    await allow(ctx, mayGrantScopes(caller.actor, scopes));
    await allow(ctx, ownerMayHold({ id: owner.id, availableScopes: ownerLimits.availableScopes }, scopes));
    const fields = { name, description, scopes, allowIps, expiresAt, ownerUserId: owner.id };
    const secret = generateSecret(environment);
    const id = newId("key", now);
    const record: KeyRecord = {
      id,
      organizationId: caller.organization.id,
      ...fields,
      keyPrefix: keyPrefixOf(secret),
      secretHash: deps.hasher.hash(secret),
      previousSecret: null,
      environment,
      keyType,
      rateLimit,
      isActive: req.isActive ?? true,
      revokedAt: null,
      createdAt: new Date(now),
      createdBy: caller.key.id,
      updatedAt: new Date(now),
      ...(req.recoverable && deps.encryption && { encryptedSecret: deps.encryption.seal(secret, id) }),
      ...(limits.length > 0 && { limits }),
      ...(credits && { credits }),
      ...(identityId !== "" && { identityId }),
    };
    const outcome = await parts.events.write(
      caller,
      async () => {
        await tieToIdentity(store, caller, record.identityId);
        return store.keys.create(record, { organizationMax: caller.plan.maxKeysPerOrganization, userMax: ownerLimits.maxKeys });
      },
      (created) => (created.ok ? [{ type: "key.created", key: created.key }] : []),
    );
    if (!outcome.ok) {
      const limit = outcome.reason === "organization_limit" ? caller.plan.maxKeysPerOrganization : ownerLimits.maxKeys;
      const whose = outcome.reason === "organization_limit" ? "organization" : "user";
      throw adminError("API_KEY_LIMIT_EXCEEDED", `the ${whose} already holds its maximum of ${limit} keys (revoke or delete one)`, {
        limit: String(limit),
        scope: whose,
      });
    }
    await parts.audit.changed(caller, {
      action: "key.create",
      keyId: record.id,
      details: {
        name: record.name,
        scopes: record.scopes.join(" "),
        ...(record.encryptedSecret && { recoverable: "true" }),
        ...(record.identityId && { identityId: record.identityId }),
      },
    });
    // Its owner may have been removed, or their limits narrowed, since the lookup above.
    const key = await settled(parts, caller, outcome.key);
    return create(CreateKeyResponseSchema, { key: toApiKey(key), secret });
  };
}
