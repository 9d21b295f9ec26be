/**
 * The admin plane's authorization policy: who may do what, from the contract's "Who may do what".
 * Pure functions over an Actor (the calling key's rights) and the target, each returning a
 * Decision; no I/O. Every admin and operator RPC asks here and decides nothing on its own: the
 * caller interceptor which RPC a key may call (rpc-scopes), the handlers what it may do to a key
 * (key-rules), a user (user-rules), or the organization's webhooks, identities and settings
 * (organization-rules). Handlers turn a refusal into permission_denied through enforce.ts, which
 * audits it before anything changes.
 */
export { actorOf, rankOf, RANK, type Actor, type ActorSource } from "./policy/actor.js";
export {
  effectiveLimits,
  type AdminKeyPermission,
  type EffectiveLimits,
  type RateLimitBound,
} from "./policy/effective-limits.js";
export { ALLOWED, refuse, type Decision, type Refusal, type RefusalRule } from "./policy/decision.js";
export {
  mayActOnKey,
  mayActOnOperatorKey,
  mayAskForSecret,
  keyRateBound,
  mayGiveRate,
  mayGrantScopes,
  mayNameOwner,
  mayReadOrganization,
  ownerMayHold,
  type KeyAction,
  type KeyTarget,
  type OperatorKeyAction,
  type NamedOwner,
} from "./policy/key-rules.js";
export { mayChangeSettings, mayManageIdentities, mayManageWebhooks } from "./policy/organization-rules.js";
export { mayCall, requiredScope } from "./policy/rpc-scopes.js";
export { mayAddUser, mayChangeUser, mayRemoveUser, type HeldLimits, type LimitsChange, type UserTarget } from "./policy/user-rules.js";
