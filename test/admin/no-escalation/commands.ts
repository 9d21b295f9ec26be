import fc from "fast-check";
import { ADMIN_READ, ADMIN_WRITE, LIMIT_NAMES, PLATFORM_ADMIN, type Call, type LimitName, type Limits, type ModelState, type Period, type Role } from "./model.js";

/**
 * The generated admin calls. A command names its actor, credential and targets by position
 * (taken modulo the lists the sequence has so far), so that it means something whatever ran
 * before it and fast-check can shrink a sequence by dropping commands.
 */

/** People, in the order world.ts makes them (the first four in the tenant, the last two on the platform). */
export const PERSON = { owner: 0, admin: 1, member: 2, member2: 3, operator: 4, platformAdmin: 5 } as const;
/**
 * The keys and users every sequence starts with, as a person of that organization counts them
 * (world.ts makes them in this order; observers are never targets; after the organization's own
 * come those made later, then one of the other organization's).
 */
export const TENANT_KEY = { ownerBootstrap: 0, ownerNarrow: 1, ownerReader: 2, adminAdmin: 3, adminReader: 4, memberAdmin: 5, member2Shared: 6 } as const;
export const PLATFORM_KEY = { operator: 0, platformAdmin: 1 } as const;
export const TENANT_USER = { owner: 0, admin: 1, member: 2, member2: 3 } as const;

export interface RateArg {
  limit: number;
  period: Period;
}

interface Acting {
  actor: number;
  cred: number;
}

/** Scopes asked for: some of the caller's own key's (by position), or exactly these. */
export type ScopesArg = { own: number[] } | { exact: string[] };

export type Command =
  | (Acting & { kind: "createKey"; scopes: ScopesArg; owner: number | null; rate: RateArg | null; shared: boolean; recoverable: boolean; inactive: boolean })
  | (Acting & { kind: "updateKey"; target: number; scopes: ScopesArg | null; owner: number | null; rate: RateArg | null; isActive: boolean | null })
  | (Acting & { kind: "regenerateKey"; target: number; grace: number })
  | (Acting & { kind: "revokeKey" | "deleteKey" | "revealKey"; target: number })
  | (Acting & { kind: "addUser"; role: Role | null; limits: Limits })
  | (Acting & { kind: "updateUser"; user: number; role: Role | null; limits: Limits; reset: LimitName[] })
  | (Acting & { kind: "removeUser"; user: number })
  | (Acting & { kind: "listOtherOrganization" })
  | { kind: "advanceClock" };

/** Scopes calls ask for: a few data scopes and the admin ones; now and then the operator's. */
const SCOPE_POOL = ["machines:read", "machines:write", "tags:read", "data:export", ADMIN_READ, ADMIN_WRITE];
/** Past the longest grace below, so a clock step ends some grace periods and not others. */
export const CLOCK_STEP_MS = 2 * 3600 * 1000;

const index = fc.nat({ max: 31 });
const role = fc.option(fc.constantFrom<Role>("owner", "admin", "member"), { nil: null });
/** Mostly a part of what the caller holds, so that keys get made; else any, platform:admin now and then. */
const scopes: fc.Arbitrary<ScopesArg> = fc.oneof(
  { arbitrary: fc.record({ own: fc.array(index, { minLength: 1, maxLength: 3 }) }), weight: 3 },
  { arbitrary: fc.record({ exact: fc.subarray(SCOPE_POOL, { minLength: 1, maxLength: 2 }) }), weight: 2 },
  { arbitrary: fc.record({ exact: fc.subarray([...SCOPE_POOL, PLATFORM_ADMIN], { minLength: 1 }) }), weight: 1 },
);
/** Mostly rates within every bound; now and then 0, or one beyond a user's or the plan's bound. */
const rate = fc.oneof(
  { arbitrary: fc.record({ limit: fc.constantFrom(1, 60, 100), period: fc.constantFrom<Period>("minute", "hour") }), weight: 3 },
  { arbitrary: fc.record({ limit: fc.constantFrom(0, 101, 1000, 5000, 7000), period: fc.constantFrom<Period>("second", "minute") }), weight: 1 },
);
const limits: fc.Arbitrary<Limits> = fc.record(
  {
    maxKeys: fc.constantFrom(0, 1, 3, 10, 25),
    maxRateLimitPerMinute: fc.constantFrom(1, 60, 100, 1000, 6000),
    availableScopes: fc.subarray(SCOPE_POOL),
    canCreateAdminKeys: fc.boolean(),
  },
  { requiredKeys: [] },
);
const acting = { actor: index, cred: index };
/** Half the time absent. */
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: null, freq: 2 });

