import type { CachedKey } from "../cache/cached-key.js";
import { isWellFormedSecret } from "../model/secret.js";
import type { CheckLimits, CreditBalance, CreditLine, LimitedIdentity, LimitLine, LimitLines, Spend } from "../limits/check-limits.js";
import type { RateLimitState } from "../limits/rate-limiter.js";
import { UNKNOWN_SCOPES, type CheckInput } from "./check-input.js";

/**
 * Step two of Check: input + key → decision. The checks run in the contract's order, cheap ones
 * first and the consuming ones (rate limit, quota) last, so a denied request spends no budget.
 * Apart from counting an admitted request in `limits`, this is a pure, synchronous function.
 */

/** The limits need something from the store first: wait for it, then decide again without waiting. */
export interface LimitsWait {
  readonly waitFor: Promise<void>;
}

/** The key's identity for its limits: as cached (null: none, or deleted), or what to wait for before deciding again. */
export type IdentityLookup = (entry: CachedKey) => LimitedIdentity | null | Promise<unknown>;

/** Keys without an identity, or a Check service not told of identities: only the key's own limits. */
const NO_IDENTITIES: IdentityLookup = () => null;

/** The limits a decision was made by: the tightest (or the one that denied) and all that applied. */
interface Limited {
  readonly limit: RateLimitState;
  readonly line: LimitLine;
  readonly lines: LimitLines;
}

export type Decision =
  | ({
      readonly outcome: "allowed";
      readonly entry: CachedKey;
      /** The key's and its identity's balances after this request (CheckLimits' Admission), for `key.credits_low`. */
      readonly credits: readonly CreditBalance[];
    } & Limited)
  /**
   * A path the route table cannot vouch for, no key, or none this service knows (malformed,
   * unknown, or a rotated secret past its grace).
   */
  | { readonly outcome: "PATH_REJECTED" | "API_KEY_MISSING" | "API_KEY_INVALID"; readonly entry: null }
  | {
      readonly outcome: "API_KEY_REVOKED" | "API_KEY_DISABLED" | "API_KEY_EXPIRED" | "IP_NOT_ALLOWED" | "ROUTE_NOT_ALLOWED" | "SCOPE_MISSING";
      readonly entry: CachedKey;
    }
  | ({ readonly outcome: "RATE_LIMITED" | "QUOTA_EXCEEDED"; readonly entry: CachedKey } & Limited)
  /** A balance (the key's or its identity's) has less than the request's cost left: `left` (null: unknown here). */
  | { readonly outcome: "CREDITS_EXHAUSTED"; readonly entry: CachedKey; readonly credit: CreditLine; readonly left: number | null };

const PATH_REJECTED: Decision = Object.freeze({ outcome: "PATH_REJECTED", entry: null });
const MISSING: Decision = Object.freeze({ outcome: "API_KEY_MISSING", entry: null });
const INVALID: Decision = Object.freeze({ outcome: "API_KEY_INVALID", entry: null });

/**
 * The decisions made before any lookup: a path the route table rejects (the request is malformed
 * whoever sends it, so it is answered first, as Envoy answers its own path rejections before any
 * filter), no key, or one whose shape or checksum is wrong (those never reach the cache or the
 * store). Otherwise the secret to look up.
 */
export function screenRequest(input: CheckInput): Decision | { secret: string } {
  if (input.pathRejected) return PATH_REJECTED;
  const key = input.key;
  if (key.kind === "missing") return MISSING;
  return isWellFormedSecret(key.secret) ? { secret: key.secret } : INVALID;
}

export function decide(
  input: CheckInput,
  presentedHash: string,
  entry: CachedKey | null,
  nowMs: number,
  limits: Pick<CheckLimits, "admit">,
  /** How long the Check may still wait for the limits (CheckLimits.admit); 0: not at all. */
  waitMs = Infinity,
  identityOf: IdentityLookup = NO_IDENTITIES,
): Decision | LimitsWait {
  if (entry === null) return INVALID;
  const status = entry.status(presentedHash, nowMs);
  if (status === "API_KEY_INVALID") return INVALID;
  if (status !== "valid") return { outcome: status, entry };
  // An open list allows every address: the client's is not even parsed (CheckInput.clientIp is lazy).
  if (!entry.allowList.isOpen && !entry.allowList.allows(input.clientIp)) return { outcome: "IP_NOT_ALLOWED", entry };
  // A route the table does not allow is refused at the scope step, once the key is known: an
  // unauthenticated caller learns nothing of the table, and the denial counts in the key's usage.
  if (input.requiredScopes === null) return { outcome: "ROUTE_NOT_ALLOWED", entry };
  // Scopes nobody configured are scopes the key does not hold.
  if (input.requiredScopes === UNKNOWN_SCOPES) return { outcome: "SCOPE_MISSING", entry };
  for (const scope of input.requiredScopes) {
    if (!entry.scopes.has(scope)) return { outcome: "SCOPE_MISSING", entry };
  }
  // A cost or limits Envoy's route spells wrong: the route is misconfigured, and allows nothing.
  const routeSpend = input.spend;
  if (routeSpend === null) return { outcome: "ROUTE_NOT_ALLOWED", entry };
  let spend: Spend = routeSpend;
  if (entry.identityId !== undefined) {
    const identity = identityOf(entry);
    if (identity instanceof Promise) return { waitFor: identity.then(() => undefined) };
    if (identity !== null) spend = { cost: routeSpend.cost, only: routeSpend.only, identity };
  }
  const admission = limits.admit(entry, entry.plan, nowMs, waitMs, spend);
  if ("waitFor" in admission) return admission;
  if (!admission.admitted && admission.reason === "CREDITS_EXHAUSTED") return { outcome: "CREDITS_EXHAUSTED", entry, credit: admission.credit, left: admission.left };
  const { state: limit, line, lines } = admission;
  if (!admission.admitted) return { outcome: admission.reason, entry, limit, line, lines };
  return { outcome: "allowed", entry, limit, line, lines, credits: admission.credits };
}
