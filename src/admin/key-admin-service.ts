import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  CreateKeyResponseSchema,
  DeleteKeyResponseSchema,
  Environment as EnvironmentEnum,
  GetKeyResponseSchema,
  GetMyLimitsResponseSchema,
  KeyType as KeyTypeEnum,
  ListAuditEventsResponseSchema,
  ListKeysResponseSchema,
  ListScopesResponseSchema,
  RegenerateKeyResponseSchema,
  RevokeKeyResponseSchema,
  TestKeyResponseSchema,
  UpdateKeyResponseSchema,
  RateLimitPeriod as RateLimitPeriodEnum,
  type KeyAdminService,
} from "../../gen/keygate/v1/key_admin_pb.js";
import type { ScopeDefinition } from "../model/scopes.js";
import type { SecretEncryption } from "../crypto/secret-encryption.js";
import { newId } from "../model/ids.js";
import type { KeyEvents } from "../keys/key-events.js";
import { keyStatus } from "../model/key-state.js";
import { generateSecret, isWellFormedSecret, keyPrefixOf, type SecretHasher } from "../model/secret.js";
import type { Logger } from "../log/logger.js";
import type { KeyPatch, Store } from "../store/store.js";
import { boundRateLimit, rateWithin } from "../store/key-bound.js";
import type { KeyRecord, User } from "../model/records.js";
import type { Clock } from "../time/clock.js";
import { asSeen } from "../store/key-as-seen.js";
import type { AuditTrail } from "../audit/audit-trail.js";
import { CallerAudit } from "./caller-audit.js";
import { callerOf, type Caller } from "./caller.js";
import { decidedOnCurrentKey } from "./decided-on-current-key.js";
import { enforce, enforcer } from "./enforce.js";
import { adminError, fieldError, keyNotFound, preconditionFailed } from "./errors.js";
import {
  ENVIRONMENTS,
  KEY_TYPES,
  RATE_LIMIT_PERIOD_ENUM,
  timestamp,
  toApiKey,
  toAuditEventMessage,
  USER_ROLE_ENUM,
} from "./mapping.js";
import { KeyRebound } from "./key-rebound.js";
import { KeyRegeneration } from "./key-regeneration.js";
import { KeyRevocation } from "./key-revocation.js";
import { keyTargetOf } from "./key-target.js";
import { OwnerRemoval } from "./owner-removal.js";
import type { PageTokens } from "./page-token.js";
import { usageHandlers, type UsageServiceDeps } from "./usage/usage-service.js";
import { keyUsageTotals } from "./usage/usage-totals.js";
import {
  effectiveLimits,
  keyRateBound,
  mayActOnKey,
  mayAskForSecret,
  mayGiveRate,
  mayGrantScopes,
  mayNameOwner,
  mayReadOrganization,
  ownerMayHold,
  type EffectiveLimits,
  type KeyAction,
} from "./policy.js";
import { userAdministration } from "./user-admin-service.js";
import {
  boundedByDefault,
  periodOf,
  requiredId,
  validAllowIps,
  validDescription,
  validExpiry,
  validGracePeriod,
  validName,
  validPageSize,
  validRateLimit,
  validReason,
  validScopes,
} from "./validation.js";

/** A key's per-key rate limit as TestKey shows it, read without consuming anything. */
export interface RateLimitPeek {
  limit: number;
  remaining: number;
  resetAtMs: number;
}

export interface KeyAdminDeps {
  store: Store;
  hasher: SecretHasher;
  clock: Clock;
  scopes: readonly ScopeDefinition[];
  audit: AuditTrail;
  keyEvents: KeyEvents;
  pageTokens: PageTokens;
  logger: Logger;
  /** The per-key limiter's current state for a key; absent when the key has no per-key limit. */
  peekRateLimit: (key: KeyRecord, nowMs: number) => RateLimitPeek | undefined;
  /** What the usage RPCs read besides the store and the clock. */
  usage: Omit<UsageServiceDeps, "store" | "clock">;
  /** Seals recoverable keys' secrets; absent when the server has no KEYGATE_ENCRYPTION_KEY. */
  encryption?: SecretEncryption | undefined;
}