export const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant("createKey" as const),
      ...acting,
      scopes,
      owner: maybe(index),
      rate: maybe(rate),
      shared: fc.boolean(),
      recoverable: fc.boolean(),
      inactive: fc.oneof({ arbitrary: fc.constant(false), weight: 4 }, { arbitrary: fc.constant(true), weight: 1 }),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("updateKey" as const),
      ...acting,
      target: index,
      scopes: maybe(scopes),
      owner: maybe(index),
      rate: maybe(rate),
      isActive: maybe(fc.boolean()),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant("regenerateKey" as const), ...acting, target: index, grace: fc.constantFrom(0, 60, 86_400) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constantFrom("revokeKey" as const, "deleteKey" as const, "revealKey" as const), ...acting, target: index }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant("addUser" as const), ...acting, role, limits }), weight: 1 },
  {
    arbitrary: fc.record({ kind: fc.constant("updateUser" as const), ...acting, user: index, role, limits, reset: fc.subarray(Object.keys(LIMIT_NAMES) as LimitName[]) }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant("removeUser" as const), ...acting, user: index }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("listOtherOrganization" as const), ...acting }), weight: 1 },
  { arbitrary: fc.constant({ kind: "advanceClock" as const }), weight: 1 },
);

const pick = <T>(list: readonly T[], i: number): T => list[i % list.length]!;

/** A command with its positions resolved against the sequence so far. */
export function resolve(state: ModelState, command: Command): Call {
  if (command.kind === "advanceClock") return { method: "advanceClock", ms: CLOCK_STEP_MS };
  const person = pick(state.people, command.actor);
  const who = { person: person.label, secret: pick(person.knows, command.cred) };
  // Targets in the person's own organization (deleted and removed ones too), then one of the other's.
  const ours = <T extends { organizationId: string; observer: boolean }>(all: readonly T[]): T[] => {
    const candidates = all.filter((x) => !x.observer);
    return [...candidates.filter((x) => x.organizationId === person.organizationId), candidates.find((x) => x.organizationId !== person.organizationId)!];
  };
  const keyId = (i: number) => pick(ours(state.keys), i).id;
  const scopesOf = (arg: ScopesArg): string[] => {
    if ("exact" in arg) return arg.exact;
    const held = state.keys.find((k) => k.id === state.secretKey.get(who.secret))!.scopes;
    return held.length === 0 ? [] : [...new Set(arg.own.map((i) => pick(held, i)))];
  };
  const userId = (i: number) => pick(ours(state.users), i).id;
  const rateOf = (r: RateArg | null) => (r === null ? {} : { rate: r });
  switch (command.kind) {
    case "createKey":
      return {
        method: "createKey",
        ...who,
        scopes: scopesOf(command.scopes),
        ...(command.owner !== null && { ownerUserId: userId(command.owner) }),
        ...rateOf(command.rate),
        keyType: command.shared ? "shared" : "user",
        recoverable: command.recoverable,
        ...(command.inactive && { isActive: false }),
      };
    case "updateKey": {
      const nothing = command.scopes === null && command.owner === null && command.rate === null && command.isActive === null;
      return {
        method: "updateKey",
        ...who,
        keyId: keyId(command.target),
        ...(command.scopes !== null && { scopes: scopesOf(command.scopes) }),
        ...(command.owner !== null && { ownerUserId: userId(command.owner) }),
        ...rateOf(command.rate),
        ...(command.isActive !== null && { isActive: command.isActive }),
        ...(nothing && { isActive: true }),
      };
    }
    case "regenerateKey":
      return { method: "regenerateKey", ...who, keyId: keyId(command.target), graceSeconds: command.grace };
    case "revokeKey":
    case "deleteKey":
    case "revealKey":
      return { method: command.kind, ...who, keyId: keyId(command.target) };
    case "addUser":
      return { method: "addUser", ...who, ...(command.role !== null && { role: command.role }), limits: command.limits };
    case "updateUser":
      return {
        method: "updateUser",
        ...who,
        userId: userId(command.user),
        ...(command.role !== null && { role: command.role }),
        limits: command.limits,
        // A limit both set and reset is a malformed request, not a question of rights.
        reset: command.reset.filter((name) => command.limits[LIMIT_NAMES[name]] === undefined),
      };
    case "removeUser":
      return { method: "removeUser", ...who, userId: userId(command.user) };
    case "listOtherOrganization":
      return { method: "listOtherOrganization", ...who, organizationId: state.organizations.find((o) => o.id !== person.organizationId)!.id };
  }
}

const as = (actor: number, cred: number): Acting => ({ actor, cred });
const noLimits: Limits = {};

