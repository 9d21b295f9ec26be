import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { KeyType, RateLimitPeriod, UserRole, type KeyAdminService } from "../../../gen/keygate/v1/key_admin_pb.js";
import { findPlan } from "../../../src/model/plans.js";
import type { SecretEncryption } from "../../../src/crypto/secret-encryption.js";
import { newId } from "../../../src/model/ids.js";
import { generateSecret, keyPrefixOf } from "../../../src/model/secret.js";
import type { ManualClock } from "../../../src/time/clock.js";
import type { TestApp } from "../../support/app.js";
import { anOperator } from "../clients.js";
import { ADMIN_READ, ADMIN_WRITE, RANK, type Call, type Limits, type ModelKey, type ModelState, type ModelUser, type Period, type Person, type PlanBounds, type Role } from "./model.js";
import type { Answer } from "./model-apply.js";

/**
 * One sequence's world on a running keygate: a fresh tenant organization (an owner O, an admin A,
 * a capped member M, a member M2) and a fresh platform organization (operator Op, and PA whose key
 * holds only admin:write), each with an observer key the invariants read through; the model of it
 * all; and the calls, made over Connect with the caller's secret.
 */

type AdminClient = Client<typeof KeyAdminService>;

export interface World {
  t: TestApp;
  clock: ManualClock;
  state: ModelState;
  /** Per organization: the observer's client (admin:read, never a target of a generated call). */
  observers: Map<string, AdminClient>;
  clientFor(secret: string): AdminClient;
}

export type Outcome = { ok: true; answer: Answer } | { ok: false; code: Code; reason: string; message: string };

export const ROLE_ENUM: Readonly<Record<Role, UserRole>> = { owner: UserRole.OWNER, admin: UserRole.ADMIN, member: UserRole.MEMBER };
export const ROLE_OF_ENUM: ReadonlyMap<UserRole, Role> = new Map(Object.entries(ROLE_ENUM).map(([role, value]) => [value, role as Role]));
const PERIOD_ENUM: Readonly<Record<Period, RateLimitPeriod>> = {
  second: RateLimitPeriod.SECOND,
  minute: RateLimitPeriod.MINUTE,
  hour: RateLimitPeriod.HOUR,
  day: RateLimitPeriod.DAY,
};

const limitsMessage = (limits: Limits) => ({
  ...(limits.maxKeys !== undefined && { maxKeys: limits.maxKeys }),
  ...(limits.maxRateLimitPerMinute !== undefined && { maxRateLimit: limits.maxRateLimitPerMinute }),
  ...(limits.availableScopes !== undefined && { availableScopes: { values: limits.availableScopes } }),
  ...(limits.canCreateAdminKeys !== undefined && { canCreateAdminKeys: limits.canCreateAdminKeys }),
});

interface Seed {
  world: Pick<World, "t" | "clock">;
  encryption: SecretEncryption;
  organizationId: string;
  users: ModelUser[];
  keys: ModelKey[];
}

/**
 * The fixtures are written to the store directly, as `keygate bootstrap` writes its own: a
 * sequence's world is then quick to make on both stores, and what the sequence does is all API.
 */
async function addUser(seed: Seed, label: string, role: Role, limits: Limits, observer = false): Promise<ModelUser> {
  const now = seed.world.clock.now();
  const id = newId("user", now);
  await seed.world.t.store.users.create({ id, organizationId: seed.organizationId, name: label, role, createdAt: new Date(now), ...(Object.keys(limits).length > 0 && { limits }) });
  const made: ModelUser = { id, organizationId: seed.organizationId, label, role, limits, removed: false, observer };
  seed.users.push(made);
  return made;
}

