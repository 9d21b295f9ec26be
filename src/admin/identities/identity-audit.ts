import type { IdentityRecord } from "../../model/identities.js";

/**
 * What an audit entry says of an identity: its ids, and how many limits and whether credits it
 * holds. Its meta stays out: organizations keep what they like there, which the audit log need not copy.
 */
export function identityDetails(identity: IdentityRecord): Record<string, string> {
  return {
    identityId: identity.id,
    externalId: identity.externalId,
    limits: identity.limits.map((limit) => `${limit.name}=${limit.limit}/${limit.period}`).join(","),
    credits: identity.credits ? String(identity.credits.remaining) : "none",
  };
}
