import { create } from "@bufbuild/protobuf";
import { ListScopesResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { KeyAdminDeps } from "../key-admin-deps.js";
import type { KeyAdminHandler } from "../admin-parts.js";

/** ListScopes: the scope catalog keys are given from, with each scope's description. */
export function listScopes(deps: Pick<KeyAdminDeps, "scopes">): KeyAdminHandler<"listScopes"> {
  return async () => create(ListScopesResponseSchema, { scopes: deps.scopes.map((s) => ({ name: s.name, description: s.description })) });
}
