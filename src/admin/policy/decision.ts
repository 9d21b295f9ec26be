/**
 * What the admin plane's policy answers: allowed, or refused by one named rule. The rule is a
 * constant that doubles as the audit entry's reason; the message (which starts with the field it
 * is about, where there is one) goes to the caller as it is.
 */
export type RefusalRule =
  /** The RPC needs an admin scope the caller does not act with. */
  | "SCOPE_MISSING"
  /** OperatorService, from a key that is no platform operator's. */
  | "NOT_PLATFORM_OPERATOR"
  /** Another organization named by a key that is no platform operator's. */
  | "OTHER_ORGANIZATION"
  /** A platform:admin key, through the admin API. */
  | "PLATFORM_KEY"
  /** A key without platform:admin, through OperatorService's operator-key RPCs. */
  | "NOT_OPERATOR_KEY"
  /** A key holding scopes the caller does not. */
  | "KEY_SCOPES_NOT_HELD"
  /** A key whose owner ranks above the caller's user. */
  | "KEY_OWNER_OUTRANKS"
  /** Another user's key, from a member. */
  | "NOT_OWN_KEY"
  /** A secret asked for by a caller that may never see one. */
  | "SECRET_NOT_SHOWN"
  /** owner_user_id naming a user the caller may not give keys to. */
  | "OWNER_NOT_NAMEABLE"
  /** A scope the caller does not hold, or platform:admin. */
  | "SCOPE_NOT_GRANTABLE"
  /** An admin scope where the plan or the caller's user allows no admin keys. */
  | "ADMIN_KEYS_NOT_ALLOWED"
  /** A scope outside what the key's owner may hold. */
  | "OWNER_MAY_NOT_HOLD"
  /** User management, from a member. */
  | "USERS_NOT_MANAGED"
  /** A user who ranks above the caller's user. */
  | "USER_OUTRANKS"
  /** A role above the caller's own. */
  | "ROLE_ABOVE_OWN"
  /** The caller's own role, changed through its own call. */
  | "OWN_ROLE"
  /** The caller's own limits, widened. */
  | "OWN_LIMITS_RAISED"
  /** Another user's limits widened beyond the caller's own (or a new user's left at the plan's). */
  | "LIMITS_ABOVE_OWN"
  /** A rate for another user's key above the caller's own bound. */
  | "RATE_ABOVE_OWN"
  /** The caller's own limits, narrowed below a scope its key is using. */
  | "OWN_RIGHTS_IN_USE"
  /** The caller's own user, removed through its own call. */
  | "OWN_USER_REMOVED"
  /** Webhook endpoints changed by a member. */
  | "WEBHOOKS_NOT_MANAGED"
  /** Identities created, changed or deleted by a member. */
  | "IDENTITIES_NOT_MANAGED"
  /** The organization's settings changed by a member. */
  | "SETTINGS_NOT_MANAGED"
  /** A key lifecycle setting (it reaches owners' keys) changed by someone who is no owner. */
  | "KEY_LIFECYCLE_OWNERS_ONLY";

export interface Refusal {
  allowed: false;
  rule: RefusalRule;
  message: string;
  /** The request field the refusal is about; absent for a refusal of the whole call. */
  field?: string;
  /** The scope at fault, where one is. */
  scope?: string;
}

export type Decision = { allowed: true } | Refusal;

export const ALLOWED: Decision = Object.freeze({ allowed: true });

export function refuse(rule: RefusalRule, message: string, where: { field?: string; scope?: string } = {}): Refusal {
  return {
    allowed: false,
    rule,
    message: where.field === undefined ? message : `${where.field}: ${message}`,
    ...(where.field !== undefined && { field: where.field }),
    ...(where.scope !== undefined && { scope: where.scope }),
  };
}

/** The first refusal among rules checked in order; allowed when none refuses. */
export function firstRefusal(...rules: (() => Decision)[]): Decision {
  for (const rule of rules) {
    const decision = rule();
    if (!decision.allowed) return decision;
  }
  return ALLOWED;
}
