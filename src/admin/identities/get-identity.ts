import { create } from "@bufbuild/protobuf";
import { GetIdentityResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import { identityCreditLine } from "../../limits/credit-lines.js";
import type { KeyAdminDeps } from "../key-admin-deps.js";
import type { KeyAdminHandler } from "../admin-parts.js";
import { callerOf } from "../caller.js";
import { toIdentity } from "../identity-mapping.js";
import { existingIdentity } from "./identity-lookups.js";

/**
 * GetIdentity: an identity of the caller's organization; another's is not found. Its credits show
 * what is left now (`left`) beside the balance last set.
 */
export function getIdentity(deps: KeyAdminDeps): KeyAdminHandler<"getIdentity"> {
  return async (req, ctx) => {
    const identity = await existingIdentity(deps.store, callerOf(ctx), req.id);
    const answer = toIdentity(identity);
    const shared = identityCreditLine(identity.organizationId, identity, deps.clock.now());
    if (shared !== null && answer.credits) answer.credits.left = BigInt(await deps.creditsLeft(shared));
    return create(GetIdentityResponseSchema, { identity: answer });
  };
}
