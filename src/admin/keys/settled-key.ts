import type { KeyRecord } from "../../model/records.js";
import type { Caller } from "../caller.js";
import type { AdminParts } from "../admin-parts.js";

/**
 * After a write that gave a key its owner, scopes or rate under the owner as read before it:
 * an owner removed meanwhile takes the key their keys' way, limits narrowed meanwhile bound it.
 */
export async function settled(
  { deps, rebound, removal }: Pick<AdminParts, "deps" | "rebound" | "removal">,
  caller: Caller,
  key: KeyRecord,
): Promise<KeyRecord> {
  const owner = await deps.store.users.findById(key.organizationId, key.ownerUserId);
  return owner ? rebound.settle(caller, key, owner) : removal.settleIfOwnerRemoved(caller, key);
}
