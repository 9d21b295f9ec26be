import type { Store } from "../store/store.js";
import type { KeyRecord } from "../model/records.js";
import type { Caller } from "./caller.js";
import type { KeyTarget } from "./policy.js";

/**
 * A key as the policy weighs it when a caller acts on it: its scopes and its owner's rank, read
 * now (a removed owner's key ranks as a member's, see policy/actor.ts).
 */
export async function keyTargetOf(store: Store, caller: Caller, key: KeyRecord): Promise<KeyTarget> {
  const owner = key.ownerUserId === caller.user.id ? caller.user : await store.users.findById(key.organizationId, key.ownerUserId);
  return { ownerUserId: key.ownerUserId, ownerRole: owner?.role ?? null, scopes: key.scopes };
}
