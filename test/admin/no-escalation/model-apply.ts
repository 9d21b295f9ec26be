import { perMinute, RANK, type Call, type ModelKey, type ModelState, type Person } from "./model.js";
import { authenticate, keyOf, limitsOf, patchedLimits, personOf, rateBound, userOf, type Caller } from "./model-rights.js";

/** What an allowed call changes in the model, and what people it makes entitled to more. */

/** What keygate answered an allowed call with, where the model needs it (new ids and secrets). */
export interface Answer {
  keyId?: string;
  userId?: string;
  secret?: string;
  /** RemoveUser: who the removed user's shared keys now belong to. */
  successorUserId?: string;
}

function learn(state: ModelState, personLabel: string, secret: string): void {
  const person = personOf(state, personLabel);
  if (!person.knows.includes(secret)) person.knows.push(secret);
}

/**
 * People who know a secret the key answers to (its current one, or the superseded one in its
 * grace): a change to the key is a change to what they wield.
 */
const knowersOf = (state: ModelState, key: ModelKey): Person[] =>
  state.people.filter((p) => p.knows.includes(key.current) || (key.previous !== null && key.previous.until > state.now && p.knows.includes(key.previous.secret)));

function grantRank(state: ModelState, key: ModelKey, rank: number): void {
  for (const person of knowersOf(state, key)) person.rankCeiling = Math.max(person.rankCeiling, rank);
}

/** Changes the model as the allowed call must have changed keygate. */
export function apply(state: ModelState, call: Call, answer: Answer): void {
  if (call.method === "advanceClock") {
    state.now += call.ms;
    return;
  }
  if (call.method === "getMyLimits" || call.method === "listOtherOrganization") return;
  const caller = authenticate(state, call.secret) as Caller;
  switch (call.method) {
    case "createKey": {
      const owner = call.ownerUserId === undefined ? caller.me : userOf(state, call.ownerUserId)!;
      const bound = limitsOf(state, owner).maxRateLimitPerMinute;
      const key: ModelKey = {
        id: answer.keyId!,
        organizationId: caller.me.organizationId,
        label: `key ${state.keys.length} (by ${call.person})`,
        ownerUserId: owner.id,
        scopes: [...new Set(call.scopes)],
        keyType: call.keyType,
        isActive: call.isActive ?? true,
        revoked: false,
        deleted: false,
        recoverable: call.recoverable,
        rateCeiling: call.rate && call.rate.limit > 0 ? perMinute(call.rate.limit, call.rate.period) : bound,
        current: answer.secret!,
        previous: null,
        observer: false,
      };
      state.keys.push(key);
      state.secretKey.set(key.current, key.id);
      learn(state, call.person, key.current);
      return;
    }
    case "updateKey": {
      const key = keyOf(state, call.keyId)!;
      if (call.scopes) key.scopes = [...new Set(call.scopes)];
      if (call.ownerUserId !== undefined) key.ownerUserId = call.ownerUserId;
      if (call.isActive !== undefined) key.isActive = call.isActive;
      // The caller may act on the key as it now is, so whoever holds its secret was granted that.
      const owner = userOf(state, key.ownerUserId);
      if (owner) grantRank(state, key, RANK[owner.role]);
      for (const person of knowersOf(state, key)) for (const s of key.scopes) person.scopeCeiling.add(s);
      const bound = rateBound(state, key.organizationId, key.ownerUserId);
      // "A key ... updated without a rate limit gets the tightest bound that applies to its owner":
      // a key left without one, and one whose limit was removed (rate_limit 0).
      const set = call.rate === undefined ? key.rateCeiling : call.rate.limit > 0 ? perMinute(call.rate.limit, call.rate.period) : bound;
      key.rateCeiling = Math.min(set, bound);
      return;
    }
    case "regenerateKey": {
      const key = keyOf(state, call.keyId)!;
      key.previous = call.graceSeconds > 0 ? { secret: key.current, until: state.now + call.graceSeconds * 1000 } : null;
      key.current = answer.secret!;
      state.secretKey.set(key.current, key.id);
      learn(state, call.person, key.current);
      return;
    }
    case "revokeKey": {
      const key = keyOf(state, call.keyId)!;
      Object.assign(key, { revoked: true, isActive: false, recoverable: false });
      return;
    }
    case "deleteKey":
      keyOf(state, call.keyId)!.deleted = true;
      return;
    case "revealKey":
      learn(state, call.person, keyOf(state, call.keyId)!.current);
      return;
    case "addUser":
      state.users.push({
        id: answer.userId!,
        organizationId: caller.me.organizationId,
        label: `user ${state.users.length} (by ${call.person})`,
        role: call.role ?? "member",
        limits: { ...call.limits },
        removed: false,
        observer: false,
      });
      return;
    case "updateUser": {
      const user = userOf(state, call.userId)!;
      const boundBefore = limitsOf(state, user).maxRateLimitPerMinute;
      if (call.role) user.role = call.role;
      user.limits = patchedLimits(user.limits, call.limits, call.reset);
      // A role the caller may give: to the user's own person, and to whoever holds the user's keys.
      for (const person of state.people.filter((p) => p.userId === user.id)) person.rankCeiling = Math.max(person.rankCeiling, RANK[user.role]);
      for (const key of state.keys.filter((k) => !k.deleted && k.ownerUserId === user.id)) grantRank(state, key, RANK[user.role]);
      // "Narrowing a user's limits re-bounds that user's existing keys at once."
      const bound = limitsOf(state, user).maxRateLimitPerMinute;
      if (bound < boundBefore) for (const key of state.keys.filter((k) => !k.deleted && k.ownerUserId === user.id)) key.rateCeiling = Math.min(key.rateCeiling, bound);
      return;
    }
    case "removeUser": {
      const user = userOf(state, call.userId)!;
      user.removed = true;
      // Its user keys stop working; its shared keys pass to the user keygate names (keygate chooses
      // the organization's first owner or admin) without their admin scopes.
      const successor = answer.successorUserId ? userOf(state, answer.successorUserId) : undefined;
      for (const key of state.keys.filter((k) => !k.deleted && !k.revoked && k.ownerUserId === user.id)) {
        if (key.keyType === "user") {
          key.isActive = false;
        } else if (successor) {
          key.ownerUserId = successor.id;
          // Without its admin scopes: the removed user still knows the secret, and with them it
          // would act on the admin API with the successor's role.
          key.scopes = key.scopes.filter((scope) => scope !== "admin:read" && scope !== "admin:write");
          // What the remover could have granted: no rank above its own.
          grantRank(state, key, Math.min(RANK[successor.role], RANK[caller.me.role]));
        }
      }
      return;
    }
  }
}
