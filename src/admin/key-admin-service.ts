import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
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
import type { ScopeDefinition } from "../config/scopes.js";
import { ADMIN_SCOPES } from "../config/scopes.js";
import { newId } from "../keys/ids.js";
import type { KeyEvents } from "../keys/key-events.js";
import { keyStatus } from "../keys/key-status.js";
import { generateSecret, isWellFormedSecret, keyPrefixOf, type SecretHasher } from "../keys/secret.js";
import type { Logger } from "../log/logger.js";
import type { KeyPatch, KeySlotLimits, Store } from "../store/store.js";
import type { KeyRecord } from "../store/types.js";
import type { Clock } from "../time/clock.js";
import type { AuditTrail } from "./audit-trail.js";
import { callerOf, type Caller } from "./caller.js";
import { adminError, fieldError, keyNotFound } from "./errors.js";
import { ENVIRONMENTS, KEY_TYPES, RATE_LIMIT_PERIOD_ENUM, timestamp, toApiKey, toAuditEventMessage, type KeyUsageTotals } from "./mapping.js";
import type { PageTokens } from "./page-token.js";
import {
  MAX_GRACE_PERIOD_SECONDS,
  periodOf,
  requiredId,
  validAllowIps,
  validDescription,
  validExpiry,
  validName,
  validPageSize,
  validRateLimit,
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
  /** Usage totals shown on keys (total, today, this month). */
  usageTotals: (keys: readonly KeyRecord[], nowMs: number) => Promise<Map<string, KeyUsageTotals>>;
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

const slotLimits = (caller: Caller): KeySlotLimits => ({
  organizationMax: caller.plan.maxKeysPerOrganization,
  userMax: caller.plan.maxKeysPerUser,
});

/**
 * The key lifecycle of KeyAdminService. Every handler acts inside the caller's organization:
 * a key of another organization is indistinguishable from a missing one.
 */
export function keyLifecycle(deps: KeyAdminDeps): KeyLifecycle {
  const { store, clock } = deps;

  async function withUsage(keys: readonly KeyRecord[]) {
    const totals = await deps.usageTotals(keys, clock.now());
    return keys.map((key) => toApiKey(key, totals.get(key.id)));
  }

  async function ownerIn(caller: Caller, ownerUserId: string, field = "owner_user_id"): Promise<string> {
    if (ownerUserId === "") return caller.user.id;
    const owner = await store.users.findById(caller.organization.id, ownerUserId);
    if (!owner) {
      throw adminError("API_KEY_USER_INVALID", `${field}: user ${JSON.stringify(ownerUserId)} is not a member of this organization`, {
        field,
      });
    }
    return owner.id;
  }

  /**
   * The audit log records changes that already happened, so a failure to write it must not turn
   * a done change into an error the client would retry; it is logged loudly instead.
   */
  async function audit(caller: Caller, action: string, keyId: string, details: Record<string, string> = {}): Promise<void> {
    try {
      await deps.audit.record({
        organizationId: caller.organization.id,
        action,
        actorKeyId: caller.key.id,
        actorUserId: caller.user.id,
        keyId,
        details,
      });
    } catch (error) {
      deps.logger.error({ err: error, action, keyId, organizationId: caller.organization.id }, "audit event not written");
    }
  }

  async function existingKey(caller: Caller, id: string): Promise<KeyRecord> {
    const key = await store.keys.findById(caller.organization.id, requiredId(id));
    if (!key) throw keyNotFound(id);
    return key;
  }

  return {
    async createKey(req, ctx) {
      const caller = callerOf(ctx);
      const now = clock.now();
      const environment = req.environment === EnvironmentEnum.UNSPECIFIED ? "live" : ENVIRONMENTS.get(req.environment);
      if (!environment) throw fieldError("environment", "must be ENVIRONMENT_LIVE or ENVIRONMENT_TEST");
      const keyType = req.keyType === KeyTypeEnum.UNSPECIFIED ? "user" : KEY_TYPES.get(req.keyType);
      if (!keyType) throw fieldError("key_type", "must be KEY_TYPE_USER or KEY_TYPE_SHARED");
      let rateLimit = null;
      if (req.rateLimit !== undefined) {
        if (req.rateLimitPeriod === RateLimitPeriodEnum.UNSPECIFIED) throw fieldError("rate_limit_period", "is required with rate_limit");
        rateLimit = validRateLimit(req.rateLimit, periodOf(req.rateLimitPeriod), caller.plan);
      } else if (req.rateLimitPeriod !== RateLimitPeriodEnum.UNSPECIFIED) {
        throw fieldError("rate_limit", "is required with rate_limit_period");
      }
      const fields = {
        name: validName(req.name),
        description: validDescription(req.description),
        scopes: validScopes(req.scopes, deps.scopes, caller.key.scopes, caller.plan),
        allowIps: validAllowIps(req.allowIps),
        expiresAt: req.expiresAt ? validExpiry(req.expiresAt, now) : null,
        ownerUserId: await ownerIn(caller, req.ownerUserId),
      };
      const secret = generateSecret(environment);
      const record: KeyRecord = {
        id: newId("key", now),
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
        lastUsedAt: null,
        createdAt: new Date(now),
        createdBy: caller.key.id,
        updatedAt: new Date(now),
      };
      const outcome = await store.keys.create(record, slotLimits(caller));
      if (!outcome.ok) {
        const limit = outcome.reason === "organization_limit" ? caller.plan.maxKeysPerOrganization : caller.plan.maxKeysPerUser;
        const whose = outcome.reason === "organization_limit" ? "organization" : "user";
        throw adminError("API_KEY_LIMIT_EXCEEDED", `the ${whose} already holds its maximum of ${limit} keys (revoke or delete one)`, {
          limit: String(limit),
          scope: whose,
        });
      }
      await audit(caller, "key.create", record.id, { name: record.name, scopes: record.scopes.join(" ") });
      return create(CreateKeyResponseSchema, { key: toApiKey(outcome.key), secret });
    },

    async listKeys(req, ctx) {
      const caller = callerOf(ctx);
      const pageSize = validPageSize(req.pageSize);
      const filter = req.isActive === undefined ? "any" : String(req.isActive);
      const listing = { listing: "keys", organizationId: caller.organization.id, filter };
      const after = deps.pageTokens.read(req.pageToken, listing);
      if (after instanceof Error) throw fieldError("page_token", after.message);
      const page = await store.keys.list(caller.organization.id, {
        ...(req.isActive === undefined ? {} : { isActive: req.isActive }),
        ...(after === undefined ? {} : { afterId: after }),
        limit: pageSize + 1,
      });
      const more = page.length > pageSize;
      const keys = more ? page.slice(0, pageSize) : page;
      return create(ListKeysResponseSchema, {
        keys: await withUsage(keys),
        nextPageToken: more ? deps.pageTokens.issue({ ...listing, after: keys[keys.length - 1]!.id }) : "",
      });
    },

    async getKey(req, ctx) {
      const key = await existingKey(callerOf(ctx), req.id);
      const [withTotals] = await withUsage([key]);
      return create(GetKeyResponseSchema, { key: withTotals });
    },

    async updateKey(req, ctx) {
      const caller = callerOf(ctx);
      requiredId(req.id);
      const patch: KeyPatch = { updatedAt: new Date(clock.now()) };
      if (req.name !== undefined) patch.name = validName(req.name);
      if (req.description !== undefined) patch.description = validDescription(req.description);
      if (req.scopes) patch.scopes = validScopes(req.scopes.values, deps.scopes, caller.key.scopes, caller.plan);
      if (req.allowIps) patch.allowIps = validAllowIps(req.allowIps.values);
      if (req.expiresAt && req.clearExpiresAt) throw fieldError("clear_expires_at", "cannot be combined with expires_at");
      if (req.expiresAt) patch.expiresAt = validExpiry(req.expiresAt, clock.now());
      if (req.clearExpiresAt) patch.expiresAt = null;
      if (req.isActive !== undefined) patch.isActive = req.isActive;
      if (req.ownerUserId !== undefined) patch.ownerUserId = await ownerIn(caller, req.ownerUserId);

      if (req.rateLimit !== undefined && req.rateLimit < 0) throw fieldError("rate_limit", "must be positive, or 0 to remove the limit");
      const current = await existingKey(caller, req.id);
      if (req.rateLimit === 0) {
        if (req.rateLimitPeriod !== RateLimitPeriodEnum.UNSPECIFIED) throw fieldError("rate_limit_period", "cannot be set while removing the limit");
        patch.rateLimit = null;
      } else if (req.rateLimit !== undefined || req.rateLimitPeriod !== RateLimitPeriodEnum.UNSPECIFIED) {
        const limit = req.rateLimit ?? current.rateLimit?.limit;
        if (limit === undefined) throw fieldError("rate_limit", "is required: the key has no rate limit to change the period of");
        const period =
          req.rateLimitPeriod === RateLimitPeriodEnum.UNSPECIFIED ? current.rateLimit?.period : periodOf(req.rateLimitPeriod);
        if (period === undefined) throw fieldError("rate_limit_period", "is required with rate_limit");
        patch.rateLimit = validRateLimit(limit, period, caller.plan);
      }

      const outcome = await store.keys.update(caller.organization.id, req.id, patch, slotLimits(caller));
      if (!outcome.ok) {
        if (outcome.reason === "not_found") throw keyNotFound(req.id);
        if (outcome.reason === "revoked") throw fieldError("id", "the key is revoked and can no longer be changed");
        throw adminError("API_KEY_LIMIT_EXCEEDED", `owner_user_id: that user already holds ${caller.plan.maxKeysPerUser} keys`, {
          field: "owner_user_id",
          limit: String(caller.plan.maxKeysPerUser),
        });
      }
      deps.keyEvents.changed(outcome.key);
      const changed = Object.keys(patch).filter((field) => field !== "updatedAt");
      await audit(caller, "key.update", req.id, { fields: changed.join(",") });
      const [withTotals] = await withUsage([outcome.key]);
      return create(UpdateKeyResponseSchema, { key: withTotals });
    },

    async deleteKey(req, ctx) {
      const caller = callerOf(ctx);
      const deleted = await store.keys.delete(caller.organization.id, requiredId(req.id));
      if (!deleted) throw keyNotFound(req.id);
      deps.keyEvents.changed(deleted);
      await audit(caller, "key.delete", deleted.id, { name: deleted.name });
      return create(DeleteKeyResponseSchema, {});
    },

    async revokeKey(req, ctx) {
      const caller = callerOf(ctx);
      if ([...req.reason].length > 500) throw fieldError("reason", "must be at most 500 characters");
      const now = clock.now();
      const revoked = await store.keys.revoke(caller.organization.id, requiredId(req.id), new Date(now));
      if (!revoked) throw keyNotFound(req.id);
      deps.keyEvents.changed(revoked);
      // Only the call that actually revoked it is audited; repeats return the first revocation.
      if (revoked.revokedAt?.getTime() === now) await audit(caller, "key.revoke", revoked.id, { reason: req.reason });
      return create(RevokeKeyResponseSchema, { key: toApiKey(revoked) });
    },

    async regenerateKey(req, ctx) {
      const caller = callerOf(ctx);
      const grace = req.gracePeriodSeconds;
      if (!Number.isInteger(grace) || grace < 0 || grace > MAX_GRACE_PERIOD_SECONDS) {
        throw fieldError("grace_period_seconds", `must be between 0 and ${MAX_GRACE_PERIOD_SECONDS}`);
      }
      const current = await existingKey(caller, req.id);
      if (current.revokedAt !== null) throw fieldError("id", "the key is revoked and cannot be regenerated");
      const now = clock.now();
      const secret = generateSecret(current.environment);
      const rotated = await store.keys.replaceSecret(caller.organization.id, current.id, {
        secretHash: deps.hasher.hash(secret),
        keyPrefix: keyPrefixOf(secret),
        previousSecretExpiresAt: grace > 0 ? new Date(now + grace * 1000) : null,
        updatedAt: new Date(now),
      });
      if (!rotated) throw keyNotFound(req.id);
      // Drop the cached entries of the secrets the key answered to before the change.
      deps.keyEvents.changed(current);
      await audit(caller, "key.regenerate", rotated.id, { gracePeriodSeconds: String(grace) });
      const [withTotals] = await withUsage([rotated]);
      return create(RegenerateKeyResponseSchema, { key: withTotals, secret });
    },

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
      const catalog = new Set(deps.scopes.map((s) => s.name));
      return create(GetMyLimitsResponseSchema, {
        userId: caller.user.id,
        organizationId: caller.organization.id,
        maxKeys: caller.plan.maxKeysPerUser,
        currentKeys: mine,
        organizationMaxKeys: caller.plan.maxKeysPerOrganization,
        organizationCurrentKeys: organization,
        availableScopes: caller.key.scopes.filter(
          (scope) => catalog.has(scope) && (caller.plan.canCreateAdminKeys || !ADMIN_SCOPES.includes(scope)),
        ),
        maxRateLimit: caller.plan.maxRateLimitPerMinute,
        canCreateAdminKeys: caller.plan.canCreateAdminKeys,
      });
    },

    async listAuditEvents(req, ctx) {
      const caller = callerOf(ctx);
      const pageSize = validPageSize(req.pageSize);
      const listing = { listing: "audit", organizationId: caller.organization.id, filter: req.keyId };
      const before = deps.pageTokens.read(req.pageToken, listing);
      if (before instanceof Error) throw fieldError("page_token", before.message);
      const page = await store.audit.list(caller.organization.id, {
        ...(req.keyId === "" ? {} : { keyId: req.keyId }),
        ...(before === undefined ? {} : { beforeId: before }),
        limit: pageSize + 1,
      });
      const more = page.length > pageSize;
      const events = more ? page.slice(0, pageSize) : page;
      return create(ListAuditEventsResponseSchema, {
        events: events.map(toAuditEventMessage),
        nextPageToken: more ? deps.pageTokens.issue({ ...listing, after: events[events.length - 1]!.id }) : "",
      });
    },
  };
}

