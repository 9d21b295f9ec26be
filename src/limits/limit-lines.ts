import { DEFAULT_LIMIT_NAME, type Credits, type IdentityRecord, type NamedLimit } from "../model/identities.js";
import type { KeyRecord, RateLimitPeriod } from "../model/records.js";
import type { Plan } from "../model/plans.js";
import type { WindowUnit } from "../time/budget-windows.js";
import { PERIOD_MS, type RateLimitRule } from "./rate-limiter.js";

/**
 * The limits one Check spends on, in the contract's order: the key's `rateLimit` (the limit named
 * `default`), the key's named limits, its identity's named limits, then the organization's
 * per-minute rate and monthly quota. A route may name the limits it spends (RouteLimits); the
 * organization's apply whatever it names. Pure: both CheckLimits implementations count on these
 * lines, LocalLimits by `local` and `localBucket`, LeasedLimits by `bucket` (a line is a
 * BudgetSpec). Lines are made once per key record, identity record, plan and route selection
 * (linesOf), so a Check builds no string and no array for them.
 */

export type PlanLimits = Pick<Plan, "name" | "requestsPerMinute" | "monthlyQuota">;

export type LimitedKey = Pick<KeyRecord, "id" | "organizationId" | "rateLimit"> & {
  readonly limits?: readonly NamedLimit[] | undefined;
  readonly identityId?: string | undefined;
};

/** What the limits read of an identity: the one object the identity cache holds per record. */
export interface LimitedIdentity {
  readonly id: IdentityRecord["id"];
  readonly limits: readonly NamedLimit[];
  /** Spent by credit-lines.ts, not by these lines; absent or null: none. */
  readonly credits?: Credits | null;
}

/** The names of the limits a route spends, as one shared frozen array per distinct list; null: all of them. */
export type RouteLimits = readonly string[] | null;

export type LimitOwner = "key" | "identity" | "organization";

export interface LimitLine {
  readonly owner: LimitOwner;
  /** The limit's name: the key's or identity's; `minute` and `month` for the organization's. */
  readonly name: string;
  readonly limit: number;
  readonly unit: WindowUnit;
  /** The leased bucket: unique across keys, identities and organizations, and per period (a new period is a new count). */
  readonly bucket: string;
  /** Leased only: what the organization spent this month before leasing began counts first. */
  readonly seedFirst?: boolean;
  /** Which local counter holds it (LocalLimits): a sliding window of keys and identities, the organization's minute, or its month. */
  readonly local: "window" | "minute" | "month";
  /** Its name in that counter (found with the period: the bucket's kind there). */
  readonly localBucket: string;
  /** The window's rule (null for the month, which is not a sliding window). */
  readonly rule: RateLimitRule | null;
  /** Its identifier in the RateLimit header fields (rate-limit-fields.ts): the name, prefixed with whose it is unless the key's. */
  readonly policy: string;
}

export interface LimitLines {
  readonly lines: readonly LimitLine[];
  /** The RateLimit-Policy field for these lines but the organization's, made once; empty when there are none. */
  readonly policyField: string;
}

/** Organization lines' policy identifiers: `:` is not allowed in limit names, so none collides with a key's. */
const ORGANIZATION_POLICY = "organization:";
const IDENTITY_POLICY = "identity:";

function windowLine(owner: "key" | "identity", name: string, limit: number, period: RateLimitPeriod, bucket: string, localBucket: string): LimitLine {
  return {
    owner,
    name,
    limit,
    unit: period,
    bucket,
    local: "window",
    localBucket,
    rule: Object.freeze({ limit, period }),
    policy: owner === "key" ? name : `${IDENTITY_POLICY}${name}`,
  };
}

function selected(only: RouteLimits, name: string): boolean {
  return only === null || only.includes(name);
}

/**
 * The key's own lines (`default` first), then its identity's, for a route spending `only` (null:
 * all of them): every line but the organization's, made afresh.
 */
export function ownLimitLines(key: LimitedKey, identity: LimitedIdentity | null, only: RouteLimits): LimitLine[] {
  const lines: LimitLine[] = [];
  const named = (key.limits ?? []).filter((limit) => selected(only, limit.name));
  // The default line keeps the buckets the key's rate limit has always counted in (`key/<id>/<period>`
  // leased, the key's id locally), so a deploy does not reset what keys have spent. A route that
  // names none of the key's own limits still spends `default`: the key's limits are its owner's
  // bound (each named one is within it too), and a route naming a limit the key lacks must not
  // take the key outside that bound.
  if (key.rateLimit !== null && (selected(only, DEFAULT_LIMIT_NAME) || named.length === 0)) {
    const { limit, period } = key.rateLimit;
    lines.push(windowLine("key", DEFAULT_LIMIT_NAME, limit, period, `key/${key.id}/${period}`, key.id));
  }
  for (const limit of named) {
    lines.push(windowLine("key", limit.name, limit.limit, limit.period, `key/${key.id}/limit/${limit.name}/${limit.period}`, `${key.id}/${limit.name}`));
  }
  // An identity's buckets are named by the identity, not the key: every key of it spends the same count.
  for (const named of identity?.limits ?? []) {
    if (!selected(only, named.name)) continue;
    const bucket = `identity/${key.organizationId}/${identity!.id}/${named.name}/${named.period}`;
    lines.push(windowLine("identity", named.name, named.limit, named.period, bucket, bucket));
  }
  return lines;
}

