import { Code } from "@connectrpc/connect";
import type { GetMyLimitsResponse } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { KeyRecord, User } from "../../../src/model/records.js";
import { perMinute, RANK, type ModelState, type Role } from "./model.js";
import { decide } from "./model-decide.js";
import { effectiveLimits, limitsOf, rightsOf, secretWorks, slotsHeld, userOf } from "./model-rights.js";
import { outcomeOf, ROLE_OF_ENUM, type World } from "./world.js";

/**
 * What keygate holds against what the people of a sequence were entitled to. A line starting
 * ESCALATION is someone holding more than they were given; MISMATCH is keygate and the model
 * disagreeing the other way (which would make the model's later verdicts meaningless).
 *
 * After every step the store is read directly (cheap on both stores): users, keys, and which
 * secret opens which key. At the end of a sequence the same is asked through the API: TestKey
 * for every secret ever issued, and GetMyLimits through every working one.
 */

const list = (values: Iterable<string>): string => [...values].sort().join(" ") || "(none)";
const sameSet = (a: readonly string[], b: readonly string[]): boolean => new Set(a).size === new Set(b).size && a.every((s) => b.includes(s));
const rateOf = (key: KeyRecord): number => (key.rateLimit ? perMinute(key.rateLimit.limit, key.rateLimit.period) : Infinity);

interface Observed {
  keys: KeyRecord[];
  users: User[];
  /** Per secret ever issued: the key it works for now, by the records (current, or superseded within its grace). */
  opens: Map<string, KeyRecord | undefined>;
}

async function observeStore(world: World): Promise<Observed> {
  const { state, t } = world;
  const keys: KeyRecord[] = [];
  const users: User[] = [];
  for (const organization of state.organizations) {
    keys.push(...(await t.store.keys.list(organization.id, { limit: 1000 })));
    users.push(...(await t.store.users.listByOrganization(organization.id, { limit: 1000 })));
  }
  const now = world.clock.now();
  const opens = new Map<string, KeyRecord | undefined>();
  for (const secret of state.secretKey.keys()) {
    const hash = t.app.hasher.hash(secret);
    const key = keys.find((k) => k.secretHash === hash || (k.previousSecret?.hash === hash && k.previousSecret.expiresAt.getTime() > now));
    const works = key !== undefined && key.revokedAt === null && key.isActive && (key.expiresAt === null || key.expiresAt.getTime() > now);
    opens.set(secret, works ? key : undefined);
  }
  return { keys, users, opens };
}

/** Users: the same people, each with no role and no limits beyond what the model granted. */
function userViolations(state: ModelState, observed: Observed): string[] {
  const found: string[] = [];
  for (const user of observed.users) {
    const expected = userOf(state, user.id);
    if (!expected) {
      found.push(`ESCALATION: keygate has user ${user.id} (${user.role}) that nobody entitled added or kept`);
      continue;
    }
    if (user.role !== expected.role) {
      found.push(`${RANK[user.role] > RANK[expected.role] ? "ESCALATION" : "MISMATCH"}: ${expected.label} is ${user.role} in keygate, ${expected.role} as granted`);
    }
    const plan = state.organizations.find((o) => o.id === user.organizationId)!.plan;
    const [got, want] = [effectiveLimits(plan, user.limits ?? {}), limitsOf(state, expected)];
    const raised = [
      got.maxKeys > want.maxKeys && `max_keys ${got.maxKeys} > ${want.maxKeys}`,
      got.maxRateLimitPerMinute > want.maxRateLimitPerMinute && `max_rate_limit ${got.maxRateLimitPerMinute} > ${want.maxRateLimitPerMinute}`,
      got.canCreateAdminKeys && !want.canCreateAdminKeys && "can_create_admin_keys",
      got.availableScopes.some((s) => !want.availableScopes.includes(s)) && `available_scopes ${list(got.availableScopes)} ⊄ ${list(want.availableScopes)}`,
    ].filter(Boolean);
    if (raised.length > 0) found.push(`ESCALATION: ${expected.label}'s limits in keygate exceed what was granted: ${raised.join("; ")}`);
    else if (JSON.stringify(got) !== JSON.stringify(want)) found.push(`MISMATCH: ${expected.label}'s limits are ${JSON.stringify(got)} in keygate, ${JSON.stringify(want)} in the model`);
  }
  for (const user of state.users.filter((u) => !u.removed)) {
    if (!observed.users.some((u) => u.id === user.id)) found.push(`MISMATCH: ${user.label} is gone from keygate`);
  }
  return found;
}

