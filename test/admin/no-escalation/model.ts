import { Code } from "@connectrpc/connect";

/**
 * A reference model of the contract's "Who may do what", written from the contract's text and not
 * from keygate's code, for the property that no sequence of admin calls escalates. It knows the
 * organizations, users, keys and secrets a sequence made, who (which person) learned which
 * secret, and decides for each call whether the contract allows it; `apply` then changes the
 * model the way an allowed call must change keygate.
 *
 * Where the contract leaves a case open and neither answer gives anyone more than they had, the
 * verdict is "either" and the model follows what keygate did (the invariants still hold it to
 * account). Those cases are marked `lenient` where they are decided (model-rights.ts and
 * model-decide.ts).
 *
 * This file holds the model's vocabulary: roles, scopes, limits, its state, the calls and the
 * verdicts. model-rights.ts says what users and keys may do, model-decide.ts what the contract says
 * of a call, model-apply.ts what an allowed call changes.
 */

export type Role = "owner" | "admin" | "member";
export const RANK: Readonly<Record<Role, number>> = { member: 0, admin: 1, owner: 2 };

export const PLATFORM_ADMIN = "platform:admin";
export const ADMIN_READ = "admin:read";
export const ADMIN_WRITE = "admin:write";
/** The contract's default catalog; platform:admin is in no catalog. */
export const CATALOG: readonly string[] = [
  "machines:read",
  "machines:write",
  "machines:delete",
  "tags:read",
  "tags:write",
  "tags:delete",
  "components:read",
  "components:write",
  "documents:read",
  "documents:write",
  "data:ingest",
  "data:export",
  ADMIN_READ,
  ADMIN_WRITE,
];

export type Period = "second" | "minute" | "hour" | "day";
const SECONDS: Readonly<Record<Period, number>> = { second: 1, minute: 60, hour: 3600, day: 86400 };
export const perMinute = (limit: number, period: Period): number => (limit * 60) / SECONDS[period];

/** What a plan allows each user (configuration; the model is given it). */
export interface PlanBounds {
  maxKeysPerUser: number;
  maxRateLimitPerMinute: number;
  canCreateAdminKeys: boolean;
}

export interface Limits {
  maxKeys?: number;
  maxRateLimitPerMinute?: number;
  availableScopes?: string[];
  canCreateAdminKeys?: boolean;
}
export const LIMIT_NAMES = { max_keys: "maxKeys", max_rate_limit: "maxRateLimitPerMinute", available_scopes: "availableScopes", can_create_admin_keys: "canCreateAdminKeys" } as const;
export type LimitName = keyof typeof LIMIT_NAMES;

export interface ModelOrganization {
  id: string;
  kind: "tenant" | "platform";
  plan: PlanBounds;
}

export interface ModelUser {
  id: string;
  organizationId: string;
  label: string;
  role: Role;
  limits: Limits;
  removed: boolean;
  /** Never acted on by a generated call: it belongs to the invariant's observer. */
  observer: boolean;
}

export interface ModelKey {
  id: string;
  organizationId: string;
  label: string;
  ownerUserId: string;
  scopes: string[];
  keyType: "user" | "shared";
  isActive: boolean;
  revoked: boolean;
  deleted: boolean;
  recoverable: boolean;
  /** The highest rate (per minute) the key may have; Infinity only for keys bootstrap made without one. */
  rateCeiling: number;
  current: string;
  /** The secret RegenerateKey superseded, while its grace period lasts. */
  previous: { secret: string; until: number } | null;
  observer: boolean;
}

/**
 * A person: the user they are, the secrets they learned (in the order they learned them), and
 * what they were ever entitled to wield: a rank and scopes, raised only by someone entitled to.
 */
export interface Person {
  label: string;
  userId: string;
  organizationId: string;
  knows: string[];
  rankCeiling: number;
  scopeCeiling: Set<string>;
}

export interface ModelState {
  now: number;
  organizations: ModelOrganization[];
  users: ModelUser[];
  keys: ModelKey[];
  people: Person[];
  /** Every secret ever issued, to the key it opened. */
  secretKey: Map<string, string>;
}

export interface RateRequest {
  limit: number;
  period: Period;
}

/** A call with its references resolved to ids and secrets. */
export type Call =
  | { method: "createKey"; person: string; secret: string; scopes: string[]; ownerUserId?: string; rate?: RateRequest; keyType: "user" | "shared"; recoverable: boolean; isActive?: boolean }
  | { method: "updateKey"; person: string; secret: string; keyId: string; scopes?: string[]; ownerUserId?: string; rate?: RateRequest; isActive?: boolean }
  | { method: "regenerateKey"; person: string; secret: string; keyId: string; graceSeconds: number }
  | { method: "revokeKey" | "deleteKey" | "revealKey"; person: string; secret: string; keyId: string }
  | { method: "addUser"; person: string; secret: string; role?: Role; limits: Limits }
  | { method: "updateUser"; person: string; secret: string; userId: string; role?: Role; limits: Limits; reset: LimitName[] }
  | { method: "removeUser"; person: string; secret: string; userId: string }
  | { method: "listOtherOrganization"; person: string; secret: string; organizationId: string }
  | { method: "getMyLimits"; secret: string }
  | { method: "advanceClock"; ms: number };

export type Verdict =
  | { kind: "allow" }
  /** Refused: with one of these codes. */
  | { kind: "refuse"; codes: Set<Code>; why: string[] }
  /** The contract leaves it open: allowed, or refused with one of these codes. */
  | { kind: "either"; codes: Set<Code>; why: string[] };
