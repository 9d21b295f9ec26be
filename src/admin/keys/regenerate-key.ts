import { create } from "@bufbuild/protobuf";
import { RegenerateKeyResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import { callerOf } from "../caller.js";
import { decidedOnCurrentKey } from "../decided-on-current-key.js";
import { validGracePeriod } from "../validation.js";
import type { KeyAdminHandler, AdminParts } from "../admin-parts.js";
import { existingKey } from "./key-lookups.js";
import { withUsage } from "./keys-with-usage.js";
import { mayActOn } from "./may-act-on.js";

/** RegenerateKey: a new secret for the key (key-regeneration.ts), answered once. */
export function regenerateKey(parts: AdminParts): KeyAdminHandler<"regenerateKey"> {
  const { store } = parts.deps;

  return decidedOnCurrentKey(async (req, ctx) => {
    const caller = callerOf(ctx);
    const grace = validGracePeriod(req.gracePeriodSeconds);
    const current = await existingKey(store, caller, req.id);
    await mayActOn(parts, ctx, caller, "regenerate", current);
    const { key, secret } = await parts.regeneration.regenerate(caller, current, grace);
    const [withTotals] = await withUsage(parts, [key]);
    return create(RegenerateKeyResponseSchema, { key: withTotals, secret });
  });
}
