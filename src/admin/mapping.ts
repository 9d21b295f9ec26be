import { create } from "@bufbuild/protobuf";
import { timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  ApiKeySchema,
  AuditEventSchema,
  CreditsSchema,
  NamedLimitSchema,
  Environment as EnvironmentEnum,
  KeyType as KeyTypeEnum,
  LimitOwner as LimitOwnerEnum,
  RateLimitPeriod as RateLimitPeriodEnum,
  RefillInterval as RefillIntervalEnum,
  UserRole as UserRoleEnum,
  UserSchema,
  type ApiKey,
  type AuditEvent as AuditEventMessage,
  type Credits as CreditsMessage,
  type NamedLimit as NamedLimitMessage,
  type User as UserMessage,
} from "../../gen/keygate/v1/key_admin_pb.js";
import { OrganizationSchema, type Organization as OrganizationMessage } from "../../gen/keygate/v1/operator_pb.js";
import type { Environment } from "../model/secret.js";
import type { CreditRefill, Credits, NamedLimit } from "../model/identities.js";
import type { AuditEvent, KeyRecord, KeyType, Organization, RateLimitPeriod, User, UserRole } from "../model/records.js";

/** Converts between stored records and the admin API's messages; no rules live here. */

export const ENVIRONMENTS: ReadonlyMap<EnvironmentEnum, Environment> = new Map([
  [EnvironmentEnum.LIVE, "live"],
  [EnvironmentEnum.TEST, "test"],
]);

export const KEY_TYPES: ReadonlyMap<KeyTypeEnum, KeyType> = new Map([
  [KeyTypeEnum.USER, "user"],
  [KeyTypeEnum.SHARED, "shared"],
]);

export const RATE_LIMIT_PERIODS: ReadonlyMap<RateLimitPeriodEnum, RateLimitPeriod> = new Map([
  [RateLimitPeriodEnum.SECOND, "second"],
  [RateLimitPeriodEnum.MINUTE, "minute"],
  [RateLimitPeriodEnum.HOUR, "hour"],
  [RateLimitPeriodEnum.DAY, "day"],
]);

export const USER_ROLES: ReadonlyMap<UserRoleEnum, UserRole> = new Map([
  [UserRoleEnum.OWNER, "owner"],
  [UserRoleEnum.ADMIN, "admin"],
  [UserRoleEnum.MEMBER, "member"],
]);

export const REFILL_INTERVALS: ReadonlyMap<RefillIntervalEnum, CreditRefill["interval"]> = new Map([
  [RefillIntervalEnum.DAILY, "daily"],
  [RefillIntervalEnum.MONTHLY, "monthly"],
]);

/** Whose a limit or credit balance is (limits/limit-lines.ts, limits/credit-lines.ts), as TestKey reports it. */
export const LIMIT_OWNER_ENUM: ReadonlyMap<string, LimitOwnerEnum> = new Map([
  ["key", LimitOwnerEnum.KEY],
  ["identity", LimitOwnerEnum.IDENTITY],
]);

function reverse<K, V>(map: ReadonlyMap<K, V>): ReadonlyMap<V, K> {
  return new Map([...map].map(([k, v]) => [v, k]));
}

const ENVIRONMENT_ENUM = reverse(ENVIRONMENTS);
const KEY_TYPE_ENUM = reverse(KEY_TYPES);
export const RATE_LIMIT_PERIOD_ENUM = reverse(RATE_LIMIT_PERIODS);
export const USER_ROLE_ENUM = reverse(USER_ROLES);
const REFILL_INTERVAL_ENUM = reverse(REFILL_INTERVALS);

export const timestamp = (date: Date | null): Timestamp | undefined => (date ? timestampFromDate(date) : undefined);

/** Usage figures shown on a key, from recorded usage; absent until the key has been used. */
export interface KeyUsageTotals {
  totalRequests: bigint;
  requestsToday: bigint;
  requestsThisMonth: bigint;
  /** The key's last allowed request. */
  lastUsedAt: Date | null;
}

