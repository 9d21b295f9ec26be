import type { Plan } from "../model/plans.js";
import { ADMIN_READ, ADMIN_WRITE, type ScopeDefinition } from "../model/scopes.js";
import { newId } from "../model/ids.js";
import { generateSecret, keyPrefixOf, type Environment, type SecretHasher } from "../model/secret.js";
import { boundRateLimit } from "../store/key-bound.js";
import type { Store } from "../store/store.js";
import type { AuditEvent, KeyRecord, Organization, User } from "../model/records.js";
import type { Clock } from "../time/clock.js";
import { AuditTrail } from "../audit/audit-trail.js";
import { PLATFORM_ADMIN } from "../model/platform.js";

export interface TenancyDeps {
  store: Store;
  hasher: SecretHasher;
  clock: Clock;
  scopes: readonly ScopeDefinition[];
}

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

export interface NewOrganization {
  name: string;
  plan: Plan;
  ownerName: string;
  kind?: "platform";
  /** The owner's first key; none when absent. */
  firstKey?: { name: string; description: string; scopes: string[]; environment: Environment };
  /** Who asks, for the new organization's audit log: a platform operator's key, else `bootstrap`. */
  actor?: { keyId: string; userId: string; organizationId: string };
}

export interface CreatedOrganization {
  organization: Organization;
  owner: User;
  key?: KeyRecord;
  secret?: string;
}

/**
 * Creates an organization with its owner user and, when asked, the owner's first key; records
 * it all in the new organization's audit log. The one way organizations come to be: the CLI's
 * bootstrap, the demo, and OperatorService.CreateOrganization.
 */
export async function createOrganization(deps: TenancyDeps, request: NewOrganization): Promise<CreatedOrganization> {
  const now = deps.clock.now();
  const organization: Organization = {
    id: newId("org", now),
    name: request.name,
    plan: request.plan.name,
    createdAt: new Date(now),
    ...(request.kind && { kind: request.kind }),
  };
  const owner: User = { id: newId("user", now), organizationId: organization.id, name: request.ownerName, role: "owner", createdAt: new Date(now) };
  await deps.store.organizations.create(organization);
  await deps.store.users.create(owner);

  const audit = new AuditTrail(deps.store, deps.clock);
  const actor: Pick<AuditEvent, "organizationId" | "actorKeyId" | "actorUserId"> = {
    organizationId: organization.id,
    actorKeyId: request.actor?.keyId ?? "bootstrap",
    actorUserId: request.actor?.userId ?? owner.id,
  };
  const from: Record<string, string> = request.actor ? { actorOrganizationId: request.actor.organizationId } : {};
  const details = { name: organization.name, plan: organization.plan, ownerUserId: owner.id, ...(organization.kind && { kind: organization.kind }) };
  await audit.record({ ...actor, action: "org.create", keyId: "", details: { ...details, ...from } });
  if (!request.firstKey) return { organization, owner };

  const { firstKey } = request;
  const secret = generateSecret(firstKey.environment);
  const key: KeyRecord = {
    id: newId("key", now),
    organizationId: organization.id,
    name: firstKey.name,
    description: firstKey.description,
    keyPrefix: keyPrefixOf(secret),
    secretHash: deps.hasher.hash(secret),
    previousSecret: null,
    environment: firstKey.environment,
    keyType: "user",
    ownerUserId: owner.id,
    scopes: firstKey.scopes,
    allowIps: [],
    // Like any key made without a rate limit: its owner's bound (the plan's, for a new owner).
    rateLimit: boundRateLimit(request.plan.maxRateLimitPerMinute),
    isActive: true,
    revokedAt: null,
    expiresAt: null,
    createdAt: new Date(now),
    createdBy: request.actor?.keyId ?? "bootstrap",
    updatedAt: new Date(now),
  };
  const outcome = await deps.store.keys.create(key, {
    organizationMax: request.plan.maxKeysPerOrganization,
    userMax: request.plan.maxKeysPerUser,
  });
  if (!outcome.ok) throw new Error(`plan ${request.plan.name} allows no keys (${outcome.reason})`);
  await audit.record({ ...actor, action: "key.create", keyId: key.id, details: { name: key.name, scopes: key.scopes.join(" "), ...from } });
  return { organization, owner, key: outcome.key, secret };
}

/**
 * Creates an organization, its owner user and a first admin key holding the whole scope
 * catalog, so the owner can then grant any scope through the admin API.
 */
export async function bootstrapOrganization(deps: TenancyDeps, request: BootstrapRequest): Promise<BootstrapResult> {
  const created = await createOrganization(deps, {
    name: request.organizationName,
    plan: request.plan,
    ownerName: request.ownerName,
    firstKey: {
      name: "bootstrap admin key",
      description: "Created by keygate bootstrap",
      scopes: deps.scopes.map((s) => s.name),
      environment: request.environment,
    },
  });
  return created as BootstrapResult;
}

/**
 * Creates a platform organization, its owner and an operator key: platform:admin for
 * OperatorService and other organizations' keys (never their secrets), plus admin:read and
 * admin:write for its own organization, so operators can list its keys and manage the others.
 * Operator keys come only from here and are never changed through KeyAdminService: platform:admin
 * is in no catalog it grants from, and the policy refuses acting on a key that holds it. Platform
 * operators rotate and revoke them through OperatorService (src/admin/operator-service.ts).
 */
export async function bootstrapOperator(deps: TenancyDeps, request: BootstrapRequest): Promise<BootstrapResult> {
  const created = await createOrganization(deps, {
    name: request.organizationName,
    plan: request.plan,
    ownerName: request.ownerName,
    kind: "platform",
    firstKey: {
      name: "platform operator key",
      description: "Created by keygate bootstrap --operator",
      scopes: [PLATFORM_ADMIN, ADMIN_READ, ADMIN_WRITE],
      environment: request.environment,
    },
  });
  return created as BootstrapResult;
}
