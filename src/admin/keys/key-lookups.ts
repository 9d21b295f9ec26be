import type { KeyRecord, User } from "../../model/records.js";
import type { Store } from "../../store/store.js";
import type { Caller } from "../caller.js";
import { adminError, fieldError, keyNotFound } from "../errors.js";
import { mayReadOrganization } from "../policy.js";
import { requiredId } from "../validation.js";

// The key, owner and organization a key request names, looked up in the caller's organization
// (or, for a platform operator, the one named): what does not exist there is answered as missing.

/** The key `id` in the organization, or not_found. */
export async function existingKey(store: Store, caller: Caller, id: string, organizationId = caller.organization.id): Promise<KeyRecord> {
  const key = await store.keys.findById(organizationId, requiredId(id));
  if (!key) throw keyNotFound(id);
  return key;
}

/** The user a key is for: the caller's own user when the request names none. */
export async function ownerIn(store: Store, caller: Caller, ownerUserId: string, field = "owner_user_id"): Promise<User> {
  if (ownerUserId === "") return caller.user;
  const owner = await store.users.findById(caller.organization.id, ownerUserId);
  if (!owner) {
    throw adminError("API_KEY_USER_INVALID", `${field}: user ${JSON.stringify(ownerUserId)} is not a member of this organization`, {
      field,
    });
  }
  return owner;
}

/**
 * The organization a ListKeys or GetKey reads: the caller's own, or for a platform operator
 * any existing one. Undefined when the policy refuses another organization (each RPC answers
 * that its own way, the same whether the organization exists or not).
 */
export async function organizationRead(
  store: Store,
  caller: Caller,
  organizationId: string,
): Promise<{ id: string; byOperator: boolean } | undefined> {
  if (!mayReadOrganization(caller.actor, caller.organization.id, organizationId).allowed) return undefined;
  if (organizationId === "" || organizationId === caller.organization.id) return { id: caller.organization.id, byOperator: false };
  const organization = await store.organizations.findById(organizationId);
  if (!organization) throw fieldError("organization_id", `no organization ${JSON.stringify(organizationId)}`);
  return { id: organization.id, byOperator: true };
}
