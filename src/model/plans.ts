/**
 * A plan is configuration: it bounds what an organization and its users may do.
 * Prices are integer minor units of `currency` so that billing never sums floating-point money.
 */
export interface Plan {
  name: string;
  maxKeysPerOrganization: number;
  maxKeysPerUser: number;
  /**
   * Identities (customers of the organization) it may hold: each is a stored document, and the
   * bound keeps one organization from filling the store. Optional in a plans file
   * (DEFAULT_MAX_IDENTITIES).
   */
  maxIdentities: number;
  /** Highest per-key rate limit, in requests per minute once the key's period is converted. */
  maxRateLimitPerMinute: number;
  monthlyQuota: number;
  /** The organization's combined rate across all its keys. */
  requestsPerMinute: number;
  canCreateAdminKeys: boolean;
  currency: string;
  /** Price of 1,000 requests, in minor units. */
  pricePerThousandRequests: number;
  /** Price of one MB transferred, in minor units. */
  pricePerMegabyte: number;
}

export const DEFAULT_PLANS: readonly Plan[] = [
  {
    name: "free",
    maxKeysPerOrganization: 10,
    maxKeysPerUser: 5,
    maxIdentities: 100,
    maxRateLimitPerMinute: 60,
    monthlyQuota: 10_000,
    requestsPerMinute: 60,
    canCreateAdminKeys: false,
    currency: "USD",
    pricePerThousandRequests: 0,
    pricePerMegabyte: 0,
  },
  {
    name: "pro",
    maxKeysPerOrganization: 100,
    maxKeysPerUser: 25,
    maxIdentities: 10_000,
    maxRateLimitPerMinute: 6_000,
    monthlyQuota: 1_000_000,
    requestsPerMinute: 6_000,
    canCreateAdminKeys: true,
    currency: "USD",
    pricePerThousandRequests: 50,
    pricePerMegabyte: 1,
  },
  {
    name: "enterprise",
    maxKeysPerOrganization: 100_000,
    maxKeysPerUser: 100_000,
    maxIdentities: 1_000_000,
    maxRateLimitPerMinute: 1_000_000,
    monthlyQuota: 1_000_000_000,
    requestsPerMinute: 1_000_000,
    canCreateAdminKeys: true,
    currency: "USD",
    pricePerThousandRequests: 20,
    pricePerMegabyte: 1,
  },
];

/** The configured plans, and the one an organization gets when none is named. */
export interface PlanCatalog {
  readonly plans: readonly Plan[];
  /** The configuration refuses to start unless this names one of `plans`. */
  readonly defaultPlan: string;
}

/**
 * The one lookup of a plan by name. Undefined when no configured plan has that name: a caller
 * naming a plan (an operator's request, a CLI flag) refuses it in its own words, and a stored
 * organization's plan goes through organizationPlan.
 */
export function findPlan(plans: readonly Plan[], name: string): Plan | undefined {
  return plans.find((plan) => plan.name === name);
}

export function defaultPlanOf(catalog: PlanCatalog): Plan {
  const plan = findPlan(catalog.plans, catalog.defaultPlan);
  if (plan === undefined) throw new Error(`the default plan ${catalog.defaultPlan} is not configured`);
  return plan;
}

/**
 * The plan Check holds an organization's keys to, from the plan name stored with it (undefined
 * when the organization itself is not found). Stored data and configuration can disagree: a plan
 * removed from or renamed in the plans file leaves organizations naming it. On the data plane
 * such an organization is held to the default plan, the one a new organization gets, rather than
 * refused: refusing would take every key of the organization offline over a configuration edit.
 * The admin plane does the opposite (its caller authentication refuses), because there the plan bounds what
 * a caller may grant, and a default more generous than the lost plan would let the organization's
 * admins create keys (admin keys, faster keys, more keys) that outlive the plan's return. Callers
 * log the disagreement (the returned plan's name differs from the stored one) so an operator sees it.
 */
export function organizationPlan(catalog: PlanCatalog, stored: string | undefined): Plan {
  return (stored === undefined ? undefined : findPlan(catalog.plans, stored)) ?? defaultPlanOf(catalog);
}

/** A plans file's plan that names no maxIdentities gets this: files written before the bound keep working. */
export const DEFAULT_MAX_IDENTITIES = 10_000;

const PLAN_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const CURRENCY = /^[A-Z]{3}$/;
const NUMERIC_FIELDS = [
  "maxKeysPerOrganization",
  "maxKeysPerUser",
  "maxRateLimitPerMinute",
  "monthlyQuota",
  "requestsPerMinute",
  "pricePerThousandRequests",
  "pricePerMegabyte",
] as const;

/** Validates a parsed plans file; throws an Error naming the plan and field at fault. */
export function parsePlans(raw: unknown): Plan[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new Error("must be a non-empty JSON array of plans");
  const seen = new Set<string>();
  return raw.map((entry, index) => {
    if (typeof entry !== "object" || entry === null) throw new Error(`plan ${index} must be an object`);
    const plan = entry as Record<string, unknown>;
    const name = plan["name"];
    if (typeof name !== "string" || !PLAN_NAME.test(name)) throw new Error(`plan ${index}: name must match ${PLAN_NAME}`);
    if (seen.has(name)) throw new Error(`plan ${name} is defined twice`);
    seen.add(name);
    for (const field of NUMERIC_FIELDS) {
      const value = plan[field];
      const minimum = field.startsWith("price") ? 0 : 1;
      if (!Number.isSafeInteger(value) || (value as number) < minimum) {
        throw new Error(`plan ${name}: ${field} must be an integer >= ${minimum}`);
      }
    }
    const maxIdentities = plan["maxIdentities"] ?? DEFAULT_MAX_IDENTITIES;
    if (!Number.isSafeInteger(maxIdentities) || (maxIdentities as number) < 1) throw new Error(`plan ${name}: maxIdentities must be an integer >= 1`);
    if (typeof plan["canCreateAdminKeys"] !== "boolean") throw new Error(`plan ${name}: canCreateAdminKeys must be a boolean`);
    if (typeof plan["currency"] !== "string" || !CURRENCY.test(plan["currency"])) {
      throw new Error(`plan ${name}: currency must be an ISO 4217 code such as USD`);
    }
    return { ...plan, maxIdentities } as unknown as Plan;
  });
}
