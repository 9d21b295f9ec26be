/** The scope catalog: every scope a key may hold, `resource:action`. */
export interface ScopeDefinition {
  name: string;
  description: string;
}

export const ADMIN_READ = "admin:read";
export const ADMIN_WRITE = "admin:write";
export const ADMIN_SCOPES: readonly string[] = [ADMIN_READ, ADMIN_WRITE];
/**
 * The platform operators' scope (src/model/platform.ts re-exports it). Defined here, below
 * tenancy/, so that the catalog can refuse it: every catalog scope can reach tenants' keys.
 */
export const PLATFORM_ADMIN = "platform:admin";

export const DEFAULT_SCOPES: readonly ScopeDefinition[] = [
  { name: "machines:read", description: "Read machines" },
  { name: "machines:write", description: "Create and change machines" },
  { name: "machines:delete", description: "Delete machines" },
  { name: "tags:read", description: "Read tags" },
  { name: "tags:write", description: "Create and change tags" },
  { name: "tags:delete", description: "Delete tags" },
  { name: "components:read", description: "Read components" },
  { name: "components:write", description: "Create and change components" },
  { name: "documents:read", description: "Read documents" },
  { name: "documents:write", description: "Create and change documents" },
  { name: "data:ingest", description: "Send data" },
  { name: "data:export", description: "Export data" },
  { name: ADMIN_READ, description: "Read keys, usage and audit events of the organization" },
  { name: ADMIN_WRITE, description: "Create, change, rotate, revoke and delete keys of the organization" },
];

export const SCOPE_PATTERN = /^[a-z][a-z0-9_-]{0,63}:[a-z][a-z0-9_-]{0,63}$/;

export function parseScopes(raw: unknown): ScopeDefinition[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new Error("must be a non-empty JSON array of {name, description}");
  const seen = new Set<string>();
  const scopes = raw.map((entry, index) => {
    const scope = entry as Partial<ScopeDefinition> | null;
    if (typeof scope?.name !== "string" || !SCOPE_PATTERN.test(scope.name)) {
      throw new Error(`scope ${index}: name must look like resource:action`);
    }
    // CreateOrganization's issue_owner_key grants a tenant owner every catalog scope.
    if (scope.name === PLATFORM_ADMIN) throw new Error(`scope ${index}: ${PLATFORM_ADMIN} is the platform operators' scope and cannot be in the catalog`);
    if (seen.has(scope.name)) throw new Error(`scope ${scope.name} is listed twice`);
    seen.add(scope.name);
    return { name: scope.name, description: typeof scope.description === "string" ? scope.description : "" };
  });
  for (const admin of ADMIN_SCOPES) {
    if (!seen.has(admin)) scopes.push(DEFAULT_SCOPES.find((s) => s.name === admin)!);
  }
  return scopes;
}
