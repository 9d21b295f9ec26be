import type { HandlerContext } from "@connectrpc/connect";
import type { NamedLimit as NamedLimitMessage } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { NamedLimit } from "../../model/identities.js";
import { rateWithin } from "../../store/key-bound.js";
import type { Store } from "../../store/store.js";
import type { AdminParts } from "../admin-parts.js";
import type { Caller } from "../caller.js";
import { fieldError } from "../errors.js";
import { identityNotFound } from "../identities/identity-lookups.js";
import { validNamedLimits } from "../named-limits.js";
import { mayGiveRate, type RateLimitBound } from "../policy.js";

/**
 * What CreateKey and UpdateKey weigh of a key's metering (issue 19): its named limits, bounded as
 * its rate_limit is, and the identity it is tied to.
 */

/**
 * The key's named limits: each within its owner's bound (compared per minute, as rate_limit is) and,
 * on another user's key, the caller's own (mayGiveRate). A route may spend a key's named limits
 * alone, so a limit above the bound would let a member's key outrun its user's maximum.
 */
export async function keyNamedLimits(
  { allow }: Pick<AdminParts, "allow">,
  ctx: HandlerContext,
  caller: Caller,
  given: readonly NamedLimitMessage[],
  field: string,
  owner: { id: string; bound: RateLimitBound },
  keyId?: string,
): Promise<NamedLimit[]> {
  const limits = validNamedLimits(given, field, { bound: owner.bound });
  for (const [index, limit] of limits.entries()) {
    await allow(ctx, mayGiveRate(caller.actor, { id: owner.id }, limit, `${field}[${index}].limit`), keyId);
  }
  return limits;
}

/** A key handed to a new owner keeps named limits only within that owner's bound. */
export function checkLimitsForNewOwner(limits: readonly NamedLimit[] | undefined, bound: RateLimitBound): void {
  const above = (limits ?? []).find(({ limit, period }) => !rateWithin({ limit, period }, bound.maxPerMinute));
  if (above === undefined) return;
  throw fieldError(
    "owner_user_id",
    `the key's limit ${JSON.stringify(above.name)} of ${above.limit} per ${above.period} exceeds ${bound.whose} maximum of ${bound.maxPerMinute} requests per minute`,
  );
}

/**
 * Inside the unit that writes the key: the identity it is tied to must be one of the caller's
 * organization (not_found otherwise, as for a missing one), and the tie makes a deletion of the
 * identity racing with this write conflict with it (IdentityRepository.tie).
 */
export async function tieToIdentity(store: Store, caller: Caller, identityId: string | null | undefined): Promise<void> {
  if (!identityId) return;
  if (!(await store.identities.tie(caller.organization.id, identityId))) throw identityNotFound(identityId, "identity_id");
}
