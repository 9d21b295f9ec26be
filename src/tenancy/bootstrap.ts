import type { Plan } from "../config/plans.js";
import type { ScopeDefinition } from "../config/scopes.js";
import { newId } from "../keys/ids.js";
import { generateSecret, keyPrefixOf, type Environment, type SecretHasher } from "../keys/secret.js";
import type { Store } from "../store/store.js";
import type { KeyRecord, Organization, User } from "../store/types.js";
import type { Clock } from "../time/clock.js";
import { AuditTrail } from "../admin/audit-trail.js";

export interface BootstrapRequest {
  organizationName: string;
  plan: Plan;
  ownerName: string;
  environment: Environment;
}

export interface BootstrapResult {
  organization: Organization;
  owner: User;
  key: KeyRecord;
  /** The admin key's secret; the caller shows it once and keeps it nowhere. */
  secret: string;
}

/**
 * Creates an organization, its owner user and a first admin key holding the whole scope
 * catalog, so the owner can then grant any scope through the admin API.
 */
export async function bootstrapOrganization(
  deps: { store: Store; hasher: SecretHasher; clock: Clock; scopes: readonly ScopeDefinition[] },
  request: BootstrapRequest,
): Promise<BootstrapResult> {
  const now = deps.clock.now();
  const organization: Organization = { id: newId("org", now), name: request.organizationName, plan: request.plan.name, createdAt: new Date(now) };
  const owner: User = { id: newId("user", now), organizationId: organization.id, name: request.ownerName, role: "owner", createdAt: new Date(now) };
  const secret = generateSecret(request.environment);
  const key: KeyRecord = {
    id: newId("key", now),
    organizationId: organization.id,
    name: "bootstrap admin key",
    description: "Created by keygate bootstrap",
    keyPrefix: keyPrefixOf(secret),
    secretHash: deps.hasher.hash(secret),
    previousSecret: null,
    environment: request.environment,
    keyType: "user",
    ownerUserId: owner.id,
    scopes: deps.scopes.map((s) => s.name),
    allowIps: [],
    rateLimit: null,
    isActive: true,
    revokedAt: null,
    expiresAt: null,
    lastUsedAt: null,
    createdAt: new Date(now),
    createdBy: "bootstrap",
    updatedAt: new Date(now),
  };
  await deps.store.organizations.create(organization);
  await deps.store.users.create(owner);
  const outcome = await deps.store.keys.create(key, {
    organizationMax: request.plan.maxKeysPerOrganization,
    userMax: request.plan.maxKeysPerUser,
  });
  if (!outcome.ok) throw new Error(`plan ${request.plan.name} allows no keys (${outcome.reason})`);
  const audit = new AuditTrail(deps.store, deps.clock);
  const actor = { organizationId: organization.id, actorKeyId: "bootstrap", actorUserId: owner.id };
  await audit.record({ ...actor, action: "org.create", keyId: "", details: { name: organization.name, plan: organization.plan } });
  await audit.record({ ...actor, action: "key.create", keyId: key.id, details: { name: key.name, scopes: key.scopes.join(" ") } });
  return { organization, owner, key: outcome.key, secret };
}