/** Keys: the same keys, each with no owner, scope, state or rate beyond what the model granted. */
function keyViolations(state: ModelState, observed: Observed): string[] {
  const found: string[] = [];
  const userLabel = (id: string) => state.users.find((u) => u.id === id)?.label ?? id;
  for (const key of observed.keys) {
    const expected = state.keys.find((k) => k.id === key.id && !k.deleted);
    if (!expected) {
      found.push(`ESCALATION: keygate has key ${key.id} (scopes ${list(key.scopes)}) that nobody entitled made or kept`);
      continue;
    }
    const name = expected.label;
    if (key.ownerUserId !== expected.ownerUserId) found.push(`ESCALATION: ${name} is owned by ${userLabel(key.ownerUserId)} in keygate, by ${userLabel(expected.ownerUserId)} as granted`);
    if (!sameSet(key.scopes, expected.scopes)) {
      const extra = key.scopes.some((s) => !expected.scopes.includes(s));
      found.push(`${extra ? "ESCALATION" : "MISMATCH"}: ${name} holds ${list(key.scopes)} in keygate, ${list(expected.scopes)} as granted`);
    }
    const revoked = key.revokedAt !== null;
    if (revoked !== expected.revoked) found.push(`${expected.revoked ? "ESCALATION" : "MISMATCH"}: ${name} is ${revoked ? "" : "not "}revoked in keygate`);
    if (key.isActive !== expected.isActive) found.push(`${expected.isActive ? "MISMATCH" : "ESCALATION"}: ${name} is ${key.isActive ? "active" : "disabled"} in keygate`);
    const recoverable = key.encryptedSecret !== undefined;
    if (recoverable !== expected.recoverable) found.push(`${expected.recoverable ? "MISMATCH" : "ESCALATION"}: ${name} is ${recoverable ? "" : "not "}recoverable in keygate`);
    if (!revoked && rateOf(key) > expected.rateCeiling) {
      const shown = key.rateLimit ? `${key.rateLimit.limit} per ${key.rateLimit.period}` : "none (unlimited)";
      found.push(`ESCALATION: ${name}'s rate limit is ${shown} in keygate, at most ${expected.rateCeiling} per minute as bounded`);
    }
  }
  for (const key of state.keys.filter((k) => !k.deleted)) {
    if (!observed.keys.some((k) => k.id === key.id)) found.push(`MISMATCH: ${key.label} is gone from keygate`);
  }
  return found;
}

/** Secrets: each works exactly while the model says so, and wields no rank or scope its holder was not entitled to. */
function credentialViolations(state: ModelState, observed: Observed, labelOf: (secret: string) => string): string[] {
  const found: string[] = [];
  for (const [secret, key] of observed.opens) {
    const expected = secretWorks(state, secret);
    if (key?.id !== expected?.id) found.push(`${key ? "ESCALATION" : "MISMATCH"}: ${labelOf(secret)} ${key ? "works" : "does not work"} in keygate`);
  }
  for (const person of state.people) {
    for (const secret of person.knows) {
      const key = observed.opens.get(secret);
      if (!key) continue;
      const owner = observed.users.find((u) => u.id === key.ownerUserId);
      // A role acts only on the admin API: a secret without an admin scope wields no rank.
      const wieldsRank = key.scopes.some((s) => s === "admin:read" || s === "admin:write");
      if (owner && wieldsRank && RANK[owner.role] > person.rankCeiling) {
        const granted = (Object.keys(RANK) as Role[]).find((role) => RANK[role] === person.rankCeiling);
        found.push(`ESCALATION: ${person.label} holds ${labelOf(secret)}, which acts as ${owner.role} ${state.users.find((u) => u.id === owner.id)?.label ?? owner.id}; nobody entitled granted ${person.label} more than ${granted}`);
      }
      const beyond = key.scopes.filter((s) => !person.scopeCeiling.has(s));
      if (beyond.length > 0) found.push(`ESCALATION: ${person.label} holds ${labelOf(secret)}, with ${list(beyond)} that nobody entitled granted them`);
    }
  }
  return found;
}

/**
 * "Narrowing a user's limits re-bounds that user's existing keys at once": keygate may do that by
 * dropping the scopes the owner may no longer hold from the key itself. The model then follows,
 * since what the key may do is the same either way.
 */
function followRebounds(state: ModelState, observed: Observed): void {
  for (const key of observed.keys) {
    const expected = state.keys.find((k) => k.id === key.id && !k.deleted);
    const owner = expected && userOf(state, expected.ownerUserId);
    if (!expected || !owner || key.scopes.some((s) => !expected.scopes.includes(s))) continue;
    const available = limitsOf(state, owner).availableScopes;
    const dropped = expected.scopes.filter((s) => !key.scopes.includes(s));
    if (dropped.length > 0 && dropped.every((s) => !available.includes(s))) expected.scopes = [...key.scopes];
  }
}