type KeyLifecycle = Pick<
  ServiceImpl<typeof KeyAdminService>,
  | "createKey"
  | "listKeys"
  | "getKey"
  | "updateKey"
  | "deleteKey"
  | "revokeKey"
  | "regenerateKey"
  | "testKey"
  | "listScopes"
  | "getMyLimits"
  | "listAuditEvents"
>;

/**
 * The key lifecycle of KeyAdminService. Every handler acts inside the caller's organization:
 * a key of another organization is indistinguishable from a missing one. The one way out is a
 * platform operator's `organization_id` on ListKeys and GetKey, audited in that organization.
 */
export function keyLifecycle(deps: KeyAdminDeps): KeyLifecycle {
  const { store, clock } = deps;
  const callerAudit = new CallerAudit(deps.audit, deps.logger);
  const removal = new OwnerRemoval({ store, clock, keyEvents: deps.keyEvents, audit: callerAudit });
  const rebound = new KeyRebound({ store, clock, keyEvents: deps.keyEvents, audit: callerAudit, catalog: deps.scopes });
  const regeneration = new KeyRegeneration({ ...deps, audit: callerAudit });
  const revocation = new KeyRevocation({ ...deps, audit: callerAudit });
  const usageTotals = keyUsageTotals(store.usage);

  /** The policy's answer for this call: allowed passes; a refusal is audited and thrown. */
  const allow = enforcer(callerAudit);

  /** May the caller do this to that key: the policy weighs it as key-target.ts reads it. */
  async function mayActOn(ctx: HandlerContext, caller: Caller, action: KeyAction, key: KeyRecord): Promise<void> {
    await allow(ctx, mayActOnKey(caller.actor, action, await keyTargetOf(store, caller, key)), key.id);
  }

  /**
   * After a write that gave a key its owner, scopes or rate under the owner as read before it:
   * an owner removed meanwhile takes the key their keys' way, limits narrowed meanwhile bound it.
   */
  async function settled(caller: Caller, key: KeyRecord): Promise<KeyRecord> {
    const owner = await store.users.findById(key.organizationId, key.ownerUserId);
    return owner ? rebound.settle(caller, key, owner) : removal.settleIfOwnerRemoved(caller, key);
  }

  async function withUsage(keys: readonly KeyRecord[]) {
    const totals = await usageTotals(keys, clock.now());
    return keys.map((key) => toApiKey(key, totals.get(key.id)));
  }

  /** The user a key is for: the caller's own user when the request names none. */
  async function ownerIn(caller: Caller, ownerUserId: string, field = "owner_user_id"): Promise<User> {
    if (ownerUserId === "") return caller.user;
    const owner = await store.users.findById(caller.organization.id, ownerUserId);
    if (!owner) {
      throw adminError("API_KEY_USER_INVALID", `${field}: user ${JSON.stringify(ownerUserId)} is not a member of this organization`, {
        field,
      });
    }
    return owner;
  }

  const limitsOf = (caller: Caller, user: Pick<User, "id" | "limits">): EffectiveLimits =>
    effectiveLimits(caller.plan, deps.scopes, user);

  const audit = (caller: Caller, action: string, keyId: string, details: Record<string, string> = {}) =>
    callerAudit.changed(caller, { action, keyId, details });

  async function existingKey(caller: Caller, id: string, organizationId = caller.organization.id): Promise<KeyRecord> {
    const key = await store.keys.findById(organizationId, requiredId(id));
    if (!key) throw keyNotFound(id);
    return key;
  }

  /**
   * The organization a ListKeys or GetKey reads: the caller's own, or for a platform operator
   * any existing one. Undefined when the policy refuses another organization (each RPC answers
   * that its own way, the same whether the organization exists or not).
   */
  async function organizationRead(caller: Caller, organizationId: string): Promise<{ id: string; byOperator: boolean } | undefined> {
    if (!mayReadOrganization(caller.actor, caller.organization.id, organizationId).allowed) return undefined;
    if (organizationId === "" || organizationId === caller.organization.id) return { id: caller.organization.id, byOperator: false };
    const organization = await store.organizations.findById(organizationId);
    if (!organization) throw fieldError("organization_id", `no organization ${JSON.stringify(organizationId)}`);
    return { id: organization.id, byOperator: true };
  }

  /** GetKey with show_key_value: the secret of a recoverable key, on the record each time. */
  async function revealedSecret(caller: Caller, key: KeyRecord): Promise<string> {
    const sealed = key.encryptedSecret;
    if (!sealed) {
      throw preconditionFailed(
        "show_key_value",
        key.revokedAt !== null ? "the key is revoked; its secret is no longer kept" : "the key is not recoverable (it was created without recoverable)",
      );
    }
    if (!deps.encryption) throw preconditionFailed("show_key_value", "this server has no KEYGATE_ENCRYPTION_KEY to open it");
    if (!deps.encryption.canOpen(sealed.keyId)) {
      throw preconditionFailed(
        "show_key_value",
        `the secret is sealed under encryption key ${sealed.keyId}, which this server does not hold (see KEYGATE_ENCRYPTION_KEY_PREVIOUS)`,
      );
    }
    const secret = deps.encryption.open(sealed, key.id);
    await callerAudit.beforehand(caller, { action: "key.reveal", keyId: key.id, details: { name: key.name } });
    return secret;
  }

  return {
    async createKey(req, ctx) {
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
      const expiresAt = req.expiresAt ? validExpiry(req.expiresAt, now) : null;
      const owner = await ownerIn(caller, req.ownerUserId);
      await allow(ctx, mayNameOwner(caller.actor, owner));
      // The caller grants (its key's scopes, its user's admin-key right); the owner holds (their limits).
      const ownerLimits = owner.id === caller.user.id ? caller.actor.limits : limitsOf(caller, owner);
      const rateLimit =
        period === undefined
          ? boundedByDefault(req.rateLimitPeriod, keyRateBound(caller.actor, owner, ownerLimits.rateLimitBound))
          : validRateLimit(req.rateLimit!, period, ownerLimits.rateLimitBound);
      await allow(ctx, mayGiveRate(caller.actor, owner, rateLimit));
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
      };
      const outcome = await store.keys.create(record, { organizationMax: caller.plan.maxKeysPerOrganization, userMax: ownerLimits.maxKeys });
      if (!outcome.ok) {
        const limit = outcome.reason === "organization_limit" ? caller.plan.maxKeysPerOrganization : ownerLimits.maxKeys;
        const whose = outcome.reason === "organization_limit" ? "organization" : "user";
        throw adminError("API_KEY_LIMIT_EXCEEDED", `the ${whose} already holds its maximum of ${limit} keys (revoke or delete one)`, {
          limit: String(limit),
          scope: whose,
        });
      }
      await audit(caller, "key.create", record.id, {
        name: record.name,
        scopes: record.scopes.join(" "),
        ...(record.encryptedSecret && { recoverable: "true" }),
      });
      // Its owner may have been removed, or their limits narrowed, since the lookup above.
      const key = await settled(caller, outcome.key);
      return create(CreateKeyResponseSchema, { key: toApiKey(key), secret });
    },

    async listKeys(req, ctx) {
      const caller = callerOf(ctx);
      const pageSize = validPageSize(req.pageSize);
      await allow(ctx, mayReadOrganization(caller.actor, caller.organization.id, req.organizationId));
      const organization = (await organizationRead(caller, req.organizationId))!;
      const filter = req.isActive === undefined ? "any" : String(req.isActive);
      if (organization.byOperator) {
        await callerAudit.beforehand(caller, { organizationId: organization.id, action: "operator.list_keys", details: { filter } });
      }
      const listing = { listing: "keys", organizationId: organization.id, filter };
      const { items, nextPageToken } = await deps.pageTokens.page(listing, req.pageToken, pageSize, (after, limit) =>
        store.keys.list(organization.id, {
          ...(req.isActive === undefined ? {} : { isActive: req.isActive }),
          ...(after === undefined ? {} : { afterId: after }),
          limit,
        }),
      );
      return create(ListKeysResponseSchema, { keys: await withUsage(items), nextPageToken });
    },

    async getKey(req, ctx) {
      const caller = callerOf(ctx);
      requiredId(req.id);
      if (req.showKeyValue) await allow(ctx, mayAskForSecret(caller.actor));
      // Refused like ListKeys, and audited the same, but answered as a key that does not exist.
      await enforce(mayReadOrganization(caller.actor, caller.organization.id, req.organizationId), callerAudit, caller, {
        method: ctx.method.name,
        keyId: req.id,
        answer: keyNotFound(req.id),
      });
      const organization = (await organizationRead(caller, req.organizationId))!;
      if (organization.byOperator) {
        await callerAudit.beforehand(caller, { organizationId: organization.id, action: "operator.get_key", keyId: req.id });
      }
      const key = await existingKey(caller, req.id, organization.id);
      if (req.showKeyValue) await mayActOn(ctx, caller, "reveal", key);
      const secret = req.showKeyValue ? await revealedSecret(caller, key) : "";
      const [withTotals] = await withUsage([key]);
      return create(GetKeyResponseSchema, { key: withTotals, secret });
    },

    updateKey: decidedOnCurrentKey(async (req, ctx) => {
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
      const newOwner = req.ownerUserId === undefined ? undefined : await ownerIn(caller, req.ownerUserId);
      if (newOwner) patch.ownerUserId = newOwner.id;

      if (req.rateLimit !== undefined && req.rateLimit < 0) throw fieldError("rate_limit", "must be positive, or 0 for its owner's bound");
      const current = await existingKey(caller, req.id);
      await mayActOn(ctx, caller, "update", current);
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
      const ownerLimits = limitsOf(caller, owner ?? { id: current.ownerUserId });
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

      const slots = { organizationMax: caller.plan.maxKeysPerOrganization, userMax: ownerLimits.maxKeys };
      const outcome = await store.keys.update(caller.organization.id, req.id, patch, slots, asSeen(current));
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
      await audit(caller, "key.update", req.id, { fields: changed.join(",") });
      // Its owner may have been removed, or their limits narrowed, since the lookups above.
      const key = await settled(caller, outcome.key);
      const [withTotals] = await withUsage([key]);
      return create(UpdateKeyResponseSchema, { key: withTotals });
    }),

    deleteKey: decidedOnCurrentKey(async (req, ctx) => {
      const caller = callerOf(ctx);
      const current = await existingKey(caller, req.id);
      await mayActOn(ctx, caller, "delete", current);
      const deleted = await store.keys.delete(caller.organization.id, req.id, asSeen(current));
      if (!deleted) throw keyNotFound(req.id);
      deps.keyEvents.changed(deleted);
      await audit(caller, "key.delete", deleted.id, { name: deleted.name });
      return create(DeleteKeyResponseSchema, {});
    }),

    revokeKey: decidedOnCurrentKey(async (req, ctx) => {
      const caller = callerOf(ctx);
      validReason(req.reason);
      const current = await existingKey(caller, req.id);
      await mayActOn(ctx, caller, "revoke", current);
      const revoked = await revocation.revoke(caller, current, req.reason);
      if (!revoked) throw keyNotFound(req.id);
      return create(RevokeKeyResponseSchema, { key: toApiKey(revoked) });
    }),

    regenerateKey: decidedOnCurrentKey(async (req, ctx) => {
      const caller = callerOf(ctx);
      const grace = validGracePeriod(req.gracePeriodSeconds);
      const current = await existingKey(caller, req.id);
      await mayActOn(ctx, caller, "regenerate", current);
      const { key, secret } = await regeneration.regenerate(caller, current, grace);
      const [withTotals] = await withUsage([key]);
      return create(RegenerateKeyResponseSchema, { key: withTotals, secret });
    }),

    async testKey(req, ctx) {
      const caller = callerOf(ctx);
      const invalid = create(TestKeyResponseSchema, { valid: false, reason: "API_KEY_INVALID" });
      if (req.apiKey === "") throw fieldError("api_key", "is required");
      if (!isWellFormedSecret(req.apiKey)) return invalid;
      const hash = deps.hasher.hash(req.apiKey);
      const key = await store.keys.findByHash(hash);
      if (!key || key.organizationId !== caller.organization.id) return invalid;
      const now = clock.now();
      const status = keyStatus(key, hash, now);
      if (status === "API_KEY_INVALID") return invalid;
      const peek = deps.peekRateLimit(key, now);
      return create(TestKeyResponseSchema, {
        valid: status === "valid",
        keyId: key.id,
        name: key.name,
        scopes: key.scopes,
        rateLimit: peek && {
          limit: peek.limit,
          remaining: peek.remaining,
          resetAt: timestamp(new Date(peek.resetAtMs)),
          period: RATE_LIMIT_PERIOD_ENUM.get(key.rateLimit!.period)!,
        },
        expiresAt: timestamp(key.expiresAt),
        isExpired: key.expiresAt !== null && key.expiresAt.getTime() <= now,
        reason: status === "valid" ? "" : status,
      });
    },

    async listScopes() {
      return create(ListScopesResponseSchema, { scopes: deps.scopes.map((s) => ({ name: s.name, description: s.description })) });
    },

    async getMyLimits(_req, ctx) {
      const caller = callerOf(ctx);
      const [mine, organization] = await Promise.all([
        store.keys.countHoldingSlots(caller.organization.id, caller.user.id),
        store.keys.countHoldingSlots(caller.organization.id),
      ]);
      // The plan bounded by the user's own limits; scopes also by what this key can grant.
      const limits = caller.actor.limits;
      const available = new Set(limits.availableScopes);
      return create(GetMyLimitsResponseSchema, {
        userId: caller.user.id,
        organizationId: caller.organization.id,
        role: USER_ROLE_ENUM.get(caller.user.role)!,
        maxKeys: limits.maxKeys,
        currentKeys: mine,
        organizationMaxKeys: caller.plan.maxKeysPerOrganization,
        organizationCurrentKeys: organization,
        availableScopes: caller.key.scopes.filter((scope) => caller.actor.scopes.has(scope) && available.has(scope)),
        maxRateLimit: limits.maxRateLimitPerMinute,
        canCreateAdminKeys: limits.canCreateAdminKeys,
      });
    },

    async listAuditEvents(req, ctx) {
      const caller = callerOf(ctx);
      const pageSize = validPageSize(req.pageSize);
      const listing = { listing: "audit", organizationId: caller.organization.id, filter: req.keyId };
      const { items, nextPageToken } = await deps.pageTokens.page(listing, req.pageToken, pageSize, (before, limit) =>
        store.audit.list(caller.organization.id, {
          ...(req.keyId === "" ? {} : { keyId: req.keyId }),
          ...(before === undefined ? {} : { beforeId: before }),
          limit,
        }),
      );
      return create(ListAuditEventsResponseSchema, { events: items.map(toAuditEventMessage), nextPageToken });
    },
  };
}


/** Every KeyAdminService handler: the key lifecycle, an organization's users, and its usage. */
export function keyAdministration(deps: KeyAdminDeps): ServiceImpl<typeof KeyAdminService> {
  return { ...keyLifecycle(deps), ...userAdministration(deps), ...usageHandlers({ ...deps.usage, store: deps.store, clock: deps.clock }) };
}
