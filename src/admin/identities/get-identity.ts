import { create } from "@bufbuild/protobuf";
import { GetIdentityResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { KeyAdminDeps } from "../key-admin-deps.js";
import type { KeyAdminHandler } from "../admin-parts.js";
import { callerOf } from "../caller.js";
import { toIdentity } from "../identity-mapping.js";
import { existingIdentity } from "./identity-lookups.js";

/** GetIdentity: an identity of the caller's organization; another's is not found. */
export function getIdentity(deps: KeyAdminDeps): KeyAdminHandler<"getIdentity"> {
  return async (req, ctx) => {
    const identity = await existingIdentity(deps.store, callerOf(ctx), req.id);
    return create(GetIdentityResponseSchema, { identity: toIdentity(identity) });
  };
}