export function toApiKey(key: KeyRecord, usage?: KeyUsageTotals): ApiKey {
  return create(ApiKeySchema, {
    id: key.id,
    organizationId: key.organizationId,
    name: key.name,
    description: key.description,
    keyPrefix: key.keyPrefix,
    environment: ENVIRONMENT_ENUM.get(key.environment)!,
    keyType: KEY_TYPE_ENUM.get(key.keyType)!,
    ownerUserId: key.ownerUserId,
    scopes: key.scopes,
    allowIps: key.allowIps,
    rateLimit: key.rateLimit?.limit ?? 0,
    rateLimitPeriod: key.rateLimit ? RATE_LIMIT_PERIOD_ENUM.get(key.rateLimit.period)! : RateLimitPeriodEnum.UNSPECIFIED,
    isActive: key.isActive,
    revokedAt: timestamp(key.revokedAt),
    expiresAt: timestamp(key.expiresAt),
    lastUsedAt: timestamp(usage?.lastUsedAt ?? null),
    usage: {
      totalRequests: usage?.totalRequests ?? 0n,
      requestsToday: usage?.requestsToday ?? 0n,
      requestsThisMonth: usage?.requestsThisMonth ?? 0n,
    },
    createdAt: timestamp(key.createdAt),
    createdBy: key.createdBy,
    updatedAt: timestamp(key.updatedAt),
    previousSecretExpiresAt: timestamp(key.previousSecret?.expiresAt ?? null),
    recoverable: key.encryptedSecret !== undefined,
    limits: toNamedLimitMessages(key.limits ?? []),
    ...(key.credits && { credits: toCreditsMessage(key.credits) }),
    identityId: key.identityId ?? "",
  });
}

export const toNamedLimitMessages = (limits: readonly NamedLimit[]): NamedLimitMessage[] =>
  limits.map((limit) => create(NamedLimitSchema, { name: limit.name, limit: limit.limit, period: RATE_LIMIT_PERIOD_ENUM.get(limit.period)! }));

/** What was last set (`remaining`); what is left after spending is the limits layer's to say. */
export const toCreditsMessage = (credits: Credits): CreditsMessage =>
  create(CreditsSchema, {
    remaining: BigInt(credits.remaining),
    ...(credits.refill && {
      refill: { amount: BigInt(credits.refill.amount), interval: REFILL_INTERVAL_ENUM.get(credits.refill.interval)!, day: credits.refill.day },
    }),
  });

export function toUserMessage(user: User): UserMessage {
  const limits = user.limits ?? {};
  return create(UserSchema, {
    id: user.id,
    organizationId: user.organizationId,
    name: user.name,
    role: USER_ROLE_ENUM.get(user.role)!,
    limits: {
      ...(limits.maxKeys !== undefined && { maxKeys: limits.maxKeys }),
      ...(limits.maxRateLimitPerMinute !== undefined && { maxRateLimit: limits.maxRateLimitPerMinute }),
      ...(limits.availableScopes !== undefined && { availableScopes: { values: limits.availableScopes } }),
      ...(limits.canCreateAdminKeys !== undefined && { canCreateAdminKeys: limits.canCreateAdminKeys }),
    },
    createdAt: timestampFromDate(user.createdAt),
  });
}

export function toOrganizationMessage(organization: Organization): OrganizationMessage {
  return create(OrganizationSchema, {
    id: organization.id,
    name: organization.name,
    plan: organization.plan,
    createdAt: timestampFromDate(organization.createdAt),
  });
}

export function toAuditEventMessage(event: AuditEvent): AuditEventMessage {
  return create(AuditEventSchema, {
    id: event.id,
    organizationId: event.organizationId,
    action: event.action,
    actorKeyId: event.actorKeyId,
    actorUserId: event.actorUserId,
    keyId: event.keyId,
    occurredAt: timestampFromDate(event.occurredAt),
    details: event.details,
  });
}
