import type { ConnectError } from "@connectrpc/connect";
import type { IdentityRecord } from "../../model/identities.js";
import { isId } from "../../model/ids.js";
import type { Store } from "../../store/store.js";
import type { Caller } from "../caller.js";
import { adminError, notAnId } from "../errors.js";
import { requiredId } from "../validation.js";

// The identity a request names, looked up in the caller's organization only: another
// organization's answers exactly as a missing one, never as forbidden.

export function identityNotFound(id: string, field: string): ConnectError {
  if (!isId("idt", id)) return adminError("IDENTITY_NOT_FOUND", `${field}: identity not found: ${notAnId("idt", id)}`, { field });
  return adminError("IDENTITY_NOT_FOUND", `${field}: identity ${JSON.stringify(id)} not found`, { field, id });
}

/** The identity `id` of the caller's organization, or not_found naming `field`. */
export async function existingIdentity(store: Store, caller: Caller, id: string, field = "id"): Promise<IdentityRecord> {
  const identity = await store.identities.findById(caller.organization.id, requiredId(id, field));
  if (!identity) throw identityNotFound(id, field);
  return identity;
}

export const externalIdTaken = (externalId: string): ConnectError =>
  adminError("IDENTITY_EXTERNAL_ID_TAKEN", `external_id: another identity of the organization has external id ${JSON.stringify(externalId)}`, {
    field: "external_id",
  });
