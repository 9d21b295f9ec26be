import { create } from "@bufbuild/protobuf";
import { DeleteKeyResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import { asSeen } from "../../store/key-as-seen.js";
import { callerOf } from "../caller.js";
import { decidedOnCurrentKey } from "../decided-on-current-key.js";
import { keyNotFound } from "../errors.js";
import type { KeyAdminHandler, AdminParts } from "../admin-parts.js";
import { existingKey } from "./key-lookups.js";
import { mayActOn } from "./may-act-on.js";

/**
 * DeleteKey: the key is removed for good, if the policy allows it on the key as it is when
 * deleted; its `key.deleted` event (the key as it was) is written in the same unit.
 */
export function deleteKey(parts: AdminParts): KeyAdminHandler<"deleteKey"> {
  const { store } = parts.deps;

  return decidedOnCurrentKey(async (req, ctx) => {
    const caller = callerOf(ctx);
    const current = await existingKey(store, caller, req.id);
    await mayActOn(parts, ctx, caller, "delete", current);
    const deleted = await parts.events.write(
      caller,
      () => store.keys.delete(caller.organization.id, req.id, asSeen(current)),
      (gone) => (gone ? [{ type: "key.deleted", key: gone }] : []),
    );
    if (!deleted) throw keyNotFound(req.id);
    parts.deps.keyEvents.removed(deleted);
    await parts.audit.changed(caller, { action: "key.delete", keyId: deleted.id, details: { name: deleted.name } });
    return create(DeleteKeyResponseSchema, {});
  });
}