/** The lines, made afresh (linesOf caches them). */
export function makeLimitLines(key: LimitedKey, plan: PlanLimits, identity: LimitedIdentity | null, only: RouteLimits): LimitLines {
  const lines = ownLimitLines(key, identity, only);
  const organizationId = key.organizationId;
  lines.push({
    owner: "organization",
    name: "minute",
    limit: plan.requestsPerMinute,
    unit: "minute",
    bucket: `org/${organizationId}/minute`,
    local: "minute",
    localBucket: organizationId,
    rule: Object.freeze({ limit: plan.requestsPerMinute, period: "minute" as const }),
    policy: `${ORGANIZATION_POLICY}minute`,
  });
  lines.push({
    owner: "organization",
    name: "month",
    limit: plan.monthlyQuota,
    unit: "month",
    bucket: `${QUOTA_PREFIX}${organizationId}`,
    seedFirst: true,
    local: "month",
    localBucket: organizationId,
    rule: null,
    policy: `${ORGANIZATION_POLICY}month`,
  });
  return { lines, policyField: policyField(lines.filter((line) => line.owner !== "organization")) };
}

/** The monthly quota's leased buckets: `quota/<organization id>`, seeded from stored usage. */
export const QUOTA_PREFIX = "quota/";

/**
 * RateLimit-Policy (draft-ietf-httpapi-ratelimit-headers-11, section 3): a List of quota policy
 * Items, each a String identifier with `q` (the quota) and `w` (the window in seconds; left out
 * for the calendar month, which has no fixed length). The organization's lines are left out: the
 * field goes to every API client, and the organization's quotas would tell them its plan and, by
 * what is left, its traffic; empty when no other line applies (then the field is not sent).
 */
function policyField(lines: readonly LimitLine[]): string {
  return lines.map((line) => (line.rule === null ? `"${line.policy}";q=${line.limit}` : `"${line.policy}";q=${line.limit};w=${PERIOD_MS[line.rule.period] / 1_000}`)).join(", ");
}

// What the lines were made from, to tell when a cached set is out of date.
interface KeyLines {
  plan: PlanLimits;
  rateLimit: LimitedKey["rateLimit"];
  limits: LimitedKey["limits"];
  identity: LimitedIdentity | null;
  organizationId: string;
  requestsPerMinute: number;
  monthlyQuota: number;
  /** By route selection (null: all limits apply). */
  byRoute: Map<RouteLimits, LimitLines>;
}

/** Route selections remembered per key; beyond it they are made again (a key used on very many routes). */
const MAX_ROUTES_PER_KEY = 64;
const linesOfKey = new WeakMap<LimitedKey, KeyLines>();

/** The lines for this key, plan, identity and route selection, made once while none of them changes. */
export function linesOf(key: LimitedKey, plan: PlanLimits, identity: LimitedIdentity | null, only: RouteLimits): LimitLines {
  let cached = linesOfKey.get(key);
  if (
    cached === undefined ||
    cached.plan !== plan ||
    cached.rateLimit !== key.rateLimit ||
    cached.limits !== key.limits ||
    cached.identity !== identity ||
    cached.organizationId !== key.organizationId ||
    cached.requestsPerMinute !== plan.requestsPerMinute ||
    cached.monthlyQuota !== plan.monthlyQuota
  ) {
    cached = {
      plan,
      rateLimit: key.rateLimit,
      limits: key.limits,
      identity,
      organizationId: key.organizationId,
      requestsPerMinute: plan.requestsPerMinute,
      monthlyQuota: plan.monthlyQuota,
      byRoute: new Map(),
    };
    linesOfKey.set(key, cached);
  }
  let lines = cached.byRoute.get(only);
  if (lines === undefined) {
    if (cached.byRoute.size >= MAX_ROUTES_PER_KEY) cached.byRoute.clear();
    lines = makeLimitLines(key, plan, identity, only);
    cached.byRoute.set(only, lines);
  }
  return lines;
}
