import { create } from "@bufbuild/protobuf";
import { RevokeKeyResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import { callerOf } from "../caller.js";
import { decidedOnCurrentKey } from "../decided-on-current-key.js";
import { keyNotFound } from "../errors.js";
import { toApiKey } from "../mapping.js";
import { validReason } from "../validation.js";
import type { KeyAdminHandler, AdminParts } from "../admin-parts.js";
import { existingKey } from "./key-lookups.js";
import { mayActOn } from "./may-act-on.js";

/** RevokeKey: the key stops for good and its record stays (key-revocation.ts does the revoking). */
export function revokeKey(parts: AdminParts): KeyAdminHandler<"revokeKey"> {
  const { store } = parts.deps;

  return decidedOnCurrentKey(async (req, ctx) => {
    const caller = callerOf(ctx);
    validReason(req.reason);
    const current = await existingKey(store, caller, req.id);
    await mayActOn(parts, ctx, caller, "revoke", current);
    const revoked = await parts.revocation.revoke(caller, current, req.reason);
    if (!revoked) throw keyNotFound(req.id);
    return create(RevokeKeyResponseSchema, { key: toApiKey(revoked) });
  });
}