/** A key for `owner`, with an explicit rate so that no bound is in question. */
async function addKey(
  seed: Seed,
  label: string,
  owner: ModelUser,
  scopes: string[],
  options: { rate: number; keyType?: "user" | "shared"; recoverable?: boolean; observer?: boolean },
): Promise<ModelKey> {
  const now = new Date(seed.world.clock.now());
  const id = newId("key", now.getTime());
  const secret = generateSecret("live");
  const keyType = options.keyType ?? "user";
  const recoverable = options.recoverable ?? false;
  const outcome = await seed.world.t.store.keys.create(
    {
      id,
      organizationId: seed.organizationId,
      name: label.replace(/'/g, ""),
      description: "",
      keyPrefix: keyPrefixOf(secret),
      secretHash: seed.world.t.app.hasher.hash(secret),
      previousSecret: null,
      environment: "live",
      keyType,
      ownerUserId: owner.id,
      scopes,
      allowIps: [],
      rateLimit: { limit: options.rate, period: "minute" },
      isActive: true,
      revokedAt: null,
      expiresAt: null,
      createdAt: now,
      createdBy: "fixture",
      updatedAt: now,
      ...(recoverable && { encryptedSecret: seed.encryption.seal(secret, id) }),
    },
    { organizationMax: Number.MAX_SAFE_INTEGER, userMax: Number.MAX_SAFE_INTEGER },
  );
  if (!outcome.ok) throw new Error(`fixture key ${label}: ${outcome.reason}`);
  const made: ModelKey = {
    id,
    organizationId: seed.organizationId,
    label,
    ownerUserId: owner.id,
    scopes,
    keyType,
    isActive: true,
    revoked: false,
    deleted: false,
    recoverable,
    rateCeiling: options.rate,
    current: secret,
    previous: null,
    observer: options.observer ?? false,
  };
  seed.keys.push(made);
  return made;
}

const person = (label: string, user: ModelUser, keys: ModelKey[]): Person => ({
  label,
  userId: user.id,
  organizationId: user.organizationId,
  knows: keys.map((k) => k.current),
  rankCeiling: RANK[user.role],
  scopeCeiling: new Set(keys.flatMap((k) => k.scopes)),
});

/** A bootstrap key: every scope it was made with, and no rate limit (none was asked for). */
const bootstrapKey = (label: string, organizationId: string, owner: ModelUser, key: { id: string; scopes: string[] }, secret: string): ModelKey => ({
  id: key.id,
  organizationId,
  label,
  ownerUserId: owner.id,
  scopes: [...key.scopes],
  keyType: "user",
  isActive: true,
  revoked: false,
  deleted: false,
  recoverable: false,
  rateCeiling: Infinity,
  current: secret,
  previous: null,
  observer: false,
});

/**
 * Makes a sequence's world, its people, users and keys in the order commands.ts's PERSON,
 * TENANT_KEY, PLATFORM_KEY and TENANT_USER count them. `encryption` is the server's
 * (KEYGATE_ENCRYPTION_KEY), for the recoverable fixtures.
 */
export async function newWorld(t: TestApp, clock: ManualClock, encryption: SecretEncryption, clients: Map<string, AdminClient>): Promise<World> {
  const clientFor = (secret: string): AdminClient => {
    let client = clients.get(secret);
    if (!client) clients.set(secret, (client = t.clientFor(secret)));
    return client;
  };
  const plan = findPlan(t.config.plans, "pro")!;
  const bounds: PlanBounds = { maxKeysPerUser: plan.maxKeysPerUser, maxRateLimitPerMinute: plan.maxRateLimitPerMinute, canCreateAdminKeys: plan.canCreateAdminKeys };

  const tenantBootstrap = await t.anotherOrganization("pro");
  const tenantId = tenantBootstrap.organization.id;
  const O: ModelUser = { id: tenantBootstrap.owner.id, organizationId: tenantId, label: "O", role: "owner", limits: {}, removed: false, observer: false };
  const tenant: Seed = { world: { t, clock }, encryption, organizationId: tenantId, users: [O], keys: [] };
  const oBoot = bootstrapKey("O's bootstrap key", tenantId, O, tenantBootstrap.key, tenantBootstrap.secret);
  tenant.keys.push(oBoot);
  const A = await addUser(tenant, "A", "admin", { maxKeys: 10, maxRateLimitPerMinute: 1000 });
  const M = await addUser(tenant, "M", "member", { maxKeys: 3, maxRateLimitPerMinute: 100 });
  const M2 = await addUser(tenant, "M2", "member", {});
  const tenantObserver = await addUser(tenant, "tenant observer", "member", {}, true);
  const oNarrow = await addKey(tenant, "O's narrow admin key", O, [ADMIN_READ, ADMIN_WRITE, "machines:read", "tags:read"], { rate: 1000 });
  const oReader = await addKey(tenant, "O's machines:read key", O, ["machines:read"], { rate: 100, recoverable: true });
  const aAdmin = await addKey(tenant, "A's admin key", A, [ADMIN_READ, ADMIN_WRITE, "machines:read", "machines:write", "tags:read"], { rate: 500 });
  const aReader = await addKey(tenant, "A's admin:read key", A, [ADMIN_READ, "machines:read"], { rate: 100 });
  const mAdmin = await addKey(tenant, "M's admin key", M, [ADMIN_READ, ADMIN_WRITE, "machines:read"], { rate: 60, recoverable: true });
  const m2Shared = await addKey(tenant, "M2's shared admin key", M2, [ADMIN_READ, ADMIN_WRITE, "tags:read"], { rate: 60, keyType: "shared" });
  const tenantObserverKey = await addKey(tenant, "tenant observer key", tenantObserver, [ADMIN_READ], { rate: 60, observer: true });

  const operatorBootstrap = await anOperator(t);
  const platformId = operatorBootstrap.organization.id;
  const Op: ModelUser = { id: operatorBootstrap.owner.id, organizationId: platformId, label: "Op", role: "owner", limits: {}, removed: false, observer: false };
  const platform: Seed = { world: { t, clock }, encryption, organizationId: platformId, users: [Op], keys: [] };
  const opKey = bootstrapKey("Op's operator key", platformId, Op, operatorBootstrap.key, operatorBootstrap.secret);
  platform.keys.push(opKey);
  const PA = await addUser(platform, "PA", "admin", {});
  const platformObserver = await addUser(platform, "platform observer", "member", {}, true);
  const paKey = await addKey(platform, "PA's admin:write key", PA, [ADMIN_WRITE], { rate: 60 });
  const platformObserverKey = await addKey(platform, "platform observer key", platformObserver, [ADMIN_READ], { rate: 60, observer: true });

  const state: ModelState = {
    now: clock.now(),
    organizations: [
      { id: tenantId, kind: "tenant", plan: bounds },
      { id: platformId, kind: "platform", plan: bounds },
    ],
    users: [...tenant.users, ...platform.users],
    // In the order TENANT_KEY and PLATFORM_KEY count them (resolve() skips the observers' keys).
    keys: [oBoot, oNarrow, oReader, aAdmin, aReader, mAdmin, m2Shared, opKey, paKey, tenantObserverKey, platformObserverKey],
    people: [
      person("O", O, [oBoot, oNarrow, oReader]),
      person("A", A, [aAdmin, aReader]),
      person("M", M, [mAdmin]),
      person("M2", M2, [m2Shared]),
      person("Op", Op, [opKey]),
      person("PA", PA, [paKey]),
    ],
    secretKey: new Map(),
  };
  for (const key of state.keys) state.secretKey.set(key.current, key.id);
  const observers = new Map([
    [tenantId, clientFor(tenantObserverKey.current)],
    [platformId, clientFor(platformObserverKey.current)],
  ]);
  return { t, clock, state, observers, clientFor };
}

/** The outcome of a call: what the model needs from an answer, or the refusal's code and reason. */
export async function outcomeOf(call: Promise<Answer>): Promise<Outcome> {
  try {
    return { ok: true, answer: await call };
  } catch (error) {
    const connectError = ConnectError.from(error);
    const reason = connectError.findDetails(ErrorInfoSchema)[0]?.reason ?? "";
    return { ok: false, code: connectError.code, reason, message: connectError.rawMessage };
  }
}

/** Makes the call on keygate. */
export function perform(world: World, call: Call): Promise<Outcome> {
  if (call.method === "advanceClock") {
    world.clock.advance(call.ms);
    return Promise.resolve({ ok: true, answer: {} });
  }
  const client = world.clientFor(call.secret);
  const rate = (r: { limit: number; period: Period } | undefined) =>
    r === undefined ? {} : r.limit === 0 ? { rateLimit: 0 } : { rateLimit: r.limit, rateLimitPeriod: PERIOD_ENUM[r.period] };
  return outcomeOf(
    (async (): Promise<Answer> => {
      switch (call.method) {
        case "createKey": {
          const { key, secret } = await client.createKey({
            name: "generated",
            scopes: call.scopes,
            ownerUserId: call.ownerUserId ?? "",
            ...rate(call.rate),
            keyType: call.keyType === "shared" ? KeyType.SHARED : KeyType.USER,
            recoverable: call.recoverable,
            ...(call.isActive !== undefined && { isActive: call.isActive }),
          });
          return { keyId: key!.id, secret };
        }
        case "updateKey":
          await client.updateKey({
            id: call.keyId,
            ...(call.scopes && { scopes: { values: call.scopes } }),
            ...(call.ownerUserId !== undefined && { ownerUserId: call.ownerUserId }),
            ...rate(call.rate),
            ...(call.isActive !== undefined && { isActive: call.isActive }),
          });
          return {};
        case "regenerateKey":
          return { secret: (await client.regenerateKey({ id: call.keyId, gracePeriodSeconds: call.graceSeconds })).secret };
        case "revokeKey":
          await client.revokeKey({ id: call.keyId });
          return {};
        case "deleteKey":
          await client.deleteKey({ id: call.keyId });
          return {};
        case "revealKey":
          return { secret: (await client.getKey({ id: call.keyId, showKeyValue: true })).secret };
        case "addUser":
          return { userId: (await client.addUser({ name: "generated", ...(call.role && { role: ROLE_ENUM[call.role] }), limits: limitsMessage(call.limits) })).user!.id };
        case "updateUser":
          await client.updateUser({
            id: call.userId,
            ...(call.role && { role: ROLE_ENUM[call.role] }),
            limits: limitsMessage(call.limits),
            resetLimits: call.reset,
          });
          return {};
        case "removeUser":
          return { successorUserId: (await client.removeUser({ id: call.userId })).transferredToUserId };
        case "listOtherOrganization":
          await client.listKeys({ organizationId: call.organizationId });
          return {};
        case "getMyLimits":
          await client.getMyLimits({});
          return {};
      }
    })(),
  );
}
