import { create } from "@bufbuild/protobuf";
import { DeleteIdentityResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { AdminParts, KeyAdminHandler } from "../admin-parts.js";
import { callerOf } from "../caller.js";
import { preconditionFailed } from "../errors.js";
import { mayManageIdentities } from "../policy.js";
import { requiredId } from "../validation.js";
import { identityDetails } from "./identity-audit.js";
import { identityNotFound } from "./identity-lookups.js";

/**
 * DeleteIdentity: refused (failed_precondition, naming how many) while keys that are not revoked
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
      throw preconditionFailed(
        "id",
        `${outcome.keys} key${outcome.keys === 1 ? " is" : "s are"} still tied to the identity; untie them (UpdateKey with an empty identity_id) or revoke them first`,
      );
    }
    deps.keyEvents.identityChanged(outcome.identity.id);
    await audit.changed(caller, { action: "identity.delete", details: identityDetails(outcome.identity) });
    return create(DeleteIdentityResponseSchema, {});
  };
}