/**
 * The attacks issue 12 reproduced, and one this property found, as sequences that always run.
 * Credential positions count the person's secrets in the order they learned them (see world.ts
 * for the ones they start with).
 */
export const ATTACKS: readonly { name: string; commands: Command[] }[] = [
  {
    name: "item 1: a member's admin:write key regenerates the owner's broader key, then uses its secret",
    commands: [
      { kind: "regenerateKey", ...as(PERSON.member, 0), target: TENANT_KEY.ownerBootstrap, grace: 0 },
      { kind: "addUser", ...as(PERSON.member, 1), role: "owner", limits: noLimits },
    ],
  },
  {
    name: "item 1: a platform key with only admin:write regenerates the operator key, then reads another organization",
    commands: [
      { kind: "regenerateKey", ...as(PERSON.platformAdmin, 0), target: PLATFORM_KEY.operator, grace: 0 },
      { kind: "listOtherOrganization", ...as(PERSON.platformAdmin, 1) },
    ],
  },
  {
    name: "item 2: a member names the owner as its new key's owner, then promotes itself through that key",
    commands: [
      { kind: "createKey", ...as(PERSON.member, 0), scopes: { exact: [ADMIN_READ, ADMIN_WRITE] }, owner: TENANT_USER.owner, rate: null, shared: false, recoverable: false, inactive: false },
      { kind: "updateUser", ...as(PERSON.member, 1), user: TENANT_USER.member, role: "owner", limits: noLimits, reset: [] },
    ],
  },
  {
    name: "item 2: a capped member escapes max_keys and max_rate_limit through keys it names the owner as owner of",
    commands: [
      { kind: "createKey", ...as(PERSON.member, 0), scopes: { exact: ["machines:read"] }, owner: TENANT_USER.owner, rate: { limit: 5000, period: "minute" }, shared: false, recoverable: false, inactive: false },
      { kind: "createKey", ...as(PERSON.member, 0), scopes: { exact: ["machines:read"] }, owner: TENANT_USER.owner, rate: null, shared: false, recoverable: false, inactive: false },
      { kind: "createKey", ...as(PERSON.member, 0), scopes: { exact: ["machines:read"] }, owner: TENANT_USER.owner, rate: null, shared: false, recoverable: false, inactive: false },
      { kind: "createKey", ...as(PERSON.member, 0), scopes: { exact: ["machines:read"] }, owner: TENANT_USER.owner, rate: null, shared: false, recoverable: false, inactive: false },
    ],
  },
  {
    name: "item 2: a member updates, reveals, revokes and deletes the owner's key",
    commands: [
      { kind: "updateKey", ...as(PERSON.member, 0), target: TENANT_KEY.ownerReader, scopes: null, owner: TENANT_USER.member, rate: null, isActive: null },
      { kind: "updateKey", ...as(PERSON.member, 0), target: TENANT_KEY.ownerReader, scopes: null, owner: null, rate: null, isActive: false },
      { kind: "revealKey", ...as(PERSON.member, 0), target: TENANT_KEY.ownerReader },
      { kind: "revokeKey", ...as(PERSON.member, 0), target: TENANT_KEY.ownerReader },
      { kind: "deleteKey", ...as(PERSON.member, 0), target: TENANT_KEY.ownerReader },
    ],
  },
  {
    name: "item 5: a superseded secret in its grace period rotates its key again, locking the owner out",
    commands: [
      { kind: "regenerateKey", ...as(PERSON.owner, 1), target: TENANT_KEY.ownerNarrow, grace: 86_400 },
      { kind: "regenerateKey", ...as(PERSON.owner, 1), target: TENANT_KEY.ownerNarrow, grace: 0 },
      { kind: "revokeKey", ...as(PERSON.owner, 1), target: TENANT_KEY.ownerNarrow },
      // The owner's new secret (their fourth) still works, for the admin API too.
      { kind: "updateKey", ...as(PERSON.owner, 3), target: TENANT_KEY.ownerNarrow, scopes: null, owner: null, rate: null, isActive: true },
    ],
  },
  {
    // RemoveUser hands a removed user's shared keys to the organization's first owner or admin:
    // when an admin removes a member, that is the owner, a rank the admin may never give. Found
    // by this property; the hand-over now takes the key's admin scopes off.
    name: "what this property found: an admin removes a member, whose shared admin key passes to the owner; the member must not act as the owner",
    commands: [
      { kind: "removeUser", ...as(PERSON.admin, 0), user: TENANT_USER.member2 },
      { kind: "addUser", ...as(PERSON.member2, 0), role: "owner", limits: noLimits },
    ],
  },
];
