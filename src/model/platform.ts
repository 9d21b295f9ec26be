import { PLATFORM_ADMIN } from "./scopes.js";
import type { KeyRecord, Organization } from "./records.js";

export { PLATFORM_ADMIN };

/**
 * Platform operators run keygate for its tenants. Their credential is an API key holding
 * `platform:admin` in an organization of kind `platform` (made by `keygate bootstrap --operator`).
 * Both are required: the scope is in no catalog (parseScopes refuses it), and even a key that
 * somehow held it would be nobody's operator outside the platform organization.
 */
export function isPlatformOperator(key: Pick<KeyRecord, "scopes">, organization: Pick<Organization, "kind">): boolean {
  return organization.kind === "platform" && key.scopes.includes(PLATFORM_ADMIN);
}