/** Everything that does not hold in the store after a step; empty when all is well. */
export async function invariantViolations(world: World, labelOf: (secret: string) => string): Promise<string[]> {
  const observed = await observeStore(world);
  followRebounds(world.state, observed);
  return [...userViolations(world.state, observed), ...keyViolations(world.state, observed), ...credentialViolations(world.state, observed, labelOf)];
}

/** GetMyLimits through a working secret: refused or answered as the model says, showing the model's rights. */
async function myLimitsViolation(world: World, secret: string, labelOf: (secret: string) => string): Promise<string | undefined> {
  const { state } = world;
  const verdict = decide(state, { method: "getMyLimits", secret });
  let answer: GetMyLimitsResponse | undefined;
  const outcome = await outcomeOf(world.clientFor(secret).getMyLimits({}).then((a) => ((answer = a), {})));
  const through = `GetMyLimits through ${labelOf(secret)}`;
  if (!outcome.ok) {
    if (verdict.kind === "allow") return `MISMATCH: ${through} was refused (${Code[outcome.code]}: ${outcome.message})`;
    if (!verdict.codes.has(outcome.code)) return `MISMATCH: ${through} was refused with ${Code[outcome.code]}, the model expects ${[...verdict.codes].map((c) => Code[c]).join("/")}`;
    return undefined;
  }
  if (verdict.kind === "refuse") return `ESCALATION: ${through} answered; the model refuses it: ${verdict.why.join("; ")}`;
  const key = secretWorks(state, secret)!;
  const owner = userOf(state, key.ownerUserId)!;
  const limits = limitsOf(state, owner);
  const rights = [...rightsOf(state, key)].filter((s) => s !== "platform:admin");
  const got = answer!;
  const differences = [
    ROLE_OF_ENUM.get(got.role) !== owner.role && `role ${ROLE_OF_ENUM.get(got.role)} (model: ${owner.role})`,
    got.userId !== owner.id && `user ${got.userId} (model: ${owner.label})`,
    got.maxKeys !== limits.maxKeys && `max_keys ${got.maxKeys} (model: ${limits.maxKeys})`,
    got.currentKeys !== slotsHeld(state, owner.id) && `current_keys ${got.currentKeys} (model: ${slotsHeld(state, owner.id)})`,
    got.maxRateLimit !== limits.maxRateLimitPerMinute && `max_rate_limit ${got.maxRateLimit} (model: ${limits.maxRateLimitPerMinute})`,
    got.canCreateAdminKeys !== limits.canCreateAdminKeys && `can_create_admin_keys ${got.canCreateAdminKeys} (model: ${limits.canCreateAdminKeys})`,
    !sameSet(got.availableScopes, rights) && `available_scopes ${list(got.availableScopes)} (model: ${list(rights)})`,
  ].filter(Boolean);
  return differences.length > 0 ? `MISMATCH: ${through} shows ${differences.join(", ")}` : undefined;
}

/**
 * Through the API, at the end of a sequence: every working secret that holds an admin scope sees
 * its own rights (GetMyLimits) as the model does, or is refused where the model refuses it (a
 * superseded one); every other secret ever issued works for TestKey exactly while the model says so.
 */
export async function apiViolations(world: World, labelOf: (secret: string) => string): Promise<string[]> {
  const { state } = world;
  const found = await Promise.all(
    [...state.secretKey].map(async ([secret, keyId]): Promise<string[]> => {
      const expected = secretWorks(state, secret);
      const admin = expected !== undefined && expected.scopes.some((s) => s === "admin:read" || s === "admin:write");
      const problems: (string | undefined)[] = [];
      if (admin) problems.push(await myLimitsViolation(world, secret, labelOf));
      if (!admin || expected.current !== secret) {
        const organizationId = state.keys.find((k) => k.id === keyId)!.organizationId;
        const tested = await world.observers.get(organizationId)!.testKey({ apiKey: secret });
        if ((tested.valid ? tested.keyId : undefined) !== expected?.id) {
          problems.push(`${tested.valid ? "ESCALATION" : "MISMATCH"}: TestKey finds ${labelOf(secret)} ${tested.valid ? "valid" : `not valid (${tested.reason})`}`);
        }
      }
      return problems.filter((line): line is string => line !== undefined);
    }),
  );
  return found.flat();
}
