import { create } from "@bufbuild/protobuf";
import { DeleteIdentityResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { AdminParts, KeyAdminHandler } from "../admin-parts.js";
import type { Store } from "../../store/store.js";
import { callerOf } from "../caller.js";
import { adminError } from "../errors.js";
import { mayManageIdentities } from "../policy.js";
import { requiredId } from "../validation.js";
import { identityDetails } from "./identity-audit.js";
import { identityNotFound } from "./identity-lookups.js";

/**
 * DeleteIdentity: refused (IDENTITY_IN_USE, naming how many and up to ten) while keys that are not revoked
 * are tied to it. Untying them first (UpdateKey with an empty identity_id) is a decision about
 * each key, which a deletion should not make silently: a key that spent a customer's credits
 * would go on unmetered. Revoked keys keep their identity id, for the record.
 */
export function deleteIdentity(parts: AdminParts): KeyAdminHandler<"deleteIdentity"> {
  const { deps, allow, audit, events } = parts;
  const { store } = deps;

  return async (req, ctx) => {
    const caller = callerOf(ctx);
    requiredId(req.id);
    await allow(ctx, mayManageIdentities(caller.actor));
    const outcome = await events.write(
      caller,
      () => store.identities.delete(caller.organization.id, req.id),
      (deleted) => (deleted.ok ? [{ type: "identity.deleted", identity: deleted.identity }] : []),
    );
    if (!outcome.ok) {
      if (outcome.reason === "not_found") throw identityNotFound(req.id, "id");
      const keyIds = await tiedKeyIds(store, caller.organization.id, req.id);
      throw adminError(
        "IDENTITY_IN_USE",
        `id: ${outcome.keys} key${outcome.keys === 1 ? " is" : "s are"} still tied to the identity (${keyIds.join(", ")}${outcome.keys > keyIds.length ? ", …" : ""}); untie each (UpdateKey with an empty identity_id) or revoke it first`,
        { field: "id", keys: String(outcome.keys), keyIds: keyIds.join(",") },
      );
    }
    deps.keyEvents.identityChanged(outcome.identity.id);
    await audit.changed(caller, { action: "identity.delete", details: identityDetails(outcome.identity) });
    return create(DeleteIdentityResponseSchema, {});
  };
}

const NAMED_KEYS = 10;
/** Revoked keys keep their identity id; reading this many pages at most bounds the walk past them. */
const PAGES = 10;

/** Up to NAMED_KEYS of the unrevoked keys tied to the identity, so the caller knows which to untie. */
async function tiedKeyIds(store: Store, organizationId: string, identityId: string): Promise<string[]> {
  const ids: string[] = [];
  let afterId: string | undefined;
  for (let page = 0; page < PAGES && ids.length < NAMED_KEYS; page++) {
    const keys = await store.keys.list(organizationId, { identityId, limit: 100, ...(afterId !== undefined && { afterId }) });
    ids.push(...keys.filter((key) => !key.revokedAt).map((key) => key.id));
    if (keys.length < 100) break;
    afterId = keys.at(-1)!.id;
  }
  return ids.slice(0, NAMED_KEYS);
}
